// The embedded SQLite backend of Store: one database file in WAL mode with synchronous=FULL, one
// writer thread that group-commits every write submitted meanwhile, and a small pool of
// read-only connections that read beside it.
//
// Semantics this backend pins down where store.h leaves room (the contract suite checks them):
// - The work listener runs after the commit and before the batch's `done` callbacks, so by the
//   time a write's `done` runs, listeners have heard about the work it created.
// - Leases live in memory: the store is single-process (Open takes an exclusive lock on
//   `<path>.lock`). A lease token stays valid until the item is completed, released or claimed
//   again by someone else after the lease expired.
// - CompleteWork and ReleaseWork require the item's current lease token. UpdateHandoff requires
//   the current token; an unclaimed handoff may be updated with an empty token (an operator's
//   replay or cancel). After the update commits the claim ends, unless the new state is
//   "delivering" (the holder is mid-attempt and will write the outcome with the same token).
// - UpdateInquiry cannot change an inquiry's source, channel or received_at, fixed at entry:
//   it fails with FailedPrecondition if they differ from the stored ones.
// - ClaimHandoffs also returns an unleased handoff left in "delivering" (its worker crashed or
//   its lease expired): that is how an interrupted attempt is rescued.
// - ReleaseWork takes effect at once (no claim returns the item before `available_at`), counts
//   the release as an attempt (attempts + 1), and may be called from any thread, including
//   inside a `done` callback on the writer thread: the row itself is updated by a write queued
//   behind the ones already submitted.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "store/sqlite/wal_checkpointer.h"
#include "store/store.h"
#include "store/store_writer.h"

namespace handoff {

class SqliteConnection;
class SqliteWriteTx;

// Thread-safe: every public method may be called from any thread (see Store).
class SqliteStore final : public Store {
 public:
  // The most write functions committed in one transaction.
  static constexpr size_t kMaxBatch = 2000;
  // The most read-only connections open at once.
  static constexpr size_t kMaxReaders = 4;

  // Opens (creating if needed) the database at `path`, applies migrations and starts the
  // writer. FailedPrecondition, naming the file, if another store in this or another process
  // has it open.
  // `checkpoints` sets when the write-ahead log is copied back into the file (tests shrink it);
  // `deferred_ride` how long unsynced writes alone wait for a synced one, `gather` how long a
  // loaded writer waits for more synced writes (both WriteQueue).
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(
      const std::string& path, const Clock* clock,
      WalCheckpointer::Options checkpoints = WalCheckpointer::Options(),
      Micros deferred_ride = WriteQueue::kDefaultDeferredRide,
      Micros gather = WriteQueue::kDefaultGather);
  ~SqliteStore() override;

  using Store::SubmitWrite;
  void SubmitWrite(WriteFn fn, WriteDone done, Durability durability) override;
  using Store::ClaimWork;
  absl::StatusOr<std::vector<WorkItem>> ClaimWork(Stage stage, int max, Micros now, Micros lease,
                                                  const std::string& workspace) override;
  absl::Status ReleaseWork(const WorkItem& item, Micros available_at) override;
  using Store::ClaimHandoffs;
  absl::StatusOr<std::vector<Handoff>> ClaimHandoffs(
      int max, Micros now, Micros lease, std::vector<std::string>* lease_tokens,
      const std::vector<std::string>& skip_destinations, const std::string& workspace) override;
  void ReleaseHandoff(const std::string& handoff_id, const std::string& lease_token) override;
  using Store::NextAvailable;
  absl::StatusOr<std::optional<Micros>> NextAvailable(Stage stage,
                                                      const std::string& workspace) override;

  absl::StatusOr<Inquiry> GetInquiry(const std::string& workspace, const std::string& id) override;
  absl::StatusOr<std::vector<Inquiry>> ListInquiries(const std::string& workspace,
                                                     const InquiryFilter& filter) override;
  absl::StatusOr<Contact> GetContact(const std::string& workspace, const std::string& id) override;
  absl::StatusOr<std::vector<Event>> ListEvents(const std::string& workspace,
                                                const std::string& inquiry_id) override;
  absl::StatusOr<std::vector<Task>> ListTasks(const std::string& workspace,
                                              const std::string& inquiry_id) override;
  absl::StatusOr<std::map<InquiryRef, InquiryContext>> ReadInquiryContexts(
      const std::vector<InquiryRef>& inquiries) override;
  absl::StatusOr<Task> GetTask(const std::string& workspace, const std::string& id) override;
  absl::StatusOr<std::vector<Task>> ListDueEscalations(const std::string& workspace, Micros now,
                                                       int limit) override;
  absl::StatusOr<std::optional<Micros>> NextEscalation(const std::string& workspace) override;
  absl::StatusOr<std::vector<Task>> ListTasksBy(const std::string& workspace,
                                                const std::string& state, const std::string& owner,
                                                int limit) override;
  absl::StatusOr<std::vector<Handoff>> ListHandoffs(const std::string& workspace,
                                                    const std::string& inquiry_id) override;
  absl::StatusOr<Handoff> GetHandoff(const std::string& workspace, const std::string& id) override;
  absl::StatusOr<std::vector<Handoff>> ListHandoffsInState(const std::string& workspace,
                                                           const std::string& state,
                                                           int limit) override;
  absl::StatusOr<std::vector<InboxItem>> ListInbox(const std::string& workspace,
                                                   const std::string& state, int limit) override;
  absl::StatusOr<std::vector<EntryCount>> ListEntryCounts(const std::string& workspace,
                                                          Micros since) override;
  absl::Status ScanInquiryOutcomes(const std::string& workspace, Micros from, Micros until,
                                   int page_size, const OutcomePageFn& page) override;
  absl::StatusOr<std::vector<Leak>> ListLeaks(const std::string& workspace,
                                              const LeakFilter& filter) override;
  absl::StatusOr<std::vector<AlertGroup>> ListAlertGroups(const std::string& workspace,
                                                          Micros closed_since, int limit) override;
  absl::StatusOr<std::vector<Handoff>> ListAlertHandoffs(const std::string& workspace, Micros since,
                                                         int limit) override;
  absl::StatusOr<std::vector<HandoffCount>> CountUnsettledHandoffs(
      const std::string& workspace) override;
  absl::StatusOr<std::optional<DashboardSession>> FindSession(const std::string& workspace,
                                                              const std::string& id_hash) override;
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> QueueDepths() override;

  // The file lock makes this store the only one on its database: it holds every duty.
  absl::StatusOr<bool> HoldDuty(const std::string&, Micros, Micros) override { return true; }
  void ReleaseDuty(const std::string&) override {}

  void SetWorkListener(WorkListener listener) override;
  void Shutdown() override;

  // Transactions committed (of them, without a sync: every write Durability::kDeferred), and
  // write functions whose writes they committed.
  int64_t commits() const { return commits_.load(); }
  int64_t deferred_commits() const { return deferred_commits_.load(); }
  int64_t committed_fns() const { return committed_fns_.load(); }
  // Batches run a second time, with a savepoint per function, because a function failed.
  int64_t guarded_reruns() const { return guarded_reruns_.load(); }
  const WalCheckpointer& checkpointer() const { return *checkpointer_; }

  // For tests: the value of `PRAGMA <name>` on the write connection. `name` must be [a-z_]+.
  absl::StatusOr<std::string> WriterPragma(const std::string& name);

 private:
  friend class SqliteWriteTx;

  // A claim on one work item or handoff. `pins` counts uncommitted writes fenced on it: a
  // pinned lease is never handed to another claimer, even once expired, so a completion that
  // passed the token check cannot race a re-claim before its commit.
  struct Lease {
    std::string token;
    Micros expires_at = 0;
    int pins = 0;
  };
  // A change to the leases that a write makes final only if its transaction commits.
  struct LeaseOp {
    enum class Kind {
      kEndWork,     // the work item was completed or released: drop its lease
      kEndHandoff,  // the handoff was updated: drop its lease
      kKeepHandoff  // the handoff was updated and stays "delivering": keep the lease
    };
    Kind kind;
    bool pinned;  // the op holds a pin to give back
    Stage stage;
    int64_t work_id;
    std::string handoff_id;
    std::string token;
  };
  class ReaderPool;

  SqliteStore(std::string path, const Clock* clock, int lock_fd,
              std::unique_ptr<SqliteConnection> writer,
              std::unique_ptr<WalCheckpointer> checkpointer, Micros deferred_ride, Micros gather);

  void WriterLoop();
  void RunBatch(std::vector<PendingWrite>& batch, const WorkListener* listener);
  // Runs a batch's functions in the open transaction, each in a savepoint of its own when
  // `guarded`. Unguarded, it stops at the first function that fails (sets *fn_failed): its
  // writes are then undone only with the whole transaction. Returns the transaction's error.
  absl::Status RunFns(std::vector<PendingWrite>& batch, bool guarded, uint32_t* stages,
                      int64_t* ok_fns, bool* fn_failed);
  void FailWholeBatch(std::vector<PendingWrite>& batch, const absl::Status& error);
  void EnterFailedState(const std::string& reason);
  void ApplyCommitted(const std::vector<LeaseOp>& ops);
  void GiveBackPins(const std::vector<LeaseOp>& ops);

  // Fencing checks made inside a write; on success they pin the lease and record `op`.
  absl::Status PinWorkLease(const WorkItem& item, LeaseOp* op);
  absl::Status PinHandoffLease(const std::string& handoff_id, const std::string& token,
                               LeaseOp* op);
  std::string NewLeaseToken();

  const std::string path_;
  const Clock* const clock_;
  const int lock_fd_;
  const std::string token_prefix_;
  std::atomic<uint64_t> token_counter_{0};

  // Owned by the writer thread once it runs.
  std::unique_ptr<SqliteConnection> writer_;
  std::unique_ptr<SqliteWriteTx> tx_;
  std::vector<absl::Status> results_;
  std::vector<LeaseOp> batch_ops_;
  bool writer_synced_ = true;  // the writer's `synchronous` is FULL (else NORMAL)

  std::unique_ptr<ReaderPool> readers_;
  std::unique_ptr<WalCheckpointer> checkpointer_;  // hooked on writer_

  WriteQueue queue_;
  std::mutex failure_mu_;
  std::string failure_;  // guarded by failure_mu_
  std::atomic<bool> failed_{false};

  std::mutex join_mu_;
  std::thread writer_thread_;
  std::atomic<std::thread::id> writer_thread_id_{};

  // Claimers hold these across their SQL read and filtering, so a read can never see a row
  // whose completion committed after the read began while the lease is already gone.
  std::mutex work_lease_mu_;
  std::array<std::unordered_map<int64_t, Lease>, 5> work_leases_;  // by Stage
  std::mutex handoff_lease_mu_;
  std::unordered_map<std::string, Lease> handoff_leases_;

  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> deferred_commits_{0};
  std::atomic<int64_t> committed_fns_{0};
  std::atomic<int64_t> guarded_reruns_{0};
};

}  // namespace handoff
