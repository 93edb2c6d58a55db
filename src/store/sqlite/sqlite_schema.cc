#include "store/sqlite/sqlite_schema.h"

#include <array>
#include <string>

#include "core/status.h"
#include "fmt/format.h"
#include "store/store_codec.h"

namespace handoff {
namespace {

struct Migration {
  int version;
  const char* sql;
};

// Append only: a migration that shipped is never edited, a change is a new migration.
//
// Every table carries `workspace`. Ids are UUIDv7, so `id DESC` is newest first. Empty strings
// stand for "none" (never NULL) so that records round-trip without special cases; the partial
// unique indexes on contacts therefore exclude ''.
constexpr std::array<Migration, 17> kMigrations{{
    {1, R"sql(
CREATE TABLE inquiries (
  workspace TEXT NOT NULL,
  id TEXT NOT NULL,
  source TEXT NOT NULL,
  channel TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  occurred_at INTEGER NOT NULL,
  received_name TEXT NOT NULL,
  received_email TEXT NOT NULL,
  received_phone TEXT NOT NULL,
  normalized_name TEXT NOT NULL,
  normalized_email TEXT NOT NULL,
  normalized_phone TEXT NOT NULL,
  contact_id TEXT NOT NULL,
  message TEXT NOT NULL,
  service TEXT NOT NULL,
  location TEXT NOT NULL,
  utm_source TEXT NOT NULL,
  utm_medium TEXT NOT NULL,
  utm_campaign TEXT NOT NULL,
  utm_term TEXT NOT NULL,
  utm_content TEXT NOT NULL,
  referrer TEXT NOT NULL,
  landing_page TEXT NOT NULL,
  provider_event_id TEXT NOT NULL,
  raw_payload BLOB NOT NULL,
  raw_content_type TEXT NOT NULL,
  stage TEXT NOT NULL,
  status TEXT NOT NULL,
  PRIMARY KEY (workspace, id)
);
-- No index on stage or status: both change at every stage, so such an index would cost
-- writes on the hot path; lists filtered by them scan newest-first by id instead.
CREATE INDEX inquiries_by_source ON inquiries (workspace, source, id);
CREATE INDEX inquiries_by_channel ON inquiries (workspace, channel, id);
CREATE INDEX inquiries_by_received_at ON inquiries (workspace, received_at);

CREATE TABLE contacts (
  workspace TEXT NOT NULL,
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  phone TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (workspace, id)
);
CREATE UNIQUE INDEX contacts_by_email ON contacts (workspace, email) WHERE email <> '';
CREATE UNIQUE INDEX contacts_by_phone ON contacts (workspace, phone) WHERE phone <> '';

CREATE TABLE tasks (
  workspace TEXT NOT NULL,
  id TEXT NOT NULL,
  inquiry_id TEXT NOT NULL,
  route TEXT NOT NULL,
  owner TEXT NOT NULL,
  title TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (workspace, id)
);
CREATE INDEX tasks_by_inquiry ON tasks (workspace, inquiry_id);

CREATE TABLE handoffs (
  id TEXT NOT NULL PRIMARY KEY,
  workspace TEXT NOT NULL,
  inquiry_id TEXT NOT NULL,
  destination TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  confirmed_at INTEGER NOT NULL,
  remote_id TEXT NOT NULL,
  last_status INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  last_response_excerpt TEXT NOT NULL
);
CREATE INDEX handoffs_by_inquiry ON handoffs (workspace, inquiry_id);
CREATE INDEX handoffs_due ON handoffs (state, next_attempt_at);

CREATE TABLE events (
  inquiry_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  workspace TEXT NOT NULL,
  at INTEGER NOT NULL,
  stage TEXT NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL,
  PRIMARY KEY (inquiry_id, seq)
) WITHOUT ROWID;

CREATE TABLE work (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace TEXT NOT NULL,
  inquiry_id TEXT NOT NULL,
  stage TEXT NOT NULL,
  available_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL
);
CREATE INDEX work_due ON work (stage, available_at);

CREATE TABLE dedupe (
  workspace TEXT NOT NULL,
  source TEXT NOT NULL,
  key TEXT NOT NULL,
  inquiry_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (workspace, source, key)
) WITHOUT ROWID;

CREATE TABLE entry_counts (
  workspace TEXT NOT NULL,
  source TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  minute_bucket INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (workspace, source, outcome, reason, minute_bucket)
) WITHOUT ROWID;
)sql"},
    // Source-specific canonical extras of an inquiry (Inquiry::fields), a JSON object.
    {2, R"sql(
ALTER TABLE inquiries ADD COLUMN fields TEXT NOT NULL DEFAULT '{}';
)sql"},
    // What the confirmed steps of a multi-step delivery captured (Handoff::progress), so a
    // retry resumes at the failed step instead of re-creating what the destination confirmed;
    // and the records the `inbox` connector keeps in handoff itself.
    {3, R"sql(
ALTER TABLE handoffs ADD COLUMN progress TEXT NOT NULL DEFAULT '{}';

CREATE TABLE inbox_items (
  workspace TEXT NOT NULL,
  id TEXT NOT NULL,
  inquiry_id TEXT NOT NULL,
  destination TEXT NOT NULL,
  owner TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  done_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (workspace, id)
) WITHOUT ROWID;
CREATE INDEX inbox_items_by_state ON inbox_items (workspace, state, created_at);
)sql"},
    // Task acknowledgement, the context its owner must ask for and its escalation chain;
    // per-owner and per-contact lookups for assignment (least open, sticky) and history;
    // counters for round robin; rate marks for text-back; why a handoff is sent (notify,
    // escalate, reply) and to whom.
    {4, R"sql(
ALTER TABLE tasks ADD COLUMN acknowledged_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN done_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN missing TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tasks ADD COLUMN escalation_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN next_escalation_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tasks_escalation_due ON tasks (next_escalation_at) WHERE state = 'open'
  AND next_escalation_at > 0;
ALTER TABLE handoffs ADD COLUMN purpose TEXT NOT NULL DEFAULT 'deliver';
ALTER TABLE handoffs ADD COLUMN recipient TEXT NOT NULL DEFAULT '';
ALTER TABLE handoffs ADD COLUMN text TEXT NOT NULL DEFAULT '';
CREATE INDEX tasks_by_owner ON tasks (workspace, owner, state);
CREATE INDEX tasks_by_created ON tasks (workspace, created_at);
CREATE INDEX inquiries_by_contact ON inquiries (workspace, contact_id, received_at);

CREATE TABLE counters (
  workspace TEXT NOT NULL,
  key TEXT NOT NULL,
  value INTEGER NOT NULL,
  PRIMARY KEY (workspace, key)
) WITHOUT ROWID;

CREATE TABLE rate_marks (
  workspace TEXT NOT NULL,
  key TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (workspace, key)
) WITHOUT ROWID;
)sql"},
    // Leaks found by the leak rules, and the alert groups that told people about them
    // (track/leak_monitor.h). One row per occurrence: a condition found again after it closed
    // is a new row. The partial indexes keep "what is open" cheap however long the history.
    {5, R"sql(
CREATE TABLE leaks (
  workspace TEXT NOT NULL,
  key TEXT NOT NULL,
  opened_at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  inquiry_id TEXT NOT NULL,
  source TEXT NOT NULL,
  route TEXT NOT NULL,
  destination TEXT NOT NULL,
  owner TEXT NOT NULL,
  grp TEXT NOT NULL,
  reason TEXT NOT NULL,
  value REAL NOT NULL,
  since INTEGER NOT NULL,
  closed_at INTEGER NOT NULL,
  PRIMARY KEY (workspace, key, opened_at)
);
CREATE INDEX leaks_open ON leaks (workspace) WHERE closed_at = 0;
CREATE INDEX leaks_by_closed ON leaks (workspace, closed_at);

CREATE TABLE alert_groups (
  workspace TEXT NOT NULL,
  key TEXT NOT NULL,
  opened_at INTEGER NOT NULL,
  title TEXT NOT NULL,
  open_count INTEGER NOT NULL,
  total INTEGER NOT NULL,
  alerted_at INTEGER NOT NULL,
  closed_at INTEGER NOT NULL,
  PRIMARY KEY (workspace, key, opened_at)
);
CREATE INDEX alert_groups_by_closed ON alert_groups (workspace, closed_at);
CREATE INDEX handoffs_alerts ON handoffs (workspace, created_at) WHERE purpose = 'alert';
)sql"},
    // Dashboard sessions, shared by every process on the database and kept across restarts.
    {6, R"sql(
CREATE TABLE sessions (
  workspace TEXT NOT NULL,
  id_hash TEXT NOT NULL,
  user TEXT NOT NULL,
  name TEXT NOT NULL,
  csrf_token TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (workspace, id_hash)
) WITHOUT ROWID;
)sql"},
    // An inquiry's tasks in creation order from one index. Without it the planner read them
    // through tasks_by_created (workspace, created_at), which gives the order but scans every
    // task of the workspace: each delivery's task read grew with the table.
    {7, R"sql(
CREATE INDEX tasks_by_inquiry_created ON tasks (workspace, inquiry_id, created_at, id);
DROP INDEX tasks_by_inquiry;
)sql"},
    // The claimable handoffs in claim order. Through handoffs_due (state first) each claim
    // merged three states through a temporary B-tree for the IN list and another for the
    // ORDER BY, each with its own pager: a third of the dispatcher's time. (Its condition is
    // HANDOFF_CLAIMABLE in sqlite_store.cc, word for word.)
    {8, R"sql(
CREATE INDEX handoffs_claimable ON handoffs (next_attempt_at, id)
  WHERE (state = 'pending' OR state = 'failed' OR state = 'delivering');
)sql"},
    // Retention deletes an inquiry's rows table by table; these three had no index leading to
    // them (events, tasks and handoffs do).
    {9, R"sql(
CREATE INDEX dedupe_by_inquiry ON dedupe (workspace, inquiry_id);
CREATE INDEX inbox_items_by_inquiry ON inbox_items (workspace, inquiry_id);
CREATE INDEX leaks_by_inquiry ON leaks (workspace, inquiry_id);
)sql"},
    // The claim walks past the handoffs in flight on this node (their leases are in memory) to
    // the claimable ones: with every column it filters on in the index, that walk reads no
    // table row, where each skipped row cost a table seek (pages re-read after every commit).
    {10, R"sql(
DROP INDEX handoffs_claimable;
CREATE INDEX handoffs_claimable ON handoffs (next_attempt_at, id, workspace, destination, state)
  WHERE (state = 'pending' OR state = 'failed' OR state = 'delivering');
)sql"},
    // Claims read one destination at a time. In time order, a claim had to walk past every due
    // handoff of the destinations whose gates were closed, and of the other workspaces on the
    // same file, to reach the open ones: with one destination down and a backlog behind it,
    // each claim cost O(backlog).
    {11, R"sql(
DROP INDEX handoffs_claimable;
CREATE INDEX handoffs_claimable ON handoffs (workspace, destination, next_attempt_at, id, state)
  WHERE (state = 'pending' OR state = 'failed' OR state = 'delivering');
)sql"},
    // handoffs_due (state, next_attempt_at) held every handoff, so each new handoff and each
    // delivery changed it (an insert, then a delete and an insert when it was confirmed): three
    // of the thirty-odd B-tree changes an inquiry costs the writer. The reads by state never ask
    // for confirmed handoffs: the claimable ones have handoffs_claimable, the dead ones this.
    {12, R"sql(
CREATE INDEX handoffs_dead ON handoffs (workspace, id) WHERE state = 'dead';
DROP INDEX handoffs_due;
)sql"},
    // Lists of tasks newest first (the API's and the dashboard's) in one state, or of one owner:
    // through tasks_by_created a list of open tasks walked past every closed task the business
    // ever had. Each list now reads its states' newest rows from one of these (NewestTasksSql in
    // store_codec.h); tasks_by_created had no other reader, so a task still costs the writer the
    // same number of index entries.
    {13, R"sql(
CREATE INDEX tasks_by_state_created ON tasks (workspace, state, created_at);
DROP INDEX tasks_by_created;
DROP INDEX tasks_by_owner;
CREATE INDEX tasks_by_owner ON tasks (workspace, owner, state, created_at);
)sql"},
    // Retention deletes an inquiry's work items too, and work had no index leading to them:
    // each deleted inquiry scanned the queue. Work rows exist only where the inline stages did
    // not run (a failed advance, a source awaiting context), so the index costs ingest nothing.
    {14, R"sql(
CREATE INDEX work_by_inquiry ON work (workspace, inquiry_id);
)sql"},
    // The inquiries list filtered on a status or stage off the healthy path (`?status=attention`,
    // the dashboard's filter) walked every inquiry newest first: 38.6 ms on 51,000. Only such
    // inquiries have an entry (HANDOFF_OFF_THE_PATH in store_codec.h), so one that goes from
    // "routed" to "delivered" costs the writer none.
    {15,
     "CREATE INDEX inquiries_off_the_path ON inquiries (workspace, id) WHERE " HANDOFF_OFF_THE_PATH
     ";"},
    // The route that took an inquiry, on its row: the leak scan and the scorecard sought each
    // inquiry's "routed" event for it, and the API could not show it. The inquiries Trigger has
    // seen take it from that event's detail (a detail that is not JSON, or names no route as
    // text, gives "").
    {16, R"sql(
ALTER TABLE inquiries ADD COLUMN route TEXT NOT NULL DEFAULT '';
UPDATE inquiries SET route = COALESCE((
    SELECT CASE WHEN json_valid(e.detail) AND json_type(e.detail, '$.route') = 'text'
                THEN json_extract(e.detail, '$.route') END
    FROM events e
    WHERE e.inquiry_id = inquiries.id AND e.workspace = inquiries.workspace AND e.kind = 'routed'
    ORDER BY e.seq LIMIT 1), '')
  WHERE stage <> 'entry' AND stage <> 'enrich';
)sql"},
    // The body as received, out of the inquiry's row: a body of a few KB (a booking or a form
    // provider's webhook) spilled onto overflow pages, which SQLite wrote again at every change of
    // the row's size, the status set at delivery included (5.3 KB of log per change with a 4.4 KB
    // body, against 0.4 KB without). A rowid table, whose rows keep up to about 4 KB on their leaf
    // page (a WITHOUT ROWID row keeps about 1 KB and puts the rest on a page of its own).
    {17, R"sql(
CREATE TABLE inquiry_bodies (
  workspace TEXT NOT NULL,
  inquiry_id TEXT NOT NULL,
  content_type TEXT NOT NULL,
  body BLOB NOT NULL,
  PRIMARY KEY (workspace, inquiry_id)
);
INSERT INTO inquiry_bodies (workspace, inquiry_id, content_type, body)
  SELECT workspace, id, raw_content_type, raw_payload FROM inquiries ORDER BY rowid;
ALTER TABLE inquiries DROP COLUMN raw_payload;
ALTER TABLE inquiries DROP COLUMN raw_content_type;
)sql"},
}};

absl::StatusOr<int> CurrentVersion(SqliteConnection& conn) {
  ASSIGN_OR_RETURN(std::string v,
                   conn.QueryText("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  try {
    return std::stoi(v);
  } catch (const std::exception&) {
    return absl::DataLossError(fmt::format("schema_migrations holds a bad version: {}", v));
  }
}

absl::Status Apply(SqliteConnection& conn, const Migration& m, Micros now) {
  RETURN_IF_ERROR(conn.Exec(m.sql));
  ASSIGN_OR_RETURN(
      SqliteStatement record,
      conn.Prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"));
  record.BindInt(1, m.version);
  record.BindInt(2, now);
  return record.Run();
}

}  // namespace

int LatestSqliteSchemaVersion() { return kMigrations.back().version; }

absl::Status MigrateSqliteSchema(SqliteConnection& conn, Micros now) {
  RETURN_IF_ERROR(
      conn.Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"));
  ASSIGN_OR_RETURN(int current, CurrentVersion(conn));
  if (current > LatestSqliteSchemaVersion()) {
    return absl::FailedPreconditionError(fmt::format(
        "the database schema is at version {}, newer than this build of handoff knows ({}); "
        "run a newer handoff",
        current, LatestSqliteSchemaVersion()));
  }
  for (const Migration& m : kMigrations) {
    if (m.version <= current) continue;
    RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
    absl::Status applied = Apply(conn, m, now);
    if (applied.ok()) applied = conn.Exec("COMMIT");
    if (!applied.ok()) {
      if (conn.in_transaction()) (void)conn.Exec("ROLLBACK");
      return absl::Status(applied.code(), fmt::format("schema migration {} failed: {}", m.version,
                                                      std::string(applied.message())));
    }
  }
  return absl::OkStatus();
}

}  // namespace handoff
