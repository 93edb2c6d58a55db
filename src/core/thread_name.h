// Names the calling thread for the OS, so that `top -H`, `ps -L`, perf, gdb and
// /proc/PID/task/TID/comm tell the store's writer from the dispatcher or an HTTP thread: the
// benchmark reads the names to split the server's CPU by thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace handoff {

// Linux keeps at most this many bytes of a thread's name.
inline constexpr size_t kMaxThreadNameBytes = 15;

// Sets the calling thread's name to `name`, cut at kMaxThreadNameBytes. Best effort: a name
// the OS refuses leaves the old one.
void NameThisThread(std::string_view name);

}  // namespace handoff
