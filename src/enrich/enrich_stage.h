// The Enrichment stage: normalizes the contact fields of each inquiry and links it to the
// Contact it belongs to (matched by email, then phone), so a form, a call and a chat from one
// person share one history. Commits its result with the inquiry's Trigger work.
#pragma once

#include <memory>

#include "config/config.h"
#include "store/store.h"
#include "store/work_loop.h"

namespace handoff {

// Thread-safe; its WorkLoop runs on its own thread.
class EnrichStage {
 public:
  EnrichStage(const Config* config, Store* store, const Clock* clock, WorkLoopOptions options = {});

  // Builds the write that enriches the inquiry of `item` (see WorkLoop::Processor).
  absl::StatusOr<WriteFn> Process(const WorkItem& item);

  WorkLoop& loop() { return *loop_; }

 private:
  const Config* config_;
  Store* store_;
  const Clock* clock_;
  std::unique_ptr<WorkLoop> loop_;
};

}  // namespace handoff
