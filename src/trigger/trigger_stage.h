// The Trigger stage: gives each inquiry its route (trigger/router.h), its owner
// (trigger/assignment.h), a task with a due time (wall clock, or business time counted only
// while the business is open) listing the required context the inquiry lacks, and the handoffs
// to every destination the route delivers to. Commits all of it with the handoffs as the
// Transfer stage's outbox; the owner is chosen inside that same write.
#pragma once

#include <memory>

#include "config/config.h"
#include "enrich/business_time.h"
#include "store/store.h"
#include "store/work_loop.h"
#include "trigger/assignment.h"
#include "trigger/router.h"

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
  const BusinessTime business_time_;
  const Router router_;
  const Assigner assigner_;
  std::unique_ptr<WorkLoop> loop_;
};

}  // namespace handoff
