// The storage interface every stage writes through. Written for two backends: the embedded
// SQLite default (sqlite/) and PostgreSQL for scale-out. Every row carries its workspace and
// every query is scoped by one.
//
// Writes happen inside a WriteTx. Store::SubmitWrite hands a write function to the store's
// single writer, which groups the functions that arrive together into one transaction and one
// durable commit (group commit). One failing function rolls back only its own writes: a store
// may undo the whole transaction and run every function of it again to achieve that (see
// WriteFn). `done` runs only after the commit is durable.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "model/records.h"

namespace handoff {

// Which dead handoffs a replay picks; empty fields do not filter.
struct HandoffReplayFilter {
  std::string handoff_id;
  std::string destination;
  Micros created_from = 0;   // inclusive
  Micros created_until = 0;  // exclusive
  std::string after_id;      // cursor: only ids > after_id
  int limit = 500;
};

// An inquiry's handoffs counted by where they stand (WriteTx::TallyHandoffs).
struct HandoffTally {
  int64_t confirmed = 0;
  int64_t dead = 0;
  int64_t unsettled = 0;  // pending, failed or delivering
};

// The writes available inside one transaction. Not thread-safe: used only by the write
// function it is passed to, on the writer's thread.
//
// A write function returns the first error a call gives it; the store then rolls back all of
// that function's writes. A store may send the writes that return only a Status without waiting
// for them (the PostgreSQL store pipelines them): such a call returns OK, and its failure comes
// back from the function's next read instead, or replaces the function's result.
class WriteTx {
 public:
  virtual ~WriteTx() = default;

  virtual absl::Status InsertInquiry(const Inquiry& inquiry) = 0;
  // Replaces every mutable field of an existing inquiry (matched by workspace + id). Its route
  // is Trigger's (SetInquiryTriggered) and its body as received (raw_payload, raw_content_type)
  // entry's: both stay as they are.
  virtual absl::Status UpdateInquiry(const Inquiry& inquiry) = 0;

  // Moves an inquiry to `stage` with `status`, leaving every other field as it is (the cheap
  // update the later stages need). NotFound if the inquiry does not exist in that workspace.
  virtual absl::Status SetInquiryProgress(const std::string& workspace, const std::string& id,
                                          Stage stage, const std::string& status) = 0;
  // Trigger's outcome: the inquiry moves to the trigger stage with `status` and keeps `route`,
  // the route that took it ("" when none matched). NotFound as SetInquiryProgress.
  virtual absl::Status SetInquiryTriggered(const std::string& workspace, const std::string& id,
                                           const std::string& status, const std::string& route) = 0;

  // Appends to the inquiry's journal. The store numbers each inquiry's events 1, 2, 3… in the
  // order they are appended (`event.seq` is ignored; ListEvents returns the numbers).
  virtual absl::Status AppendEvent(const Event& event) = 0;

  // Source-delivery dedupe: the inquiry id first recorded for (workspace, source, key), if any.
  virtual absl::StatusOr<std::optional<std::string>> FindDedupe(const std::string& workspace,
                                                                const std::string& source,
                                                                const std::string& key) = 0;
  virtual absl::Status InsertDedupe(const std::string& workspace, const std::string& source,
                                    const std::string& key, const std::string& inquiry_id,
                                    Micros at) = 0;

  virtual absl::StatusOr<std::optional<Contact>> FindContactByEmail(const std::string& workspace,
                                                                    const std::string& email) = 0;
  virtual absl::StatusOr<std::optional<Contact>> FindContactByPhone(const std::string& workspace,
                                                                    const std::string& phone) = 0;
  // Inserts or replaces (by workspace + id).
  virtual absl::Status UpsertContact(const Contact& contact) = 0;

  // Reads inside the transaction (they see this transaction's own writes).
  virtual absl::StatusOr<Inquiry> GetInquiry(const std::string& workspace,
                                             const std::string& id) = 0;
  virtual absl::StatusOr<std::vector<Handoff>> ListHandoffs(const std::string& workspace,
                                                            const std::string& inquiry_id) = 0;
  // How many of the inquiry's handoffs are in each end state, and how many are not yet: what
  // settling an inquiry needs, without reading the rows.
  virtual absl::StatusOr<HandoffTally> TallyHandoffs(const std::string& workspace,
                                                     const std::string& inquiry_id) = 0;

  virtual absl::Status InsertTask(const Task& task) = 0;
  virtual absl::StatusOr<Task> GetTask(const std::string& workspace, const std::string& id) = 0;
  // Replaces the mutable fields of a task: owner, due_at, state, acknowledged_at, done_at,
  // escalation_step, next_escalation_at.
  virtual absl::Status UpdateTask(const Task& task) = 0;
  // Open or acknowledged tasks of each of `owners` (those without any are absent): least-open
  // assignment. Read per owner, so its cost follows those owners' open tasks, not the number of
  // tasks the workspace ever had.
  virtual absl::StatusOr<std::map<std::string, int64_t>> CountOpenTasks(
      const std::string& workspace, const std::vector<std::string>& owners) = 0;
  // Returns the value of the counter `key` and adds one to it (a new counter starts at 0). The
  // round-robin slot: run inside the write that assigns, two assignments never share a value.
  virtual absl::StatusOr<int64_t> NextCounter(const std::string& workspace,
                                              const std::string& key) = 0;
  // A rate limit per key: true (and `at` recorded) when the key was last taken more than
  // `window` before `at`, or never; false otherwise. Missed-call text-back once per contact.
  virtual absl::StatusOr<bool> TakeRateSlot(const std::string& workspace, const std::string& key,
                                            Micros at, Micros window) = 0;
  // The contact's inquiries other than `except_inquiry_id`, newest first, at most `limit`.
  virtual absl::StatusOr<std::vector<PastInquiry>> ContactHistory(
      const std::string& workspace, const std::string& contact_id,
      const std::string& except_inquiry_id, int limit) = 0;
  virtual absl::Status InsertHandoff(const Handoff& handoff) = 0;
  // Replaces the mutable fields of a handoff. Fails with Aborted if the handoff's lease token
  // (from ClaimHandoffs) no longer matches: a late writer cannot overwrite newer work.
  virtual absl::Status UpdateHandoff(const Handoff& handoff, const std::string& lease_token) = 0;

  // Dead handoffs matching `filter` (oldest id first, after `filter.after_id`, at most
  // `filter.limit`) go back to pending with a fresh schedule: attempts 0, next attempt at
  // `now`, last error cleared, the same id (so destinations dedupe on it). Returns them as
  // they were before (state dead, their attempts and last error).
  virtual absl::StatusOr<std::vector<Handoff>> ReviveDeadHandoffs(const std::string& workspace,
                                                                  const HandoffReplayFilter& filter,
                                                                  Micros now) = 0;
  // Queues work for a stage (`item.id` is ignored: the store numbers the item, and a claim
  // returns it with its id).
  virtual absl::Status EnqueueWork(const WorkItem& item) = 0;
  // Removes a claimed work item. Aborted if the lease token no longer matches.
  virtual absl::Status CompleteWork(const WorkItem& item) = 0;

  // Keeps an inbox record; an existing one with the same id is left as it is (a retried or
  // replayed delivery must not reopen or duplicate it).
  virtual absl::Status InsertInboxItem(const InboxItem& item) = 0;
  // Moves an inbox record to `state` ("open" or "done"); NotFound when absent.
  virtual absl::Status SetInboxItemState(const std::string& workspace, const std::string& id,
                                         const std::string& state, Micros at) = 0;

  // Leaks (track/leak_monitor.h; the open ones are read with Store::ListLeaks): a newly found
  // one, closing one (matched by workspace + key + opened_at; NotFound when no such open leak
  // exists).
  virtual absl::Status InsertLeak(const Leak& leak) = 0;
  virtual absl::Status CloseLeak(const std::string& workspace, const std::string& key,
                                 Micros opened_at, Micros closed_at) = 0;
  // Alert groups: the open ones; and storing one (inserted, or its mutable fields — title, open,
  // total, alerted_at, closed_at — replaced when (workspace, key, opened_at) exists).
  virtual absl::StatusOr<std::vector<AlertGroup>> ListOpenAlertGroups(
      const std::string& workspace) = 0;
  virtual absl::Status PutAlertGroup(const AlertGroup& group) = 0;

  // Adds `n` to the entry counter for (workspace, source, outcome, reason) in the minute of `at`.
  virtual absl::Status CountEntry(const std::string& workspace, const std::string& source,
                                  const std::string& outcome, const std::string& reason, Micros at,
                                  int64_t n) = 0;

  // Dashboard sessions: stored (replacing one with the same id), forgotten, and the workspace's
  // expired ones removed.
  virtual absl::Status PutSession(const DashboardSession& session) = 0;
  virtual absl::Status DeleteSession(const std::string& workspace, const std::string& id_hash) = 0;
  virtual absl::Status DeleteExpiredSessions(const std::string& workspace, Micros now) = 0;

  // Retention. Deletes an inquiry and everything recorded about it — its events, tasks,
  // handoffs, queued work, dedupe keys, inbox items and leaks; its contact stays. NotFound if
  // there is no such inquiry in the workspace. Work or a delivery still in flight for it fails
  // at its next write (its row is gone).
  virtual absl::Status DeleteInquiry(const std::string& workspace, const std::string& id) = 0;
  // Deletes the workspace's entry counts of the minutes before `before`.
  virtual absl::Status DeleteEntryCountsBefore(const std::string& workspace, Micros before) = 0;

  // Fences a cluster-wide duty's write (Store::HoldDuty): Aborted unless this store holds
  // `duty` now, and no other node can take the duty over until this transaction ends. A node
  // that paused past its duty lease therefore cannot write as if it still held it.
  virtual absl::Status FenceDuty(const std::string& duty) = 0;
};

// A write function may run more than once before its commit: when a function of its batch
// fails, the SQLite store undoes the whole transaction and runs the batch again, each function
// in a savepoint of its own (the PostgreSQL store runs each in a savepoint from the start). So
// a write function leaves nothing behind but its writes to the WriteTx: it changes copies of
// what it captured, sets (never accumulates into) what it reports back, and only its last run
// counts.
using WriteFn = std::function<absl::Status(WriteTx&)>;
// One page of Store::ScanInquiryOutcomes.
using OutcomePageFn = std::function<absl::Status(std::vector<InquiryOutcome>& page)>;
// How many inquiries a page of Store::ScanInquiryOutcomes holds at most, unless told otherwise.
inline constexpr int kOutcomesPerPage = 2000;
using WriteDone = std::function<void(absl::Status)>;

// How durable a write's commit is when its `done` runs.
enum class Durability {
  // On disk: it survives a power loss. Anything acknowledged to a source and anything another
  // system will act on (a handoff the dispatcher delivers) is written so.
  kSynced,
  // Committed and visible at once, on disk with the next synced commit or checkpoint: a power
  // loss before those undoes it (a crash of the process does not). Every synced commit makes
  // all earlier commits durable too, so this is only for writes that are redone from earlier
  // committed state when lost and that nobody outside acts on before a later synced commit:
  // Enrichment (Trigger's synced commit follows it) and a delivery's confirmation (lost, the
  // handoff is delivered again under the same id, which the destination recognises).
  kDeferred,
};

// Filters for listing inquiries; empty fields do not filter.
struct InquiryFilter {
  std::string source;
  std::string channel;
  std::string stage;
  std::string status;
  Micros received_from = 0;   // inclusive; 0 = unbounded
  Micros received_until = 0;  // exclusive; 0 = unbounded
  std::string before_id;      // page cursor: only ids < before_id (newest first)
  int limit = 50;
  // Case-insensitive (ASCII) substring of the name, email, phone or message; "" = any.
  std::string text = {};
  std::string route = {};  // the route that took it (Inquiry::route); "" = any
};

// Per-(source, outcome, reason) totals over a time window.
struct EntryCount {
  std::string source;
  std::string outcome;  // "accepted", "duplicate", "rejected"
  std::string reason;   // rejection reason, empty otherwise
  int64_t count = 0;
  Micros last_at = 0;  // start of the newest minute bucket with a count
};

// Which leaks to list; open ones always, closed ones when they closed at or after `closed_since`
// (0 = none).
struct LeakFilter {
  Micros closed_since = 0;
  int limit = 500;
};

// Handoffs not confirmed, per destination, purpose and state (pending, failed, delivering, dead).
struct HandoffCount {
  std::string destination;
  std::string purpose;
  std::string state;
  int64_t count = 0;
};

// An inquiry named by its workspace and id.
struct InquiryRef {
  std::string workspace;
  std::string id;
  auto operator<=>(const InquiryRef&) const = default;
};

// What a delivery about one inquiry is built from: the inquiry, its first task and its contact
// (Store::ReadInquiryContexts).
struct InquiryContext {
  Inquiry inquiry;
  std::optional<Task> task;        // the first created, if it has any
  std::optional<Contact> contact;  // absent when it has none, or the contact is gone
};

// Tells a listener which stages got new work after a commit.
using WorkListener = std::function<void(Stage stage)>;

// Thread-safe: every method may be called from any thread.
class Store {
 public:
  virtual ~Store() = default;

  // Queues `fn` for the writer. `done` is called exactly once, on the writer's thread, with
  // OK after `fn`'s writes are committed as `durability` says, or with the error (fn's own, or
  // the commit's). After Shutdown began, `done` gets Unavailable at once. A batch is synced
  // when any of its writes asks for it.
  virtual void SubmitWrite(WriteFn fn, WriteDone done, Durability durability) = 0;
  void SubmitWrite(WriteFn fn, WriteDone done) {
    SubmitWrite(std::move(fn), std::move(done), Durability::kSynced);
  }

  // Runs `fn` through SubmitWrite and blocks until its commit is durable.
  absl::Status Write(WriteFn fn);

  // Claims up to `max` work items of `stage` available at `now` in `workspace` ("" = every
  // workspace), leased to the caller until now + lease. A claimed item is not returned again
  // until its lease expires or it is completed. Each returned item carries a fresh lease token.
  virtual absl::StatusOr<std::vector<WorkItem>> ClaimWork(Stage stage, int max, Micros now,
                                                          Micros lease,
                                                          const std::string& workspace) = 0;
  absl::StatusOr<std::vector<WorkItem>> ClaimWork(Stage stage, int max, Micros now, Micros lease) {
    return ClaimWork(stage, max, now, lease, "");
  }
  // Gives up a claim without completing it (the item becomes available at `available_at`).
  virtual absl::Status ReleaseWork(const WorkItem& item, Micros available_at) = 0;

  // Claims up to `max` handoffs of `workspace` ("" = every workspace) in state pending/failed
  // whose next_attempt_at <= now, as ClaimWork does. `lease_tokens` receives the token of
  // each, in the same order. Handoffs for the destinations in `skip_destinations` are left
  // alone (the dispatcher's gate for them is closed: breaker open, rate-limited or at its
  // concurrency).
  virtual absl::StatusOr<std::vector<Handoff>> ClaimHandoffs(
      int max, Micros now, Micros lease, std::vector<std::string>* lease_tokens,
      const std::vector<std::string>& skip_destinations, const std::string& workspace) = 0;
  absl::StatusOr<std::vector<Handoff>> ClaimHandoffs(
      int max, Micros now, Micros lease, std::vector<std::string>* lease_tokens,
      const std::vector<std::string>& skip_destinations) {
    return ClaimHandoffs(max, now, lease, lease_tokens, skip_destinations, "");
  }
  absl::StatusOr<std::vector<Handoff>> ClaimHandoffs(int max, Micros now, Micros lease,
                                                     std::vector<std::string>* lease_tokens) {
    return ClaimHandoffs(max, now, lease, lease_tokens, {}, "");
  }
  // Gives up a handoff claim without writing (e.g. on shutdown).
  virtual void ReleaseHandoff(const std::string& handoff_id, const std::string& lease_token) = 0;

  // The earliest time at which work of `stage` (or, for kTransfer, a handoff) of `workspace`
  // ("" = any) becomes available, if any exists.
  virtual absl::StatusOr<std::optional<Micros>> NextAvailable(Stage stage,
                                                              const std::string& workspace) = 0;
  absl::StatusOr<std::optional<Micros>> NextAvailable(Stage stage) {
    return NextAvailable(stage, "");
  }

  // Reads. NotFound when absent (including when it belongs to another workspace).
  virtual absl::StatusOr<Inquiry> GetInquiry(const std::string& workspace,
                                             const std::string& id) = 0;
  // The inquiries come without their body as received (raw_payload and raw_content_type empty):
  // no list shows it, and GetInquiry has it.
  virtual absl::StatusOr<std::vector<Inquiry>> ListInquiries(const std::string& workspace,
                                                             const InquiryFilter& filter) = 0;
  virtual absl::StatusOr<Contact> GetContact(const std::string& workspace,
                                             const std::string& id) = 0;
  virtual absl::StatusOr<std::vector<Event>> ListEvents(const std::string& workspace,
                                                        const std::string& inquiry_id) = 0;
  virtual absl::StatusOr<std::vector<Task>> ListTasks(const std::string& workspace,
                                                      const std::string& inquiry_id) = 0;
  // The contexts of these inquiries, read together: a claim's deliveries read theirs at once
  // instead of three reads each (SQLite: one read transaction; PostgreSQL: three statements).
  // An inquiry that does not exist has no entry. The inquiry comes without its body as received
  // (raw_payload and raw_content_type empty), which no delivery sends.
  virtual absl::StatusOr<std::map<InquiryRef, InquiryContext>> ReadInquiryContexts(
      const std::vector<InquiryRef>& inquiries) = 0;
  virtual absl::StatusOr<Task> GetTask(const std::string& workspace, const std::string& id) = 0;
  // The workspace's open tasks whose next escalation step is due at `now`, soonest first.
  virtual absl::StatusOr<std::vector<Task>> ListDueEscalations(const std::string& workspace,
                                                               Micros now, int limit) = 0;
  // The workspace's earliest pending escalation of an open task, if any (lets the runner sleep
  // until then).
  virtual absl::StatusOr<std::optional<Micros>> NextEscalation(const std::string& workspace) = 0;
  // Tasks across inquiries, newest first: in `state` ("" = any) and owned by `owner` ("" = any).
  virtual absl::StatusOr<std::vector<Task>> ListTasksBy(const std::string& workspace,
                                                        const std::string& state,
                                                        const std::string& owner, int limit) = 0;
  virtual absl::StatusOr<std::vector<Handoff>> ListHandoffs(const std::string& workspace,
                                                            const std::string& inquiry_id) = 0;
  virtual absl::StatusOr<Handoff> GetHandoff(const std::string& workspace,
                                             const std::string& id) = 0;
  // Handoffs in `state` (any purpose but alerts), newest first, at most `limit`: the dead ones
  // to replay.
  virtual absl::StatusOr<std::vector<Handoff>> ListHandoffsInState(const std::string& workspace,
                                                                   const std::string& state,
                                                                   int limit) = 0;
  virtual absl::StatusOr<std::vector<EntryCount>> ListEntryCounts(const std::string& workspace,
                                                                  Micros since) = 0;
  // Inbox records in `state` ("" = any), newest first, at most `limit`.
  virtual absl::StatusOr<std::vector<InboxItem>> ListInbox(const std::string& workspace,
                                                           const std::string& state, int limit) = 0;
  // The inquiries received in [from, until) with their task and handoffs, handed to `page` at
  // most `page_size` (kOutcomesPerPage unless a test looks at the pages) at a time in
  // received_at order, each page read in a read transaction of its own: what the leak rules,
  // the scorecards and the map read, holding one page rather than the window. `page` may move
  // from its argument; an error from it ends the scan and is returned.
  virtual absl::Status ScanInquiryOutcomes(const std::string& workspace, Micros from, Micros until,
                                           int page_size, const OutcomePageFn& page) = 0;
  // The whole window at once, oldest first, ties by id: for tests, which compare what the
  // server computes a page at a time with the computation over the whole window.
  absl::StatusOr<std::vector<InquiryOutcome>> ListInquiryOutcomes(const std::string& workspace,
                                                                  Micros from, Micros until);
  // Leaks per `filter`, open ones first, then newest first.
  virtual absl::StatusOr<std::vector<Leak>> ListLeaks(const std::string& workspace,
                                                      const LeakFilter& filter) = 0;
  // Alert groups still open or closed at or after `closed_since`, newest first.
  virtual absl::StatusOr<std::vector<AlertGroup>> ListAlertGroups(const std::string& workspace,
                                                                  Micros closed_since,
                                                                  int limit) = 0;
  // Handoffs of purpose "alert" (they belong to no inquiry) created at or after `since`, newest
  // first: how the alert channels are doing.
  virtual absl::StatusOr<std::vector<Handoff>> ListAlertHandoffs(const std::string& workspace,
                                                                 Micros since, int limit) = 0;
  // Handoffs not (yet) confirmed, counted per destination, purpose and state: metrics, the map.
  virtual absl::StatusOr<std::vector<HandoffCount>> CountUnsettledHandoffs(
      const std::string& workspace) = 0;
  // The workspace's session with this id hash, if stored (expired ones included: the caller
  // checks expires_at). Sessions live in the database so that any node behind a load
  // balancer knows them, and a restart signs nobody out.
  virtual absl::StatusOr<std::optional<DashboardSession>> FindSession(
      const std::string& workspace, const std::string& id_hash) = 0;
  // Number of queued work items per stage and handoffs per state, for /readyz and metrics.
  virtual absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> QueueDepths() = 0;

  // True when several nodes may share this database (PostgreSQL): claims are renewed while
  // their node lives, so callers pick short leases, and an expired lease means the node died or
  // froze. False for the single-process SQLite store.
  virtual bool shared() const { return false; }

  // Cluster-wide duties (leak scans, escalation timers, probes) run on one node at a time.
  // Takes or renews this store's lease on `duty` until now + ttl; true when this store holds it
  // (it did already, or the last holder's lease ran out), false when another node does. A
  // single-process backend always holds every duty.
  virtual absl::StatusOr<bool> HoldDuty(const std::string& duty, Micros now, Micros ttl) = 0;
  // Gives the duty up at once (a clean shutdown), so another node need not wait for the lease.
  virtual void ReleaseDuty(const std::string& duty) = 0;

  // Registers a listener called (on the writer's thread, after commit) for each stage that got
  // new work in the committed transaction. Call before any write.
  virtual void SetWorkListener(WorkListener listener) = 0;

  // Stops accepting writes, commits everything already submitted, and stops the writer.
  // Idempotent.
  virtual void Shutdown() = 0;
};

// Opens the store named by `url`: "sqlite:PATH" (or a bare path), or "postgres://…" /
// "postgresql://…" (a libpq connection URL). Runs migrations.
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& url, const Clock* clock);

}  // namespace handoff
