#include "bench/handoff_server.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "bench/measure.h"
#include "fmt/format.h"
#include "http/http_client.h"
#include "nlohmann/json.hpp"

extern char** environ;

namespace handoff::bench {
namespace {

absl::StatusOr<HttpClientResponse> Get(const std::string& url, bool admin) {
  HttpClientRequest req;
  req.url = url;
  req.timeout = 5 * kMicrosPerSecond;
  if (admin) req.headers.emplace_back("Authorization", std::string("Bearer ") + kBenchAdminToken);
  return HttpFetch(req);
}

absl::StatusOr<nlohmann::json> GetJson(const std::string& url) {
  auto resp = Get(url, true);
  if (!resp.ok()) return resp.status();
  if (resp->status != 200) {
    return absl::InternalError(
        fmt::format("GET {} answered {}: {}", url, resp->status, resp->body.substr(0, 300)));
  }
  try {
    return nlohmann::json::parse(resp->body);
  } catch (const std::exception& e) {
    return absl::InternalError(fmt::format("GET {} answered invalid JSON: {}", url, e.what()));
  }
}

}  // namespace

std::string BenchConfig(const std::string& sink_url, int http_threads) {
  return BenchConfig(sink_url, http_threads, "15m", "15s");
}

std::string BenchConfig(const std::string& sink_url, int http_threads, const std::string& task_due,
                        const std::string& scan_every) {
  return fmt::format(R"(# Written by handoff_bench for one benchmark run.
workspace: bench
business:
  name: Bench Plumbing
  timezone: America/Los_Angeles
  region: US
server:
  admin_token: {admin}
  http_threads: {threads}
team:
  - {{ id: ana, name: Ana Ortiz }}
sources:
  {source}:
    adapter: json
    channel: form
    token: {token}
    map: {{ name: name, email: email, phone: phone, message: message, service: service }}
destinations:
  sink:
    connector: webhook
    url: {sink}
    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
    timeout: 10s
    allow_private: true
routes:
  - name: bench leads
    when: {{ source: {source} }}
    assign: ana
    task: {{ title: "Call back {{{{contact.name}}}}", due: {due} }}
    deliver: [sink]
alerts:
  scan_every: {scan}
)",
                     fmt::arg("admin", kBenchAdminToken), fmt::arg("threads", http_threads),
                     fmt::arg("source", kBenchSource), fmt::arg("token", kBenchToken),
                     fmt::arg("sink", sink_url), fmt::arg("due", task_due),
                     fmt::arg("scan", scan_every));
}

HandoffServer::HandoffServer(std::string binary, std::string parent_dir, bool keep)
    : binary_(std::move(binary)), keep_(keep) {
  std::string tmpl = parent_dir + "/handoff-bench-XXXXXX";
  if (mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
}

HandoffServer::~HandoffServer() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (!keep_ && !dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string HandoffServer::BaseUrl() const { return fmt::format("http://127.0.0.1:{}", port_); }

std::string HandoffServer::LogTail(size_t max_bytes) const {
  std::string log = ReadWholeFile(dir_ + "/server.log");
  return log.size() > max_bytes ? log.substr(log.size() - max_bytes) : log;
}

absl::Status HandoffServer::Start(const std::string& config_yaml, const std::string& db_url) {
  if (dir_.empty()) return absl::InternalError("could not create the run directory");
  const std::string config_path = dir_ + "/bench.yaml";
  const std::string port_file = dir_ + "/port";
  const std::string log_path = dir_ + "/server.log";
  {
    std::ofstream out(config_path, std::ios::trunc);
    out << config_yaml;
    if (!out) return absl::InternalError("could not write " + config_path);
  }
  std::vector<std::string> args = {binary_,       "serve",
                                   "--config",    config_path,
                                   "--db",        db_url.empty() ? "sqlite:" + DbPath() : db_url,
                                   "--listen",    "127.0.0.1:0",
                                   "--port-file", port_file};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  int rc = posix_spawn(&pid_, binary_.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return absl::InternalError(fmt::format("cannot run {}: {}", binary_, strerror(rc)));
  }

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError("handoff serve exited during start-up:\n" + LogTail());
    }
    std::string port = ReadWholeFile(port_file);
    if (!port.empty()) {
      port_ = static_cast<uint16_t>(std::atoi(port.c_str()));
      auto resp = Get(BaseUrl() + "/readyz", false);
      if (resp.ok() && resp->status == 200) return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError("handoff serve did not become ready:\n" + LogTail());
}

absl::Status HandoffServer::Stop() {
  if (pid_ <= 0) return absl::FailedPreconditionError("the server is not running");
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      return absl::DeadlineExceededError("handoff serve did not stop within 60 s of SIGTERM");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        fmt::format("handoff serve ended badly (wait status {}):\n{}", status, LogTail()));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> HandoffServer::AcceptedCount() const {
  auto body = GetJson(BaseUrl() + "/api/v1/sources");
  if (!body.ok()) return body.status();
  try {
    for (const auto& s : (*body)["sources"]) {
      if (s["name"] == kBenchSource) return s["last_day"]["accepted"].get<int64_t>();
    }
  } catch (const std::exception& e) {
    return absl::InternalError(fmt::format("unexpected /api/v1/sources answer: {}", e.what()));
  }
  return absl::NotFoundError("/api/v1/sources does not list the bench source");
}

absl::StatusOr<std::map<std::string, int64_t>> HandoffServer::QueueDepths() const {
  auto resp = Get(BaseUrl() + "/readyz", false);
  if (!resp.ok()) return resp.status();
  std::map<std::string, int64_t> depths;
  try {
    auto body = nlohmann::json::parse(resp->body);
    nlohmann::json queues = body.contains("queues") ? body["queues"] : nlohmann::json::object();
    for (const auto& [name, n] : queues.items()) {
      depths[name] = n.get<int64_t>();
    }
  } catch (const std::exception& e) {
    return absl::InternalError(fmt::format("unexpected /readyz answer: {}", e.what()));
  }
  return depths;
}

}  // namespace handoff::bench
