#include "bench/measure.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "fmt/format.h"

namespace handoff::bench {

Micros MonotonicMicros() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Micros>(ts.tv_sec) * kMicrosPerSecond + ts.tv_nsec / 1000;
}

Micros Percentile(std::vector<Micros>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return values[std::min(index, values.size() - 1)];
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<int64_t> ProcStatusKib(pid_t pid, const std::string& field) {
  std::istringstream in(ReadWholeFile(fmt::format("/proc/{}/status", pid)));
  std::string line;
  const std::string prefix = field + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    try {
      return std::stoll(line.substr(prefix.size()));  // "   12345 kB"
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<Micros> ProcCpuMicros(pid_t pid) {
  std::string stat = ReadWholeFile(fmt::format("/proc/{}/stat", pid));
  // The command name (field 2) may contain spaces; the fields after its closing ')' are fixed.
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(stat.substr(close + 2));
  std::vector<std::string> fields;
  std::string f;
  while (in >> f) fields.push_back(f);
  // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
  if (fields.size() < 13) return std::nullopt;
  try {
    long ticks = sysconf(_SC_CLK_TCK);
    int64_t cpu = std::stoll(fields[11]) + std::stoll(fields[12]);
    return cpu * kMicrosPerSecond / ticks;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::map<std::string, Micros> ThreadCpuMicros(pid_t pid) {
  std::map<std::string, Micros> out;
  std::error_code ec;
  std::filesystem::directory_iterator tasks(fmt::format("/proc/{}/task", pid), ec);
  if (ec) return out;
  for (const auto& task : tasks) {
    std::string name = ReadWholeFile(task.path().string() + "/comm");
    while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
    // schedstat: time on a CPU (ns), time waiting for one (ns), time slices.
    std::istringstream sched(ReadWholeFile(task.path().string() + "/schedstat"));
    int64_t on_cpu_ns = 0;
    if (!(sched >> on_cpu_ns)) continue;  // the thread ended meanwhile
    out[name] += on_cpu_ns / 1000;
  }
  return out;
}

std::string Thousands(double value) {
  auto n = static_cast<int64_t>(value + 0.5);
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string Ms(Micros us) { return fmt::format("{:.2f} ms", static_cast<double>(us) / 1000); }

std::string Mib(int64_t kib) { return fmt::format("{:.1f} MiB", static_cast<double>(kib) / 1024); }

std::string LoadAverage() {
  std::istringstream in(ReadWholeFile("/proc/loadavg"));
  std::string a, b, c;
  in >> a >> b >> c;
  return fmt::format("{} {} {}", a, b, c);
}

std::string MachineLine() {
  std::string model = "unknown CPU";
  std::istringstream cpuinfo(ReadWholeFile("/proc/cpuinfo"));
  std::string line;
  while (std::getline(cpuinfo, line)) {
    size_t colon = line.find(": ");
    if (line.rfind("model name", 0) == 0 && colon != std::string::npos) {
      model = line.substr(colon + 2);
      break;
    }
  }
  int64_t mem_kib = 0;
  std::istringstream meminfo(ReadWholeFile("/proc/meminfo"));
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemTotal:", 0) == 0) mem_kib = std::atoll(line.c_str() + 9);
  }
  return fmt::format("{} cores ({}), {:.1f} GiB RAM", std::thread::hardware_concurrency(), model,
                     static_cast<double>(mem_kib) / 1024 / 1024);
}

}  // namespace handoff::bench
