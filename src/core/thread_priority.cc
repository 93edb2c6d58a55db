#include "core/thread_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fmt/format.h"

namespace handoff {

absl::Status SetCurrentThreadNice(int nice) {
  // On Linux PRIO_PROCESS with a thread id sets that one thread's nice value.
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  if (setpriority(PRIO_PROCESS, tid, nice) == 0) return absl::OkStatus();
  const int err = errno;
  std::string why =
      fmt::format("cannot set this thread's nice value to {}: {}", nice, std::strerror(err));
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(why);
  return absl::InternalError(why);
}

}  // namespace handoff
