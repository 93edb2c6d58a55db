// What both stores' writer threads do alike: take their writes from a WriteQueue, raise their
// own priority, run a write function and call its completion without letting an exception
// escape onto the writer thread, and tell the work listener which stages a commit gave work
// (stages as bits of a uint32_t).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "store/store.h"

namespace handoff {

inline constexpr size_t kNumStages = 5;
inline constexpr Stage kAllStages[kNumStages] = {Stage::kEntry, Stage::kEnrich, Stage::kTrigger,
                                                 Stage::kTransfer, Stage::kTrack};

inline uint32_t StageBit(Stage s) { return 1u << static_cast<unsigned>(s); }

// A handoff in one of these states is transfer work.
inline bool IsRetryableHandoffState(const std::string& state) {
  return state == "pending" || state == "failed";
}

// A write submitted to a store, waiting for the writer thread.
struct PendingWrite {
  WriteFn fn;
  WriteDone done;
  Durability durability;
};

// The queue between a store's callers and its writer thread (group commit: the writer takes
// everything waiting as one transaction). Writes that need no sync (Durability::kDeferred, a
// delivery's confirmation above all) wait up to `deferred_ride` for a synced write to commit
// with: at low load every delivery would otherwise cost a commit of its own between two
// acknowledged ingests, and the next ingest would queue behind it.
// Under load the writer gathers: after a batch of at least kLoadedBatch synced writes it waits,
// up to `gather`, until as many synced writes are queued again. Those writes are on their way
// (the connections the last commit acknowledged send their next requests), and a commit of a
// few costs nearly the sync and the log frames of shared pages that a commit of many does.
// A store at low load (its last batch smaller) never waits. Thread-safe.
class WriteQueue {
 public:
  // How long deferred writes alone wait for company on SQLite, by default: about one request's
  // round trip at one connection. PostgreSQL's writer does not wait by default
  // (PgStoreOptions::deferred_ride).
  static constexpr Micros kDefaultDeferredRide = 2 * kMicrosPerMilli;
  // How long a loaded SQLite writer gathers at most, by default: a fraction of the
  // acknowledgement latency of the load that triggers it (1.5 and 2 ms measured no better,
  // docs/PERFORMANCE.md "A loaded writer gathers"). PostgreSQL's writer does not gather.
  static constexpr Micros kDefaultGather = 1 * kMicrosPerMilli;
  // A batch with at least this many synced writes means the store is loaded.
  static constexpr size_t kLoadedBatch = 4;

  WriteQueue(size_t max_batch, Micros deferred_ride, Micros gather)
      : max_batch_(max_batch), deferred_ride_(deferred_ride), gather_(gather) {}

  // Queues `w`; false (and `w` untouched) once the queue is closed.
  bool Push(PendingWrite& w);
  // Blocks until writes wait (and through a ride or a gather, see above), then moves up to
  // max_batch of them, oldest first, into `batch` (emptied first) and the current listener into
  // `listener`. False once the queue is closed and empty: the writer is done.
  bool Take(std::vector<PendingWrite>* batch, std::shared_ptr<const WorkListener>* listener);
  // Refuses further writes; those queued are still taken, at once.
  void Close();
  void SetListener(WorkListener listener);
  std::shared_ptr<const WorkListener> listener() const;

 private:
  const size_t max_batch_;
  const Micros deferred_ride_;
  const Micros gather_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PendingWrite> queue_;  // guarded by mu_
  size_t synced_queued_ = 0;         // guarded by mu_
  bool riding_ = false;              // guarded by mu_: deferred writes alone wait for a synced one
  size_t last_synced_ = 0;           // guarded by mu_: synced writes in the batch taken last
  size_t gather_target_ = 0;         // guarded by mu_: while gathering, the synced writes awaited
  bool closed_ = false;              // guarded by mu_
  std::shared_ptr<const WorkListener> listener_;  // guarded by mu_
};

// Called first on a writer thread: raises its priority (core/thread_priority.h), or logs once
// per process why it could not.
void RaiseWriterPriority();

// `fn`'s result; an exception it throws becomes its error (Internal), an empty `fn` is
// InvalidArgument.
absl::Status CallFn(const WriteFn& fn, WriteTx& tx);

// Calls `done` (may be empty); an exception it throws is logged.
void CallDone(const WriteDone& done, absl::Status status);

// Tells `listener` (may be null or empty) of each stage in `stages` that got work; an
// exception it throws is logged.
void TellListener(const WorkListener* listener, uint32_t stages);

}  // namespace handoff
