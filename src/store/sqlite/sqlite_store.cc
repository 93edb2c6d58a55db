#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <exception>
#include <iterator>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "core/id.h"
#include "core/status.h"
#include "core/thread_name.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "store/sqlite/sqlite_connection.h"
#include "store/sqlite/sqlite_schema.h"
#include "store/store_codec.h"
#include "store/store_writer.h"

namespace handoff {
namespace {

// Column lists shared by the statements that write a record and the code that reads it back;
// the Bind*/Read* functions below follow these orders exactly.
#define HANDOFF_INQUIRY_COLUMNS                                                                \
  "id, workspace, source, channel, received_at, occurred_at, received_name, received_email, "  \
  "received_phone, normalized_name, normalized_email, normalized_phone, contact_id, message, " \
  "service, location, utm_source, utm_medium, utm_campaign, utm_term, utm_content, referrer, " \
  "landing_page, provider_event_id, stage, status, fields, route"
#define HANDOFF_CONTACT_COLUMNS "id, workspace, name, email, phone, created_at, updated_at"
#define HANDOFF_TASK_COLUMNS                                                                     \
  "id, workspace, inquiry_id, route, owner, title, due_at, state, created_at, acknowledged_at, " \
  "done_at, missing, escalation_step, next_escalation_at"
#define HANDOFF_HANDOFF_COLUMNS                                                            \
  "id, workspace, inquiry_id, destination, state, attempts, next_attempt_at, created_at, " \
  "confirmed_at, remote_id, last_status, last_error, last_response_excerpt, progress, "    \
  "purpose, recipient, text"
#define HANDOFF_WORK_COLUMNS "id, workspace, inquiry_id, stage, available_at, attempts"
// Handoff states a transfer worker can pick up ("delivering" only once no one holds it). The
// condition of the partial index handoffs_claimable, word for word (or the index is not used);
// written with OR because SQLite evaluates a constant IN list through a temporary B-tree, at
// every write of a handoff row too.
#define HANDOFF_CLAIMABLE "(state = 'pending' OR state = 'failed' OR state = 'delivering')"

constexpr char kBegin[] = "BEGIN IMMEDIATE";
constexpr char kBeginRead[] = "BEGIN";
constexpr char kCommit[] = "COMMIT";
constexpr char kRollback[] = "ROLLBACK";
constexpr char kSavepoint[] = "SAVEPOINT fn";
constexpr char kRelease[] = "RELEASE fn";
constexpr char kRollbackTo[] = "ROLLBACK TO fn";
// In WAL mode FULL syncs the log at every commit and NORMAL leaves it to the next synced commit
// or checkpoint; set per batch (Durability), outside any transaction.
// The writer connection's page cache, in KiB (1,024 pages of 4 KiB). A B-tree split that
// reorders its new pages re-keys one of them through the lock-byte page's number (262,145);
// at the end of that commit SQLite's page cache then scans its whole hash table, a bucket per
// cached page, to drop pages past the end of the file. With a 64 MiB cache that was 8 % of
// the writer at 64 connections. The pages it no longer keeps stay in the OS page cache.
constexpr int kWriterCacheKib = 4096;
constexpr char kSyncFull[] = "PRAGMA synchronous = FULL";
constexpr char kSyncNormal[] = "PRAGMA synchronous = NORMAL";

constexpr char kInsertInquiry[] =
    "INSERT INTO inquiries (" HANDOFF_INQUIRY_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
    "?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)";
// Source, channel and received_at are fixed at entry: they are matched rather than set, which
// also spares the indexes on them an update. The route is Trigger's alone (kSetInquiryTriggered),
// the body as received entry's alone.
constexpr char kUpdateInquiry[] =
    "UPDATE inquiries SET occurred_at = ?6, "
    "received_name = ?7, received_email = ?8, received_phone = ?9, normalized_name = ?10, "
    "normalized_email = ?11, normalized_phone = ?12, contact_id = ?13, message = ?14, "
    "service = ?15, location = ?16, utm_source = ?17, utm_medium = ?18, utm_campaign = ?19, "
    "utm_term = ?20, utm_content = ?21, referrer = ?22, landing_page = ?23, "
    "provider_event_id = ?24, stage = ?25, status = ?26, fields = ?27 WHERE id = ?1 AND "
    "workspace = ?2 AND source = ?3 AND channel = ?4 AND received_at = ?5";
constexpr char kSetInquiryProgress[] =
    "UPDATE inquiries SET stage = ?3, status = ?4 WHERE workspace = ?1 AND id = ?2";
constexpr char kSetInquiryTriggered[] =
    "UPDATE inquiries SET stage = 'trigger', status = ?3, route = ?4 WHERE workspace = ?1 AND "
    "id = ?2";
constexpr char kGetInquiry[] =
    "SELECT " HANDOFF_INQUIRY_COLUMNS " FROM inquiries WHERE workspace = ?1 AND id = ?2";
// An inquiry's body as received lives in a table of its own (migration 17): in the inquiry's row
// a body of a few KB spilled onto overflow pages, which SQLite wrote again at every change of
// the row's size, the inquiry's status included.
constexpr char kInsertBody[] =
    "INSERT INTO inquiry_bodies (workspace, inquiry_id, content_type, body) VALUES (?1, ?2, ?3, "
    "?4)";
constexpr char kGetBody[] =
    "SELECT content_type, body FROM inquiry_bodies WHERE workspace = ?1 AND inquiry_id = ?2";

// Two statements rather than INSERT … RETURNING: RETURNING buffers its rows in a temporary
// table, which costs more than the whole insert.
constexpr char kNextEventSeq[] =
    "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE inquiry_id = ?1";
constexpr char kInsertEvent[] =
    "INSERT INTO events (inquiry_id, seq, workspace, at, stage, kind, detail) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr char kListEvents[] =
    "SELECT inquiry_id, seq, workspace, at, stage, kind, detail FROM events "
    "WHERE inquiry_id = ?2 AND workspace = ?1 ORDER BY seq";

constexpr char kFindDedupe[] =
    "SELECT inquiry_id FROM dedupe WHERE workspace = ?1 AND source = ?2 AND key = ?3";
constexpr char kInsertDedupe[] =
    "INSERT INTO dedupe (workspace, source, key, inquiry_id, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";

// The `<> ''` terms repeat the partial indexes' conditions so the planner may use them.
constexpr char kFindContactByEmail[] =
    "SELECT " HANDOFF_CONTACT_COLUMNS
    " FROM contacts WHERE workspace = ?1 AND email = ?2 AND email <> ''";
constexpr char kFindContactByPhone[] =
    "SELECT " HANDOFF_CONTACT_COLUMNS
    " FROM contacts WHERE workspace = ?1 AND phone = ?2 AND phone <> ''";
constexpr char kGetContact[] =
    "SELECT " HANDOFF_CONTACT_COLUMNS " FROM contacts WHERE workspace = ?2 AND id = ?1";
constexpr char kUpsertContact[] =
    "INSERT INTO contacts (" HANDOFF_CONTACT_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (workspace, id) DO UPDATE SET "
    "name = excluded.name, email = excluded.email, phone = excluded.phone, "
    "created_at = excluded.created_at, updated_at = excluded.updated_at";

constexpr char kInsertTask[] =
    "INSERT INTO tasks (" HANDOFF_TASK_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
constexpr char kUpdateTask[] =
    "UPDATE tasks SET owner = ?3, due_at = ?4, state = ?5, acknowledged_at = ?6, done_at = ?7, "
    "escalation_step = ?8, next_escalation_at = ?9 WHERE id = ?1 AND workspace = ?2";
// The escalation scans run every second. INDEXED BY: without statistics the planner takes the
// equality on workspace (tasks_by_state_created) and walks every open task the workspace has,
// each scan. (The condition is the partial index's, word for word, so that SQLite can use it.)
constexpr char kDueEscalations[] =
    "SELECT " HANDOFF_TASK_COLUMNS
    " FROM tasks INDEXED BY tasks_escalation_due WHERE state = 'open' AND next_escalation_at > 0 "
    "AND next_escalation_at <= ?1 AND workspace = ?3 ORDER BY next_escalation_at, id LIMIT ?2";
// The first of the index in its order, rather than MIN(): it stops at the first row of the
// workspace.
constexpr char kNextEscalation[] =
    "SELECT next_escalation_at FROM tasks INDEXED BY tasks_escalation_due "
    "WHERE state = 'open' AND next_escalation_at > 0 AND workspace = ?1 "
    "ORDER BY next_escalation_at LIMIT 1";
constexpr char kGetRateMark[] = "SELECT at FROM rate_marks WHERE workspace = ?1 AND key = ?2";
constexpr char kPutRateMark[] =
    "INSERT INTO rate_marks (workspace, key, at) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (workspace, key) DO UPDATE SET at = excluded.at";
constexpr char kGetTask[] =
    "SELECT " HANDOFF_TASK_COLUMNS " FROM tasks WHERE workspace = ?1 AND id = ?2";
// One owner's open tasks: two seeks into tasks_by_owner and a walk of those tasks alone (the
// planner, without statistics, may take another index that leads with workspace and walk far
// more).
constexpr char kCountOpenTasks[] =
    "SELECT COUNT(*) FROM tasks INDEXED BY tasks_by_owner WHERE workspace = ?1 AND owner = ?2 "
    "AND state IN ('open', 'acknowledged')";
constexpr char kNextCounter[] =
    "INSERT INTO counters (workspace, key, value) VALUES (?1, ?2, 1) "
    "ON CONFLICT (workspace, key) DO UPDATE SET value = value + 1 RETURNING value - 1";
// Each earlier inquiry with its newest task, if any.
constexpr char kContactHistory[] =
    "SELECT i.id, i.received_at, i.channel, i.service, i.status, "
    "COALESCE(t.owner, ''), COALESCE(t.state, '') FROM inquiries i "
    "LEFT JOIN tasks t ON t.workspace = i.workspace AND t.id = (SELECT id FROM tasks "
    "WHERE workspace = i.workspace AND inquiry_id = i.id ORDER BY created_at DESC, id DESC "
    "LIMIT 1) WHERE i.workspace = ?1 AND i.contact_id = ?2 AND i.id <> ?3 "
    "ORDER BY i.received_at DESC, i.id DESC LIMIT ?4";
constexpr char kListTasks[] = "SELECT " HANDOFF_TASK_COLUMNS
                              " FROM tasks WHERE workspace = ?1 AND inquiry_id = ?2 "
                              "ORDER BY created_at, id";
constexpr char kFirstTask[] = "SELECT " HANDOFF_TASK_COLUMNS
                              " FROM tasks WHERE workspace = ?1 AND inquiry_id = ?2 "
                              "ORDER BY created_at, id LIMIT 1";

constexpr char kInsertHandoff[] =
    "INSERT INTO handoffs (" HANDOFF_HANDOFF_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";
constexpr char kUpdateHandoff[] =
    "UPDATE handoffs SET state = ?5, attempts = ?6, next_attempt_at = ?7, confirmed_at = ?9, "
    "remote_id = ?10, last_status = ?11, last_error = ?12, last_response_excerpt = ?13, "
    "progress = ?14 WHERE id = ?1 AND workspace = ?2";
constexpr char kGetHandoff[] =
    "SELECT " HANDOFF_HANDOFF_COLUMNS " FROM handoffs WHERE id = ?2 AND workspace = ?1";
constexpr char kTallyHandoffs[] =
    "SELECT COUNT(*), COALESCE(SUM(state = 'confirmed'), 0), COALESCE(SUM(state = 'dead'), 0) "
    "FROM handoffs WHERE workspace = ?1 AND inquiry_id = ?2";
constexpr char kListHandoffs[] = "SELECT " HANDOFF_HANDOFF_COLUMNS
                                 " FROM handoffs WHERE workspace = ?1 AND inquiry_id = ?2 "
                                 "ORDER BY created_at, id";
// The claimable handoffs are read through the partial index handoffs_claimable, ordered by
// (workspace, destination, next_attempt_at, id), one destination at a time: a destination whose
// gate is closed is never walked however large its backlog, and neither are other workspaces'.
// INDEXED BY: the planner would rather take handoffs_due and sort. (The condition is the
// index's, word for word, so that SQLite can use it.)
//
// The (workspace, destination) pairs with claimable handoffs are found one seek at a time (a
// loose index scan): a workspace's next destination after ?2, and the next workspace after ?1.
// (Not one `(workspace, destination) > (?1, ?2)`: SQLite seeks such a row value on its first
// column only and walks on from there, through the gated backlog.)
constexpr char kNextClaimableDestination[] =
    "SELECT destination FROM handoffs INDEXED BY handoffs_claimable "
    "WHERE " HANDOFF_CLAIMABLE
    " AND workspace = ?1 AND destination > ?2 "
    "ORDER BY destination LIMIT 1";
constexpr char kNextClaimableWorkspace[] =
    "SELECT workspace FROM handoffs INDEXED BY handoffs_claimable "
    "WHERE " HANDOFF_CLAIMABLE
    " AND workspace > ?1 "
    "ORDER BY workspace LIMIT 1";
// One destination's due handoffs in claim order.
constexpr char kClaimableOfDestination[] =
    "SELECT id, next_attempt_at FROM handoffs INDEXED BY handoffs_claimable "
    "WHERE " HANDOFF_CLAIMABLE
    " AND workspace = ?1 AND destination = ?2 AND next_attempt_at <= ?3 "
    "ORDER BY next_attempt_at, id LIMIT ?4";
// One destination's earliest claimable handoff.
constexpr char kNextOfDestination[] =
    "SELECT next_attempt_at FROM handoffs INDEXED BY handoffs_claimable "
    "WHERE " HANDOFF_CLAIMABLE
    " AND workspace = ?1 AND destination = ?2 "
    "ORDER BY next_attempt_at LIMIT 1";

// The reads by state go through the two partial indexes, handoffs_claimable and handoffs_dead
// (no index holds the confirmed handoffs, nearly all of them): each names its index and
// repeats its condition word for word, so that SQLite can use it.
constexpr char kFindDeadHandoffs[] =
    "SELECT " HANDOFF_HANDOFF_COLUMNS
    " FROM handoffs INDEXED BY handoffs_dead WHERE state = 'dead' AND workspace = ?1 "
    "AND (?2 = '' OR id = ?2) AND (?3 = '' OR destination = ?3) "
    "AND (?4 = 0 OR created_at >= ?4) AND (?5 = 0 OR created_at < ?5) AND id > ?6 "
    "ORDER BY id LIMIT ?7";
constexpr char kReviveHandoff[] =
    "UPDATE handoffs SET state = 'pending', attempts = 0, next_attempt_at = ?3, last_error = '' "
    "WHERE workspace = ?1 AND id = ?2 AND state = 'dead'";

constexpr char kEnqueueWork[] =
    "INSERT INTO work (workspace, inquiry_id, stage, available_at, attempts) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr char kCompleteWork[] = "DELETE FROM work WHERE id = ?1 AND workspace = ?2";
constexpr char kReleaseWork[] =
    "UPDATE work SET available_at = ?2, attempts = attempts + 1 WHERE id = ?1";
constexpr char kClaimWork[] =
    "SELECT " HANDOFF_WORK_COLUMNS
    " FROM work WHERE stage = ?1 AND available_at <= ?2 AND (?4 = '' OR workspace = ?4) "
    "ORDER BY available_at, id LIMIT ?3";
constexpr char kNextWork[] =
    "SELECT MIN(available_at) FROM work WHERE stage = ?1 AND (?2 = '' OR workspace = ?2)";

constexpr char kCountEntry[] =
    "INSERT INTO entry_counts (workspace, source, outcome, reason, minute_bucket, count) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
    "ON CONFLICT (workspace, source, outcome, reason, minute_bucket) "
    "DO UPDATE SET count = count + excluded.count";
constexpr char kListEntryCounts[] =
    "SELECT source, outcome, reason, SUM(count), MAX(minute_bucket) FROM entry_counts "
    "WHERE workspace = ?1 AND minute_bucket >= ?2 "
    "GROUP BY source, outcome, reason ORDER BY source, outcome, reason";

// Every inquiry received in a window, with the fields the leak rules and the scorecard read, a
// page at a time after (?2, ?4) in (received_at, rowid) order; then the tasks and handoffs of
// those inquiries.
constexpr char kInquiryOutcomes[] =
    "SELECT i.id, i.source, i.channel, COALESCE(json_extract(i.fields, '$.kind'), ''), "
    "i.service, COALESCE(json_extract(i.fields, '$.intent'), ''), i.received_at, i.stage, "
    "i.status, COALESCE(json_extract(i.fields, '$.value'), 0), "
    "COALESCE(json_extract(i.fields, '$.synthetic'), 0), "
    "i.normalized_phone <> '' OR i.received_phone <> '', "
    "i.normalized_email <> '' OR i.received_email <> '', i.route, i.rowid "
    "FROM inquiries i WHERE i.workspace = ?1 AND i.received_at >= ?2 AND i.received_at < ?3 "
    "AND (i.received_at > ?2 OR i.rowid > ?4) ORDER BY i.received_at, i.rowid LIMIT ?5";
// A page's tasks and handoffs: those of the inquiries received in [?2, ?3], its first and last
// times (the caller keeps the ones of its own inquiries).
#define HANDOFF_INQUIRIES_IN_WINDOW                                                       \
  "(SELECT id FROM inquiries WHERE workspace = ?1 AND received_at >= ?2 AND received_at " \
  "<= ?3)"
// INDEXED BY: the planner would walk every task of the workspace in created_at order (for each
// page of the leak scan) rather than seek each inquiry's tasks and sort the page's few.
constexpr char kOutcomeTasks[] =
    "SELECT " HANDOFF_OUTCOME_TASK_COLUMNS
    " FROM tasks INDEXED BY tasks_by_inquiry_created WHERE workspace = ?1 AND inquiry_id "
    "IN " HANDOFF_INQUIRIES_IN_WINDOW " ORDER BY created_at, id";
constexpr char kOutcomeHandoffs[] =
    "SELECT " HANDOFF_OUTCOME_HANDOFF_COLUMNS
    " FROM handoffs WHERE workspace = ?1 AND inquiry_id IN " HANDOFF_INQUIRIES_IN_WINDOW
    " ORDER BY created_at, id";
constexpr char kListAlertHandoffs[] =
    "SELECT " HANDOFF_HANDOFF_COLUMNS
    " FROM handoffs WHERE workspace = ?1 AND purpose = 'alert' AND created_at >= ?2 "
    "ORDER BY created_at DESC, id DESC LIMIT ?3";

#define HANDOFF_IN_STATE_TAIL \
  " AND workspace = ?1 AND purpose <> 'alert' ORDER BY created_at DESC, id DESC LIMIT ?3"
constexpr char kListDeadHandoffs[] = "SELECT " HANDOFF_HANDOFF_COLUMNS
                                     " FROM handoffs INDEXED BY handoffs_dead "
                                     "WHERE state = 'dead'" HANDOFF_IN_STATE_TAIL;
constexpr char kListClaimableInState[] =
    "SELECT " HANDOFF_HANDOFF_COLUMNS
    " FROM handoffs INDEXED BY handoffs_claimable "
    "WHERE " HANDOFF_CLAIMABLE " AND state = ?2" HANDOFF_IN_STATE_TAIL;
// Confirmed (or unknown) states have no index: a walk of the table. No caller asks for them.
constexpr char kListAnyInState[] =
    "SELECT " HANDOFF_HANDOFF_COLUMNS " FROM handoffs WHERE state = ?2" HANDOFF_IN_STATE_TAIL;
#undef HANDOFF_IN_STATE_TAIL
// The not yet confirmed handoffs: the claimable ones and the dead ones, each from its index.
#define HANDOFF_UNSETTLED(columns, workspace_clause)                                       \
  "SELECT " columns                                                                        \
  " FROM handoffs INDEXED BY handoffs_claimable WHERE " HANDOFF_CLAIMABLE workspace_clause \
  " UNION ALL SELECT " columns                                                             \
  " FROM handoffs INDEXED BY handoffs_dead WHERE state = 'dead'" workspace_clause
constexpr char kCountUnsettledHandoffs[] =
    "SELECT destination, purpose, state, COUNT(*) FROM (" HANDOFF_UNSETTLED(
        "destination, purpose, state",
        " AND workspace = ?1") ") GROUP BY destination, purpose, state "
                               "ORDER BY destination, purpose, state";

#define HANDOFF_LEAK_COLUMNS                                                                      \
  "workspace, key, opened_at, kind, inquiry_id, source, route, destination, owner, grp, reason, " \
  "value, since, closed_at"
constexpr char kInsertLeak[] =
    "INSERT INTO leaks (" HANDOFF_LEAK_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
constexpr char kCloseLeak[] =
    "UPDATE leaks SET closed_at = ?4 WHERE workspace = ?1 AND key = ?2 AND opened_at = ?3 "
    "AND closed_at = 0";
constexpr char kListLeaks[] = "SELECT " HANDOFF_LEAK_COLUMNS
                              " FROM leaks WHERE workspace = ?1 AND (closed_at = 0 OR (?2 > 0 "
                              "AND closed_at >= ?2)) ORDER BY closed_at <> 0, opened_at DESC, key "
                              "LIMIT ?3";
#define HANDOFF_ALERT_GROUP_COLUMNS \
  "workspace, key, opened_at, title, open_count, total, alerted_at, closed_at"
constexpr char kListOpenAlertGroups[] = "SELECT " HANDOFF_ALERT_GROUP_COLUMNS
                                        " FROM alert_groups WHERE workspace = ?1 AND "
                                        "closed_at = 0 ORDER BY opened_at, key";
constexpr char kPutAlertGroup[] =
    "INSERT INTO alert_groups (" HANDOFF_ALERT_GROUP_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (workspace, key, opened_at) DO UPDATE "
    "SET title = excluded.title, open_count = excluded.open_count, total = excluded.total, "
    "alerted_at = excluded.alerted_at, closed_at = excluded.closed_at";
constexpr char kListAlertGroups[] = "SELECT " HANDOFF_ALERT_GROUP_COLUMNS
                                    " FROM alert_groups WHERE workspace = ?1 AND (closed_at = 0 "
                                    "OR (?2 > 0 AND closed_at >= ?2)) ORDER BY opened_at DESC, "
                                    "key LIMIT ?3";

#define HANDOFF_INBOX_COLUMNS \
  "id, workspace, inquiry_id, destination, owner, state, created_at, done_at"
constexpr char kInsertInboxItem[] = "INSERT OR IGNORE INTO inbox_items (" HANDOFF_INBOX_COLUMNS
                                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr char kSetInboxItemState[] =
    "UPDATE inbox_items SET state = ?3, done_at = ?4 WHERE workspace = ?1 AND id = ?2";
constexpr char kListInbox[] = "SELECT " HANDOFF_INBOX_COLUMNS
                              " FROM inbox_items WHERE workspace = ?1 AND (?2 = '' OR state = ?2) "
                              "ORDER BY created_at DESC, id DESC LIMIT ?3";

constexpr char kPutSession[] =
    "INSERT OR REPLACE INTO sessions (workspace, id_hash, user, name, csrf_token, expires_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr char kDeleteSession[] = "DELETE FROM sessions WHERE workspace = ?1 AND id_hash = ?2";
constexpr char kDeleteExpiredSessions[] =
    "DELETE FROM sessions WHERE workspace = ?1 AND expires_at <= ?2";
// Retention: an inquiry's rows, each table through an index on (…, inquiry_id); the inquiry row
// last (its delete tells whether it existed).
constexpr const char* kDeleteInquiryRows[] = {
    "DELETE FROM events WHERE inquiry_id = ?2 AND workspace = ?1",
    "DELETE FROM tasks WHERE workspace = ?1 AND inquiry_id = ?2",
    "DELETE FROM handoffs WHERE workspace = ?1 AND inquiry_id = ?2",
    "DELETE FROM work WHERE workspace = ?1 AND inquiry_id = ?2",
    "DELETE FROM dedupe WHERE workspace = ?1 AND inquiry_id = ?2",
    "DELETE FROM inbox_items WHERE workspace = ?1 AND inquiry_id = ?2",
    "DELETE FROM leaks WHERE workspace = ?1 AND inquiry_id = ?2",
    "DELETE FROM inquiry_bodies WHERE workspace = ?1 AND inquiry_id = ?2",
    "DELETE FROM inquiries WHERE workspace = ?1 AND id = ?2",
};
constexpr char kDeleteEntryCountsBefore[] =
    "DELETE FROM entry_counts WHERE workspace = ?1 AND minute_bucket < ?2";
constexpr char kFindSession[] =
    "SELECT workspace, id_hash, user, name, csrf_token, expires_at FROM sessions "
    "WHERE workspace = ?1 AND id_hash = ?2";

constexpr char kWorkDepths[] = "SELECT stage, COUNT(*) FROM work GROUP BY stage";
constexpr char kHandoffDepths[] =
    "SELECT state, COUNT(*) FROM (" HANDOFF_UNSETTLED("state", "") ") GROUP BY state";
#undef HANDOFF_UNSETTLED

absl::StatusOr<size_t> StageIndex(Stage s) {
  auto i = static_cast<size_t>(s);
  if (i >= kNumStages) return absl::InvalidArgumentError("unknown stage");
  return i;
}

// `fields_json` holds i.fields serialized; it must outlive the statement's steps (binds do not
// copy).
void BindInquiry(SqliteStatement& st, const Inquiry& i, const std::string& fields_json) {
  st.BindText(1, i.id);
  st.BindText(2, i.workspace);
  st.BindText(3, i.source);
  st.BindText(4, ChannelName(i.channel));
  st.BindInt(5, i.received_at);
  st.BindInt(6, i.occurred_at);
  st.BindText(7, i.received.name);
  st.BindText(8, i.received.email);
  st.BindText(9, i.received.phone);
  st.BindText(10, i.normalized.name);
  st.BindText(11, i.normalized.email);
  st.BindText(12, i.normalized.phone);
  st.BindText(13, i.contact_id);
  st.BindText(14, i.message);
  st.BindText(15, i.service);
  st.BindText(16, i.location);
  st.BindText(17, i.attribution.utm_source);
  st.BindText(18, i.attribution.utm_medium);
  st.BindText(19, i.attribution.utm_campaign);
  st.BindText(20, i.attribution.utm_term);
  st.BindText(21, i.attribution.utm_content);
  st.BindText(22, i.attribution.referrer);
  st.BindText(23, i.attribution.landing_page);
  st.BindText(24, i.provider_event_id);
  st.BindText(25, StageName(i.stage));
  st.BindText(26, i.status);
  st.BindText(27, fields_json);
}

Inquiry ReadInquiry(const SqliteStatement& st) {
  Inquiry i;
  i.id = st.Text(0);
  i.workspace = st.Text(1);
  i.source = st.Text(2);
  i.channel = ParseChannel(st.Text(3)).value_or(Channel::kOther);
  i.received_at = st.Int(4);
  i.occurred_at = st.Int(5);
  i.received.name = st.Text(6);
  i.received.email = st.Text(7);
  i.received.phone = st.Text(8);
  i.normalized.name = st.Text(9);
  i.normalized.email = st.Text(10);
  i.normalized.phone = st.Text(11);
  i.contact_id = st.Text(12);
  i.message = st.Text(13);
  i.service = st.Text(14);
  i.location = st.Text(15);
  i.attribution.utm_source = st.Text(16);
  i.attribution.utm_medium = st.Text(17);
  i.attribution.utm_campaign = st.Text(18);
  i.attribution.utm_term = st.Text(19);
  i.attribution.utm_content = st.Text(20);
  i.attribution.referrer = st.Text(21);
  i.attribution.landing_page = st.Text(22);
  i.provider_event_id = st.Text(23);
  i.stage = ParseStage(st.Text(24)).value_or(Stage::kEntry);
  i.status = st.Text(25);
  i.fields = ParseJsonObject(st.Text(26));
  i.route = st.Text(27);
  return i;
}

void BindContact(SqliteStatement& st, const Contact& c) {
  st.BindText(1, c.id);
  st.BindText(2, c.workspace);
  st.BindText(3, c.name);
  st.BindText(4, c.email);
  st.BindText(5, c.phone);
  st.BindInt(6, c.created_at);
  st.BindInt(7, c.updated_at);
}

Contact ReadContact(const SqliteStatement& st) {
  Contact c;
  c.id = st.Text(0);
  c.workspace = st.Text(1);
  c.name = st.Text(2);
  c.email = st.Text(3);
  c.phone = st.Text(4);
  c.created_at = st.Int(5);
  c.updated_at = st.Int(6);
  return c;
}

Task ReadTask(const SqliteStatement& st) {
  Task t;
  t.id = st.Text(0);
  t.workspace = st.Text(1);
  t.inquiry_id = st.Text(2);
  t.route = st.Text(3);
  t.owner = st.Text(4);
  t.title = st.Text(5);
  t.due_at = st.Int(6);
  t.state = st.Text(7);
  t.created_at = st.Int(8);
  t.acknowledged_at = st.Int(9);
  t.done_at = st.Int(10);
  t.missing = ParseStringArray(st.Text(11));
  t.escalation_step = static_cast<int>(st.Int(12));
  t.next_escalation_at = st.Int(13);
  return t;
}

// `missing` is the task's missing context as JSON text, kept alive by the caller until the
// statement runs (BindText does not copy).
void BindTask(SqliteStatement& st, const Task& t, const std::string& missing) {
  st.BindText(1, t.id);
  st.BindText(2, t.workspace);
  st.BindText(3, t.inquiry_id);
  st.BindText(4, t.route);
  st.BindText(5, t.owner);
  st.BindText(6, t.title);
  st.BindInt(7, t.due_at);
  st.BindText(8, t.state);
  st.BindInt(9, t.created_at);
  st.BindInt(10, t.acknowledged_at);
  st.BindInt(11, t.done_at);
  st.BindText(12, missing);
  st.BindInt(13, t.escalation_step);
  st.BindInt(14, t.next_escalation_at);
}

absl::StatusOr<Task> QueryTask(SqliteConnection& conn, const std::string& workspace,
                               const std::string& id) {
  ASSIGN_OR_RETURN(SqliteStatement st, conn.Prepare(kGetTask));
  st.BindText(1, workspace);
  st.BindText(2, id);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError(fmt::format("task {} not found", id));
  return ReadTask(st);
}

// `progress` is the handoff's progress as JSON text, kept alive by the caller until the
// statement runs (BindText does not copy).
void BindHandoff(SqliteStatement& st, const Handoff& h, const std::string& progress) {
  st.BindText(1, h.id);
  st.BindText(2, h.workspace);
  st.BindText(3, h.inquiry_id);
  st.BindText(4, h.destination);
  st.BindText(5, h.state);
  st.BindInt(6, h.attempts);
  st.BindInt(7, h.next_attempt_at);
  st.BindInt(8, h.created_at);
  st.BindInt(9, h.confirmed_at);
  st.BindText(10, h.remote_id);
  st.BindInt(11, h.last_status);
  st.BindText(12, h.last_error);
  st.BindText(13, h.last_response_excerpt);
  st.BindText(14, progress);
}

Handoff ReadHandoff(const SqliteStatement& st) {
  Handoff h;
  h.id = st.Text(0);
  h.workspace = st.Text(1);
  h.inquiry_id = st.Text(2);
  h.destination = st.Text(3);
  h.state = st.Text(4);
  h.attempts = static_cast<int>(st.Int(5));
  h.next_attempt_at = st.Int(6);
  h.created_at = st.Int(7);
  h.confirmed_at = st.Int(8);
  h.remote_id = st.Text(9);
  h.last_status = static_cast<int>(st.Int(10));
  h.last_error = st.Text(11);
  h.last_response_excerpt = st.Text(12);
  h.progress = ParseJsonObject(st.Text(13));
  h.purpose = st.Text(14);
  h.recipient = st.Text(15);
  h.text = st.Text(16);
  return h;
}

WorkItem ReadWork(const SqliteStatement& st) {
  WorkItem w;
  w.id = st.Int(0);
  w.workspace = st.Text(1);
  w.inquiry_id = st.Text(2);
  w.stage = ParseStage(st.Text(3)).value_or(Stage::kEnrich);
  w.available_at = st.Int(4);
  w.attempts = static_cast<int>(st.Int(5));
  return w;
}

// Reads shared by the writer's transaction and the read-only pool.

// Fills in the body as received of `i`, read from its own table.
absl::Status ReadBody(SqliteConnection& conn, Inquiry& i) {
  ASSIGN_OR_RETURN(SqliteStatement st, conn.Prepare(kGetBody));
  st.BindText(1, i.workspace);
  st.BindText(2, i.id);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (row) {
    i.raw_content_type = st.Text(0);
    i.raw_payload = st.Text(1);
  }
  return absl::OkStatus();
}

// The inquiry, with its body as received unless `with_body` is false (what a delivery reads
// never holds it).
absl::StatusOr<Inquiry> QueryInquiry(SqliteConnection& conn, const std::string& workspace,
                                     const std::string& id, bool with_body = true) {
  ASSIGN_OR_RETURN(SqliteStatement st, conn.Prepare(kGetInquiry));
  st.BindText(1, workspace);
  st.BindText(2, id);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError(fmt::format("inquiry {} not found", id));
  Inquiry i = ReadInquiry(st);
  if (with_body) RETURN_IF_ERROR(ReadBody(conn, i));
  return i;
}

// Steps `st` to the end, reading each row with `read`.
template <typename Read>
auto ReadAll(SqliteStatement& st, Read read)
    -> absl::StatusOr<std::vector<decltype(read(std::declval<const SqliteStatement&>()))>> {
  std::vector<decltype(read(std::declval<const SqliteStatement&>()))> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(read(st));
  }
  return out;
}

Leak ReadLeak(const SqliteStatement& st) {
  Leak l;
  l.workspace = st.Text(0);
  l.key = st.Text(1);
  l.opened_at = st.Int(2);
  l.kind = st.Text(3);
  l.inquiry_id = st.Text(4);
  l.source = st.Text(5);
  l.route = st.Text(6);
  l.destination = st.Text(7);
  l.owner = st.Text(8);
  l.group = st.Text(9);
  l.reason = st.Text(10);
  l.value = st.Double(11);
  l.since = st.Int(12);
  l.closed_at = st.Int(13);
  return l;
}

AlertGroup ReadAlertGroup(const SqliteStatement& st) {
  AlertGroup g;
  g.workspace = st.Text(0);
  g.key = st.Text(1);
  g.opened_at = st.Int(2);
  g.title = st.Text(3);
  g.open = static_cast<int>(st.Int(4));
  g.total = static_cast<int>(st.Int(5));
  g.alerted_at = st.Int(6);
  g.closed_at = st.Int(7);
  return g;
}

absl::StatusOr<std::vector<Handoff>> QueryHandoffs(SqliteConnection& conn,
                                                   const std::string& workspace,
                                                   const std::string& inquiry_id) {
  ASSIGN_OR_RETURN(SqliteStatement st, conn.Prepare(kListHandoffs));
  st.BindText(1, workspace);
  st.BindText(2, inquiry_id);
  std::vector<Handoff> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadHandoff(st));
  }
  return out;
}

absl::StatusOr<std::optional<Contact>> QueryContact(SqliteConnection& conn, const char* sql,
                                                    const std::string& workspace,
                                                    const std::string& key) {
  if (key.empty()) return std::optional<Contact>();
  ASSIGN_OR_RETURN(SqliteStatement st, conn.Prepare(sql));
  st.BindText(1, workspace);
  st.BindText(2, key);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<Contact>();
  return std::optional<Contact>(ReadContact(st));
}

// The single value of `sql`, whose text parameters (?1, ?2, …) are `params`.
absl::StatusOr<std::optional<Micros>> QueryMin(SqliteConnection& conn, const char* sql,
                                               const std::vector<std::string>& params) {
  ASSIGN_OR_RETURN(SqliteStatement st, conn.Prepare(sql));
  for (size_t i = 0; i < params.size(); ++i) st.BindText(static_cast<int>(i) + 1, params[i]);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row || st.IsNull(0)) return std::optional<Micros>();
  return std::optional<Micros>(st.Int(0));
}

absl::Status RunControl(SqliteConnection& conn, const char* sql) {
  ASSIGN_OR_RETURN(SqliteStatement st, conn.Prepare(sql));
  return st.Run();
}

// Runs `read` (returning a StatusOr) in one read transaction on a reader: its statements see
// one snapshot, and the pages they share are read once, where each statement on its own would
// read them again (a reader empties its page cache whenever the log has changed).
template <typename Read>
auto InReadTransaction(SqliteConnection& conn, Read read) -> decltype(read()) {
  RETURN_IF_ERROR(RunControl(conn, kBeginRead));
  auto result = read();
  absl::Status ended = RunControl(conn, kCommit);
  // A reader must not go back to the pool inside a transaction: it would keep its snapshot.
  if (!ended.ok()) (void)RunControl(conn, kRollback);
  if (!result.ok()) return result.status();
  RETURN_IF_ERROR(ended);
  return result;
}

// A workspace and one of its destinations.
using WorkspaceDestination = std::pair<std::string, std::string>;

// The (workspace, destination) pairs that have claimable handoffs, of `workspace` ("" = every
// workspace), in index order: one seek per pair, however many handoffs each has.
absl::StatusOr<std::vector<WorkspaceDestination>> ClaimablePairs(SqliteConnection& conn,
                                                                 const std::string& workspace) {
  std::vector<WorkspaceDestination> pairs;
  std::string in_workspace = workspace;
  for (;;) {
    if (workspace.empty()) {
      ASSIGN_OR_RETURN(SqliteStatement st, conn.Prepare(kNextClaimableWorkspace));
      st.BindText(1, in_workspace);
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      in_workspace = st.Text(0);
    }
    for (std::string destination;;) {
      ASSIGN_OR_RETURN(SqliteStatement st, conn.Prepare(kNextClaimableDestination));
      st.BindText(1, in_workspace);
      st.BindText(2, destination);
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      destination = st.Text(0);
      pairs.emplace_back(in_workspace, destination);
    }
    if (!workspace.empty()) break;
  }
  return pairs;
}

}  // namespace

// The read-only connections. WAL lets them read a consistent snapshot while the writer
// writes. Thread-safe.
class SqliteStore::ReaderPool {
 public:
  // A borrowed connection, returned to the pool when destroyed.
  class Handle {
   public:
    Handle(ReaderPool* pool, std::unique_ptr<SqliteConnection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Handle(Handle&& other) noexcept = default;
    Handle& operator=(Handle&&) = delete;
    ~Handle() {
      if (conn_ != nullptr) pool_->Return(std::move(conn_));
    }
    SqliteConnection* operator->() const { return conn_.get(); }
    SqliteConnection& operator*() const { return *conn_; }

   private:
    ReaderPool* pool_;
    std::unique_ptr<SqliteConnection> conn_;
  };

  ReaderPool(std::string path, size_t max) : path_(std::move(path)), max_(max) {}

  absl::StatusOr<Handle> Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !idle_.empty() || open_ < max_; });
    if (!idle_.empty()) {
      std::unique_ptr<SqliteConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Handle(this, std::move(conn));
    }
    ++open_;
    lock.unlock();
    absl::StatusOr<std::unique_ptr<SqliteConnection>> conn = OpenOne();
    if (!conn.ok()) {
      lock.lock();
      --open_;
      cv_.notify_one();
      return conn.status();
    }
    return Handle(this, std::move(*conn));
  }

 private:
  absl::StatusOr<std::unique_ptr<SqliteConnection>> OpenOne() {
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteConnection> conn,
                     SqliteConnection::Open(path_, SqliteConnection::Mode::kReadOnly));
    RETURN_IF_ERROR(conn->Exec("PRAGMA busy_timeout = 5000; PRAGMA query_only = ON"));
    return conn;
  }

  void Return(std::unique_ptr<SqliteConnection> conn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      idle_.push_back(std::move(conn));
    }
    cv_.notify_one();
  }

  const std::string path_;
  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_;  // guarded by mu_
  size_t open_ = 0;                                      // guarded by mu_
};

// The WriteTx handed to write functions: runs on the writer thread, inside the batch's
// transaction (and, when the batch runs again after a failure, the function's savepoint). Records
// the lease changes and the stages with new work that become final only if the function's writes
// commit.
class SqliteWriteTx final : public WriteTx {
 public:
  SqliteWriteTx(SqliteStore* store, SqliteConnection* conn) : store_(store), conn_(conn) {}

  // Starts a new write function's bookkeeping.
  void BeginFn() {
    ops_.clear();
    stages_ = 0;
  }
  std::vector<SqliteStore::LeaseOp>& ops() { return ops_; }
  uint32_t stages() const { return stages_; }

  static constexpr size_t kMaxRememberedSeqs = 65536;

  absl::Status InsertInquiry(const Inquiry& inquiry) override {
    RETURN_IF_ERROR(RequireKey(inquiry.workspace, inquiry.id, "inquiry"));
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kInsertInquiry));
    std::string fields_json = inquiry.fields.dump();
    BindInquiry(st, inquiry, fields_json);
    st.BindText(28, inquiry.route);
    RETURN_IF_ERROR(st.Run());
    ASSIGN_OR_RETURN(SqliteStatement body, conn_->Prepare(kInsertBody));
    body.BindText(1, inquiry.workspace);
    body.BindText(2, inquiry.id);
    body.BindText(3, inquiry.raw_content_type);
    body.BindBlob(4, inquiry.raw_payload);
    return body.Run();
  }

  absl::Status UpdateInquiry(const Inquiry& inquiry) override {
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kUpdateInquiry));
    std::string fields_json = inquiry.fields.dump();
    BindInquiry(st, inquiry, fields_json);
    RETURN_IF_ERROR(st.Run());
    if (conn_->changes() > 0) return absl::OkStatus();
    // Nothing matched: either there is no such inquiry, or the update tried to change what
    // entry fixed.
    RETURN_IF_ERROR(QueryInquiry(*conn_, inquiry.workspace, inquiry.id).status());
    return absl::FailedPreconditionError(fmt::format(
        "inquiry {}: source, channel and received_at are fixed at entry and cannot be updated",
        inquiry.id));
  }

  absl::Status SetInquiryProgress(const std::string& workspace, const std::string& id, Stage stage,
                                  const std::string& status) override {
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kSetInquiryProgress));
    st.BindText(3, StageName(stage));  // a static string: binding does not copy it
    st.BindText(4, status);
    return RunInquiryChange(st, workspace, id);
  }

  absl::Status SetInquiryTriggered(const std::string& workspace, const std::string& id,
                                   const std::string& status, const std::string& route) override {
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kSetInquiryTriggered));
    st.BindText(3, status);
    st.BindText(4, route);
    return RunInquiryChange(st, workspace, id);
  }

  absl::Status AppendEvent(const Event& event) override {
    RETURN_IF_ERROR(RequireKey(event.workspace, event.inquiry_id, "event"));
    int64_t seq = 0;
    auto known = last_event_seq_.find(event.inquiry_id);
    if (known != last_event_seq_.end()) {
      seq = known->second + 1;
    } else {
      ASSIGN_OR_RETURN(SqliteStatement next, conn_->Prepare(kNextEventSeq));
      next.BindText(1, event.inquiry_id);
      ASSIGN_OR_RETURN(bool row, next.Step());
      if (!row) return absl::InternalError("no next event sequence number");
      seq = next.Int(0);
    }
    std::string scratch;
    const std::string& detail = EventDetailTextOf(event, scratch);
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kInsertEvent));
    st.BindText(1, event.inquiry_id);
    st.BindInt(2, seq);
    st.BindText(3, event.workspace);
    st.BindInt(4, event.at);
    st.BindText(5, StageName(event.stage));
    st.BindText(6, event.kind);
    st.BindText(7, detail);
    RETURN_IF_ERROR(st.Run());
    // An inquiry's events come in a burst over its few stages: remembering the last sequence
    // number of recent inquiries spares a MAX(seq) look-up for nearly every event. Bounded by
    // starting over when it grows large. (`known` is still valid: nothing touched the map.)
    if (known != last_event_seq_.end()) {
      known->second = seq;
      return absl::OkStatus();
    }
    if (last_event_seq_.size() >= kMaxRememberedSeqs) last_event_seq_.clear();
    last_event_seq_.emplace(event.inquiry_id, seq);
    return absl::OkStatus();
  }

  // Forgets the remembered sequence numbers: after a rollback they may name events that are
  // gone.
  void ForgetEventSeqs() { last_event_seq_.clear(); }

  absl::StatusOr<std::optional<std::string>> FindDedupe(const std::string& workspace,
                                                        const std::string& source,
                                                        const std::string& key) override {
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kFindDedupe));
    st.BindText(1, workspace);
    st.BindText(2, source);
    st.BindText(3, key);
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return std::optional<std::string>();
    return std::optional<std::string>(st.Text(0));
  }

  absl::Status InsertDedupe(const std::string& workspace, const std::string& source,
                            const std::string& key, const std::string& inquiry_id,
                            Micros at) override {
    RETURN_IF_ERROR(RequireKey(workspace, inquiry_id, "dedupe"));
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kInsertDedupe));
    st.BindText(1, workspace);
    st.BindText(2, source);
    st.BindText(3, key);
    st.BindText(4, inquiry_id);
    st.BindInt(5, at);
    return st.Run();
  }

  absl::StatusOr<std::optional<Contact>> FindContactByEmail(const std::string& workspace,
                                                            const std::string& email) override {
    return QueryContact(*conn_, kFindContactByEmail, workspace, email);
  }

  absl::StatusOr<std::optional<Contact>> FindContactByPhone(const std::string& workspace,
                                                            const std::string& phone) override {
    return QueryContact(*conn_, kFindContactByPhone, workspace, phone);
  }

  absl::Status UpsertContact(const Contact& contact) override {
    RETURN_IF_ERROR(RequireKey(contact.workspace, contact.id, "contact"));
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kUpsertContact));
    BindContact(st, contact);
    return st.Run();
  }

  absl::StatusOr<Inquiry> GetInquiry(const std::string& workspace, const std::string& id) override {
    return QueryInquiry(*conn_, workspace, id);
  }

  absl::StatusOr<std::vector<Handoff>> ListHandoffs(const std::string& workspace,
                                                    const std::string& inquiry_id) override {
    return QueryHandoffs(*conn_, workspace, inquiry_id);
  }

  absl::StatusOr<HandoffTally> TallyHandoffs(const std::string& workspace,
                                             const std::string& inquiry_id) override {
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kTallyHandoffs));
    st.BindText(1, workspace);
    st.BindText(2, inquiry_id);
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::InternalError("no handoff tally");
    HandoffTally tally;
    tally.confirmed = st.Int(1);
    tally.dead = st.Int(2);
    tally.unsettled = st.Int(0) - tally.confirmed - tally.dead;
    return tally;
  }

  absl::Status InsertTask(const Task& task) override {
    RETURN_IF_ERROR(RequireKey(task.workspace, task.id, "task"));
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kInsertTask));
    const std::string missing = nlohmann::json(task.missing).dump();
    BindTask(st, task, missing);
    return st.Run();
  }

  absl::StatusOr<Task> GetTask(const std::string& workspace, const std::string& id) override {
    return QueryTask(*conn_, workspace, id);
  }

  absl::Status UpdateTask(const Task& task) override {
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kUpdateTask));
    st.BindText(1, task.id);
    st.BindText(2, task.workspace);
    st.BindText(3, task.owner);
    st.BindInt(4, task.due_at);
    st.BindText(5, task.state);
    st.BindInt(6, task.acknowledged_at);
    st.BindInt(7, task.done_at);
    st.BindInt(8, task.escalation_step);
    st.BindInt(9, task.next_escalation_at);
    RETURN_IF_ERROR(st.Run());
    if (conn_->changes() == 0) {
      return absl::NotFoundError(fmt::format("task {} not found", task.id));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::map<std::string, int64_t>> CountOpenTasks(
      const std::string& workspace, const std::vector<std::string>& owners) override {
    std::map<std::string, int64_t> out;
    for (const std::string& owner : owners) {
      if (owner.empty() || out.contains(owner)) continue;
      ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kCountOpenTasks));
      st.BindText(1, workspace);
      st.BindText(2, owner);
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (row && st.Int(0) > 0) out[owner] = st.Int(0);
    }
    return out;
  }

  absl::StatusOr<int64_t> NextCounter(const std::string& workspace,
                                      const std::string& key) override {
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kNextCounter));
    st.BindText(1, workspace);
    st.BindText(2, key);
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::InternalError("counter update returned no row");
    const int64_t value = st.Int(0);
    // Steps the statement to its end, which completes its write.
    ASSIGN_OR_RETURN(bool more, st.Step());
    (void)more;
    return value;
  }

  absl::StatusOr<bool> TakeRateSlot(const std::string& workspace, const std::string& key, Micros at,
                                    Micros window) override {
    {
      ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kGetRateMark));
      st.BindText(1, workspace);
      st.BindText(2, key);
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (row && at - st.Int(0) < window) return false;
    }
    ASSIGN_OR_RETURN(SqliteStatement put, conn_->Prepare(kPutRateMark));
    put.BindText(1, workspace);
    put.BindText(2, key);
    put.BindInt(3, at);
    RETURN_IF_ERROR(put.Run());
    return true;
  }

  absl::StatusOr<std::vector<PastInquiry>> ContactHistory(const std::string& workspace,
                                                          const std::string& contact_id,
                                                          const std::string& except_inquiry_id,
                                                          int limit) override {
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kContactHistory));
    st.BindText(1, workspace);
    st.BindText(2, contact_id);
    st.BindText(3, except_inquiry_id);
    st.BindInt(4, limit);
    std::vector<PastInquiry> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      PastInquiry p;
      p.id = st.Text(0);
      p.received_at = st.Int(1);
      p.channel = ParseChannel(st.Text(2)).value_or(Channel::kOther);
      p.service = st.Text(3);
      p.status = st.Text(4);
      p.owner = st.Text(5);
      p.task_state = st.Text(6);
      out.push_back(std::move(p));
    }
    return out;
  }

  absl::Status InsertHandoff(const Handoff& handoff) override {
    RETURN_IF_ERROR(RequireKey(handoff.workspace, handoff.id, "handoff"));
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kInsertHandoff));
    const std::string progress = handoff.progress.dump();
    BindHandoff(st, handoff, progress);
    // Set once at creation: UpdateHandoff's statement does not carry them.
    st.BindText(15, handoff.purpose);
    st.BindText(16, handoff.recipient);
    st.BindText(17, handoff.text);
    RETURN_IF_ERROR(st.Run());
    if (IsRetryableHandoffState(handoff.state)) stages_ |= StageBit(Stage::kTransfer);
    return absl::OkStatus();
  }

  absl::Status UpdateHandoff(const Handoff& handoff, const std::string& lease_token) override {
    SqliteStore::LeaseOp op;
    RETURN_IF_ERROR(store_->PinHandoffLease(handoff.id, lease_token, &op));
    if (handoff.state == "delivering" && !lease_token.empty()) {
      op.kind = SqliteStore::LeaseOp::Kind::kKeepHandoff;
    }
    // Recorded before the SQL runs: if it fails, the rollback of its writes gives the pin back.
    ops_.push_back(std::move(op));
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kUpdateHandoff));
    const std::string progress = handoff.progress.dump();
    BindHandoff(st, handoff, progress);
    RETURN_IF_ERROR(st.Run());
    if (conn_->changes() == 0) {
      return absl::NotFoundError(fmt::format("handoff {} not found", handoff.id));
    }
    if (IsRetryableHandoffState(handoff.state)) stages_ |= StageBit(Stage::kTransfer);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Handoff>> ReviveDeadHandoffs(const std::string& workspace,
                                                          const HandoffReplayFilter& filter,
                                                          Micros now) override {
    std::vector<Handoff> dead;
    {
      ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kFindDeadHandoffs));
      st.BindText(1, workspace);
      st.BindText(2, filter.handoff_id);
      st.BindText(3, filter.destination);
      st.BindInt(4, filter.created_from);
      st.BindInt(5, filter.created_until);
      st.BindText(6, filter.after_id);
      st.BindInt(7, std::max(0, filter.limit));
      while (true) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        dead.push_back(ReadHandoff(st));
      }
    }
    for (const Handoff& h : dead) {
      ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kReviveHandoff));
      st.BindText(1, workspace);
      st.BindText(2, h.id);
      st.BindInt(3, now);
      RETURN_IF_ERROR(st.Run());
    }
    if (!dead.empty()) stages_ |= StageBit(Stage::kTransfer);
    return dead;
  }

  absl::Status EnqueueWork(const WorkItem& item) override {
    RETURN_IF_ERROR(RequireKey(item.workspace, item.inquiry_id, "work item"));
    RETURN_IF_ERROR(StageIndex(item.stage).status());
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kEnqueueWork));
    st.BindText(1, item.workspace);
    st.BindText(2, item.inquiry_id);
    st.BindText(3, StageName(item.stage));
    st.BindInt(4, item.available_at);
    st.BindInt(5, item.attempts);
    RETURN_IF_ERROR(st.Run());
    stages_ |= StageBit(item.stage);
    return absl::OkStatus();
  }

  absl::Status CompleteWork(const WorkItem& item) override {
    SqliteStore::LeaseOp op;
    RETURN_IF_ERROR(store_->PinWorkLease(item, &op));
    ops_.push_back(std::move(op));
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kCompleteWork));
    st.BindInt(1, item.id);
    st.BindText(2, item.workspace);
    RETURN_IF_ERROR(st.Run());
    if (conn_->changes() == 0) {
      return absl::NotFoundError(fmt::format("work item {} not found", item.id));
    }
    return absl::OkStatus();
  }

  absl::Status InsertInboxItem(const InboxItem& item) override {
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kInsertInboxItem));
    st.BindText(1, item.id);
    st.BindText(2, item.workspace);
    st.BindText(3, item.inquiry_id);
    st.BindText(4, item.destination);
    st.BindText(5, item.owner);
    st.BindText(6, item.state);
    st.BindInt(7, item.created_at);
    st.BindInt(8, item.done_at);
    return st.Run();
  }

  absl::Status SetInboxItemState(const std::string& workspace, const std::string& id,
                                 const std::string& state, Micros at) override {
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kSetInboxItemState));
    st.BindText(1, workspace);
    st.BindText(2, id);
    st.BindText(3, state);
    st.BindInt(4, state == "done" ? at : 0);
    RETURN_IF_ERROR(st.Run());
    if (conn_->changes() == 0)
      return absl::NotFoundError(fmt::format("inbox item {} not found", id));
    return absl::OkStatus();
  }

  absl::Status CountEntry(const std::string& workspace, const std::string& source,
                          const std::string& outcome, const std::string& reason, Micros at,
                          int64_t n) override {
    if (workspace.empty()) return absl::InvalidArgumentError("entry count: empty workspace");
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kCountEntry));
    st.BindText(1, workspace);
    st.BindText(2, source);
    st.BindText(3, outcome);
    st.BindText(4, reason);
    st.BindInt(5, MinuteBucket(at));
    st.BindInt(6, n);
    return st.Run();
  }

  absl::Status InsertLeak(const Leak& l) override {
    RETURN_IF_ERROR(RequireKey(l.workspace, l.key, "leak"));
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kInsertLeak));
    st.BindText(1, l.workspace);
    st.BindText(2, l.key);
    st.BindInt(3, l.opened_at);
    st.BindText(4, l.kind);
    st.BindText(5, l.inquiry_id);
    st.BindText(6, l.source);
    st.BindText(7, l.route);
    st.BindText(8, l.destination);
    st.BindText(9, l.owner);
    st.BindText(10, l.group);
    st.BindText(11, l.reason);
    st.BindDouble(12, l.value);
    st.BindInt(13, l.since);
    st.BindInt(14, l.closed_at);
    return st.Run();
  }

  absl::Status CloseLeak(const std::string& workspace, const std::string& key, Micros opened_at,
                         Micros closed_at) override {
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kCloseLeak));
    st.BindText(1, workspace);
    st.BindText(2, key);
    st.BindInt(3, opened_at);
    st.BindInt(4, closed_at);
    RETURN_IF_ERROR(st.Run());
    if (conn_->changes() == 0) return absl::NotFoundError(fmt::format("no open leak {}", key));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<AlertGroup>> ListOpenAlertGroups(
      const std::string& workspace) override {
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kListOpenAlertGroups));
    st.BindText(1, workspace);
    return ReadAll(st, ReadAlertGroup);
  }

  absl::Status PutAlertGroup(const AlertGroup& g) override {
    RETURN_IF_ERROR(RequireKey(g.workspace, g.key, "alert group"));
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kPutAlertGroup));
    st.BindText(1, g.workspace);
    st.BindText(2, g.key);
    st.BindInt(3, g.opened_at);
    st.BindText(4, g.title);
    st.BindInt(5, g.open);
    st.BindInt(6, g.total);
    st.BindInt(7, g.alerted_at);
    st.BindInt(8, g.closed_at);
    return st.Run();
  }

  absl::Status PutSession(const DashboardSession& s) override {
    RETURN_IF_ERROR(RequireKey(s.workspace, s.id_hash, "session"));
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kPutSession));
    st.BindText(1, s.workspace);
    st.BindText(2, s.id_hash);
    st.BindText(3, s.user);
    st.BindText(4, s.name);
    st.BindText(5, s.csrf_token);
    st.BindInt(6, s.expires_at);
    return st.Run();
  }

  absl::Status DeleteSession(const std::string& workspace, const std::string& id_hash) override {
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kDeleteSession));
    st.BindText(1, workspace);
    st.BindText(2, id_hash);
    return st.Run();
  }

  absl::Status DeleteExpiredSessions(const std::string& workspace, Micros now) override {
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kDeleteExpiredSessions));
    st.BindText(1, workspace);
    st.BindInt(2, now);
    return st.Run();
  }

  absl::Status DeleteInquiry(const std::string& workspace, const std::string& id) override {
    RETURN_IF_ERROR(RequireKey(workspace, id, "inquiry"));
    for (const char* sql : kDeleteInquiryRows) {
      ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(sql));
      st.BindText(1, workspace);
      st.BindText(2, id);
      RETURN_IF_ERROR(st.Run());
    }
    if (conn_->changes() == 0) {
      return absl::NotFoundError(fmt::format("no inquiry {} in workspace {}", id, workspace));
    }
    last_event_seq_.erase(id);
    return absl::OkStatus();
  }

  absl::Status DeleteEntryCountsBefore(const std::string& workspace, Micros before) override {
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kDeleteEntryCountsBefore));
    st.BindText(1, workspace);
    st.BindInt(2, before);
    return st.Run();
  }

  // The only store on its file holds every duty.
  absl::Status FenceDuty(const std::string&) override { return absl::OkStatus(); }

  // Persists a release made by SqliteStore::ReleaseWork; `marker` is the token of the
  // placeholder lease that keeps the item back until this commits.
  absl::Status PersistRelease(const WorkItem& item, Micros available_at, std::string marker) {
    ASSIGN_OR_RETURN(SqliteStatement st, conn_->Prepare(kReleaseWork));
    st.BindInt(1, item.id);
    st.BindInt(2, available_at);
    RETURN_IF_ERROR(st.Run());
    ops_.push_back(SqliteStore::LeaseOp{SqliteStore::LeaseOp::Kind::kEndWork, false, item.stage,
                                        item.id, std::string(), std::move(marker)});
    stages_ |= StageBit(item.stage);
    return absl::OkStatus();
  }

  SqliteConnection* connection() { return conn_; }

 private:
  // Runs a change of one inquiry's row, prepared with its other parameters; binds the workspace
  // and id as ?1 and ?2. NotFound when no such inquiry exists.
  absl::Status RunInquiryChange(SqliteStatement& st, const std::string& workspace,
                                const std::string& id) {
    st.BindText(1, workspace);
    st.BindText(2, id);
    RETURN_IF_ERROR(st.Run());
    if (conn_->changes() == 0) {
      return absl::NotFoundError(fmt::format("no inquiry {} in workspace {}", id, workspace));
    }
    return absl::OkStatus();
  }

  SqliteStore* store_;
  SqliteConnection* conn_;
  std::vector<SqliteStore::LeaseOp> ops_;
  uint32_t stages_ = 0;
  // inquiry id → the sequence number of its newest committed-or-pending event. Open addressing:
  // a look-up per event on the writer, without a node allocation per new inquiry.
  absl::flat_hash_map<std::string, int64_t> last_event_seq_;
};

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                               const Clock* clock,
                                                               WalCheckpointer::Options checkpoints,
                                                               Micros deferred_ride,
                                                               Micros gather) {
  if (path.empty() || path == ":memory:" || path.starts_with("file:")) {
    return absl::InvalidArgumentError(
        fmt::format("the SQLite store needs a database file path, not \"{}\"", path));
  }
  // The lock comes first: a second store must not even open the file (it would run
  // migrations, and its in-memory leases would not fence the first one's).
  std::string lock_path = path + ".lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        fmt::format("cannot open lock file {}: {}", lock_path, std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(fmt::format(
          "database {} is already open by another handoff store (this process or another); "
          "its lock file {} is held",
          path, lock_path));
    }
    return absl::FailedPreconditionError(
        fmt::format("cannot lock {}: {}", lock_path, std::strerror(err)));
  }

  auto fail = [fd](absl::Status s) {
    ::close(fd);
    return s;
  };
  absl::StatusOr<std::unique_ptr<SqliteConnection>> writer =
      SqliteConnection::Open(path, SqliteConnection::Mode::kReadWrite);
  if (!writer.ok()) return fail(writer.status());
  SqliteConnection& w = **writer;

  absl::StatusOr<std::string> mode = w.QueryText("PRAGMA journal_mode = WAL");
  if (!mode.ok()) return fail(mode.status());
  if (*mode != "wal") {
    return fail(absl::FailedPreconditionError(
        fmt::format("database {} cannot use WAL journaling (journal_mode is {})", path, *mode)));
  }
  // synchronous=FULL syncs the WAL at every commit: a write is acknowledged only once it
  // would survive a power loss. busy_timeout only matters for brief recovery locks.
  // The writer's page cache is small on purpose (kWriterCacheKib).
  absl::Status pragmas = w.Exec(fmt::format(
      "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = OFF; "
      "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -{}; "
      "PRAGMA journal_size_limit = 67108864",
      kWriterCacheKib));
  if (!pragmas.ok()) return fail(pragmas);
  absl::StatusOr<std::string> sync = w.QueryText("PRAGMA synchronous");
  if (!sync.ok()) return fail(sync.status());
  if (*sync != "2") {
    return fail(absl::FailedPreconditionError(
        fmt::format("database {}: synchronous=FULL did not take effect", path)));
  }
  absl::Status migrated = MigrateSqliteSchema(w, clock->Now());
  if (!migrated.ok()) {
    return fail(absl::Status(
        migrated.code(), fmt::format("database {}: {}", path, std::string(migrated.message()))));
  }

  // Started after the migrations, so that they ran under SQLite's own automatic checkpoint.
  absl::StatusOr<std::unique_ptr<WalCheckpointer>> checkpointer =
      WalCheckpointer::Start(path, checkpoints);
  if (!checkpointer.ok()) return fail(checkpointer.status());
  absl::Status attached = (*checkpointer)->Attach(w);
  if (!attached.ok()) return fail(attached);

  std::unique_ptr<SqliteStore> store(new SqliteStore(
      path, clock, fd, std::move(*writer), std::move(*checkpointer), deferred_ride, gather));
  store->writer_thread_ = std::thread([s = store.get()] { s->WriterLoop(); });
  return store;
}

SqliteStore::SqliteStore(std::string path, const Clock* clock, int lock_fd,
                         std::unique_ptr<SqliteConnection> writer,
                         std::unique_ptr<WalCheckpointer> checkpointer, Micros deferred_ride,
                         Micros gather)
    : path_(std::move(path)),
      clock_(clock),
      lock_fd_(lock_fd),
      token_prefix_(RandomHex(8)),
      writer_(std::move(writer)),
      readers_(std::make_unique<ReaderPool>(path_, kMaxReaders)),
      checkpointer_(std::move(checkpointer)),
      queue_(kMaxBatch, deferred_ride, gather) {
  tx_ = std::make_unique<SqliteWriteTx>(this, writer_.get());
  batch_ops_.reserve(kMaxBatch);
  results_.reserve(kMaxBatch);
}

SqliteStore::~SqliteStore() {
  Shutdown();
  checkpointer_->Detach(*writer_);
  checkpointer_.reset();
  tx_.reset();
  readers_.reset();
  writer_.reset();
  // Released last: no other store may open the file while this one still has it open.
  ::close(lock_fd_);
}

void SqliteStore::Shutdown() {
  queue_.Close();
  std::lock_guard<std::mutex> lock(join_mu_);
  // From a callback on the writer thread the writer cannot be joined; it still drains the
  // queue and exits, and the destructor joins it.
  if (writer_thread_.joinable() && std::this_thread::get_id() != writer_thread_id_.load()) {
    writer_thread_.join();
  }
}

void SqliteStore::SubmitWrite(WriteFn fn, WriteDone done, Durability durability) {
  if (!failed_.load()) {
    PendingWrite w{std::move(fn), std::move(done), durability};
    if (queue_.Push(w)) return;
    done = std::move(w.done);
  }
  // A write queued while the store fails is refused by RunBatch with the same reason.
  std::string refusal = "the store is shut down and accepts no more writes";
  if (failed_.load()) {
    std::lock_guard<std::mutex> lock(failure_mu_);
    refusal = failure_;
  }
  CallDone(done, absl::UnavailableError(refusal));
}

void SqliteStore::SetWorkListener(WorkListener listener) {
  queue_.SetListener(std::move(listener));
}

void SqliteStore::WriterLoop() {
  NameThisThread("store-writer");
  writer_thread_id_.store(std::this_thread::get_id());
  RaiseWriterPriority();
  std::vector<PendingWrite> batch;
  batch.reserve(kMaxBatch);
  std::shared_ptr<const WorkListener> listener;
  // Ends once the store is shut down and everything submitted is committed.
  while (queue_.Take(&batch, &listener)) RunBatch(batch, listener.get());
}

void SqliteStore::FailWholeBatch(std::vector<PendingWrite>& batch, const absl::Status& error) {
  for (PendingWrite& w : batch) CallDone(w.done, error);
}

void SqliteStore::EnterFailedState(const std::string& reason) {
  std::string failure = fmt::format(
      "the store stopped accepting writes after a failed commit ({}); restart handoff to "
      "recover from the write-ahead log",
      reason);
  spdlog::critical("store {}: {}", path_, failure);
  std::lock_guard<std::mutex> lock(failure_mu_);
  failure_ = std::move(failure);
  failed_.store(true);
}

absl::Status SqliteStore::RunFns(std::vector<PendingWrite>& batch, bool guarded, uint32_t* stages,
                                 int64_t* ok_fns, bool* fn_failed) {
  for (size_t i = 0; i < batch.size(); ++i) {
    tx_->BeginFn();
    if (guarded) RETURN_IF_ERROR(RunControl(*writer_, kSavepoint));
    absl::Status s = CallFn(batch[i].fn, *tx_);
    if (!writer_->in_transaction()) {
      // SQLite rolled the whole transaction back on its own (I/O error, disk full): the
      // writes of every function before this one are gone too.
      GiveBackPins(tx_->ops());
      return s.ok() ? absl::UnavailableError("SQLite rolled the transaction back") : s;
    }
    if (s.ok()) {
      if (guarded) {
        if (absl::Status released = RunControl(*writer_, kRelease); !released.ok()) {
          GiveBackPins(tx_->ops());
          return released;
        }
      }
      for (LeaseOp& op : tx_->ops()) batch_ops_.push_back(std::move(op));
      *stages |= tx_->stages();
      ++*ok_fns;
      continue;
    }
    GiveBackPins(tx_->ops());
    results_[i] = std::move(s);
    if (!guarded) {
      // Its writes are mixed with the others': only undoing the whole pass removes them.
      *fn_failed = true;
      return absl::OkStatus();
    }
    tx_->ForgetEventSeqs();
    RETURN_IF_ERROR(RunControl(*writer_, kRollbackTo));
    RETURN_IF_ERROR(RunControl(*writer_, kRelease));
  }
  return absl::OkStatus();
}

void SqliteStore::RunBatch(std::vector<PendingWrite>& batch, const WorkListener* listener) {
  if (failed_.load()) {
    std::string failure;
    {
      std::lock_guard<std::mutex> lock(failure_mu_);
      failure = failure_;
    }
    FailWholeBatch(batch, absl::UnavailableError(failure));
    return;
  }
  const size_t n = batch.size();
  results_.assign(n, absl::OkStatus());
  batch_ops_.clear();
  writer_->set_last_error(0);
  uint32_t stages = 0;
  int64_t ok_fns = 0;
  bool commit_failed = false;

  const bool synced = std::any_of(batch.begin(), batch.end(), [](const PendingWrite& w) {
    return w.durability == Durability::kSynced;
  });
  absl::Status tx_error = absl::OkStatus();
  if (synced != writer_synced_) {
    tx_error = RunControl(*writer_, synced ? kSyncFull : kSyncNormal);
    if (tx_error.ok()) writer_synced_ = synced;
  }
  if (tx_error.ok()) tx_error = RunControl(*writer_, kBegin);
  // First without savepoints: SQLite copies every page a function changes into the savepoint's
  // journal, once per function, and a batch's functions change the same few pages. A failure is
  // rare; only then is the whole pass undone and the batch run again, each function in a
  // savepoint of its own, so that the failure rolls back only its own writes (a write function
  // may therefore run twice: see WriteFn).
  bool fn_failed = false;
  if (tx_error.ok()) tx_error = RunFns(batch, /*guarded=*/false, &stages, &ok_fns, &fn_failed);
  if (tx_error.ok() && fn_failed) {
    tx_->ForgetEventSeqs();
    GiveBackPins(batch_ops_);
    batch_ops_.clear();
    stages = 0;
    ok_fns = 0;
    tx_error = RunControl(*writer_, kRollback);
    if (tx_error.ok() && n == 1) {
      // Nothing else to commit: the function's error is the whole outcome.
      CallDone(batch[0].done, std::move(results_[0]));
      return;
    }
    if (tx_error.ok()) {
      guarded_reruns_.fetch_add(1);
      results_.assign(n, absl::OkStatus());
      tx_error = RunControl(*writer_, kBegin);
    }
    if (tx_error.ok()) tx_error = RunFns(batch, /*guarded=*/true, &stages, &ok_fns, &fn_failed);
  }
  if (tx_error.ok()) {
    tx_error = RunControl(*writer_, kCommit);
    commit_failed = !tx_error.ok();
  }

  if (!tx_error.ok()) {
    tx_->ForgetEventSeqs();
    int rc = writer_->last_error();
    if (writer_->in_transaction()) (void)writer_->Exec("ROLLBACK");
    GiveBackPins(batch_ops_);
    // After a failed commit (a failed fsync above all) what reached the disk is unknown, and
    // retrying could acknowledge writes that are not durable: stop writing for good.
    if (commit_failed || IsSqliteIoFailure(rc)) {
      EnterFailedState(std::string(tx_error.message()));
    }
    absl::Status error = absl::UnavailableError(
        fmt::format("the write was not committed: {}", std::string(tx_error.message())));
    for (size_t i = 0; i < n; ++i) {
      CallDone(batch[i].done, results_[i].ok() ? error : results_[i]);
    }
    return;
  }

  commits_.fetch_add(1);
  if (!synced) deferred_commits_.fetch_add(1);
  checkpointer_->NoteCommit(synced);
  committed_fns_.fetch_add(ok_fns);
  ApplyCommitted(batch_ops_);
  TellListener(listener, stages);
  for (size_t i = 0; i < n; ++i) CallDone(batch[i].done, std::move(results_[i]));
}

void SqliteStore::ApplyCommitted(const std::vector<LeaseOp>& ops) {
  if (ops.empty()) return;
  for (const LeaseOp& op : ops) {
    if (op.kind == LeaseOp::Kind::kEndWork) {
      std::lock_guard<std::mutex> lock(work_lease_mu_);
      auto& leases = work_leases_[static_cast<size_t>(op.stage)];
      auto it = leases.find(op.work_id);
      if (it != leases.end() && it->second.token == op.token) leases.erase(it);
      continue;
    }
    std::lock_guard<std::mutex> lock(handoff_lease_mu_);
    auto it = handoff_leases_.find(op.handoff_id);
    if (it == handoff_leases_.end() || it->second.token != op.token) continue;
    if (op.kind == LeaseOp::Kind::kKeepHandoff) {
      if (op.pinned) --it->second.pins;
    } else {
      handoff_leases_.erase(it);
    }
  }
}

void SqliteStore::GiveBackPins(const std::vector<LeaseOp>& ops) {
  for (const LeaseOp& op : ops) {
    if (!op.pinned) continue;
    if (op.kind == LeaseOp::Kind::kEndWork) {
      std::lock_guard<std::mutex> lock(work_lease_mu_);
      auto& leases = work_leases_[static_cast<size_t>(op.stage)];
      auto it = leases.find(op.work_id);
      if (it != leases.end() && it->second.token == op.token) --it->second.pins;
      continue;
    }
    std::lock_guard<std::mutex> lock(handoff_lease_mu_);
    auto it = handoff_leases_.find(op.handoff_id);
    if (it == handoff_leases_.end() || it->second.token != op.token) continue;
    --it->second.pins;
    // An operator's placeholder claim only exists while its write is pending.
    if (it->second.pins == 0 && it->second.token.empty()) handoff_leases_.erase(it);
  }
}

absl::Status SqliteStore::PinWorkLease(const WorkItem& item, LeaseOp* op) {
  ASSIGN_OR_RETURN(size_t stage, StageIndex(item.stage));
  std::lock_guard<std::mutex> lock(work_lease_mu_);
  auto& leases = work_leases_[stage];
  auto it = leases.find(item.id);
  if (item.lease_token.empty() || it == leases.end() || it->second.token != item.lease_token) {
    return absl::AbortedError(fmt::format(
        "work item {} is no longer claimed with this lease (it expired and was claimed again, "
        "or was completed or released)",
        item.id));
  }
  ++it->second.pins;
  *op =
      LeaseOp{LeaseOp::Kind::kEndWork, true, item.stage, item.id, std::string(), item.lease_token};
  return absl::OkStatus();
}

absl::Status SqliteStore::PinHandoffLease(const std::string& handoff_id, const std::string& token,
                                          LeaseOp* op) {
  std::lock_guard<std::mutex> lock(handoff_lease_mu_);
  auto it = handoff_leases_.find(handoff_id);
  if (token.empty()) {
    // An unfenced update (no claim) is allowed only while no one holds the handoff; a
    // placeholder claim keeps claimers away until it commits.
    bool held = it != handoff_leases_.end() &&
                (it->second.pins > 0 || it->second.expires_at > clock_->Now());
    if (held && !it->second.token.empty()) {
      return absl::AbortedError(
          fmt::format("handoff {} is claimed by a worker; retry once it is released", handoff_id));
    }
    if (it == handoff_leases_.end() || !it->second.token.empty()) {
      it = handoff_leases_.insert_or_assign(handoff_id, Lease{}).first;
    }
  } else if (it == handoff_leases_.end() || it->second.token != token) {
    return absl::AbortedError(fmt::format(
        "handoff {} is no longer claimed with this lease (it expired and was claimed again, "
        "or its outcome was already written)",
        handoff_id));
  }
  ++it->second.pins;
  *op = LeaseOp{LeaseOp::Kind::kEndHandoff, true, Stage::kTransfer, 0, handoff_id, token};
  return absl::OkStatus();
}

std::string SqliteStore::NewLeaseToken() {
  return fmt::format("{}-{}", token_prefix_, token_counter_.fetch_add(1) + 1);
}

absl::StatusOr<std::vector<WorkItem>> SqliteStore::ClaimWork(Stage stage, int max, Micros now,
                                                             Micros lease,
                                                             const std::string& workspace) {
  std::vector<WorkItem> out;
  if (max <= 0) return out;
  ASSIGN_OR_RETURN(size_t index, StageIndex(stage));
  std::lock_guard<std::mutex> lock(work_lease_mu_);
  auto& leases = work_leases_[index];
  std::vector<WorkItem> candidates;
  {
    ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
    ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kClaimWork));
    st.BindText(1, StageName(stage));
    st.BindInt(2, now);
    // Leased rows still match the query; fetch enough that `max` unleased ones fit.
    st.BindInt(3, static_cast<int64_t>(max) + static_cast<int64_t>(leases.size()));
    st.BindText(4, workspace);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      candidates.push_back(ReadWork(st));
    }
  }
  for (WorkItem& item : candidates) {
    auto it = leases.find(item.id);
    if (it != leases.end() && (it->second.pins > 0 || it->second.expires_at > now)) continue;
    item.lease_token = NewLeaseToken();
    leases.insert_or_assign(item.id, Lease{item.lease_token, now + lease, 0});
    out.push_back(std::move(item));
    if (out.size() >= static_cast<size_t>(max)) break;
  }
  return out;
}

absl::Status SqliteStore::ReleaseWork(const WorkItem& item, Micros available_at) {
  ASSIGN_OR_RETURN(size_t index, StageIndex(item.stage));
  std::string marker = NewLeaseToken();
  {
    std::lock_guard<std::mutex> lock(work_lease_mu_);
    auto& leases = work_leases_[index];
    auto it = leases.find(item.id);
    if (item.lease_token.empty() || it == leases.end() || it->second.token != item.lease_token) {
      return absl::AbortedError(
          fmt::format("work item {} is no longer claimed with this lease", item.id));
    }
    if (it->second.pins > 0) {
      return absl::AbortedError(
          fmt::format("work item {} has a completion being committed", item.id));
    }
    // The caller's token dies now; a placeholder keeps the item back until `available_at`
    // (or until the write below commits it to the row), so the release takes effect at once
    // without waiting for the writer, which may be the very thread calling.
    it->second = Lease{marker, available_at, 0};
  }
  SubmitWrite(
      [item, available_at, marker](WriteTx& tx) {
        return static_cast<SqliteWriteTx&>(tx).PersistRelease(item, available_at, marker);
      },
      [id = item.id](absl::Status s) {
        if (!s.ok()) {
          spdlog::warn("store: persisting the release of work item {} failed: {}", id,
                       std::string(s.message()));
        }
      });
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Handoff>> SqliteStore::ClaimHandoffs(
    int max, Micros now, Micros lease, std::vector<std::string>* lease_tokens,
    const std::vector<std::string>& skip_destinations, const std::string& workspace) {
  std::vector<Handoff> out;
  if (lease_tokens != nullptr) lease_tokens->clear();
  if (max <= 0) return out;
  std::lock_guard<std::mutex> lock(handoff_lease_mu_);
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  auto read = [&]() -> absl::StatusOr<std::vector<Handoff>> {
    ASSIGN_OR_RETURN(std::vector<WorkspaceDestination> pairs, ClaimablePairs(*reader, workspace));
    // Each open destination's first `max` unleased due handoffs, then the earliest `max` of
    // them all: the claim order across destinations is still (next_attempt_at, id).
    struct Due {
      Micros at;
      std::string id;
      std::string workspace;
    };
    std::vector<Due> due;
    // The rows held by a live lease (in flight on this node) come back too, and are passed.
    const int64_t walk = static_cast<int64_t>(max) + static_cast<int64_t>(handoff_leases_.size());
    for (const auto& [in_workspace, destination] : pairs) {
      if (std::find(skip_destinations.begin(), skip_destinations.end(), destination) !=
          skip_destinations.end()) {
        continue;
      }
      ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kClaimableOfDestination));
      st.BindText(1, in_workspace);
      st.BindText(2, destination);
      st.BindInt(3, now);
      st.BindInt(4, walk);
      int taken = 0;
      while (taken < max) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        std::string id = st.Text(0);
        auto it = handoff_leases_.find(id);
        if (it != handoff_leases_.end() && (it->second.pins > 0 || it->second.expires_at > now)) {
          continue;
        }
        due.push_back(Due{st.Int(1), std::move(id), in_workspace});
        ++taken;
      }
    }
    std::sort(due.begin(), due.end(),
              [](const Due& a, const Due& b) { return a.at != b.at ? a.at < b.at : a.id < b.id; });
    if (due.size() > static_cast<size_t>(max)) due.resize(max);
    std::vector<Handoff> rows;
    for (const Due& d : due) {
      ASSIGN_OR_RETURN(SqliteStatement get, reader->Prepare(kGetHandoff));
      get.BindText(1, d.workspace);
      get.BindText(2, d.id);
      ASSIGN_OR_RETURN(bool row, get.Step());
      if (row) rows.push_back(ReadHandoff(get));
    }
    return rows;
  };
  ASSIGN_OR_RETURN(std::vector<Handoff> candidates, InReadTransaction(*reader, read));
  for (Handoff& h : candidates) {
    std::string token = NewLeaseToken();
    handoff_leases_.insert_or_assign(h.id, Lease{token, now + lease, 0});
    if (lease_tokens != nullptr) lease_tokens->push_back(std::move(token));
    out.push_back(std::move(h));
  }
  return out;
}

void SqliteStore::ReleaseHandoff(const std::string& handoff_id, const std::string& lease_token) {
  std::lock_guard<std::mutex> lock(handoff_lease_mu_);
  auto it = handoff_leases_.find(handoff_id);
  if (it == handoff_leases_.end() || lease_token.empty() || it->second.token != lease_token) return;
  // A pinned lease has its holder's outcome in flight; that commit ends it.
  if (it->second.pins == 0) handoff_leases_.erase(it);
}

absl::StatusOr<std::optional<Micros>> SqliteStore::NextAvailable(Stage stage,
                                                                 const std::string& workspace) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  if (stage == Stage::kTransfer) {
    // The earliest of each destination's earliest: one seek per destination.
    return InReadTransaction(*reader, [&]() -> absl::StatusOr<std::optional<Micros>> {
      ASSIGN_OR_RETURN(std::vector<WorkspaceDestination> pairs, ClaimablePairs(*reader, workspace));
      std::optional<Micros> earliest;
      for (const auto& [in_workspace, destination] : pairs) {
        ASSIGN_OR_RETURN(std::optional<Micros> next,
                         QueryMin(*reader, kNextOfDestination, {in_workspace, destination}));
        if (next && (!earliest || *next < *earliest)) earliest = next;
      }
      return earliest;
    });
  }
  RETURN_IF_ERROR(StageIndex(stage).status());
  return QueryMin(*reader, kNextWork, {std::string(StageName(stage)), workspace});
}

absl::StatusOr<Inquiry> SqliteStore::GetInquiry(const std::string& workspace,
                                                const std::string& id) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  return QueryInquiry(*reader, workspace, id);
}

absl::StatusOr<std::vector<Inquiry>> SqliteStore::ListInquiries(const std::string& workspace,
                                                                const InquiryFilter& filter) {
  // Only the filters in use appear in the SQL, so the planner can pick the matching
  // (workspace, column, id) index; each variant is prepared once per connection. A status or
  // stage off the healthy path is read through the index of those alone, named as the task
  // scans name theirs.
  const bool off_the_path = OnlyOffThePath(filter.status, filter.stage);
  std::string sql = off_the_path ? "SELECT " HANDOFF_INQUIRY_COLUMNS
                                   " FROM inquiries INDEXED BY inquiries_off_the_path WHERE "
                                   "workspace = ?1 AND " HANDOFF_OFF_THE_PATH
                                 : "SELECT " HANDOFF_INQUIRY_COLUMNS
                                   " FROM inquiries WHERE workspace = ?1";
  if (!filter.source.empty()) sql += " AND source = ?2";
  if (!filter.channel.empty()) sql += " AND channel = ?3";
  if (!filter.stage.empty()) sql += " AND stage = ?4";
  if (!filter.status.empty()) sql += " AND status = ?5";
  if (filter.received_from != 0) sql += " AND received_at >= ?6";
  if (filter.received_until != 0) sql += " AND received_at < ?7";
  if (!filter.before_id.empty()) sql += " AND id < ?8";
  if (!filter.route.empty()) sql += " AND route = ?11";
  // instr() rather than LIKE: the searched text needs no escaping of % and _.
  if (!filter.text.empty()) {
    sql +=
        " AND (instr(lower(normalized_name), ?10) > 0 OR instr(lower(received_name), ?10) > 0 "
        "OR instr(lower(normalized_email), ?10) > 0 OR instr(lower(received_email), ?10) > 0 "
        "OR instr(normalized_phone, ?10) > 0 OR instr(received_phone, ?10) > 0 "
        "OR instr(lower(message), ?10) > 0)";
  }
  sql += " ORDER BY id DESC LIMIT ?9";

  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  ASSIGN_OR_RETURN(SqliteStatement st, reader->PrepareDynamic(sql));
  st.BindText(1, workspace);
  if (!filter.source.empty()) st.BindText(2, filter.source);
  if (!filter.channel.empty()) st.BindText(3, filter.channel);
  if (!filter.stage.empty()) st.BindText(4, filter.stage);
  if (!filter.status.empty()) st.BindText(5, filter.status);
  if (filter.received_from != 0) st.BindInt(6, filter.received_from);
  if (filter.received_until != 0) st.BindInt(7, filter.received_until);
  if (!filter.before_id.empty()) st.BindText(8, filter.before_id);
  st.BindInt(9, std::clamp(filter.limit, 1, 500));
  std::string text;
  for (char c : filter.text) text += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!filter.text.empty()) st.BindText(10, text);
  if (!filter.route.empty()) st.BindText(11, filter.route);
  std::vector<Inquiry> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadInquiry(st));
  }
  return out;
}

absl::StatusOr<Contact> SqliteStore::GetContact(const std::string& workspace,
                                                const std::string& id) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kGetContact));
  st.BindText(1, id);
  st.BindText(2, workspace);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError(fmt::format("contact {} not found", id));
  return ReadContact(st);
}

absl::StatusOr<std::vector<Event>> SqliteStore::ListEvents(const std::string& workspace,
                                                           const std::string& inquiry_id) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kListEvents));
  st.BindText(1, workspace);
  st.BindText(2, inquiry_id);
  std::vector<Event> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    Event e;
    e.inquiry_id = st.Text(0);
    e.seq = st.Int(1);
    e.workspace = st.Text(2);
    e.at = st.Int(3);
    e.stage = ParseStage(st.Text(4)).value_or(Stage::kEntry);
    e.kind = st.Text(5);
    e.detail = ParseEventDetail(st.Text(6));
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<std::vector<Task>> SqliteStore::ListTasks(const std::string& workspace,
                                                         const std::string& inquiry_id) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kListTasks));
  st.BindText(1, workspace);
  st.BindText(2, inquiry_id);
  std::vector<Task> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadTask(st));
  }
  return out;
}

absl::StatusOr<std::map<InquiryRef, InquiryContext>> SqliteStore::ReadInquiryContexts(
    const std::vector<InquiryRef>& inquiries) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  auto read = [&]() -> absl::StatusOr<std::map<InquiryRef, InquiryContext>> {
    std::map<InquiryRef, InquiryContext> out;
    for (const InquiryRef& ref : inquiries) {
      if (out.contains(ref)) continue;
      absl::StatusOr<Inquiry> inquiry =
          QueryInquiry(*reader, ref.workspace, ref.id, /*with_body=*/false);
      if (absl::IsNotFound(inquiry.status())) continue;
      if (!inquiry.ok()) return inquiry.status();
      InquiryContext context;
      context.inquiry = *std::move(inquiry);
      {
        ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kFirstTask));
        st.BindText(1, ref.workspace);
        st.BindText(2, ref.id);
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (row) context.task = ReadTask(st);
      }
      if (!context.inquiry.contact_id.empty()) {
        ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kGetContact));
        st.BindText(1, context.inquiry.contact_id);
        st.BindText(2, ref.workspace);
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (row) context.contact = ReadContact(st);
      }
      out.emplace(ref, std::move(context));
    }
    return out;
  };
  return InReadTransaction(*reader, read);
}

absl::StatusOr<Task> SqliteStore::GetTask(const std::string& workspace, const std::string& id) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  return QueryTask(*reader, workspace, id);
}

absl::StatusOr<std::vector<Task>> SqliteStore::ListDueEscalations(const std::string& workspace,
                                                                  Micros now, int limit) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kDueEscalations));
  st.BindInt(1, now);
  st.BindInt(2, limit);
  st.BindText(3, workspace);
  std::vector<Task> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadTask(st));
  }
  return out;
}

absl::StatusOr<std::optional<Micros>> SqliteStore::NextEscalation(const std::string& workspace) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kNextEscalation));
  st.BindText(1, workspace);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row || st.IsNull(0)) return std::optional<Micros>();
  return std::optional<Micros>(st.Int(0));
}

absl::StatusOr<std::vector<Task>> SqliteStore::ListTasksBy(const std::string& workspace,
                                                           const std::string& state,
                                                           const std::string& owner, int limit) {
  const bool by_owner = !owner.empty(), one_state = !state.empty();
  // Named indexes, as for the escalation scans: without statistics the planner would take
  // whichever index leads with workspace and walk the workspace's whole history.
  const std::string sql = NewestTasksSql(
      HANDOFF_TASK_COLUMNS,
      by_owner ? "tasks INDEXED BY tasks_by_owner" : "tasks INDEXED BY tasks_by_state_created", '?',
      by_owner, one_state);
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  ASSIGN_OR_RETURN(SqliteStatement st, reader->PrepareDynamic(sql));
  st.BindText(1, workspace);
  st.BindInt(2, limit);
  int next = 3;
  if (by_owner) st.BindText(next++, owner);
  if (one_state) st.BindText(next, state);
  std::vector<Task> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadTask(st));
  }
  return out;
}

absl::StatusOr<std::vector<Handoff>> SqliteStore::ListHandoffs(const std::string& workspace,
                                                               const std::string& inquiry_id) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  return QueryHandoffs(*reader, workspace, inquiry_id);
}

absl::StatusOr<Handoff> SqliteStore::GetHandoff(const std::string& workspace,
                                                const std::string& id) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kGetHandoff));
  st.BindText(1, workspace);
  st.BindText(2, id);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError(fmt::format("handoff {} not found", id));
  return ReadHandoff(st);
}

absl::StatusOr<std::vector<EntryCount>> SqliteStore::ListEntryCounts(const std::string& workspace,
                                                                     Micros since) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kListEntryCounts));
  st.BindText(1, workspace);
  // The minute that contains `since` counts in full: buckets are the finest grain kept.
  st.BindInt(2, MinuteBucket(since));
  std::vector<EntryCount> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    EntryCount c;
    c.source = st.Text(0);
    c.outcome = st.Text(1);
    c.reason = st.Text(2);
    c.count = st.Int(3);
    c.last_at = st.Int(4);
    out.push_back(std::move(c));
  }
  return out;
}

absl::Status SqliteStore::ScanInquiryOutcomes(const std::string& workspace, Micros from,
                                              Micros until, int page_size,
                                              const OutcomePageFn& page) {
  if (page_size < 1) return absl::InvalidArgumentError("page_size must be at least 1");
  std::vector<InquiryOutcome> out;
  // The window is read a page of inquiries at a time in (received_at, rowid) order, the order
  // of inquiries_by_received_at, each page in a read transaction of its own: one transaction
  // over a week of inquiries held the log for seconds, no checkpoint could copy past it, and
  // the copy that followed made the writer's next sync wait for hundreds of milliseconds.
  Micros page_from = from;
  int64_t after_rowid = -1;  // the last rowid read at page_from (-1: none yet)
  for (;;) {
    // A reader per page: the caller's work on a page holds none.
    int64_t last_rowid = after_rowid;
    {
      ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
      ASSIGN_OR_RETURN(
          last_rowid, InReadTransaction(*reader, [&]() -> absl::StatusOr<int64_t> {
            ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kInquiryOutcomes));
            st.BindText(1, workspace);
            st.BindInt(2, page_from);
            st.BindInt(3, until);
            st.BindInt(4, after_rowid);
            st.BindInt(5, page_size);
            int64_t rowid = after_rowid;
            ASSIGN_OR_RETURN(out, ReadAll(st, [&rowid](const SqliteStatement& r) {
                               InquiryOutcome o;
                               o.id = r.Text(0);
                               o.source = r.Text(1);
                               o.channel = ParseChannel(r.Text(2)).value_or(Channel::kOther);
                               o.kind = r.Text(3);
                               std::string intent = r.Text(5);
                               o.service = intent.empty() ? r.Text(4) : std::move(intent);
                               o.received_at = r.Int(6);
                               o.stage = ParseStage(r.Text(7)).value_or(Stage::kEntry);
                               o.status = r.Text(8);
                               o.value = r.Double(9);
                               o.synthetic = r.Int(10) != 0;
                               o.has_phone = r.Int(11) != 0;
                               o.has_email = r.Int(12) != 0;
                               o.route = r.Text(13);
                               rowid = r.Int(14);
                               return o;
                             }));
            if (out.empty()) return rowid;
            std::unordered_map<std::string_view, size_t> index;
            for (size_t i = 0; i < out.size(); ++i) index[out[i].id] = i;
            const Micros first_at = out.front().received_at, last_at = out.back().received_at;
            ASSIGN_OR_RETURN(SqliteStatement tasks, reader->Prepare(kOutcomeTasks));
            tasks.BindText(1, workspace);
            tasks.BindInt(2, first_at);
            tasks.BindInt(3, last_at);
            while (true) {
              ASSIGN_OR_RETURN(bool row, tasks.Step());
              if (!row) break;
              auto it = index.find(tasks.TextView(0));
              if (it == index.end() || out[it->second].task) continue;
              OutcomeTask& t = out[it->second].task.emplace();
              t.id = tasks.Text(1);
              t.owner = tasks.Text(2);
              t.state = tasks.Text(3);
              t.due_at = tasks.Int(4);
              t.created_at = tasks.Int(5);
              t.acknowledged_at = tasks.Int(6);
              t.done_at = tasks.Int(7);
              t.missing = ParseStringArray(tasks.TextView(8));
            }
            ASSIGN_OR_RETURN(SqliteStatement handoffs, reader->Prepare(kOutcomeHandoffs));
            handoffs.BindText(1, workspace);
            handoffs.BindInt(2, first_at);
            handoffs.BindInt(3, last_at);
            while (true) {
              ASSIGN_OR_RETURN(bool row, handoffs.Step());
              if (!row) break;
              auto it = index.find(handoffs.TextView(0));
              if (it == index.end()) continue;
              OutcomeHandoff& h = out[it->second].handoffs.emplace_back();
              h.id = handoffs.Text(1);
              h.destination = handoffs.Text(2);
              h.state = handoffs.Text(3);
              h.purpose = handoffs.Text(4);
              h.last_error = handoffs.Text(5);
              h.attempts = static_cast<int>(handoffs.Int(6));
              h.created_at = handoffs.Int(7);
              h.confirmed_at = handoffs.Int(8);
            }
            return rowid;
          }));
    }
    const bool last_page = out.size() < static_cast<size_t>(page_size);
    const Micros last_at = out.empty() ? page_from : out.back().received_at;
    if (!out.empty()) RETURN_IF_ERROR(page(out));
    if (last_page) return absl::OkStatus();
    page_from = last_at;
    after_rowid = last_rowid;
  }
}

absl::StatusOr<std::vector<Handoff>> SqliteStore::ListHandoffsInState(const std::string& workspace,
                                                                      const std::string& state,
                                                                      int limit) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  const bool claimable = state == "pending" || state == "failed" || state == "delivering";
  ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(state == "dead" ? kListDeadHandoffs
                                                       : claimable     ? kListClaimableInState
                                                                       : kListAnyInState));
  st.BindText(1, workspace);
  st.BindText(2, state);
  st.BindInt(3, limit);
  return ReadAll(st, ReadHandoff);
}

absl::StatusOr<std::vector<HandoffCount>> SqliteStore::CountUnsettledHandoffs(
    const std::string& workspace) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kCountUnsettledHandoffs));
  st.BindText(1, workspace);
  return ReadAll(st, [](const SqliteStatement& r) {
    return HandoffCount{r.Text(0), r.Text(1), r.Text(2), r.Int(3)};
  });
}

absl::StatusOr<std::vector<Leak>> SqliteStore::ListLeaks(const std::string& workspace,
                                                         const LeakFilter& filter) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kListLeaks));
  st.BindText(1, workspace);
  st.BindInt(2, filter.closed_since);
  st.BindInt(3, filter.limit);
  return ReadAll(st, ReadLeak);
}

absl::StatusOr<std::vector<AlertGroup>> SqliteStore::ListAlertGroups(const std::string& workspace,
                                                                     Micros closed_since,
                                                                     int limit) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kListAlertGroups));
  st.BindText(1, workspace);
  st.BindInt(2, closed_since);
  st.BindInt(3, limit);
  return ReadAll(st, ReadAlertGroup);
}

absl::StatusOr<std::vector<Handoff>> SqliteStore::ListAlertHandoffs(const std::string& workspace,
                                                                    Micros since, int limit) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kListAlertHandoffs));
  st.BindText(1, workspace);
  st.BindInt(2, since);
  st.BindInt(3, limit);
  return ReadAll(st, ReadHandoff);
}

absl::StatusOr<std::vector<InboxItem>> SqliteStore::ListInbox(const std::string& workspace,
                                                              const std::string& state, int limit) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kListInbox));
  st.BindText(1, workspace);
  st.BindText(2, state);
  st.BindInt(3, limit);
  std::vector<InboxItem> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    InboxItem item;
    item.id = st.Text(0);
    item.workspace = st.Text(1);
    item.inquiry_id = st.Text(2);
    item.destination = st.Text(3);
    item.owner = st.Text(4);
    item.state = st.Text(5);
    item.created_at = st.Int(6);
    item.done_at = st.Int(7);
    out.push_back(std::move(item));
  }
  return out;
}

absl::StatusOr<std::optional<DashboardSession>> SqliteStore::FindSession(
    const std::string& workspace, const std::string& id_hash) {
  ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
  ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kFindSession));
  st.BindText(1, workspace);
  st.BindText(2, id_hash);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<DashboardSession>();
  return std::optional<DashboardSession>(
      DashboardSession{st.Text(1), st.Text(0), st.Text(2), st.Text(3), st.Text(4), st.Int(5)});
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> SqliteStore::QueueDepths() {
  std::array<int64_t, kNumStages> work{};
  // pending, delivering, failed, dead
  constexpr std::array<const char*, 4> kStates = {"pending", "delivering", "failed", "dead"};
  std::array<int64_t, kStates.size()> handoffs{};
  {
    ASSIGN_OR_RETURN(ReaderPool::Handle reader, readers_->Acquire());
    {
      ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kWorkDepths));
      while (true) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        std::optional<Stage> stage = ParseStage(st.Text(0));
        if (stage.has_value()) work[static_cast<size_t>(*stage)] = st.Int(1);
      }
    }
    ASSIGN_OR_RETURN(SqliteStatement st, reader->Prepare(kHandoffDepths));
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      std::string state = st.Text(0);
      for (size_t i = 0; i < kStates.size(); ++i) {
        if (state == kStates[i]) handoffs[i] = st.Int(1);
      }
    }
  }
  std::vector<std::pair<std::string, int64_t>> out;
  for (Stage stage : kAllStages) {
    out.emplace_back(fmt::format("work.{}", StageName(stage)), work[static_cast<size_t>(stage)]);
  }
  for (size_t i = 0; i < kStates.size(); ++i) {
    out.emplace_back(fmt::format("handoffs.{}", kStates[i]), handoffs[i]);
  }
  return out;
}

absl::StatusOr<std::string> SqliteStore::WriterPragma(const std::string& name) {
  if (name.empty() || !std::all_of(name.begin(), name.end(),
                                   [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; })) {
    return absl::InvalidArgumentError("pragma names are [a-z_]+");
  }
  absl::StatusOr<std::string> value = absl::InternalError("not run");
  absl::Status written = Write([&](WriteTx& tx) -> absl::Status {
    value = static_cast<SqliteWriteTx&>(tx).connection()->QueryText("PRAGMA " + name);
    return value.status();
  });
  if (!written.ok()) return written;
  return value;
}

}  // namespace handoff
