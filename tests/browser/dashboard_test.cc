// The dashboard in a real browser: the real binary on loopback, a destination that refuses
// (400) and then accepts, and tests/browser/dashboard.mjs (playwright-core driving Debian's
// chromium) signing in, searching, opening timelines, acknowledging a task, replaying a dead
// handoff, checking CSRF and the XSS payload, and signing out. Missing chromium or
// playwright-core fails the test: it is never skipped.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "http/url_encoding.h"
#include "nlohmann/json.hpp"
#include "tests/support/server_process.h"
#include "tests/support/test_config.h"

#ifndef HANDOFF_BROWSER_TESTS_DIR
#error "HANDOFF_BROWSER_TESTS_DIR must name the tests/browser folder"
#endif

extern char** environ;

namespace handoff::testing {
namespace {

using nlohmann::json;

constexpr char kChromium[] = "/usr/bin/chromium";
constexpr char kXssName[] = "<img src=x onerror=\"window.__xss=1\">";
constexpr char kXssMessage[] = "<script>window.__xss=2</script>";

struct ProcessResult {
  int exit_code = -1;  // -1 when killed or not started
  bool timed_out = false;
  std::string output;  // stdout and stderr, interleaved
  std::string error;   // why it could not be started
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `args` (args[0] looked up in PATH) with `dir` as its working directory, in its own
// process group so that a timeout also ends the browser it started.
ProcessResult RunIn(const std::string& dir, const std::vector<std::string>& args,
                    std::chrono::seconds timeout) {
  ProcessResult result;
  TempDir out;
  const std::string log = out.File("output");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);

  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0].c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    result.error = "could not start '" + args[0] + "': " + strerror(rc);
    return result;
  }

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) {
      result.error = std::string("waitpid failed: ") + strerror(errno);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Whatever the script left behind (a browser it did not close) goes with it.
  kill(-pid, SIGKILL);
  if (!result.timed_out && result.error.empty() && WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  }
  result.output = ReadAll(log);
  return result;
}

std::string FormBody(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string body;
  for (const auto& [k, v] : fields) {
    if (!body.empty()) body += '&';
    body += PercentEncode(k) + "=" + PercentEncode(v);
  }
  return body;
}

TEST(DashboardTest, EveryPageWorksInARealBrowser) {
  const std::string dir = HANDOFF_BROWSER_TESTS_DIR;
  ASSERT_TRUE(std::filesystem::exists(kChromium))
      << kChromium << " is missing: the browser tests need Debian's chromium "
      << "(apt-get install --no-install-recommends chromium; scripts/setup installs it)";
  ASSERT_TRUE(std::filesystem::exists(dir + "/node_modules/playwright-core/package.json"))
      << "playwright-core is not installed in " << dir
      << "/node_modules: run `npm ci` in that folder (scripts/setup does)";
  ASSERT_TRUE(std::filesystem::exists(dir + "/dashboard.mjs"))
      << dir << "/dashboard.mjs is missing";

  // The CRM refuses every delivery (400: permanent, so with one attempt the handoff is dead at
  // once) until the flag is cleared; then it accepts, so a replay is confirmed.
  std::atomic<bool> refuse{true};
  Sink sink([&refuse](int n, const HttpRequest&) {
    if (refuse.load()) return HttpResponse::JsonError(400, "bad_request", "rejected by the CRM");
    return HttpResponse::Json(200, R"({"id":"crm-)" + std::to_string(n) + R"("})");
  });
  TempDir tmp;
  WriteFile(tmp.File("handoff.yaml"), TestConfig(sink.url("/crm"), "[200ms]"));
  ServerProcess server(tmp.File("handoff.yaml"), tmp.File("handoff.db"));
  server.Start();

  // The attacker's inquiry, through the public form: markup in the name and the message.
  const std::string form_path = std::string("/in/website?key=") + kFormToken;
  auto posted = server.Post(
      form_path,
      FormBody({{"full_name", kXssName}, {"details", kXssMessage}, {"email", "xss@example.com"}}),
      "application/x-www-form-urlencoded");
  ASSERT_EQ(posted.status, 202) << posted.body;
  const std::string id = json::parse(posted.body, nullptr, false).value("id", "");
  ASSERT_FALSE(id.empty()) << posted.body;

  json last;
  const bool dead = Eventually([&] {
    auto r = server.ApiGet("/api/v1/inquiries/" + id);
    if (r.status != 200) return false;
    last = json::parse(r.body, nullptr, false);
    return last.is_object() && last["inquiry"]["status"] == "attention";
  });
  ASSERT_TRUE(dead) << "the XSS inquiry's handoff never became dead: " << last.dump() << "\n"
                    << server.Logs();
  ASSERT_EQ(last["handoffs"][0]["state"], "dead") << last.dump();
  refuse.store(false);

  const ProcessResult run = RunIn(dir,
                                  {"node", dir + "/dashboard.mjs", server.base_url(), kAdminToken,
                                   server.base_url() + form_path},
                                  std::chrono::seconds(300));
  ASSERT_TRUE(run.error.empty()) << run.error << " (the browser tests need Node.js 20: node)";
  std::cout << run.output;
  EXPECT_FALSE(run.timed_out) << "dashboard.mjs did not finish within 300 s:\n" << run.output;
  EXPECT_EQ(run.exit_code, 0) << "dashboard.mjs failed:\n"
                              << run.output << "\n--- handoff serve log ---\n"
                              << server.Logs();
}

}  // namespace
}  // namespace handoff::testing
