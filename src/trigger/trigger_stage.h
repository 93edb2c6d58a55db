// The Trigger stage: gives each inquiry its route, its owner, a task with a due time, and the
// handoffs to every destination the route delivers to. Commits all of it with the handoffs as
// the Transfer stage's outbox.
#pragma once

#include <memory>

#include "config/config.h"
#include "store/store.h"
#include "store/work_loop.h"

namespace handoff {

// Thread-safe; its WorkLoop runs on its own thread.
class TriggerStage {
 public:
  TriggerStage(const Config* config, Store* store, const Clock* clock,
               WorkLoopOptions options = {});

  // Builds the write that routes the inquiry of `item` (see WorkLoop::Processor).
  absl::StatusOr<WriteFn> Process(const WorkItem& item);

  WorkLoop& loop() { return *loop_; }

 private:
  const Config* config_;
  Store* store_;
  const Clock* clock_;
  std::unique_ptr<WorkLoop> loop_;
};

}  // namespace handoff
