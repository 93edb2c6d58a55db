#include "store/postgres/pg_schema.h"

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
// The tables mirror the SQLite schema (sqlite/sqlite_schema.cc) so both backends answer alike:
// the same keys, empty strings rather than NULL, times as integer microseconds. Differences:
// text columns that are compared or ordered use the "C" collation (ids sort bytewise as on
// SQLite, lower() folds ASCII only); raw payloads are bytea; leases are columns, not memory
// (several nodes share them): lease_token/lease_owner/lease_until/lease_for on work and
// handoffs; each inquiry's events are numbered through its row in event_seqs, so two nodes
// appending to one timeline serialize on that narrow row; entry counters are kept per node (summed
// when read), so the nodes' ingest commits do not queue on one counter row; `duties` holds the
// cluster-wide leader leases.
constexpr std::array<Migration, 8> kMigrations{{
    {1, R"sql(
CREATE TABLE inquiries (
  workspace TEXT COLLATE "C" NOT NULL,
  id TEXT COLLATE "C" NOT NULL,
  source TEXT COLLATE "C" NOT NULL,
  channel TEXT COLLATE "C" NOT NULL,
  received_at BIGINT NOT NULL,
  occurred_at BIGINT NOT NULL,
  received_name TEXT COLLATE "C" NOT NULL,
  received_email TEXT COLLATE "C" NOT NULL,
  received_phone TEXT COLLATE "C" NOT NULL,
  normalized_name TEXT COLLATE "C" NOT NULL,
  normalized_email TEXT COLLATE "C" NOT NULL,
  normalized_phone TEXT COLLATE "C" NOT NULL,
  contact_id TEXT COLLATE "C" NOT NULL,
  message TEXT COLLATE "C" NOT NULL,
  service TEXT COLLATE "C" NOT NULL,
  location TEXT COLLATE "C" NOT NULL,
  utm_source TEXT COLLATE "C" NOT NULL,
  utm_medium TEXT COLLATE "C" NOT NULL,
  utm_campaign TEXT COLLATE "C" NOT NULL,
  utm_term TEXT COLLATE "C" NOT NULL,
  utm_content TEXT COLLATE "C" NOT NULL,
  referrer TEXT COLLATE "C" NOT NULL,
  landing_page TEXT COLLATE "C" NOT NULL,
  provider_event_id TEXT COLLATE "C" NOT NULL,
  raw_payload BYTEA NOT NULL,
  raw_content_type TEXT COLLATE "C" NOT NULL,
  stage TEXT COLLATE "C" NOT NULL,
  status TEXT COLLATE "C" NOT NULL,
  fields TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (workspace, id)
);
CREATE INDEX inquiries_by_source ON inquiries (workspace, source, id);
CREATE INDEX inquiries_by_channel ON inquiries (workspace, channel, id);
CREATE INDEX inquiries_by_received_at ON inquiries (workspace, received_at);
CREATE INDEX inquiries_by_contact ON inquiries (workspace, contact_id, received_at);

CREATE TABLE contacts (
  workspace TEXT COLLATE "C" NOT NULL,
  id TEXT COLLATE "C" NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  email TEXT COLLATE "C" NOT NULL,
  phone TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (workspace, id)
);
CREATE UNIQUE INDEX contacts_by_email ON contacts (workspace, email) WHERE email <> '';
CREATE UNIQUE INDEX contacts_by_phone ON contacts (workspace, phone) WHERE phone <> '';

CREATE TABLE tasks (
  workspace TEXT COLLATE "C" NOT NULL,
  id TEXT COLLATE "C" NOT NULL,
  inquiry_id TEXT COLLATE "C" NOT NULL,
  route TEXT COLLATE "C" NOT NULL,
  owner TEXT COLLATE "C" NOT NULL,
  title TEXT COLLATE "C" NOT NULL,
  due_at BIGINT NOT NULL,
  state TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  acknowledged_at BIGINT NOT NULL DEFAULT 0,
  done_at BIGINT NOT NULL DEFAULT 0,
  missing TEXT NOT NULL DEFAULT '[]',
  escalation_step INTEGER NOT NULL DEFAULT 0,
  next_escalation_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (workspace, id)
);
CREATE INDEX tasks_by_inquiry ON tasks (workspace, inquiry_id, created_at, id);
CREATE INDEX tasks_escalation_due ON tasks (next_escalation_at) WHERE state = 'open'
  AND next_escalation_at > 0;
CREATE INDEX tasks_by_owner ON tasks (workspace, owner, state);
CREATE INDEX tasks_by_created ON tasks (workspace, created_at);

CREATE TABLE handoffs (
  id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  workspace TEXT COLLATE "C" NOT NULL,
  inquiry_id TEXT COLLATE "C" NOT NULL,
  destination TEXT COLLATE "C" NOT NULL,
  state TEXT COLLATE "C" NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  confirmed_at BIGINT NOT NULL,
  remote_id TEXT COLLATE "C" NOT NULL,
  last_status INTEGER NOT NULL,
  last_error TEXT COLLATE "C" NOT NULL,
  last_response_excerpt TEXT COLLATE "C" NOT NULL,
  progress TEXT NOT NULL DEFAULT '{}',
  purpose TEXT COLLATE "C" NOT NULL DEFAULT 'deliver',
  recipient TEXT COLLATE "C" NOT NULL DEFAULT '',
  text TEXT COLLATE "C" NOT NULL DEFAULT '',
  lease_token TEXT COLLATE "C" NOT NULL DEFAULT '',
  lease_owner TEXT COLLATE "C" NOT NULL DEFAULT '',
  lease_until BIGINT NOT NULL DEFAULT 0,
  lease_for BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX handoffs_by_inquiry ON handoffs (workspace, inquiry_id);
CREATE INDEX handoffs_due ON handoffs (state, next_attempt_at);
CREATE INDEX handoffs_alerts ON handoffs (workspace, created_at) WHERE purpose = 'alert';
CREATE INDEX handoffs_leased ON handoffs (lease_owner) WHERE lease_owner <> '';

CREATE TABLE events (
  inquiry_id TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  workspace TEXT COLLATE "C" NOT NULL,
  at BIGINT NOT NULL,
  stage TEXT COLLATE "C" NOT NULL,
  kind TEXT COLLATE "C" NOT NULL,
  detail TEXT NOT NULL,
  PRIMARY KEY (inquiry_id, seq)
);

-- The last event number of each inquiry: a narrow row, so numbering an event does not rewrite
-- the inquiry's wide one.
CREATE TABLE event_seqs (
  inquiry_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  seq BIGINT NOT NULL
);

CREATE TABLE work (
  id BIGSERIAL PRIMARY KEY,
  workspace TEXT COLLATE "C" NOT NULL,
  inquiry_id TEXT COLLATE "C" NOT NULL,
  stage TEXT COLLATE "C" NOT NULL,
  available_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL,
  lease_token TEXT COLLATE "C" NOT NULL DEFAULT '',
  lease_owner TEXT COLLATE "C" NOT NULL DEFAULT '',
  lease_until BIGINT NOT NULL DEFAULT 0,
  lease_for BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX work_due ON work (stage, available_at);
CREATE INDEX work_leased ON work (lease_owner) WHERE lease_owner <> '';

CREATE TABLE dedupe (
  workspace TEXT COLLATE "C" NOT NULL,
  source TEXT COLLATE "C" NOT NULL,
  key TEXT COLLATE "C" NOT NULL,
  inquiry_id TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (workspace, source, key)
);

CREATE TABLE entry_counts (
  workspace TEXT COLLATE "C" NOT NULL,
  source TEXT COLLATE "C" NOT NULL,
  outcome TEXT COLLATE "C" NOT NULL,
  reason TEXT COLLATE "C" NOT NULL,
  minute_bucket BIGINT NOT NULL,
  node TEXT COLLATE "C" NOT NULL,
  count BIGINT NOT NULL,
  PRIMARY KEY (workspace, source, outcome, reason, minute_bucket, node)
);

CREATE TABLE inbox_items (
  workspace TEXT COLLATE "C" NOT NULL,
  id TEXT COLLATE "C" NOT NULL,
  inquiry_id TEXT COLLATE "C" NOT NULL,
  destination TEXT COLLATE "C" NOT NULL,
  owner TEXT COLLATE "C" NOT NULL,
  state TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  done_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (workspace, id)
);
CREATE INDEX inbox_items_by_state ON inbox_items (workspace, state, created_at);

CREATE TABLE counters (
  workspace TEXT COLLATE "C" NOT NULL,
  key TEXT COLLATE "C" NOT NULL,
  value BIGINT NOT NULL,
  PRIMARY KEY (workspace, key)
);

CREATE TABLE rate_marks (
  workspace TEXT COLLATE "C" NOT NULL,
  key TEXT COLLATE "C" NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (workspace, key)
);

CREATE TABLE leaks (
  workspace TEXT COLLATE "C" NOT NULL,
  key TEXT COLLATE "C" NOT NULL,
  opened_at BIGINT NOT NULL,
  kind TEXT COLLATE "C" NOT NULL,
  inquiry_id TEXT COLLATE "C" NOT NULL,
  source TEXT COLLATE "C" NOT NULL,
  route TEXT COLLATE "C" NOT NULL,
  destination TEXT COLLATE "C" NOT NULL,
  owner TEXT COLLATE "C" NOT NULL,
  grp TEXT COLLATE "C" NOT NULL,
  reason TEXT COLLATE "C" NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  since BIGINT NOT NULL,
  closed_at BIGINT NOT NULL,
  PRIMARY KEY (workspace, key, opened_at)
);
CREATE INDEX leaks_open ON leaks (workspace) WHERE closed_at = 0;
CREATE INDEX leaks_by_closed ON leaks (workspace, closed_at);

CREATE TABLE alert_groups (
  workspace TEXT COLLATE "C" NOT NULL,
  key TEXT COLLATE "C" NOT NULL,
  opened_at BIGINT NOT NULL,
  title TEXT COLLATE "C" NOT NULL,
  open_count INTEGER NOT NULL,
  total INTEGER NOT NULL,
  alerted_at BIGINT NOT NULL,
  closed_at BIGINT NOT NULL,
  PRIMARY KEY (workspace, key, opened_at)
);
CREATE INDEX alert_groups_by_closed ON alert_groups (workspace, closed_at);

CREATE TABLE sessions (
  workspace TEXT COLLATE "C" NOT NULL,
  id_hash TEXT COLLATE "C" NOT NULL,
  "user" TEXT COLLATE "C" NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  csrf_token TEXT COLLATE "C" NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (workspace, id_hash)
);

CREATE TABLE duties (
  name TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  holder TEXT COLLATE "C" NOT NULL,
  until BIGINT NOT NULL
);
)sql"},
    // Retention deletes an inquiry's rows table by table; these three had no index leading to
    // them (events, tasks and handoffs do).
    {2, R"sql(
CREATE INDEX dedupe_by_inquiry ON dedupe (workspace, inquiry_id);
CREATE INDEX inbox_items_by_inquiry ON inbox_items (workspace, inquiry_id);
CREATE INDEX leaks_by_inquiry ON leaks (workspace, inquiry_id);
)sql"},
    // Claims read one destination at a time (a loose scan of this index for the destinations,
    // then a range per open one). In time order through handoffs_due, a claim walked past every
    // due handoff of the destinations whose gates were closed, and of other workspaces. The
    // lease end is included for the next-due look-up, which tests it on the head of each range.
    {3, R"sql(
CREATE INDEX handoffs_claimable ON handoffs (workspace, destination, next_attempt_at, id)
  INCLUDE (lease_until) WHERE state IN ('pending', 'failed', 'delivering');
)sql"},
    // Lists of tasks newest first in one state or of one owner read each state's newest rows
    // from one of these (NewestTasksSql in store_codec.h), where through tasks_by_created a list
    // of open tasks walked past every closed one. Same number of index entries per task.
    {4, R"sql(
CREATE INDEX tasks_by_state_created ON tasks (workspace, state, created_at);
DROP INDEX tasks_by_created;
DROP INDEX tasks_by_owner;
CREATE INDEX tasks_by_owner ON tasks (workspace, owner, state, created_at);
)sql"},
    // Retention deletes an inquiry's work items too, which had no index leading to them.
    {5, R"sql(
CREATE INDEX work_by_inquiry ON work (workspace, inquiry_id);
)sql"},
    // As SQLite's migration 15: the inquiries off the healthy path, for the list's filters.
    {6,
     "CREATE INDEX inquiries_off_the_path ON inquiries (workspace, id) WHERE " HANDOFF_OFF_THE_PATH
     ";"},
    // As SQLite's migration 16: the route that took an inquiry, on its row, taken for the
    // inquiries already routed from their first "routed" event. A \u0000 from lead data
    // anywhere in a detail stops PostgreSQL reading any of it, so it is replaced first (the route
    // is a config name, which never holds one); a detail that is not JSON gives "".
    {7, R"sql(
ALTER TABLE inquiries ADD COLUMN route TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE FUNCTION pg_temp.handoff_route_of(detail TEXT) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
  d json;
BEGIN
  d := replace(detail, '\u0000', '\ufffd')::json;
  RETURN CASE WHEN json_typeof(d -> 'route') = 'string' THEN d ->> 'route' ELSE '' END;
EXCEPTION WHEN others THEN
  RETURN '';
END $$;
UPDATE inquiries i SET route = pg_temp.handoff_route_of(e.detail)
  FROM (SELECT DISTINCT ON (inquiry_id) inquiry_id, workspace, detail FROM events
        WHERE kind = 'routed' ORDER BY inquiry_id, seq) e
  WHERE e.inquiry_id = i.id AND e.workspace = i.workspace;
DROP FUNCTION pg_temp.handoff_route_of(TEXT);
)sql"},
    // As SQLite's migration 12: handoffs_due (state, next_attempt_at) held every handoff, and
    // here each new version of a row (the claim's lease, the confirmation: neither update is
    // HOT) added an entry to it. The reads by state never ask for confirmed handoffs: the
    // claimable ones have handoffs_claimable, the dead ones this.
    {8, R"sql(
CREATE INDEX handoffs_dead ON handoffs (workspace, id) WHERE state = 'dead';
DROP INDEX handoffs_due;
)sql"},
}};

// Any fixed number: the key of the advisory lock the migrating node holds.
constexpr int64_t kMigrationLock = 0x68616e646f6666;  // "handoff"

absl::StatusOr<int> CurrentVersion(PgConnection& conn) {
  ASSIGN_OR_RETURN(PgResult r,
                   conn.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  return static_cast<int>(r.Int(0, 0));
}

absl::Status MigrateLocked(PgConnection& conn, Micros now) {
  ASSIGN_OR_RETURN(int current, CurrentVersion(conn));
  if (current > LatestPgSchemaVersion()) {
    return absl::FailedPreconditionError(fmt::format(
        "the database schema is at version {}, newer than this build of handoff knows ({}); "
        "run a newer handoff",
        current, LatestPgSchemaVersion()));
  }
  for (const Migration& m : kMigrations) {
    if (m.version <= current) continue;
    RETURN_IF_ERROR(conn.Run("BEGIN"));
    absl::Status applied = conn.Run(m.sql);
    if (applied.ok()) {
      applied = conn.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                          PgParams().Int(m.version).Int(now))
                    .status();
    }
    if (applied.ok()) applied = conn.Run("COMMIT");
    if (!applied.ok()) {
      (void)conn.Run("ROLLBACK");
      return absl::Status(applied.code(), fmt::format("schema migration {} failed: {}", m.version,
                                                      std::string(applied.message())));
    }
  }
  return absl::OkStatus();
}

}  // namespace

int LatestPgSchemaVersion() { return kMigrations.back().version; }

absl::Status MigratePgSchema(PgConnection& conn, Micros now) {
  RETURN_IF_ERROR(
      conn.Exec("SELECT pg_advisory_lock($1)", PgParams().Int(kMigrationLock)).status());
  absl::Status done = conn.Run(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
      "applied_at BIGINT NOT NULL)");
  if (done.ok()) done = MigrateLocked(conn, now);
  absl::Status unlocked =
      conn.Exec("SELECT pg_advisory_unlock($1)", PgParams().Int(kMigrationLock)).status();
  RETURN_IF_ERROR(done);
  return unlocked;
}

}  // namespace handoff
