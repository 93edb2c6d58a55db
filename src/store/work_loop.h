// Drives one stage's queue: claims batches of work items, turns each into a write through the
// stage's processor, waits for the group commit, and sleeps until woken or until delayed work
// becomes due. Enrich and Trigger run on it; each item's output is committed together with the
// removal of the item and the work it creates for the next stage (transactional outbox).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "store/store.h"

namespace handoff {

struct WorkLoopOptions {
  int batch = 256;                          // items claimed at once
  Micros lease = 60 * kMicrosPerSecond;     // claim lease
  Micros idle_poll = 1 * kMicrosPerSecond;  // re-check for work when nothing woke us
  Micros retry_delay =
      5 * kMicrosPerSecond;  // an item whose processing failed is retried after this
  // Called after each item's write commits, with how long it waited and took since it became
  // available (metrics). May be null.
  std::function<void(Stage stage, Micros latency)> on_committed = nullptr;
  // Only this workspace's items ("" = every workspace): each workspace of a deployment runs
  // its own stages with its own config.
  std::string workspace = {};
  // How durable each item's commit must be (see Durability); the stage decides.
  Durability durability = Durability::kSynced;
};

// Thread-safe: Start/Stop/Wake from any thread.
class WorkLoop {
 public:
  // Builds the write for one claimed item; the write must call tx.CompleteWork(item). An error
  // here (e.g. a read failed) releases the item for a later retry.
  using Processor = std::function<absl::StatusOr<WriteFn>(const WorkItem& item)>;

  WorkLoop(std::string name, Stage stage, Store* store, const Clock* clock, Processor processor,
           WorkLoopOptions options = {});
  ~WorkLoop();

  void Start();
  // Finishes the batch in hand (its writes are committed), then stops. Idempotent.
  void Stop();
  // Tells the loop new work may be waiting.
  void Wake();

  int64_t processed() const { return processed_.load(); }
  int64_t failed() const { return failed_.load(); }

 private:
  void Run();
  // Claims and processes one batch; returns how many items it claimed.
  int RunBatch();

  std::string name_;
  Stage stage_;
  Store* store_;
  const Clock* clock_;
  Processor processor_;
  WorkLoopOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<int64_t> processed_{0};
  std::atomic<int64_t> failed_{0};
};

}  // namespace handoff
