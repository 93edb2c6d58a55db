// Raises the calling thread's scheduling priority, for the one thread every acknowledgement
// waits on: the store's writer. It is the pipeline's serial part, and on a machine whose cores
// are shared with the stage threads, the HTTP thread and other processes it used to wait for a
// CPU a quarter of the time; at a higher priority it preempts them (see docs/PERFORMANCE.md).
#pragma once

#include "absl/status/status.h"

namespace handoff {

// The nice value the writer asks for (Linux: per thread; lower runs first).
inline constexpr int kWriterNice = -10;

// Sets the calling thread's nice value to `nice`. PermissionDenied when the process may not
// (it needs CAP_SYS_NICE or an RLIMIT_NICE allowing it, e.g. systemd's LimitNICE=); the thread
// then keeps its priority.
absl::Status SetCurrentThreadNice(int nice);

}  // namespace handoff
