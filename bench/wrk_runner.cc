#include "bench/wrk_runner.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cstring>
#include <map>
#include <sstream>
#include <vector>

#include "bench/measure.h"
#include "fmt/format.h"

extern char** environ;

namespace handoff::bench {

absl::StatusOr<WrkResult> RunWrk(const WrkOptions& options) {
  std::vector<std::string> args = {options.wrk,
                                   fmt::format("-t{}", options.threads),
                                   fmt::format("-c{}", options.connections),
                                   fmt::format("-d{}s", options.duration_s),
                                   "--latency",
                                   "-s",
                                   options.lua,
                                   options.url,
                                   "--",
                                   options.token,
                                   std::to_string(options.run)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, options.output_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  WrkResult result;
  result.started = MonotonicMicros();
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, options.wrk.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return absl::FailedPreconditionError(fmt::format(
        "cannot run {}: {} (scripts/setup installs the wrk package)", options.wrk, strerror(rc)));
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  result.ended = MonotonicMicros();
  result.wrk_cpu = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * kMicrosPerSecond +
                   usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
  std::string output = ReadWholeFile(options.output_path);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(fmt::format("wrk failed (wait status {}):\n{}", status, output));
  }

  std::map<std::string, int64_t> fields;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("BENCH ", 0) != 0) continue;
    std::istringstream words(line.substr(6));
    std::string word;
    while (words >> word) {
      size_t eq = word.find('=');
      if (eq == std::string::npos) continue;
      try {
        fields[word.substr(0, eq)] = std::stoll(word.substr(eq + 1));
      } catch (const std::exception&) {
        return absl::InternalError("wrk printed an unreadable figure: " + word);
      }
    }
  }
  for (const char* need :
       {"requests", "duration_us", "connect_errors", "read_errors", "write_errors", "status_errors",
        "timeouts", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"}) {
    if (!fields.contains(need)) {
      return absl::InternalError(
          fmt::format("wrk's output lacks '{}' (was the script's done() run?):\n{}", need, output));
    }
  }
  result.requests = fields["requests"];
  result.status_errors = fields["status_errors"];
  result.socket_errors = fields["connect_errors"] + fields["read_errors"] + fields["write_errors"];
  result.timeouts = fields["timeouts"];
  result.duration = fields["duration_us"];
  result.p50 = fields["p50_us"];
  result.p90 = fields["p90_us"];
  result.p99 = fields["p99_us"];
  result.p999 = fields["p999_us"];
  result.max = fields["max_us"];
  return result;
}

}  // namespace handoff::bench
