// Small measuring tools shared by the benchmark's parts: a monotonic clock, percentiles and
// medians, what /proc says about a process and the machine, and how figures are printed.
// Stateless; thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"

namespace handoff::bench {

// Microseconds on CLOCK_MONOTONIC: the one clock every send, ack and delivery time uses.
Micros MonotonicMicros();

// The nearest-rank percentile `p` (0-100) of `values`; 0 when empty. Sorts `values`.
Micros Percentile(std::vector<Micros>& values, double p);

// The median of `values` (the mean of the middle two for an even count); 0 when empty.
double Median(std::vector<double> values);

// Fields of /proc/PID/status, in KiB ("VmRSS", "VmHWM"); nullopt if unreadable.
std::optional<int64_t> ProcStatusKib(pid_t pid, const std::string& field);

// User + system CPU time the process has used so far, in microseconds; nullopt if unreadable.
std::optional<Micros> ProcCpuMicros(pid_t pid);

// CPU time each thread of the process has used so far, in microseconds, summed by thread name
// (/proc/PID/task/*/comm; the server names its threads, core/thread_name.h). Read from
// schedstat, which counts nanoseconds, not clock ticks. Empty if unreadable.
std::map<std::string, Micros> ThreadCpuMicros(pid_t pid);

// The whole file, or "" when it cannot be read.
std::string ReadWholeFile(const std::string& path);

// "12,345": rounded to an integer, with thousands separators.
std::string Thousands(double value);
// "1.23 ms".
std::string Ms(Micros us);
// "12.3 MiB".
std::string Mib(int64_t kib);
// The 1, 5 and 15 minute load averages of /proc/loadavg: "0.51 0.40 0.33".
std::string LoadAverage();
// Cores, CPU model and RAM, for the first line of a report.
std::string MachineLine();

}  // namespace handoff::bench
