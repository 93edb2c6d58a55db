// The PostgreSQL backend of Store, for several handoff nodes sharing one database. Each node
// (each PgStore) has one writer connection that group-commits the writes submitted meanwhile
// (as the SQLite store does, one transaction and one durable commit for many write
// functions), a pool of connections for reads, claims and releases, a connection that
// LISTENs for work committed by other nodes, and a thread that renews its leases.
//
// Semantics beyond store.h (the contract suite runs on both backends):
// - Leases are rows (lease_token, lease_owner, lease_until on work and handoffs). A claim is
//   `FOR UPDATE SKIP LOCKED`, so concurrent claimers on any node never get the same row. Every
//   `renew_every` this store extends each claim it holds by the claim's own lease length, so a
//   short lease is safe for long work, and the work of a node that died or froze is claimable
//   again once its lease runs out (shared() tells callers to pick short leases).
//   Completion (CompleteWork, UpdateHandoff) is fenced on the token inside the transaction: a
//   node that paused past its lease finds its token gone and its late write changes nothing.
// - A row being completed is locked by the completing transaction until it commits, so no
//   claim can take it in between (what the SQLite store does with pins).
// - Work committed on one node wakes the stage workers of every node: the commit carries a
//   NOTIFY, the listener connection hears it.
// - After a statement fails inside a write function (a unique violation…), PostgreSQL refuses
//   the function's further statements: the function fails as a whole and only its savepoint
//   is rolled back.
// - Timeline events are numbered through a counter on the inquiry's row, so two nodes
//   appending to one inquiry take turns instead of colliding.
// - A lost connection is reopened at the next use; a commit whose outcome is unknown (the
//   connection dropped during COMMIT) is reported as Unavailable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/periodic_thread.h"
#include "store/store.h"
#include "store/store_writer.h"

namespace handoff {

class PgConnection;
class PgParams;
class PgResult;
class PgWriteTx;

struct PgStoreOptions {
  size_t pool_size = 6;  // connections for reads, claims, releases
  // How often this node's claims are renewed; more often when a claim's lease is shorter than
  // three times this.
  Micros renew_every = kMicrosPerSecond;
  bool listen = true;  // hear other nodes' work (LISTEN/NOTIFY)
  // How long unsynced writes alone wait for a synced one to commit with (WriteQueue). None by
  // default: an unsynced commit here costs little (synchronous_commit off), while riding puts
  // its round trips on the next acknowledgement's path (one connection: ack p50 2.5 -> 3.0 ms).
  Micros deferred_ride = 0;
};

// Thread-safe: every public method may be called from any thread (see Store).
class PgStore final : public Store {
 public:
  // Write functions per transaction. Each runs in its own savepoint, a subtransaction; past
  // 64 written subtransactions in one transaction PostgreSQL's per-backend subtransaction cache
  // overflows and every other backend's visibility checks go through pg_subtrans, which slows
  // the whole server down. So a batch stays under that.
  static constexpr size_t kMaxBatch = 60;

  // Connects to `url`, applies migrations (one node at a time) and starts the writer.
  static absl::StatusOr<std::unique_ptr<PgStore>> Open(const std::string& url, const Clock* clock,
                                                       PgStoreOptions options = {});
  ~PgStore() override;

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

  absl::StatusOr<bool> HoldDuty(const std::string& duty, Micros now, Micros ttl) override;
  void ReleaseDuty(const std::string& duty) override;

  // Several nodes share the database; claims are renewed while this store lives.
  bool shared() const override { return true; }

  void SetWorkListener(WorkListener listener) override;
  void Shutdown() override;

  // This store's name in lease_owner and duties.holder: host, pid and a random part.
  const std::string& node() const { return node_; }
  int64_t commits() const { return commits_.load(); }
  int64_t committed_fns() const { return committed_fns_.load(); }

 private:
  friend class PgWriteTx;
  class Pool;
  PgStore(std::string url, const Clock* clock, PgStoreOptions options,
          std::unique_ptr<PgConnection> writer);

  void WriterLoop();
  void RunBatch(std::vector<PendingWrite>& batch, const WorkListener* listener);
  // Reopens the writer connection when it was lost; Unavailable when it cannot.
  absl::Status EnsureWriter();
  void ListenLoop();
  Micros RenewLeases();
  void AnalyzeAsTablesGrow();
  std::string NewClaimPrefix();
  // Runs one statement on a pooled connection.
  absl::StatusOr<PgResult> Query(const std::string& sql, const PgParams& params);
  void NotifyLocal(uint32_t stages);

  const std::string url_;
  const Clock* const clock_;
  const PgStoreOptions options_;
  const std::string node_;

  // Owned by the writer thread once it runs.
  std::unique_ptr<PgConnection> writer_;
  std::unique_ptr<PgWriteTx> tx_;
  std::atomic<int> writer_pid_{0};

  std::unique_ptr<Pool> pool_;

  WriteQueue queue_;

  std::mutex join_mu_;
  std::thread writer_thread_;
  std::atomic<std::thread::id> writer_thread_id_{};

  std::atomic<bool> listen_stop_{false};
  std::thread listen_thread_;
  std::unique_ptr<PeriodicThread> renewer_;

  std::atomic<uint64_t> claim_counter_{0};
  // The shortest lease handed out: renewals come at least three times within it.
  std::atomic<Micros> shortest_lease_{kMicrosPerHour};
  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> committed_fns_{0};
  // A new database's tables grow from nothing long before autovacuum first analyzes them (it
  // looks once a minute, then after 10 % changes); until then PostgreSQL plans for empty
  // tables. So the store analyzes the busy tables itself once its writer has committed 250,
  // 2,000, 16,000… write functions (six times, the last at about eight million); an ANALYZE
  // also makes every connection's cached plans be made again. Renewer thread only.
  static constexpr int64_t kLastAnalyze = int64_t{1} << 20;
  int64_t next_analyze_ = 250;
};

}  // namespace handoff
