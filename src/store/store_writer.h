// What both stores' writer threads do alike: raise their own priority, run a write function
// and call its completion without letting an exception escape onto the writer thread, and tell
// the work listener which stages a commit gave work (stages as bits of a uint32_t).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

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
