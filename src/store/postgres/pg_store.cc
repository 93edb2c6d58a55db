#include "store/postgres/pg_store.h"

#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <map>
#include <unordered_map>
#include <utility>

#include "core/id.h"
#include "core/status.h"
#include "core/thread_name.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_schema.h"
#include "store/postgres/pg_text.h"
#include "store/store_codec.h"
#include "store/store_writer.h"

namespace handoff {
namespace {

// The channel on which commits announce new work; the payload is the stage's name.
constexpr char kWorkChannel[] = "handoff_work";

absl::Status CheckStage(Stage s) {
  if (static_cast<size_t>(s) >= kNumStages) return absl::InvalidArgumentError("unknown stage");
  return absl::OkStatus();
}

// A pipelined write's check (PgConnection::Send): the statement must have touched a row, or
// the write fails with make_error(), built only then.
template <typename MakeError>
PgCheck TouchedOr(MakeError make_error) {
  return [make_error = std::move(make_error)](const PgResult& r) {
    return r.affected() > 0 ? absl::OkStatus() : make_error();
  };
}

// Column lists shared by the statements that write a record and the code that reads it back;
// the *Params and Read* functions below follow these orders exactly.
#define PG_INQUIRY_COLUMNS_AROUND(body)                                                        \
  "id, workspace, source, channel, received_at, occurred_at, received_name, received_email, "  \
  "received_phone, normalized_name, normalized_email, normalized_phone, contact_id, message, " \
  "service, location, utm_source, utm_medium, utm_campaign, utm_term, utm_content, referrer, " \
  "landing_page, provider_event_id, " body ", stage, status, fields, route"
#define PG_INQUIRY_COLUMNS PG_INQUIRY_COLUMNS_AROUND("raw_payload, raw_content_type")
// The same columns with the body as received left empty: the reads whose callers never use it
// (lists, delivery contexts) do not detoast it.
#define PG_INQUIRY_COLUMNS_WITHOUT_BODY \
  PG_INQUIRY_COLUMNS_AROUND("''::bytea AS raw_payload, '' AS raw_content_type")
#define PG_CONTACT_COLUMNS "id, workspace, name, email, phone, created_at, updated_at"
#define PG_TASK_COLUMNS                                                                          \
  "id, workspace, inquiry_id, route, owner, title, due_at, state, created_at, acknowledged_at, " \
  "done_at, missing, escalation_step, next_escalation_at"
#define PG_HANDOFF_COLUMNS                                                                 \
  "id, workspace, inquiry_id, destination, state, attempts, next_attempt_at, created_at, " \
  "confirmed_at, remote_id, last_status, last_error, last_response_excerpt, progress, "    \
  "purpose, recipient, text"
#define PG_WORK_COLUMNS "id, workspace, inquiry_id, stage, available_at, attempts"
#define PG_LEAK_COLUMNS                                                                           \
  "workspace, key, opened_at, kind, inquiry_id, source, route, destination, owner, grp, reason, " \
  "value, since, closed_at"
#define PG_ALERT_GROUP_COLUMNS \
  "workspace, key, opened_at, title, open_count, total, alerted_at, closed_at"
#define PG_INBOX_COLUMNS "id, workspace, inquiry_id, destination, owner, state, created_at, done_at"
#define PG_CLAIMABLE_STATES "('pending', 'failed', 'delivering')"

const std::string kInsertInquiry =
    "INSERT INTO inquiries (" PG_INQUIRY_COLUMNS
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, "
    "$19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)";
// The route is Trigger's alone (kSetInquiryTriggered), the body as received entry's: the
// parameters are InquiryParams without the body.
const std::string kUpdateInquiry =
    "UPDATE inquiries SET occurred_at = $6, "
    "received_name = $7, received_email = $8, received_phone = $9, normalized_name = $10, "
    "normalized_email = $11, normalized_phone = $12, contact_id = $13, message = $14, "
    "service = $15, location = $16, utm_source = $17, utm_medium = $18, utm_campaign = $19, "
    "utm_term = $20, utm_content = $21, referrer = $22, landing_page = $23, "
    "provider_event_id = $24, stage = $25, status = $26, fields = $27 WHERE id = $1 AND "
    "workspace = $2 AND source = $3 AND channel = $4 AND received_at = $5";
// Wrapped for the writer's pipeline: the rows updated, and when none, whether the inquiry
// exists at all (so the error can say which without another round trip).
const std::string kUpdateInquiryChecked =
    "WITH u AS (" + kUpdateInquiry +
    " RETURNING 1) SELECT n, n = 0 AND EXISTS (SELECT 1 FROM inquiries WHERE workspace = $2 "
    "AND id = $1) FROM (SELECT COUNT(*) AS n FROM u) c";
const std::string kGetInquiry =
    "SELECT " PG_INQUIRY_COLUMNS " FROM inquiries WHERE workspace = $1 AND id = $2";
const std::string kSetInquiryProgress =
    "UPDATE inquiries SET stage = $3, status = $4 WHERE workspace = $1 AND id = $2";
const std::string kSetInquiryTriggered =
    "UPDATE inquiries SET stage = 'trigger', status = $3, route = $4 WHERE workspace = $1 AND "
    "id = $2";

// The inquiry's row numbers its events: one statement, and two nodes appending to one
// timeline queue on the row instead of colliding on the key.
const std::string kAppendEvent =
    "WITH s AS (INSERT INTO event_seqs (inquiry_id, seq) VALUES ($2, 1) ON CONFLICT (inquiry_id) "
    "DO UPDATE SET seq = event_seqs.seq + 1 RETURNING seq) INSERT INTO events (inquiry_id, seq, "
    "workspace, at, stage, kind, detail) SELECT $2, seq, $1, $3, $4, $5, $6 FROM s";
const std::string kListEvents =
    "SELECT inquiry_id, seq, workspace, at, stage, kind, detail FROM events "
    "WHERE inquiry_id = $2 AND workspace = $1 ORDER BY seq";

const std::string kFindDedupe =
    "SELECT inquiry_id FROM dedupe WHERE workspace = $1 AND source = $2 AND key = $3";
const std::string kInsertDedupe =
    "INSERT INTO dedupe (workspace, source, key, inquiry_id, created_at) "
    "VALUES ($1, $2, $3, $4, $5)";

const std::string kFindContactByEmail =
    "SELECT " PG_CONTACT_COLUMNS
    " FROM contacts WHERE workspace = $1 AND email = $2 AND email <> ''";
const std::string kFindContactByPhone =
    "SELECT " PG_CONTACT_COLUMNS
    " FROM contacts WHERE workspace = $1 AND phone = $2 AND phone <> ''";
const std::string kGetContact =
    "SELECT " PG_CONTACT_COLUMNS " FROM contacts WHERE workspace = $1 AND id = $2";
const std::string kUpsertContact =
    "INSERT INTO contacts (" PG_CONTACT_COLUMNS
    ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (workspace, id) DO UPDATE SET "
    "name = excluded.name, email = excluded.email, phone = excluded.phone, "
    "created_at = excluded.created_at, updated_at = excluded.updated_at";

const std::string kInsertTask =
    "INSERT INTO tasks (" PG_TASK_COLUMNS
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
const std::string kUpdateTask =
    "UPDATE tasks SET owner = $3, due_at = $4, state = $5, acknowledged_at = $6, done_at = $7, "
    "escalation_step = $8, next_escalation_at = $9 WHERE id = $1 AND workspace = $2";
// Inside a write the task is locked: two nodes stepping one escalation chain take turns, and
// the second sees what the first wrote.
const std::string kGetTaskForUpdate =
    "SELECT " PG_TASK_COLUMNS " FROM tasks WHERE workspace = $1 AND id = $2 FOR UPDATE";
const std::string kGetTask =
    "SELECT " PG_TASK_COLUMNS " FROM tasks WHERE workspace = $1 AND id = $2";
const std::string kDueEscalations =
    "SELECT " PG_TASK_COLUMNS
    " FROM tasks WHERE state = 'open' AND next_escalation_at > 0 "
    "AND next_escalation_at <= $1 AND workspace = $3 ORDER BY next_escalation_at, id LIMIT $2";
const std::string kNextEscalation =
    "SELECT MIN(next_escalation_at) FROM tasks WHERE state = 'open' AND next_escalation_at > 0 "
    "AND workspace = $1";
const std::string kTakeRateSlot =
    "INSERT INTO rate_marks (workspace, key, at) VALUES ($1, $2, $3) "
    "ON CONFLICT (workspace, key) DO UPDATE SET at = excluded.at "
    "WHERE excluded.at - rate_marks.at >= $4::bigint RETURNING 1";
// Least-open assignment reads every owner's count and then assigns: the workspace's
// assignment lock (held to the end of the transaction) keeps two nodes from both picking the
// same "least busy" owner from the same counts.
const std::string kLockAssignment = "SELECT pg_advisory_xact_lock(hashtext('assign:' || $1))";
const std::string kCountOpenTasks =
    "SELECT owner, COUNT(*) FROM tasks WHERE workspace = $1 AND owner = ANY($2::text[]) "
    "AND state IN ('open', 'acknowledged') GROUP BY owner";
const std::string kNextCounter =
    "INSERT INTO counters (workspace, key, value) VALUES ($1, $2, 1) "
    "ON CONFLICT (workspace, key) DO UPDATE SET value = counters.value + 1 RETURNING value - 1";
const std::string kContactHistory =
    "SELECT i.id, i.received_at, i.channel, i.service, i.status, "
    "COALESCE(t.owner, ''), COALESCE(t.state, '') FROM inquiries i "
    "LEFT JOIN tasks t ON t.workspace = i.workspace AND t.id = (SELECT id FROM tasks "
    "WHERE workspace = i.workspace AND inquiry_id = i.id ORDER BY created_at DESC, id DESC "
    "LIMIT 1) WHERE i.workspace = $1 AND i.contact_id = $2 AND i.id <> $3 "
    "ORDER BY i.received_at DESC, i.id DESC LIMIT $4";
const std::string kListTasks = "SELECT " PG_TASK_COLUMNS
                               " FROM tasks WHERE workspace = $1 AND inquiry_id = $2 "
                               "ORDER BY created_at, id";
// Delivery contexts, a claim's worth at a time: the (workspace, id) pairs come as two arrays,
// and each pair is one index probe (LATERAL … LIMIT 1 keeps the planner from hashing a join
// over a whole table, which it prefers while a table is small or unanalysed).
#define PG_INQUIRY_REFS "unnest($1::text[], $2::text[]) AS r (ws, id) CROSS JOIN LATERAL "
const std::string kContextInquiries =
    "SELECT x.* FROM " PG_INQUIRY_REFS "(SELECT " PG_INQUIRY_COLUMNS_WITHOUT_BODY
    " FROM inquiries WHERE workspace = r.ws AND id = r.id "
    "LIMIT 1) x";
const std::string kContextFirstTasks = "SELECT x.* FROM " PG_INQUIRY_REFS "(SELECT " PG_TASK_COLUMNS
                                       " FROM tasks WHERE workspace = r.ws AND inquiry_id = r.id "
                                       "ORDER BY created_at, id LIMIT 1) x";
const std::string kContextContacts =
    "SELECT x.* FROM " PG_INQUIRY_REFS "(SELECT " PG_CONTACT_COLUMNS
    " FROM contacts WHERE workspace = r.ws AND id = r.id "
    "LIMIT 1) x";
#undef PG_INQUIRY_REFS

const std::string kInsertHandoff =
    "INSERT INTO handoffs (" PG_HANDOFF_COLUMNS
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";
// Fenced on the lease: the holder's token, or none while nobody holds the handoff. The lease
// ends unless the handoff stays "delivering" under its holder ($12 = 1).
const std::string kUpdateHandoff =
    "UPDATE handoffs SET state = $3, attempts = $4, next_attempt_at = $5, confirmed_at = $6, "
    "remote_id = $7, last_status = $8, last_error = $9, last_response_excerpt = $10, "
    "progress = $11, "
    "lease_token = CASE WHEN $12::int = 1 THEN lease_token ELSE '' END, "
    "lease_owner = CASE WHEN $12::int = 1 THEN lease_owner ELSE '' END, "
    "lease_until = CASE WHEN $12::int = 1 THEN lease_until ELSE 0 END "
    "WHERE id = $1 AND workspace = $2 AND CASE WHEN $13 = '' THEN (lease_token = '' OR "
    "lease_until <= $14::bigint) ELSE lease_token = $13 END";
// As kUpdateInquiryChecked: the rows updated, and when none, whether the handoff exists.
const std::string kUpdateHandoffChecked =
    "WITH u AS (" + kUpdateHandoff +
    " RETURNING 1) SELECT n, n = 0 AND EXISTS (SELECT 1 FROM handoffs WHERE id = $1 AND "
    "workspace = $2) FROM (SELECT COUNT(*) AS n FROM u) c";
const std::string kGetHandoff =
    "SELECT " PG_HANDOFF_COLUMNS " FROM handoffs WHERE id = $2 AND workspace = $1";
const std::string kTallyHandoffs =
    "SELECT COUNT(*), COUNT(*) FILTER (WHERE state = 'confirmed'), "
    "COUNT(*) FILTER (WHERE state = 'dead') FROM handoffs WHERE workspace = $1 "
    "AND inquiry_id = $2";
const std::string kListHandoffs = "SELECT " PG_HANDOFF_COLUMNS
                                  " FROM handoffs WHERE workspace = $1 AND inquiry_id = $2 "
                                  "ORDER BY created_at, id";
// The (workspace, destination) pairs with claimable handoffs of workspace $N ('' = every
// workspace), one index seek each (a loose scan of handoffs_claimable), as the CTE `d (ws, dest)`.
// The workspace test stops the recursion rather than filtering inside it, so that no seek walks
// another workspace's handoffs.
std::string ClaimablePairsCte(const char* workspace_param) {
  return fmt::format(
      "WITH RECURSIVE d (ws, dest) AS (SELECT * FROM (SELECT workspace, destination FROM handoffs "
      "WHERE state IN " PG_CLAIMABLE_STATES
      " AND (workspace, destination) >= ({0}, '') ORDER BY workspace, destination LIMIT 1) f "
      "WHERE {0} = '' OR f.workspace = {0} "
      "UNION ALL SELECT n.workspace, n.destination FROM d CROSS JOIN LATERAL (SELECT workspace, "
      "destination FROM handoffs WHERE state IN " PG_CLAIMABLE_STATES
      " AND (workspace, destination) > (d.ws, d.dest) ORDER BY workspace, destination LIMIT 1) n "
      "WHERE {0} = '' OR n.workspace = {0}) ",
      workspace_param);
}
// Each open destination's first $2 due and unleased handoffs, locked; then the earliest $2 of
// them all. The ids come as an array so that the update finds them by primary key: joined to
// the claim as a table, the planner would hash the whole table.
const std::string kClaimHandoffs =
    ClaimablePairsCte("$7") +
    "UPDATE handoffs h SET lease_token = $4 || h.id, lease_owner = $5, "
    "lease_until = $1::bigint + $6::bigint, lease_for = $6::bigint WHERE h.id = ANY (ARRAY("
    "SELECT x.id FROM d CROSS JOIN LATERAL (SELECT id, next_attempt_at FROM handoffs "
    "WHERE state IN " PG_CLAIMABLE_STATES
    " AND workspace = d.ws AND destination = d.dest AND next_attempt_at <= $1::bigint "
    "AND lease_until <= $1::bigint ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) x "
    "WHERE NOT (d.dest = ANY ($3::text[])) ORDER BY x.next_attempt_at, x.id LIMIT $2)) "
    "RETURNING h.id, h.workspace, h.inquiry_id, "
    "h.destination, h.state, h.attempts, h.next_attempt_at, h.created_at, h.confirmed_at, "
    "h.remote_id, h.last_status, h.last_error, h.last_response_excerpt, h.progress, h.purpose, "
    "h.recipient, h.text, h.lease_token";
const std::string kReleaseHandoff =
    "UPDATE handoffs SET lease_token = '', lease_owner = '', lease_until = 0 "
    "WHERE id = $1 AND lease_token = $2 AND $2 <> ''";
// The earliest time a handoff becomes claimable, GREATEST(next_attempt_at, lease_until), per
// destination without reading its backlog: in next_attempt_at order, every row before the first
// unleased one (lease_until <= next_attempt_at, n0) is leased and counts its lease_until; every
// row from n0 on counts at least n0. The leased rows are those in flight, at the head.
const std::string kNextHandoff =
    ClaimablePairsCte("$1") +
    "SELECT MIN(LEAST(f.n0, (SELECT MIN(lease_until) FROM handoffs WHERE state "
    "IN " PG_CLAIMABLE_STATES
    " AND workspace = f.ws AND destination = f.dest AND next_attempt_at < "
    "COALESCE(f.n0, 9223372036854775807)))) FROM (SELECT d.ws, d.dest, (SELECT next_attempt_at "
    "FROM handoffs WHERE state IN " PG_CLAIMABLE_STATES
    " AND workspace = d.ws AND destination = "
    "d.dest AND lease_until <= next_attempt_at ORDER BY next_attempt_at LIMIT 1) AS n0 FROM d) f";

const std::string kFindDeadHandoffs = "SELECT " PG_HANDOFF_COLUMNS
                                      " FROM handoffs WHERE workspace = $1 AND state = 'dead' "
                                      "AND ($2 = '' OR id = $2) AND ($3 = '' OR destination = $3) "
                                      "AND ($4::bigint = 0 OR created_at >= $4::bigint) "
                                      "AND ($5::bigint = 0 OR created_at < $5::bigint) AND id > $6 "
                                      "ORDER BY id LIMIT $7 FOR UPDATE";
const std::string kReviveHandoff =
    "UPDATE handoffs SET state = 'pending', attempts = 0, next_attempt_at = $3, last_error = '' "
    "WHERE workspace = $1 AND id = $2 AND state = 'dead'";

const std::string kEnqueueWork =
    "INSERT INTO work (workspace, inquiry_id, stage, available_at, attempts) "
    "VALUES ($1, $2, $3, $4, $5)";
const std::string kCompleteWork =
    "DELETE FROM work WHERE id = $1 AND workspace = $2 AND lease_token = $3 AND $3 <> ''";
const std::string kReleaseWork =
    "UPDATE work SET available_at = $3, attempts = attempts + 1, lease_token = '', "
    "lease_owner = '', lease_until = 0 WHERE id = $1 AND lease_token = $2 AND $2 <> ''";
const std::string kClaimWork =
    "UPDATE work w SET lease_token = $4 || w.id::text, lease_owner = $5, "
    "lease_until = $2::bigint + $6::bigint, lease_for = $6::bigint FROM (SELECT id FROM work "
    "WHERE stage = $1 AND available_at <= $2::bigint AND lease_until <= $2::bigint "
    "AND ($7 = '' OR workspace = $7) "
    "ORDER BY available_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) c WHERE w.id = c.id "
    "RETURNING w.id, w.workspace, w.inquiry_id, w.stage, w.available_at, w.attempts, "
    "w.lease_token";
const std::string kNextWork =
    "SELECT MIN(GREATEST(available_at, lease_until)) FROM work WHERE stage = $1 "
    "AND ($2 = '' OR workspace = $2)";
// A live node keeps its claims: each is extended by its own lease length from now. The
// `<> ''` term lets the generic plan use the partial indexes on leased rows. Rows locked by a
// transaction are skipped, not waited for: the writer locks the claims it is completing, and a
// renewal queued behind it would hold its other rows meanwhile (the next renewal, a second
// later, catches any it skipped). Only rows the renewal moves are locked and rewritten: a row
// locked but left as it was would be hidden from a claim running meanwhile for nothing.
const std::string kRenewWork =
    "UPDATE work w SET lease_until = $2::bigint + w.lease_for "
    "FROM (SELECT id FROM work WHERE lease_owner = $1 AND lease_owner <> '' "
    "AND lease_until < $2::bigint + lease_for FOR UPDATE SKIP LOCKED) c WHERE w.id = c.id";
const std::string kRenewHandoffs =
    "UPDATE handoffs h SET lease_until = $2::bigint + h.lease_for "
    "FROM (SELECT id FROM handoffs WHERE lease_owner = $1 AND lease_owner <> '' "
    "AND lease_until < $2::bigint + lease_for FOR UPDATE SKIP LOCKED) c WHERE h.id = c.id";

const std::string kCountEntry =
    "INSERT INTO entry_counts (workspace, source, outcome, reason, minute_bucket, node, count) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (workspace, source, outcome, reason, minute_bucket, node) "
    "DO UPDATE SET count = entry_counts.count + excluded.count";
const std::string kListEntryCounts =
    "SELECT source, outcome, reason, SUM(count), MAX(minute_bucket) FROM entry_counts "
    "WHERE workspace = $1 AND minute_bucket >= $2 "
    "GROUP BY source, outcome, reason ORDER BY source, outcome, reason";

// The JSON inside fields is read in C++ (store_codec.h), as both backends must read it alike.
const std::string kInquiryOutcomes =
    "SELECT i.id, i.source, i.channel, i.fields, i.service, i.received_at, i.stage, i.status, "
    "i.route, i.normalized_phone <> '' OR i.received_phone <> '', "
    "i.normalized_email <> '' OR i.received_email <> '' "
    "FROM inquiries i WHERE i.workspace = $1 AND i.received_at >= $2 AND i.received_at < $3 "
    "AND (i.received_at > $2 OR i.id > $4) ORDER BY i.received_at, i.id LIMIT $5";
// A page's tasks and handoffs: those of the inquiries received in [$2, $3], its first and last
// times (the caller keeps the ones of its own inquiries).
#define PG_INQUIRIES_IN_WINDOW                                                            \
  "(SELECT id FROM inquiries WHERE workspace = $1 AND received_at >= $2 AND received_at " \
  "<= $3)"
const std::string kOutcomeTasks =
    "SELECT " HANDOFF_OUTCOME_TASK_COLUMNS
    " FROM tasks WHERE workspace = $1 AND inquiry_id IN " PG_INQUIRIES_IN_WINDOW
    " ORDER BY created_at, id";
const std::string kOutcomeHandoffs =
    "SELECT " HANDOFF_OUTCOME_HANDOFF_COLUMNS
    " FROM handoffs WHERE workspace = $1 AND inquiry_id IN " PG_INQUIRIES_IN_WINDOW
    " ORDER BY created_at, id";
const std::string kListAlertHandoffs =
    "SELECT " PG_HANDOFF_COLUMNS
    " FROM handoffs WHERE workspace = $1 AND purpose = 'alert' AND created_at >= $2 "
    "ORDER BY created_at DESC, id DESC LIMIT $3";
// Reads by state go through the partial index that holds the state (handoffs_claimable,
// handoffs_dead), named by a literal condition: a parameter alone ("state = $2") proves no
// partial index's predicate. Confirmed handoffs have no index, and no caller lists them.
#define PG_HANDOFFS_IN_STATE(condition)                                                     \
  "SELECT " PG_HANDOFF_COLUMNS " FROM handoffs WHERE " condition                            \
  " AND state = $2 AND workspace = $1 AND purpose <> 'alert' ORDER BY created_at DESC, id " \
  "DESC LIMIT $3"
const std::string kListDeadHandoffs = PG_HANDOFFS_IN_STATE("state = 'dead'");
const std::string kListClaimableInState = PG_HANDOFFS_IN_STATE("state IN " PG_CLAIMABLE_STATES);
const std::string kListAnyInState = PG_HANDOFFS_IN_STATE("TRUE");
#undef PG_HANDOFFS_IN_STATE
// The handoffs not yet confirmed: the claimable ones and the dead ones, each from its index.
#define PG_UNSETTLED_HANDOFFS(columns, workspace_clause)                                  \
  "SELECT " columns " FROM handoffs WHERE state IN " PG_CLAIMABLE_STATES workspace_clause \
  " UNION ALL SELECT " columns " FROM handoffs WHERE state = 'dead'" workspace_clause
const std::string kCountUnsettledHandoffs =
    "SELECT destination, purpose, state, COUNT(*) FROM (" PG_UNSETTLED_HANDOFFS(
        "destination, purpose, state",
        " AND workspace = $1") ") u GROUP BY destination, purpose, state "
                               "ORDER BY destination, purpose, state";

const std::string kInsertLeak =
    "INSERT INTO leaks (" PG_LEAK_COLUMNS
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
const std::string kCloseLeak =
    "UPDATE leaks SET closed_at = $4 WHERE workspace = $1 AND key = $2 AND opened_at = $3 "
    "AND closed_at = 0";
const std::string kListLeaks =
    "SELECT " PG_LEAK_COLUMNS
    " FROM leaks WHERE workspace = $1 AND (closed_at = 0 OR ($2::bigint > 0 "
    "AND closed_at >= $2::bigint)) ORDER BY closed_at <> 0, opened_at DESC, key LIMIT $3";
const std::string kListOpenAlertGroups = "SELECT " PG_ALERT_GROUP_COLUMNS
                                         " FROM alert_groups WHERE workspace = $1 AND "
                                         "closed_at = 0 ORDER BY opened_at, key";
const std::string kPutAlertGroup =
    "INSERT INTO alert_groups (" PG_ALERT_GROUP_COLUMNS
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (workspace, key, opened_at) DO UPDATE "
    "SET title = excluded.title, open_count = excluded.open_count, total = excluded.total, "
    "alerted_at = excluded.alerted_at, closed_at = excluded.closed_at";
const std::string kListAlertGroups =
    "SELECT " PG_ALERT_GROUP_COLUMNS
    " FROM alert_groups WHERE workspace = $1 AND (closed_at = 0 "
    "OR ($2::bigint > 0 AND closed_at >= $2::bigint)) ORDER BY opened_at DESC, key LIMIT $3";

const std::string kInsertInboxItem = "INSERT INTO inbox_items (" PG_INBOX_COLUMNS
                                     ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                                     "ON CONFLICT (workspace, id) DO NOTHING";
const std::string kSetInboxItemState =
    "UPDATE inbox_items SET state = $3, done_at = $4 WHERE workspace = $1 AND id = $2";
const std::string kListInbox = "SELECT " PG_INBOX_COLUMNS
                               " FROM inbox_items WHERE workspace = $1 AND ($2 = '' OR state = $2) "
                               "ORDER BY created_at DESC, id DESC LIMIT $3";

const std::string kPutSession =
    "INSERT INTO sessions (workspace, id_hash, \"user\", name, csrf_token, expires_at) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace, id_hash) DO UPDATE SET "
    "\"user\" = excluded.\"user\", name = excluded.name, csrf_token = excluded.csrf_token, "
    "expires_at = excluded.expires_at";
const std::string kDeleteSession = "DELETE FROM sessions WHERE workspace = $1 AND id_hash = $2";
const std::string kDeleteExpiredSessions =
    "DELETE FROM sessions WHERE workspace = $1 AND expires_at <= $2";
// Retention: an inquiry's rows, each table through an index on (…, inquiry_id).
const std::vector<std::string> kDeleteInquiryRows = {
    "DELETE FROM events WHERE inquiry_id = $2 AND workspace = $1",
    "DELETE FROM tasks WHERE workspace = $1 AND inquiry_id = $2",
    "DELETE FROM handoffs WHERE workspace = $1 AND inquiry_id = $2",
    "DELETE FROM work WHERE workspace = $1 AND inquiry_id = $2",
    "DELETE FROM dedupe WHERE workspace = $1 AND inquiry_id = $2",
    "DELETE FROM inbox_items WHERE workspace = $1 AND inquiry_id = $2",
    "DELETE FROM leaks WHERE workspace = $1 AND inquiry_id = $2",
};
const std::string kDeleteInquiry = "DELETE FROM inquiries WHERE workspace = $1 AND id = $2";
// Its event counter (keyed by the inquiry id alone, like the events).
const std::string kDeleteEventSeq = "DELETE FROM event_seqs WHERE inquiry_id = $1";
const std::string kDeleteEntryCountsBefore =
    "DELETE FROM entry_counts WHERE workspace = $1 AND minute_bucket < $2";
const std::string kFindSession =
    "SELECT workspace, id_hash, \"user\", name, csrf_token, expires_at FROM sessions "
    "WHERE workspace = $1 AND id_hash = $2";

const std::string kWorkDepths = "SELECT stage, COUNT(*) FROM work GROUP BY stage";
// The tables every inquiry writes to (PgStore::AnalyzeAsTablesGrow).
const std::string kAnalyzeBusyTables =
    "ANALYZE inquiries, contacts, tasks, handoffs, events, event_seqs, work, entry_counts";
const std::string kHandoffDepths =
    "SELECT state, COUNT(*) FROM (" PG_UNSETTLED_HANDOFFS("state", "") ") u GROUP BY state";
#undef PG_UNSETTLED_HANDOFFS

// A duty is taken when free or expired, renewed by its holder, refused otherwise.
const std::string kHoldDuty =
    "INSERT INTO duties (name, holder, until) VALUES ($1, $2, $3::bigint + $4::bigint) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until "
    "WHERE duties.holder = excluded.holder OR duties.until <= $3::bigint RETURNING holder";
const std::string kReleaseDuty = "UPDATE duties SET until = 0 WHERE name = $1 AND holder = $2";
// FOR SHARE: a node taking the duty over waits until this transaction ends.
const std::string kFenceDuty =
    "SELECT 1 FROM duties WHERE name = $1 AND holder = $2 AND until > $3 FOR SHARE";

// The parameters of an inquiry's columns in PG_INQUIRY_COLUMNS order up to `fields`; without
// raw_payload and raw_content_type unless `with_body` (kUpdateInquiry leaves them out).
PgParams InquiryParams(const Inquiry& i, bool with_body) {
  PgParams p;
  p.Text(i.id)
      .Text(i.workspace)
      .Text(i.source)
      .Text(ChannelName(i.channel))
      .Int(i.received_at)
      .Int(i.occurred_at)
      .Text(i.received.name)
      .Text(i.received.email)
      .Text(i.received.phone)
      .Text(i.normalized.name)
      .Text(i.normalized.email)
      .Text(i.normalized.phone)
      .Text(i.contact_id)
      .Text(i.message)
      .Text(i.service)
      .Text(i.location)
      .Text(i.attribution.utm_source)
      .Text(i.attribution.utm_medium)
      .Text(i.attribution.utm_campaign)
      .Text(i.attribution.utm_term)
      .Text(i.attribution.utm_content)
      .Text(i.attribution.referrer)
      .Text(i.attribution.landing_page)
      .Text(i.provider_event_id);
  if (with_body) p.Bytes(i.raw_payload).Text(i.raw_content_type);
  p.Text(StageName(i.stage)).Text(i.status).Text(i.fields.dump());
  return p;
}

Inquiry ReadInquiry(const PgResult& r, int row) {
  Inquiry i;
  i.id = r.Text(row, 0);
  i.workspace = r.Text(row, 1);
  i.source = r.Text(row, 2);
  i.channel = ParseChannel(r.Text(row, 3)).value_or(Channel::kOther);
  i.received_at = r.Int(row, 4);
  i.occurred_at = r.Int(row, 5);
  i.received.name = r.Text(row, 6);
  i.received.email = r.Text(row, 7);
  i.received.phone = r.Text(row, 8);
  i.normalized.name = r.Text(row, 9);
  i.normalized.email = r.Text(row, 10);
  i.normalized.phone = r.Text(row, 11);
  i.contact_id = r.Text(row, 12);
  i.message = r.Text(row, 13);
  i.service = r.Text(row, 14);
  i.location = r.Text(row, 15);
  i.attribution.utm_source = r.Text(row, 16);
  i.attribution.utm_medium = r.Text(row, 17);
  i.attribution.utm_campaign = r.Text(row, 18);
  i.attribution.utm_term = r.Text(row, 19);
  i.attribution.utm_content = r.Text(row, 20);
  i.attribution.referrer = r.Text(row, 21);
  i.attribution.landing_page = r.Text(row, 22);
  i.provider_event_id = r.Text(row, 23);
  i.raw_payload = r.Bytes(row, 24);
  i.raw_content_type = r.Text(row, 25);
  i.stage = ParseStage(r.Text(row, 26)).value_or(Stage::kEntry);
  i.status = r.Text(row, 27);
  i.fields = ParseJsonObject(r.Text(row, 28));
  i.route = r.Text(row, 29);
  return i;
}

PgParams ContactParams(const Contact& c) {
  PgParams p;
  p.Text(c.id)
      .Text(c.workspace)
      .Text(c.name)
      .Text(c.email)
      .Text(c.phone)
      .Int(c.created_at)
      .Int(c.updated_at);
  return p;
}

Contact ReadContact(const PgResult& r, int row) {
  Contact c;
  c.id = r.Text(row, 0);
  c.workspace = r.Text(row, 1);
  c.name = r.Text(row, 2);
  c.email = r.Text(row, 3);
  c.phone = r.Text(row, 4);
  c.created_at = r.Int(row, 5);
  c.updated_at = r.Int(row, 6);
  return c;
}

PgParams TaskParams(const Task& t) {
  PgParams p;
  p.Text(t.id)
      .Text(t.workspace)
      .Text(t.inquiry_id)
      .Text(t.route)
      .Text(t.owner)
      .Text(t.title)
      .Int(t.due_at)
      .Text(t.state)
      .Int(t.created_at)
      .Int(t.acknowledged_at)
      .Int(t.done_at)
      .Text(nlohmann::json(t.missing).dump())
      .Int(t.escalation_step)
      .Int(t.next_escalation_at);
  return p;
}

Task ReadTask(const PgResult& r, int row) {
  Task t;
  t.id = r.Text(row, 0);
  t.workspace = r.Text(row, 1);
  t.inquiry_id = r.Text(row, 2);
  t.route = r.Text(row, 3);
  t.owner = r.Text(row, 4);
  t.title = r.Text(row, 5);
  t.due_at = r.Int(row, 6);
  t.state = r.Text(row, 7);
  t.created_at = r.Int(row, 8);
  t.acknowledged_at = r.Int(row, 9);
  t.done_at = r.Int(row, 10);
  t.missing = ParseStringArray(r.Text(row, 11));
  t.escalation_step = static_cast<int>(r.Int(row, 12));
  t.next_escalation_at = r.Int(row, 13);
  return t;
}

PgParams HandoffParams(const Handoff& h) {
  PgParams p;
  p.Text(h.id)
      .Text(h.workspace)
      .Text(h.inquiry_id)
      .Text(h.destination)
      .Text(h.state)
      .Int(h.attempts)
      .Int(h.next_attempt_at)
      .Int(h.created_at)
      .Int(h.confirmed_at)
      .Text(h.remote_id)
      .Int(h.last_status)
      .Text(h.last_error)
      .Text(h.last_response_excerpt)
      .Text(h.progress.dump())
      .Text(h.purpose)
      .Text(h.recipient)
      .Text(h.text);
  return p;
}

Handoff ReadHandoff(const PgResult& r, int row) {
  Handoff h;
  h.id = r.Text(row, 0);
  h.workspace = r.Text(row, 1);
  h.inquiry_id = r.Text(row, 2);
  h.destination = r.Text(row, 3);
  h.state = r.Text(row, 4);
  h.attempts = static_cast<int>(r.Int(row, 5));
  h.next_attempt_at = r.Int(row, 6);
  h.created_at = r.Int(row, 7);
  h.confirmed_at = r.Int(row, 8);
  h.remote_id = r.Text(row, 9);
  h.last_status = static_cast<int>(r.Int(row, 10));
  h.last_error = r.Text(row, 11);
  h.last_response_excerpt = r.Text(row, 12);
  h.progress = ParseJsonObject(r.Text(row, 13));
  h.purpose = r.Text(row, 14);
  h.recipient = r.Text(row, 15);
  h.text = r.Text(row, 16);
  return h;
}

WorkItem ReadWork(const PgResult& r, int row) {
  WorkItem w;
  w.id = r.Int(row, 0);
  w.workspace = r.Text(row, 1);
  w.inquiry_id = r.Text(row, 2);
  w.stage = ParseStage(r.Text(row, 3)).value_or(Stage::kEnrich);
  w.available_at = r.Int(row, 4);
  w.attempts = static_cast<int>(r.Int(row, 5));
  return w;
}

Leak ReadLeak(const PgResult& r, int row) {
  Leak l;
  l.workspace = r.Text(row, 0);
  l.key = r.Text(row, 1);
  l.opened_at = r.Int(row, 2);
  l.kind = r.Text(row, 3);
  l.inquiry_id = r.Text(row, 4);
  l.source = r.Text(row, 5);
  l.route = r.Text(row, 6);
  l.destination = r.Text(row, 7);
  l.owner = r.Text(row, 8);
  l.group = r.Text(row, 9);
  l.reason = r.Text(row, 10);
  l.value = r.Double(row, 11);
  l.since = r.Int(row, 12);
  l.closed_at = r.Int(row, 13);
  return l;
}

AlertGroup ReadAlertGroup(const PgResult& r, int row) {
  AlertGroup g;
  g.workspace = r.Text(row, 0);
  g.key = r.Text(row, 1);
  g.opened_at = r.Int(row, 2);
  g.title = r.Text(row, 3);
  g.open = static_cast<int>(r.Int(row, 4));
  g.total = static_cast<int>(r.Int(row, 5));
  g.alerted_at = r.Int(row, 6);
  g.closed_at = r.Int(row, 7);
  return g;
}

InboxItem ReadInboxItem(const PgResult& r, int row) {
  InboxItem item;
  item.id = r.Text(row, 0);
  item.workspace = r.Text(row, 1);
  item.inquiry_id = r.Text(row, 2);
  item.destination = r.Text(row, 3);
  item.owner = r.Text(row, 4);
  item.state = r.Text(row, 5);
  item.created_at = r.Int(row, 6);
  item.done_at = r.Int(row, 7);
  return item;
}

template <typename Read>
auto ReadRows(const PgResult& r, Read read) {
  std::vector<decltype(read(r, 0))> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) out.push_back(read(r, i));
  return out;
}

// A text[] literal of encoded strings: {"a","b"} with quotes and backslashes escaped.
std::string TextArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : EncodePgText(values[i])) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::optional<Micros> MinOf(const PgResult& r) {
  if (r.rows() == 0 || r.IsNull(0, 0)) return std::nullopt;
  return r.Int(0, 0);
}

absl::StatusOr<std::unique_ptr<PgConnection>> OpenWriter(const std::string& url) {
  ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn, PgConnection::Open(url));
  // A write is acknowledged only once the server has flushed it (DESIGN invariant 1), whatever
  // the server's default.
  RETURN_IF_ERROR(conn->Run("SET synchronous_commit = on"));
  return conn;
}

std::string NodeName() {
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return fmt::format("{}:{}:{}", host, ::getpid(), RandomHex(6));
}

}  // namespace

// The connections for reads, claims and releases. Thread-safe.
class PgStore::Pool {
 public:
  // A borrowed connection, returned when destroyed (dropped instead when it broke).
  class Handle {
   public:
    Handle(Pool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Handle(Handle&& other) noexcept = default;
    Handle& operator=(Handle&&) = delete;
    ~Handle() {
      if (conn_ != nullptr) pool_->Return(std::move(conn_));
    }
    PgConnection* operator->() const { return conn_.get(); }
    PgConnection& operator*() const { return *conn_; }

   private:
    Pool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  Pool(std::string url, size_t max) : url_(std::move(url)), max_(max) {}

  absl::StatusOr<Handle> Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !idle_.empty() || open_ < max_; });
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Handle(this, std::move(conn));
    }
    ++open_;
    lock.unlock();
    absl::StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Open(url_);
    // What the pool writes is lease bookkeeping (claims, releases, renewals, duty leases):
    // losing the last of it in a database crash only makes work wait for a lease to lapse, so
    // it need not wait for a WAL flush. Every write that must be durable goes through the
    // writer.
    if (conn.ok()) {
      absl::Status set = (*conn)->Run("SET synchronous_commit = off");
      if (!set.ok()) conn = set;
    }
    if (!conn.ok()) {
      lock.lock();
      --open_;
      cv_.notify_one();
      return conn.status();
    }
    return Handle(this, std::move(*conn));
  }

 private:
  void Return(std::unique_ptr<PgConnection> conn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (conn->broken()) {
        --open_;
      } else {
        idle_.push_back(std::move(conn));
      }
    }
    cv_.notify_one();
  }

  const std::string url_;
  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;  // guarded by mu_
  size_t open_ = 0;                                  // guarded by mu_
};

// The WriteTx handed to write functions: runs on the writer thread, inside the batch's
// transaction and the function's savepoint.
class PgWriteTx final : public WriteTx {
 public:
  explicit PgWriteTx(PgStore* store) : store_(store) {}

  void Begin(PgConnection* conn) {
    conn_ = conn;
    stages_ = 0;
  }
  uint32_t stages() const { return stages_; }

  // The writes below go into the writer's pipeline (PgConnection::Send) and return at once; a
  // failure reaches the write function at its next read or as its result (store.h).
  absl::Status InsertInquiry(const Inquiry& inquiry) override {
    RETURN_IF_ERROR(RequireKey(inquiry.workspace, inquiry.id, "inquiry"));
    PgParams p = InquiryParams(inquiry, /*with_body=*/true);
    p.Text(inquiry.route);
    conn_->Send(kInsertInquiry, p);
    return absl::OkStatus();
  }

  absl::Status UpdateInquiry(const Inquiry& inquiry) override {
    conn_->Send(kUpdateInquiryChecked, InquiryParams(inquiry, /*with_body=*/false),
                [id = inquiry.id](const PgResult& r) -> absl::Status {
                  if (r.rows() > 0 && r.Int(0, 0) > 0) return absl::OkStatus();
                  if (r.rows() > 0 && r.Bool(0, 1)) {
                    return absl::FailedPreconditionError(
                        fmt::format("inquiry {}: source, channel and received_at are fixed at "
                                    "entry and cannot be updated",
                                    id));
                  }
                  return absl::NotFoundError(fmt::format("inquiry {} not found", id));
                });
    return absl::OkStatus();
  }

  absl::Status SetInquiryProgress(const std::string& workspace, const std::string& id, Stage stage,
                                  const std::string& status) override {
    SendInquiryChange(kSetInquiryProgress, workspace, id, StageName(stage), status);
    return absl::OkStatus();
  }

  absl::Status SetInquiryTriggered(const std::string& workspace, const std::string& id,
                                   const std::string& status, const std::string& route) override {
    SendInquiryChange(kSetInquiryTriggered, workspace, id, status, route);
    return absl::OkStatus();
  }

  absl::Status AppendEvent(const Event& event) override {
    RETURN_IF_ERROR(RequireKey(event.workspace, event.inquiry_id, "event"));
    std::string scratch;
    PgParams p;
    p.Text(event.workspace)
        .Text(event.inquiry_id)
        .Int(event.at)
        .Text(StageName(event.stage))
        .Text(event.kind)
        .Text(EventDetailTextOf(event, scratch));
    conn_->Send(kAppendEvent, p,
                TouchedOr([] { return absl::InternalError("the event was not stored"); }));
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<std::string>> FindDedupe(const std::string& workspace,
                                                        const std::string& source,
                                                        const std::string& key) override {
    ASSIGN_OR_RETURN(PgResult r,
                     conn_->Exec(kFindDedupe, PgParams().Text(workspace).Text(source).Text(key)));
    if (r.rows() == 0) return std::optional<std::string>();
    return std::optional<std::string>(r.Text(0, 0));
  }

  absl::Status InsertDedupe(const std::string& workspace, const std::string& source,
                            const std::string& key, const std::string& inquiry_id,
                            Micros at) override {
    RETURN_IF_ERROR(RequireKey(workspace, inquiry_id, "dedupe"));
    conn_->Send(kInsertDedupe,
                PgParams().Text(workspace).Text(source).Text(key).Text(inquiry_id).Int(at));
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<Contact>> FindContactByEmail(const std::string& workspace,
                                                            const std::string& email) override {
    return FindContact(kFindContactByEmail, workspace, email);
  }

  absl::StatusOr<std::optional<Contact>> FindContactByPhone(const std::string& workspace,
                                                            const std::string& phone) override {
    return FindContact(kFindContactByPhone, workspace, phone);
  }

  absl::Status UpsertContact(const Contact& contact) override {
    RETURN_IF_ERROR(RequireKey(contact.workspace, contact.id, "contact"));
    conn_->Send(kUpsertContact, ContactParams(contact));
    return absl::OkStatus();
  }

  absl::StatusOr<Inquiry> GetInquiry(const std::string& workspace, const std::string& id) override {
    ASSIGN_OR_RETURN(PgResult r, conn_->Exec(kGetInquiry, PgParams().Text(workspace).Text(id)));
    if (r.rows() == 0) return absl::NotFoundError(fmt::format("inquiry {} not found", id));
    return ReadInquiry(r, 0);
  }

  absl::StatusOr<std::vector<Handoff>> ListHandoffs(const std::string& workspace,
                                                    const std::string& inquiry_id) override {
    ASSIGN_OR_RETURN(PgResult r,
                     conn_->Exec(kListHandoffs, PgParams().Text(workspace).Text(inquiry_id)));
    return ReadRows(r, ReadHandoff);
  }

  absl::StatusOr<HandoffTally> TallyHandoffs(const std::string& workspace,
                                             const std::string& inquiry_id) override {
    ASSIGN_OR_RETURN(PgResult r,
                     conn_->Exec(kTallyHandoffs, PgParams().Text(workspace).Text(inquiry_id)));
    if (r.rows() != 1) return absl::InternalError("no handoff tally");
    HandoffTally tally;
    tally.confirmed = r.Int(0, 1);
    tally.dead = r.Int(0, 2);
    tally.unsettled = r.Int(0, 0) - tally.confirmed - tally.dead;
    return tally;
  }

  absl::Status InsertTask(const Task& task) override {
    RETURN_IF_ERROR(RequireKey(task.workspace, task.id, "task"));
    conn_->Send(kInsertTask, TaskParams(task));
    return absl::OkStatus();
  }

  absl::StatusOr<Task> GetTask(const std::string& workspace, const std::string& id) override {
    ASSIGN_OR_RETURN(PgResult r,
                     conn_->Exec(kGetTaskForUpdate, PgParams().Text(workspace).Text(id)));
    if (r.rows() == 0) return absl::NotFoundError(fmt::format("task {} not found", id));
    return ReadTask(r, 0);
  }

  absl::Status UpdateTask(const Task& task) override {
    PgParams p;
    p.Text(task.id)
        .Text(task.workspace)
        .Text(task.owner)
        .Int(task.due_at)
        .Text(task.state)
        .Int(task.acknowledged_at)
        .Int(task.done_at)
        .Int(task.escalation_step)
        .Int(task.next_escalation_at);
    conn_->Send(kUpdateTask, p, TouchedOr([id = task.id] {
                  return absl::NotFoundError(fmt::format("task {} not found", id));
                }));
    return absl::OkStatus();
  }

  absl::StatusOr<std::map<std::string, int64_t>> CountOpenTasks(
      const std::string& workspace, const std::vector<std::string>& owners) override {
    RETURN_IF_ERROR(conn_->Exec(kLockAssignment, PgParams().Text(workspace)).status());
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Exec(kCountOpenTasks, PgParams().Text(workspace).Literal(TextArrayLiteral(owners))));
    std::map<std::string, int64_t> out;
    for (int i = 0; i < r.rows(); ++i) out[r.Text(i, 0)] = r.Int(i, 1);
    return out;
  }

  absl::StatusOr<int64_t> NextCounter(const std::string& workspace,
                                      const std::string& key) override {
    ASSIGN_OR_RETURN(PgResult r, conn_->Exec(kNextCounter, PgParams().Text(workspace).Text(key)));
    if (r.rows() == 0) return absl::InternalError("counter update returned no row");
    return r.Int(0, 0);
  }

  absl::StatusOr<bool> TakeRateSlot(const std::string& workspace, const std::string& key, Micros at,
                                    Micros window) override {
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Exec(kTakeRateSlot, PgParams().Text(workspace).Text(key).Int(at).Int(window)));
    return r.rows() > 0;
  }

  absl::StatusOr<std::vector<PastInquiry>> ContactHistory(const std::string& workspace,
                                                          const std::string& contact_id,
                                                          const std::string& except_inquiry_id,
                                                          int limit) override {
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Exec(
            kContactHistory,
            PgParams().Text(workspace).Text(contact_id).Text(except_inquiry_id).Int(limit)));
    return ReadRows(r, [](const PgResult& res, int i) {
      PastInquiry p;
      p.id = res.Text(i, 0);
      p.received_at = res.Int(i, 1);
      p.channel = ParseChannel(res.Text(i, 2)).value_or(Channel::kOther);
      p.service = res.Text(i, 3);
      p.status = res.Text(i, 4);
      p.owner = res.Text(i, 5);
      p.task_state = res.Text(i, 6);
      return p;
    });
  }

  absl::Status InsertHandoff(const Handoff& handoff) override {
    RETURN_IF_ERROR(RequireKey(handoff.workspace, handoff.id, "handoff"));
    conn_->Send(kInsertHandoff, HandoffParams(handoff));
    if (IsRetryableHandoffState(handoff.state)) stages_ |= StageBit(Stage::kTransfer);
    return absl::OkStatus();
  }

  absl::Status UpdateHandoff(const Handoff& handoff, const std::string& lease_token) override {
    const bool keep = handoff.state == "delivering" && !lease_token.empty();
    PgParams p;
    p.Text(handoff.id)
        .Text(handoff.workspace)
        .Text(handoff.state)
        .Int(handoff.attempts)
        .Int(handoff.next_attempt_at)
        .Int(handoff.confirmed_at)
        .Text(handoff.remote_id)
        .Int(handoff.last_status)
        .Text(handoff.last_error)
        .Text(handoff.last_response_excerpt)
        .Text(handoff.progress.dump())
        .Int(keep ? 1 : 0)
        .Text(lease_token)
        .Int(store_->clock_->Now());
    conn_->Send(
        kUpdateHandoffChecked, p,
        [id = handoff.id, unleased = lease_token.empty()](const PgResult& r) -> absl::Status {
          if (r.rows() > 0 && r.Int(0, 0) > 0) return absl::OkStatus();
          if (r.rows() == 0 || !r.Bool(0, 1)) {
            return absl::NotFoundError(fmt::format("handoff {} not found", id));
          }
          if (unleased) {
            return absl::AbortedError(
                fmt::format("handoff {} is claimed by a worker; retry once it is released", id));
          }
          return absl::AbortedError(fmt::format(
              "handoff {} is no longer claimed with this lease (it expired and was claimed "
              "again, or its outcome was already written)",
              id));
        });
    if (IsRetryableHandoffState(handoff.state)) stages_ |= StageBit(Stage::kTransfer);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Handoff>> ReviveDeadHandoffs(const std::string& workspace,
                                                          const HandoffReplayFilter& filter,
                                                          Micros now) override {
    PgParams p;
    p.Text(workspace)
        .Text(filter.handoff_id)
        .Text(filter.destination)
        .Int(filter.created_from)
        .Int(filter.created_until)
        .Text(filter.after_id)
        .Int(std::max(0, filter.limit));
    ASSIGN_OR_RETURN(PgResult r, conn_->Exec(kFindDeadHandoffs, p));
    std::vector<Handoff> dead = ReadRows(r, ReadHandoff);
    for (const Handoff& h : dead) {
      conn_->Send(kReviveHandoff, PgParams().Text(workspace).Text(h.id).Int(now));
    }
    if (!dead.empty()) stages_ |= StageBit(Stage::kTransfer);
    return dead;
  }

  absl::Status EnqueueWork(const WorkItem& item) override {
    RETURN_IF_ERROR(RequireKey(item.workspace, item.inquiry_id, "work item"));
    RETURN_IF_ERROR(CheckStage(item.stage));
    conn_->Send(kEnqueueWork, PgParams()
                                  .Text(item.workspace)
                                  .Text(item.inquiry_id)
                                  .Text(StageName(item.stage))
                                  .Int(item.available_at)
                                  .Int(item.attempts));
    stages_ |= StageBit(item.stage);
    return absl::OkStatus();
  }

  absl::Status CompleteWork(const WorkItem& item) override {
    conn_->Send(kCompleteWork, PgParams().Int(item.id).Text(item.workspace).Text(item.lease_token),
                TouchedOr([id = item.id] {
                  return absl::AbortedError(fmt::format(
                      "work item {} is no longer claimed with this lease (it expired and was "
                      "claimed again, or was completed or released)",
                      id));
                }));
    return absl::OkStatus();
  }

  absl::Status InsertInboxItem(const InboxItem& item) override {
    PgParams p;
    p.Text(item.id)
        .Text(item.workspace)
        .Text(item.inquiry_id)
        .Text(item.destination)
        .Text(item.owner)
        .Text(item.state)
        .Int(item.created_at)
        .Int(item.done_at);
    conn_->Send(kInsertInboxItem, p);
    return absl::OkStatus();
  }

  absl::Status SetInboxItemState(const std::string& workspace, const std::string& id,
                                 const std::string& state, Micros at) override {
    conn_->Send(kSetInboxItemState,
                PgParams().Text(workspace).Text(id).Text(state).Int(state == "done" ? at : 0),
                TouchedOr([id] {
                  return absl::NotFoundError(fmt::format("inbox item {} not found", id));
                }));
    return absl::OkStatus();
  }

  absl::Status CountEntry(const std::string& workspace, const std::string& source,
                          const std::string& outcome, const std::string& reason, Micros at,
                          int64_t n) override {
    if (workspace.empty()) return absl::InvalidArgumentError("entry count: empty workspace");
    PgParams p;
    p.Text(workspace)
        .Text(source)
        .Text(outcome)
        .Text(reason)
        .Int(MinuteBucket(at))
        .Text(store_->node_)
        .Int(n);
    conn_->Send(kCountEntry, p);
    return absl::OkStatus();
  }

  absl::Status InsertLeak(const Leak& l) override {
    RETURN_IF_ERROR(RequireKey(l.workspace, l.key, "leak"));
    PgParams p;
    p.Text(l.workspace)
        .Text(l.key)
        .Int(l.opened_at)
        .Text(l.kind)
        .Text(l.inquiry_id)
        .Text(l.source)
        .Text(l.route)
        .Text(l.destination)
        .Text(l.owner)
        .Text(l.group)
        .Text(l.reason)
        .Double(l.value)
        .Int(l.since)
        .Int(l.closed_at);
    conn_->Send(kInsertLeak, p);
    return absl::OkStatus();
  }

  absl::Status CloseLeak(const std::string& workspace, const std::string& key, Micros opened_at,
                         Micros closed_at) override {
    conn_->Send(
        kCloseLeak, PgParams().Text(workspace).Text(key).Int(opened_at).Int(closed_at),
        TouchedOr([key] { return absl::NotFoundError(fmt::format("no open leak {}", key)); }));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<AlertGroup>> ListOpenAlertGroups(
      const std::string& workspace) override {
    ASSIGN_OR_RETURN(PgResult r, conn_->Exec(kListOpenAlertGroups, PgParams().Text(workspace)));
    return ReadRows(r, ReadAlertGroup);
  }

  absl::Status PutAlertGroup(const AlertGroup& g) override {
    RETURN_IF_ERROR(RequireKey(g.workspace, g.key, "alert group"));
    PgParams p;
    p.Text(g.workspace)
        .Text(g.key)
        .Int(g.opened_at)
        .Text(g.title)
        .Int(g.open)
        .Int(g.total)
        .Int(g.alerted_at)
        .Int(g.closed_at);
    conn_->Send(kPutAlertGroup, p);
    return absl::OkStatus();
  }

  absl::Status PutSession(const DashboardSession& s) override {
    RETURN_IF_ERROR(RequireKey(s.workspace, s.id_hash, "session"));
    PgParams p;
    p.Text(s.workspace)
        .Text(s.id_hash)
        .Text(s.user)
        .Text(s.name)
        .Text(s.csrf_token)
        .Int(s.expires_at);
    conn_->Send(kPutSession, p);
    return absl::OkStatus();
  }

  absl::Status DeleteSession(const std::string& workspace, const std::string& id_hash) override {
    conn_->Send(kDeleteSession, PgParams().Text(workspace).Text(id_hash));
    return absl::OkStatus();
  }

  absl::Status DeleteExpiredSessions(const std::string& workspace, Micros now) override {
    conn_->Send(kDeleteExpiredSessions, PgParams().Text(workspace).Int(now));
    return absl::OkStatus();
  }

  absl::Status DeleteInquiry(const std::string& workspace, const std::string& id) override {
    RETURN_IF_ERROR(RequireKey(workspace, id, "inquiry"));
    conn_->Send(
        kDeleteInquiry, PgParams().Text(workspace).Text(id), TouchedOr([id, workspace] {
          return absl::NotFoundError(fmt::format("no inquiry {} in workspace {}", id, workspace));
        }));
    for (const std::string& sql : kDeleteInquiryRows) {
      conn_->Send(sql, PgParams().Text(workspace).Text(id));
    }
    conn_->Send(kDeleteEventSeq, PgParams().Text(id));
    return absl::OkStatus();
  }

  absl::Status DeleteEntryCountsBefore(const std::string& workspace, Micros before) override {
    conn_->Send(kDeleteEntryCountsBefore, PgParams().Text(workspace).Int(before));
    return absl::OkStatus();
  }

  absl::Status FenceDuty(const std::string& duty) override {
    // SELECT … FOR SHARE: "touched" counts the duty row it locked.
    conn_->Send(
        kFenceDuty, PgParams().Text(duty).Text(store_->node_).Int(store_->clock_->Now()),
        TouchedOr([duty] {
          return absl::AbortedError(fmt::format(
              "this node no longer holds the duty \"{}\" (another node took it over)", duty));
        }));
    return absl::OkStatus();
  }

 private:
  // Sends a change of one inquiry's row: parameters 1 and 2 the workspace and id, then `a` and
  // `b`. The write fails with NotFound when no such inquiry exists.
  void SendInquiryChange(const std::string& sql, const std::string& workspace,
                         const std::string& id, std::string_view a, std::string_view b) {
    conn_->Send(
        sql, PgParams().Text(workspace).Text(id).Text(a).Text(b), TouchedOr([id, workspace] {
          return absl::NotFoundError(fmt::format("no inquiry {} in workspace {}", id, workspace));
        }));
  }

  absl::StatusOr<std::optional<Contact>> FindContact(const std::string& sql,
                                                     const std::string& workspace,
                                                     const std::string& key) {
    if (key.empty()) return std::optional<Contact>();
    ASSIGN_OR_RETURN(PgResult r, conn_->Exec(sql, PgParams().Text(workspace).Text(key)));
    if (r.rows() == 0) return std::optional<Contact>();
    return std::optional<Contact>(ReadContact(r, 0));
  }

  PgStore* store_;
  PgConnection* conn_ = nullptr;
  uint32_t stages_ = 0;
};

absl::StatusOr<std::unique_ptr<PgStore>> PgStore::Open(const std::string& url, const Clock* clock,
                                                       PgStoreOptions options) {
  ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> writer, OpenWriter(url));
  absl::Status migrated = MigratePgSchema(*writer, clock->Now());
  if (!migrated.ok()) {
    return absl::Status(migrated.code(),
                        fmt::format("PostgreSQL: {}", std::string(migrated.message())));
  }
  std::unique_ptr<PgStore> store(new PgStore(url, clock, options, std::move(writer)));
  store->writer_thread_ = std::thread([s = store.get()] { s->WriterLoop(); });
  if (options.listen) store->listen_thread_ = std::thread([s = store.get()] { s->ListenLoop(); });
  store->renewer_ = std::make_unique<PeriodicThread>(
      "pg-lease-renew", [s = store.get()] { return s->RenewLeases(); });
  store->renewer_->Start();
  return store;
}

PgStore::PgStore(std::string url, const Clock* clock, PgStoreOptions options,
                 std::unique_ptr<PgConnection> writer)
    : url_(std::move(url)),
      clock_(clock),
      options_(options),
      node_(NodeName()),
      writer_(std::move(writer)),
      tx_(std::make_unique<PgWriteTx>(this)),
      pool_(std::make_unique<Pool>(url_, std::max<size_t>(1, options.pool_size))),
      // No gathering: this writer's batches are bounded by round trips, and a 1 ms gather
      // lowered one node's throughput (docs/PERFORMANCE.md, "A loaded writer gathers").
      queue_(kMaxBatch, options.deferred_ride, /*gather=*/0) {
  writer_pid_.store(writer_->backend_pid());
}

PgStore::~PgStore() {
  Shutdown();
  if (writer_thread_.joinable()) writer_thread_.join();
  tx_.reset();
  writer_.reset();
  pool_.reset();
}

void PgStore::Shutdown() {
  queue_.Close();
  listen_stop_.store(true);
  if (renewer_ != nullptr) renewer_->Stop();
  std::lock_guard<std::mutex> lock(join_mu_);
  if (listen_thread_.joinable()) listen_thread_.join();
  if (writer_thread_.joinable() && std::this_thread::get_id() != writer_thread_id_.load()) {
    writer_thread_.join();
  }
}

void PgStore::SubmitWrite(WriteFn fn, WriteDone done, Durability durability) {
  PendingWrite w{std::move(fn), std::move(done), durability};
  if (queue_.Push(w)) return;
  CallDone(w.done, absl::UnavailableError("the store is shut down and accepts no more writes"));
}

void PgStore::SetWorkListener(WorkListener listener) { queue_.SetListener(std::move(listener)); }

void PgStore::WriterLoop() {
  NameThisThread("store-writer");
  writer_thread_id_.store(std::this_thread::get_id());
  RaiseWriterPriority();
  std::vector<PendingWrite> batch;
  batch.reserve(kMaxBatch);
  std::shared_ptr<const WorkListener> listener;
  // Ends once the store is shut down and everything submitted is committed.
  while (queue_.Take(&batch, &listener)) RunBatch(batch, listener.get());
}

absl::Status PgStore::EnsureWriter() {
  if (writer_ != nullptr && !writer_->broken()) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<PgConnection>> conn = OpenWriter(url_);
  if (!conn.ok()) return conn.status();
  writer_ = std::move(*conn);
  writer_pid_.store(writer_->backend_pid());
  return absl::OkStatus();
}

void PgStore::RunBatch(std::vector<PendingWrite>& batch, const WorkListener* listener) {
  const size_t n = batch.size();
  absl::Status ready = EnsureWriter();
  if (!ready.ok()) {
    const absl::Status error = absl::UnavailableError(
        fmt::format("the write was not committed: the database is unreachable ({})",
                    std::string(ready.message())));
    for (PendingWrite& w : batch) CallDone(w.done, error);
    return;
  }
  std::vector<absl::Status> results(n, absl::OkStatus());
  uint32_t stages = 0;
  int64_t ok_fns = 0;
  // The batch goes through libpq's pipeline: transaction control and the writes that return
  // only a status are sent without waiting, so a write function costs one round trip (plus one
  // per read it makes) and the commit one more.
  PgConnection& conn = *writer_;
  absl::Status tx_error = conn.EnterPipeline();
  const bool synced = std::any_of(batch.begin(), batch.end(), [](const PendingWrite& w) {
    return w.durability == Durability::kSynced;
  });
  if (tx_error.ok()) {
    conn.SendPlain("BEGIN");
    // Committed without waiting for the WAL flush; a later synchronous commit flushes it.
    if (!synced) conn.SendPlain("SET LOCAL synchronous_commit = off");
    conn.SendPlain("SAVEPOINT fn");
  }
  for (size_t i = 0; tx_error.ok() && i < n; ++i) {
    tx_->Begin(&conn);
    absl::Status s = CallFn(batch[i].fn, *tx_);
    // A statement that failed is the function's error even when the function did not see it.
    absl::Status settled = conn.Settle();
    if (!settled.ok()) s = std::move(settled);
    if (conn.broken()) {
      tx_error = s.ok() ? absl::UnavailableError("the PostgreSQL connection was lost") : s;
      break;
    }
    const bool last = i + 1 == n;
    // Savepoints nest instead of being released (one statement less per function): ROLLBACK
    // TO names the newest `fn`, which a failed function leaves in place for the next one.
    if (s.ok()) {
      stages |= tx_->stages();
      ++ok_fns;
      if (!last) conn.SendPlain("SAVEPOINT fn");
    } else {
      results[i] = std::move(s);
      conn.SendPlain("ROLLBACK TO fn");
    }
  }
  if (tx_error.ok()) {
    // Other nodes hear of the new work when (and only if) the transaction commits.
    for (Stage stage : kAllStages) {
      if ((stages & StageBit(stage)) == 0) continue;
      conn.SendPlain(fmt::format("NOTIFY {}, '{}'", kWorkChannel, StageName(stage)));
    }
    conn.SendPlain("COMMIT");
    tx_error = conn.Settle(/*sync=*/true);
    if (tx_error.ok() && PQtransactionStatus(conn.raw()) != PQTRANS_IDLE) {
      tx_error = absl::InternalError("the transaction did not end at COMMIT");
    }
  } else if (!conn.broken()) {
    (void)conn.Settle(/*sync=*/true);
  }
  if (absl::Status left = conn.ExitPipeline(); !left.ok() && !conn.broken()) {
    // Out of step with the server: start the next batch on a new connection.
    spdlog::error("store: {}", std::string(left.message()));
    writer_.reset();
    if (tx_error.ok()) tx_error = left;
  }
  if (!tx_error.ok()) {
    if (writer_ != nullptr && !writer_->broken()) (void)writer_->Run("ROLLBACK");
    const absl::Status error = absl::UnavailableError(
        fmt::format("the write was not committed: {}", std::string(tx_error.message())));
    for (size_t i = 0; i < n; ++i) {
      CallDone(batch[i].done, results[i].ok() ? error : results[i]);
    }
    return;
  }
  commits_.fetch_add(1);
  committed_fns_.fetch_add(ok_fns);
  TellListener(listener, stages);
  for (size_t i = 0; i < n; ++i) CallDone(batch[i].done, std::move(results[i]));
}

void PgStore::NotifyLocal(uint32_t stages) { TellListener(queue_.listener().get(), stages); }

void PgStore::ListenLoop() {
  NameThisThread("pg-listen");
  std::unique_ptr<PgConnection> conn;
  bool reconnecting = false;
  while (!listen_stop_.load()) {
    if (conn == nullptr || conn->broken()) {
      conn.reset();
      absl::StatusOr<std::unique_ptr<PgConnection>> opened = PgConnection::Open(url_);
      if (opened.ok() && (*opened)->Run(fmt::format("LISTEN {}", kWorkChannel)).ok()) {
        conn = std::move(*opened);
        // Whatever was announced while the connection was down: every worker looks once.
        if (reconnecting) NotifyLocal((1u << kNumStages) - 1);
        reconnecting = true;
      } else {
        reconnecting = true;
        for (int i = 0; i < 10 && !listen_stop_.load(); ++i) ::usleep(100 * 1000);
        continue;
      }
    }
    pollfd pfd{PQsocket(conn->raw()), POLLIN, 0};
    if (::poll(&pfd, 1, 200) <= 0) continue;
    if (PQconsumeInput(conn->raw()) == 0) continue;  // broken: reopened on the next turn
    uint32_t stages = 0;
    while (PGnotify* note = PQnotifies(conn->raw())) {
      // This node's own commits told its listener already.
      if (note->be_pid != writer_pid_.load()) {
        for (Stage stage : kAllStages) {
          if (StageName(stage) == std::string_view(note->extra)) stages |= StageBit(stage);
        }
      }
      PQfreemem(note);
    }
    if (stages != 0) NotifyLocal(stages);
  }
}

Micros PgStore::RenewLeases() {
  auto renew = [this]() -> absl::Status {
    ASSIGN_OR_RETURN(Pool::Handle conn, pool_->Acquire());
    const Micros now = clock_->Now();
    RETURN_IF_ERROR(conn->Exec(kRenewWork, PgParams().Text(node_).Int(now)).status());
    return conn->Exec(kRenewHandoffs, PgParams().Text(node_).Int(now)).status();
  };
  absl::Status s = renew();
  if (!s.ok())
    spdlog::warn("store: renewing this node's leases failed: {}", std::string(s.message()));
  AnalyzeAsTablesGrow();
  return std::clamp(shortest_lease_.load() / 3, 20 * kMicrosPerMilli, options_.renew_every);
}

void PgStore::AnalyzeAsTablesGrow() {
  if (committed_fns_.load() < next_analyze_) return;
  next_analyze_ = next_analyze_ >= kLastAnalyze ? INT64_MAX : next_analyze_ * 8;
  absl::StatusOr<Pool::Handle> conn = pool_->Acquire();
  absl::Status analyzed = conn.ok() ? (*conn)->Run(kAnalyzeBusyTables) : conn.status();
  if (!analyzed.ok()) {
    spdlog::info("store: analyzing the busy tables failed (autovacuum will): {}",
                 std::string(analyzed.message()));
  }
}

absl::StatusOr<PgResult> PgStore::Query(const std::string& sql, const PgParams& params) {
  ASSIGN_OR_RETURN(Pool::Handle conn, pool_->Acquire());
  return conn->Exec(sql, params);
}

std::string PgStore::NewClaimPrefix() {
  return fmt::format("{}.{}.", RandomHex(8), claim_counter_.fetch_add(1) + 1);
}

absl::StatusOr<std::vector<WorkItem>> PgStore::ClaimWork(Stage stage, int max, Micros now,
                                                         Micros lease,
                                                         const std::string& workspace) {
  std::vector<WorkItem> out;
  if (max <= 0) return out;
  RETURN_IF_ERROR(CheckStage(stage));
  const Micros hold = std::max<Micros>(lease, 1);
  for (Micros shortest = shortest_lease_.load(); hold < shortest;) {
    if (shortest_lease_.compare_exchange_weak(shortest, hold)) break;
  }
  ASSIGN_OR_RETURN(PgResult r, Query(kClaimWork, PgParams()
                                                     .Text(StageName(stage))
                                                     .Int(now)
                                                     .Int(max)
                                                     .Text(NewClaimPrefix())
                                                     .Text(node_)
                                                     .Int(hold)
                                                     .Text(workspace)));
  for (int i = 0; i < r.rows(); ++i) {
    WorkItem w = ReadWork(r, i);
    w.lease_token = r.Text(i, 6);
    out.push_back(std::move(w));
  }
  std::sort(out.begin(), out.end(), [](const WorkItem& a, const WorkItem& b) {
    return a.available_at != b.available_at ? a.available_at < b.available_at : a.id < b.id;
  });
  return out;
}

absl::Status PgStore::ReleaseWork(const WorkItem& item, Micros available_at) {
  ASSIGN_OR_RETURN(
      PgResult r,
      Query(kReleaseWork, PgParams().Int(item.id).Text(item.lease_token).Int(available_at)));
  if (r.affected() == 0) {
    return absl::AbortedError(
        fmt::format("work item {} is no longer claimed with this lease", item.id));
  }
  NotifyLocal(StageBit(item.stage));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Handoff>> PgStore::ClaimHandoffs(
    int max, Micros now, Micros lease, std::vector<std::string>* lease_tokens,
    const std::vector<std::string>& skip_destinations, const std::string& workspace) {
  std::vector<Handoff> out;
  if (lease_tokens != nullptr) lease_tokens->clear();
  if (max <= 0) return out;
  const Micros hold = std::max<Micros>(lease, 1);
  for (Micros shortest = shortest_lease_.load(); hold < shortest;) {
    if (shortest_lease_.compare_exchange_weak(shortest, hold)) break;
  }
  ASSIGN_OR_RETURN(PgResult r,
                   Query(kClaimHandoffs, PgParams()
                                             .Int(now)
                                             .Int(max)
                                             .Literal(TextArrayLiteral(skip_destinations))
                                             .Text(NewClaimPrefix())
                                             .Text(node_)
                                             .Int(hold)
                                             .Text(workspace)));
  std::vector<std::pair<Handoff, std::string>> claimed;
  for (int i = 0; i < r.rows(); ++i) claimed.emplace_back(ReadHandoff(r, i), r.Text(i, 17));
  std::sort(claimed.begin(), claimed.end(), [](const auto& a, const auto& b) {
    return a.first.next_attempt_at != b.first.next_attempt_at
               ? a.first.next_attempt_at < b.first.next_attempt_at
               : a.first.id < b.first.id;
  });
  for (auto& [h, token] : claimed) {
    if (lease_tokens != nullptr) lease_tokens->push_back(std::move(token));
    out.push_back(std::move(h));
  }
  return out;
}

void PgStore::ReleaseHandoff(const std::string& handoff_id, const std::string& lease_token) {
  if (lease_token.empty()) return;
  absl::StatusOr<Pool::Handle> conn = pool_->Acquire();
  if (!conn.ok()) return;  // the lease runs out on its own
  absl::Status s =
      (*conn)->Exec(kReleaseHandoff, PgParams().Text(handoff_id).Text(lease_token)).status();
  if (!s.ok())
    spdlog::warn("store: releasing handoff {} failed: {}", handoff_id, std::string(s.message()));
}

absl::StatusOr<std::optional<Micros>> PgStore::NextAvailable(Stage stage,
                                                             const std::string& workspace) {
  if (stage == Stage::kTransfer) {
    ASSIGN_OR_RETURN(PgResult r, Query(kNextHandoff, PgParams().Text(workspace)));
    return MinOf(r);
  }
  RETURN_IF_ERROR(CheckStage(stage));
  ASSIGN_OR_RETURN(PgResult r, Query(kNextWork, PgParams().Text(StageName(stage)).Text(workspace)));
  return MinOf(r);
}

absl::StatusOr<Inquiry> PgStore::GetInquiry(const std::string& workspace, const std::string& id) {
  ASSIGN_OR_RETURN(PgResult r, Query(kGetInquiry, PgParams().Text(workspace).Text(id)));
  if (r.rows() == 0) return absl::NotFoundError(fmt::format("inquiry {} not found", id));
  return ReadInquiry(r, 0);
}

absl::StatusOr<std::vector<Inquiry>> PgStore::ListInquiries(const std::string& workspace,
                                                            const InquiryFilter& filter) {
  // Only the filters in use appear in the SQL (numbered as they are added), so the planner can
  // pick the matching (workspace, column, id) index.
  PgParams p;
  p.Text(workspace);
  std::string sql =
      "SELECT " PG_INQUIRY_COLUMNS_WITHOUT_BODY " FROM inquiries WHERE workspace = $1";
  // A status or stage off the healthy path: the condition of inquiries_off_the_path, which the
  // planner then knows it may read.
  if (OnlyOffThePath(filter.status, filter.stage)) sql += " AND " HANDOFF_OFF_THE_PATH;
  auto add = [&](const char* condition, auto value) {
    if constexpr (std::is_integral_v<decltype(value)>) {
      p.Int(value);
    } else {
      p.Text(value);
    }
    sql += fmt::format(" AND {}${}", condition, p.size());
  };
  if (!filter.source.empty()) add("source = ", filter.source);
  if (!filter.channel.empty()) add("channel = ", filter.channel);
  if (!filter.stage.empty()) add("stage = ", filter.stage);
  if (!filter.status.empty()) add("status = ", filter.status);
  if (filter.received_from != 0) add("received_at >= ", filter.received_from);
  if (filter.received_until != 0) add("received_at < ", filter.received_until);
  if (!filter.before_id.empty()) add("id < ", filter.before_id);
  if (!filter.route.empty()) add("route = ", filter.route);
  if (!filter.text.empty()) {
    std::string text;
    for (char c : filter.text) {
      text += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    p.Text(text);
    const size_t n = p.size();
    // strpos rather than LIKE: the searched text needs no escaping of % and _; lower() under
    // the "C" collation folds ASCII only, as on SQLite.
    sql += fmt::format(
        " AND (strpos(lower(normalized_name), ${0}) > 0 OR strpos(lower(received_name), ${0}) > 0 "
        "OR strpos(lower(normalized_email), ${0}) > 0 OR strpos(lower(received_email), ${0}) > 0 "
        "OR strpos(normalized_phone, ${0}) > 0 OR strpos(received_phone, ${0}) > 0 "
        "OR strpos(lower(message), ${0}) > 0)",
        n);
  }
  p.Int(std::clamp(filter.limit, 1, 500));
  sql += fmt::format(" ORDER BY id DESC LIMIT ${}", p.size());
  ASSIGN_OR_RETURN(PgResult r, Query(sql, p));
  return ReadRows(r, ReadInquiry);
}

absl::StatusOr<Contact> PgStore::GetContact(const std::string& workspace, const std::string& id) {
  ASSIGN_OR_RETURN(PgResult r, Query(kGetContact, PgParams().Text(workspace).Text(id)));
  if (r.rows() == 0) return absl::NotFoundError(fmt::format("contact {} not found", id));
  return ReadContact(r, 0);
}

absl::StatusOr<std::vector<Event>> PgStore::ListEvents(const std::string& workspace,
                                                       const std::string& inquiry_id) {
  ASSIGN_OR_RETURN(PgResult r, Query(kListEvents, PgParams().Text(workspace).Text(inquiry_id)));
  return ReadRows(r, [](const PgResult& res, int i) {
    Event e;
    e.inquiry_id = res.Text(i, 0);
    e.seq = res.Int(i, 1);
    e.workspace = res.Text(i, 2);
    e.at = res.Int(i, 3);
    e.stage = ParseStage(res.Text(i, 4)).value_or(Stage::kEntry);
    e.kind = res.Text(i, 5);
    e.detail = ParseEventDetail(res.Text(i, 6));
    return e;
  });
}

absl::StatusOr<std::vector<Task>> PgStore::ListTasks(const std::string& workspace,
                                                     const std::string& inquiry_id) {
  ASSIGN_OR_RETURN(PgResult r, Query(kListTasks, PgParams().Text(workspace).Text(inquiry_id)));
  return ReadRows(r, ReadTask);
}

absl::StatusOr<std::map<InquiryRef, InquiryContext>> PgStore::ReadInquiryContexts(
    const std::vector<InquiryRef>& inquiries) {
  std::map<InquiryRef, InquiryContext> out;
  if (inquiries.empty()) return out;
  auto refs = [](const std::vector<InquiryRef>& of) {
    std::vector<std::string> workspaces, ids;
    for (const InquiryRef& r : of) {
      workspaces.push_back(r.workspace);
      ids.push_back(r.id);
    }
    return PgParams().Literal(TextArrayLiteral(workspaces)).Literal(TextArrayLiteral(ids));
  };
  const PgParams inquiry_refs = refs(inquiries);
  // Three statements, each its own snapshot (as the per-delivery reads were): a transaction
  // around them would cost two more round trips per claim.
  ASSIGN_OR_RETURN(Pool::Handle conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult found, conn->Exec(kContextInquiries, inquiry_refs));
  std::vector<InquiryRef> contacts;
  for (Inquiry& i : ReadRows(found, ReadInquiry)) {
    InquiryRef ref{i.workspace, i.id};
    if (!i.contact_id.empty()) contacts.push_back({i.workspace, i.contact_id});
    out[ref].inquiry = std::move(i);
  }
  if (out.empty()) return out;
  ASSIGN_OR_RETURN(PgResult tasks, conn->Exec(kContextFirstTasks, inquiry_refs));
  for (Task& t : ReadRows(tasks, ReadTask)) {
    auto it = out.find(InquiryRef{t.workspace, t.inquiry_id});
    if (it != out.end()) it->second.task = std::move(t);
  }
  if (contacts.empty()) return out;
  ASSIGN_OR_RETURN(PgResult people, conn->Exec(kContextContacts, refs(contacts)));
  std::map<InquiryRef, Contact> by_id;
  for (Contact& c : ReadRows(people, ReadContact)) {
    InquiryRef key{c.workspace, c.id};
    by_id.emplace(std::move(key), std::move(c));
  }
  for (auto& [ref, context] : out) {
    auto it = by_id.find(InquiryRef{ref.workspace, context.inquiry.contact_id});
    if (it != by_id.end()) context.contact = it->second;
  }
  return out;
}

absl::StatusOr<Task> PgStore::GetTask(const std::string& workspace, const std::string& id) {
  ASSIGN_OR_RETURN(PgResult r, Query(kGetTask, PgParams().Text(workspace).Text(id)));
  if (r.rows() == 0) return absl::NotFoundError(fmt::format("task {} not found", id));
  return ReadTask(r, 0);
}

absl::StatusOr<std::vector<Task>> PgStore::ListDueEscalations(const std::string& workspace,
                                                              Micros now, int limit) {
  ASSIGN_OR_RETURN(PgResult r,
                   Query(kDueEscalations, PgParams().Int(now).Int(limit).Text(workspace)));
  return ReadRows(r, ReadTask);
}

absl::StatusOr<std::optional<Micros>> PgStore::NextEscalation(const std::string& workspace) {
  ASSIGN_OR_RETURN(PgResult r, Query(kNextEscalation, PgParams().Text(workspace)));
  return MinOf(r);
}

absl::StatusOr<std::vector<Task>> PgStore::ListTasksBy(const std::string& workspace,
                                                       const std::string& state,
                                                       const std::string& owner, int limit) {
  const bool by_owner = !owner.empty(), one_state = !state.empty();
  PgParams params;
  params.Text(workspace).Int(limit);
  if (by_owner) params.Text(owner);
  if (one_state) params.Text(state);
  ASSIGN_OR_RETURN(
      PgResult r,
      Query(NewestTasksSql(PG_TASK_COLUMNS, "tasks", '$', by_owner, one_state), params));
  return ReadRows(r, ReadTask);
}

absl::StatusOr<std::vector<Handoff>> PgStore::ListHandoffs(const std::string& workspace,
                                                           const std::string& inquiry_id) {
  ASSIGN_OR_RETURN(PgResult r, Query(kListHandoffs, PgParams().Text(workspace).Text(inquiry_id)));
  return ReadRows(r, ReadHandoff);
}

absl::StatusOr<Handoff> PgStore::GetHandoff(const std::string& workspace, const std::string& id) {
  ASSIGN_OR_RETURN(PgResult r, Query(kGetHandoff, PgParams().Text(workspace).Text(id)));
  if (r.rows() == 0) return absl::NotFoundError(fmt::format("handoff {} not found", id));
  return ReadHandoff(r, 0);
}

absl::StatusOr<std::vector<Handoff>> PgStore::ListHandoffsInState(const std::string& workspace,
                                                                  const std::string& state,
                                                                  int limit) {
  const bool claimable = state == "pending" || state == "failed" || state == "delivering";
  const std::string& sql = state == "dead" ? kListDeadHandoffs
                           : claimable     ? kListClaimableInState
                                           : kListAnyInState;
  ASSIGN_OR_RETURN(PgResult r, Query(sql, PgParams().Text(workspace).Text(state).Int(limit)));
  return ReadRows(r, ReadHandoff);
}

absl::StatusOr<std::vector<InboxItem>> PgStore::ListInbox(const std::string& workspace,
                                                          const std::string& state, int limit) {
  ASSIGN_OR_RETURN(PgResult r,
                   Query(kListInbox, PgParams().Text(workspace).Text(state).Int(limit)));
  return ReadRows(r, ReadInboxItem);
}

absl::StatusOr<std::vector<EntryCount>> PgStore::ListEntryCounts(const std::string& workspace,
                                                                 Micros since) {
  ASSIGN_OR_RETURN(PgResult r,
                   Query(kListEntryCounts, PgParams().Text(workspace).Int(MinuteBucket(since))));
  return ReadRows(r, [](const PgResult& res, int i) {
    EntryCount c;
    c.source = res.Text(i, 0);
    c.outcome = res.Text(i, 1);
    c.reason = res.Text(i, 2);
    c.count = res.Int(i, 3);
    c.last_at = res.Int(i, 4);
    return c;
  });
}

absl::Status PgStore::ScanInquiryOutcomes(const std::string& workspace, Micros from, Micros until,
                                          int page_size, const OutcomePageFn& page) {
  if (page_size < 1) return absl::InvalidArgumentError("page_size must be at least 1");
  // A page at a time after (page_from, after_id) in (received_at, id) order.
  Micros page_from = from;
  std::string after_id;  // the last id read at page_from ("": none yet, below every id)
  // One page: its inquiries, then their tasks and handoffs, in one snapshot.
  auto read = [&](PgConnection& conn) -> absl::StatusOr<std::vector<InquiryOutcome>> {
    ASSIGN_OR_RETURN(
        PgResult r,
        conn.Exec(
            kInquiryOutcomes,
            PgParams().Text(workspace).Int(page_from).Int(until).Text(after_id).Int(page_size)));
    std::vector<InquiryOutcome> out = ReadRows(r, [](const PgResult& res, int i) {
      InquiryOutcome o;
      o.id = res.Text(i, 0);
      o.source = res.Text(i, 1);
      o.channel = ParseChannel(res.Text(i, 2)).value_or(Channel::kOther);
      const OutcomeFields f = ReadOutcomeFields(res.Text(i, 3));
      o.kind = f.kind;
      o.service = f.intent.empty() ? res.Text(i, 4) : f.intent;
      o.value = f.value;
      o.synthetic = f.synthetic;
      o.received_at = res.Int(i, 5);
      o.stage = ParseStage(res.Text(i, 6)).value_or(Stage::kEntry);
      o.status = res.Text(i, 7);
      o.route = res.Text(i, 8);
      o.has_phone = res.Bool(i, 9);
      o.has_email = res.Bool(i, 10);
      return o;
    });
    if (out.empty()) return out;
    std::unordered_map<std::string, size_t> index;
    for (size_t i = 0; i < out.size(); ++i) index[out[i].id] = i;
    const PgParams window =
        PgParams().Text(workspace).Int(out.front().received_at).Int(out.back().received_at);
    ASSIGN_OR_RETURN(PgResult tasks, conn.Exec(kOutcomeTasks, window));
    for (int row = 0; row < tasks.rows(); ++row) {
      auto it = index.find(tasks.Text(row, 0));
      if (it == index.end() || out[it->second].task) continue;
      OutcomeTask& t = out[it->second].task.emplace();
      t.id = tasks.Text(row, 1);
      t.owner = tasks.Text(row, 2);
      t.state = tasks.Text(row, 3);
      t.due_at = tasks.Int(row, 4);
      t.created_at = tasks.Int(row, 5);
      t.acknowledged_at = tasks.Int(row, 6);
      t.done_at = tasks.Int(row, 7);
      t.missing = ParseStringArray(tasks.Text(row, 8));
    }
    ASSIGN_OR_RETURN(PgResult handoffs, conn.Exec(kOutcomeHandoffs, window));
    for (int row = 0; row < handoffs.rows(); ++row) {
      auto it = index.find(handoffs.Text(row, 0));
      if (it == index.end()) continue;
      OutcomeHandoff& h = out[it->second].handoffs.emplace_back();
      h.id = handoffs.Text(row, 1);
      h.destination = handoffs.Text(row, 2);
      h.state = handoffs.Text(row, 3);
      h.purpose = handoffs.Text(row, 4);
      h.last_error = handoffs.Text(row, 5);
      h.attempts = static_cast<int>(handoffs.Int(row, 6));
      h.created_at = handoffs.Int(row, 7);
      h.confirmed_at = handoffs.Int(row, 8);
    }
    return out;
  };
  for (;;) {
    std::vector<InquiryOutcome> out;
    {
      // A connection per page: the caller's work on a page holds none.
      ASSIGN_OR_RETURN(Pool::Handle conn, pool_->Acquire());
      RETURN_IF_ERROR(conn->Run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
      absl::StatusOr<std::vector<InquiryOutcome>> result = read(*conn);
      absl::Status ended = conn->Run(result.ok() ? "COMMIT" : "ROLLBACK");
      if (!result.ok()) return result.status();
      RETURN_IF_ERROR(ended);
      out = *std::move(result);
    }
    const bool last_page = out.size() < static_cast<size_t>(page_size);
    if (!out.empty()) {
      page_from = out.back().received_at;
      after_id = out.back().id;
      RETURN_IF_ERROR(page(out));
    }
    if (last_page) return absl::OkStatus();
  }
}

absl::StatusOr<std::vector<Leak>> PgStore::ListLeaks(const std::string& workspace,
                                                     const LeakFilter& filter) {
  ASSIGN_OR_RETURN(
      PgResult r,
      Query(kListLeaks, PgParams().Text(workspace).Int(filter.closed_since).Int(filter.limit)));
  return ReadRows(r, ReadLeak);
}

absl::StatusOr<std::vector<AlertGroup>> PgStore::ListAlertGroups(const std::string& workspace,
                                                                 Micros closed_since, int limit) {
  ASSIGN_OR_RETURN(
      PgResult r, Query(kListAlertGroups, PgParams().Text(workspace).Int(closed_since).Int(limit)));
  return ReadRows(r, ReadAlertGroup);
}

absl::StatusOr<std::vector<Handoff>> PgStore::ListAlertHandoffs(const std::string& workspace,
                                                                Micros since, int limit) {
  ASSIGN_OR_RETURN(PgResult r,
                   Query(kListAlertHandoffs, PgParams().Text(workspace).Int(since).Int(limit)));
  return ReadRows(r, ReadHandoff);
}

absl::StatusOr<std::vector<HandoffCount>> PgStore::CountUnsettledHandoffs(
    const std::string& workspace) {
  ASSIGN_OR_RETURN(PgResult r, Query(kCountUnsettledHandoffs, PgParams().Text(workspace)));
  return ReadRows(r, [](const PgResult& res, int i) {
    return HandoffCount{res.Text(i, 0), res.Text(i, 1), res.Text(i, 2), res.Int(i, 3)};
  });
}

absl::StatusOr<std::optional<DashboardSession>> PgStore::FindSession(const std::string& workspace,
                                                                     const std::string& id_hash) {
  ASSIGN_OR_RETURN(PgResult r, Query(kFindSession, PgParams().Text(workspace).Text(id_hash)));
  if (r.rows() == 0) return std::optional<DashboardSession>();
  return std::optional<DashboardSession>(DashboardSession{r.Text(0, 1), r.Text(0, 0), r.Text(0, 2),
                                                          r.Text(0, 3), r.Text(0, 4), r.Int(0, 5)});
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> PgStore::QueueDepths() {
  std::array<int64_t, kNumStages> work{};
  constexpr std::array<const char*, 4> kStates = {"pending", "delivering", "failed", "dead"};
  std::array<int64_t, kStates.size()> handoffs{};
  {
    ASSIGN_OR_RETURN(Pool::Handle conn, pool_->Acquire());
    ASSIGN_OR_RETURN(PgResult w, conn->Exec(kWorkDepths));
    for (int i = 0; i < w.rows(); ++i) {
      std::optional<Stage> stage = ParseStage(w.Text(i, 0));
      if (stage.has_value()) work[static_cast<size_t>(*stage)] = w.Int(i, 1);
    }
    ASSIGN_OR_RETURN(PgResult h, conn->Exec(kHandoffDepths));
    for (int i = 0; i < h.rows(); ++i) {
      const std::string state = h.Text(i, 0);
      for (size_t k = 0; k < kStates.size(); ++k) {
        if (state == kStates[k]) handoffs[k] = h.Int(i, 1);
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

absl::StatusOr<bool> PgStore::HoldDuty(const std::string& duty, Micros now, Micros ttl) {
  ASSIGN_OR_RETURN(PgResult r,
                   Query(kHoldDuty, PgParams().Text(duty).Text(node_).Int(now).Int(ttl)));
  return r.rows() > 0;
}

void PgStore::ReleaseDuty(const std::string& duty) {
  absl::StatusOr<Pool::Handle> conn = pool_->Acquire();
  if (!conn.ok()) return;
  (void)(*conn)->Exec(kReleaseDuty, PgParams().Text(duty).Text(node_));
}

}  // namespace handoff
