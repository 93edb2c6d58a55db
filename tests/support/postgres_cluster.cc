#include "tests/support/postgres_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "libpq-fe.h"

extern char** environ;

namespace handoff::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBinDir = HANDOFF_POSTGRES_BINDIR;
constexpr const char* kServerUser = "postgres";
// Attempts at starting on a fresh port, for when another process takes the port between
// FreePort() releasing it and the server binding it.
constexpr int kStartAttempts = 5;
constexpr auto kReadyTimeout = std::chrono::seconds(60);
// Private clusters (TestPostgresAdminUrl without the fixture) live in /tmp/<prefix>XXXXXX.
constexpr const char* kPrivatePrefix = "handoff-pg-";

bool AsRoot() { return geteuid() == 0; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Trimmed(std::string s) {
  const char* space = " \t\r\n";
  size_t begin = s.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(space) + 1 - begin);
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) return absl::InternalError(fmt::format("cannot write {}", tmp));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(fmt::format("rename {}: {}", tmp, strerror(errno)));
  }
  return absl::OkStatus();
}

struct Output {
  int exit_code = -1;
  std::string text;  // stdout and stderr together
};

// Runs `args` in `cwd` and waits for it; as root, as the postgres user (runuser), since the
// server and its tools refuse to run as root.
absl::StatusOr<Output> Run(const std::vector<std::string>& args, const std::string& cwd) {
  std::vector<std::string> full;
  if (AsRoot()) {
    std::string runuser = fs::exists("/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser";
    full = {runuser, "-u", kServerUser, "--"};
  }
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    return absl::InternalError(fmt::format("cannot run {}: {}", full[0], strerror(rc)));
  }
  Output out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(pipe_fds[0], buf, sizeof buf);
    if (n > 0) {
      out.text.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

std::string Bin(const char* tool) { return fmt::format("{}/{}", kBinDir, tool); }

// Gives `path` to the postgres user when running as root.
absl::Status GiveToServerUser(const std::string& path) {
  if (!AsRoot()) return absl::OkStatus();
  struct passwd* pw = getpwnam(kServerUser);
  if (pw == nullptr) {
    return absl::FailedPreconditionError(
        "no `postgres` system user: install the postgresql package (scripts/setup)");
  }
  if (lchown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    return absl::InternalError(fmt::format("chown {}: {}", path, strerror(errno)));
  }
  return absl::OkStatus();
}

// A TCP port of 127.0.0.1 free a moment ago: bound as port 0, then released.
absl::StatusOr<int> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError(fmt::format("cannot bind a port: {}", strerror(errno)));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string Tail(const std::string& text, size_t n = 3000) {
  return text.size() <= n ? text : "…" + text.substr(text.size() - n);
}

// Where the cluster's files go: `dir` itself, unless the postgres user cannot reach it (as root,
// a parent directory without o+x) or the unix socket's path would be too long (108 bytes with
// its ".s.PGSQL.PORT"); then a directory of its own under /tmp, which dir/data and
// dir/postgres.log link to, deleted by StopPostgresCluster.
absl::StatusOr<std::string> ClusterHome(const std::string& dir) {
  bool reachable = true;
  if (AsRoot()) {
    auto probe = Run({"test", "-w", dir, "-a", "-x", dir}, "/");
    if (!probe.ok()) return probe.status();
    reachable = probe->exit_code == 0;
  }
  const size_t socket_path = (dir + "/sock/.s.PGSQL.65535").size();
  if (reachable && socket_path < sizeof(sockaddr_un::sun_path)) return dir;
  char tmpl[] = "/tmp/handoff-pgroot-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
  std::string home = tmpl;
  if (auto st = GiveToServerUser(home); !st.ok()) return st;
  std::error_code ec;
  fs::create_symlink(home + "/data", dir + "/data", ec);
  if (!ec) fs::create_symlink(home + "/postgres.log", dir + "/postgres.log", ec);
  if (ec) return absl::InternalError(fmt::format("symlink into {}: {}", dir, ec.message()));
  return home;
}

absl::Status AppendSettings(const std::string& home, const PostgresClusterOptions& options) {
  std::ofstream conf(home + "/data/postgresql.conf", std::ios::app);
  // Several handoff nodes with connection pools connect at once, hence max_connections.
  conf << "\n# handoff (tests/support/postgres_cluster.cc)\n"
       << "listen_addresses = '127.0.0.1'\n"
       << "unix_socket_directories = '" << home << "/sock'\n"
       << "max_connections = 300\n";
  if (options.durable) {
    // The benchmark: a production server's durability (PostgreSQL's defaults, spelled out).
    conf << "shared_buffers = 128MB\n"
         << "fsync = on\n"
         << "full_page_writes = on\n"
         << "synchronous_commit = on\n";
  } else {
    // A throwaway cluster for tests: tests kill handoff processes, never postgres, and the
    // cluster is deleted afterwards, so durability is traded for speed.
    conf << "shared_buffers = 32MB\n"
         << "fsync = off\n"
         << "full_page_writes = off\n"
         << "synchronous_commit = off\n";
  }
  conf << "log_min_messages = warning\n"
       << "log_line_prefix = '%m [%p] %d '\n";
  if (!conf.flush()) return absl::InternalError("cannot append to postgresql.conf");
  return absl::OkStatus();
}

bool WaitUntilAccepting(const std::string& url) {
  auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (PQping(url.c_str()) == PQPING_OK) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// Stops and deletes the clusters of test processes that died without their atexit handler
// (killed by a CTest timeout, a crash).
void SweepAbandonedPrivateClusters() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/tmp", ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(kPrivatePrefix, 0) != 0) continue;
    std::string owner = Trimmed(ReadFile(entry.path().string() + "/owner"));
    if (owner.empty()) continue;  // just created: its owner writes the file next
    pid_t pid = static_cast<pid_t>(std::atol(owner.c_str()));
    if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH) continue;
    if (StopPostgresCluster(entry.path().string()).ok()) fs::remove_all(entry.path(), ec);
  }
}

// The private cluster of this process (TestPostgresAdminUrl without the fixture).
std::string* private_dir = nullptr;
pid_t private_owner = 0;

void StopPrivateCluster() {
  // A forked child (a gtest death test) exiting must not stop its parent's cluster.
  if (private_dir == nullptr || getpid() != private_owner) return;
  auto st = StopPostgresCluster(*private_dir);
  if (!st.ok()) fmt::print(stderr, "handoff_test_postgres: {}\n", st.ToString());
  std::error_code ec;
  fs::remove_all(*private_dir, ec);
}

std::string ResolveAdminUrl() {
  if (const char* env = getenv("HANDOFF_TEST_POSTGRES_DIR"); env != nullptr && *env != '\0') {
    std::string url = Trimmed(ReadFile(std::string(env) + "/url"));
    if (!url.empty()) return url;
    fmt::print(stderr,
               "handoff_test_postgres: no cluster in HANDOFF_TEST_POSTGRES_DIR={} (no url file); "
               "starting a private one\n",
               env);
  }
  SweepAbandonedPrivateClusters();
  std::string tmpl = fmt::format("/tmp/{}XXXXXX", kPrivatePrefix);
  if (mkdtemp(tmpl.data()) == nullptr) {
    fmt::print(stderr, "handoff_test_postgres: mkdtemp failed: {}\n", strerror(errno));
    return "";
  }
  private_dir = new std::string(tmpl);
  private_owner = getpid();
  std::atexit(StopPrivateCluster);
  if (auto st = WriteFileAtomically(*private_dir + "/owner", std::to_string(getpid())); !st.ok()) {
    fmt::print(stderr, "handoff_test_postgres: {}\n", st.ToString());
    return "";
  }
  auto url = StartPostgresCluster(*private_dir);
  if (!url.ok()) {
    fmt::print(stderr, "handoff_test_postgres: cannot start a PostgreSQL cluster: {}\n",
               url.status().ToString());
    return "";
  }
  return *url;
}

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};

}  // namespace

absl::StatusOr<std::string> StartPostgresCluster(const std::string& dir,
                                                 const PostgresClusterOptions& options) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(fmt::format("mkdir {}: {}", dir, ec.message()));
  // A cluster left by an earlier, interrupted run.
  if (auto st = StopPostgresCluster(dir); !st.ok()) {
    return absl::FailedPreconditionError(
        fmt::format("cannot remove the stale cluster in {}: {}", dir, st.ToString()));
  }
  fs::remove(dir + "/postgres.log", ec);
  if (auto st = GiveToServerUser(dir); !st.ok()) return st;
  auto home = ClusterHome(dir);
  if (!home.ok()) return home.status();
  const std::string data = *home + "/data";
  const std::string log = *home + "/postgres.log";
  fs::create_directories(*home + "/sock", ec);
  if (ec) return absl::InternalError(fmt::format("mkdir {}/sock: {}", *home, ec.message()));
  if (auto st = GiveToServerUser(*home + "/sock"); !st.ok()) return st;

  std::vector<std::string> initdb_args = {
      Bin("initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C"};
  if (!options.durable) initdb_args.push_back("--no-sync");
  auto initdb = Run(initdb_args, *home);
  if (!initdb.ok()) return initdb.status();
  if (initdb->exit_code != 0) {
    std::string hint =
        AsRoot() ? fmt::format(" (the postgres user must be able to write {})", *home) : "";
    return absl::InternalError(
        fmt::format("initdb failed{}: {}", hint, Tail(Trimmed(initdb->text))));
  }
  if (auto st = AppendSettings(*home, options); !st.ok()) return st;

  std::string last_error;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    auto port = FreePort();
    if (!port.ok()) return port.status();
    const size_t log_offset = ReadFile(log).size();
    auto start = Run({Bin("pg_ctl"), "start", "-D", data, "-l", log, "-w", "-t",
                      std::to_string(kReadyTimeout.count()), "-o", fmt::format("-p {}", *port)},
                     *home);
    if (!start.ok()) return start.status();
    std::string url = fmt::format("postgresql://postgres@127.0.0.1:{}/postgres", *port);
    if (start->exit_code == 0) {
      if (!WaitUntilAccepting(url)) {
        return absl::DeadlineExceededError(
            fmt::format("the cluster in {} started but accepts no connection on port {}; log: {}",
                        dir, *port, Tail(ReadFile(log))));
      }
      if (auto st = WriteFileAtomically(dir + "/url", url + "\n"); !st.ok()) return st;
      return url;
    }
    std::string log_text = ReadFile(log);
    log_text = log_text.size() > log_offset ? log_text.substr(log_offset) : "";
    last_error = fmt::format("pg_ctl start: {}; log: {}", Trimmed(start->text), Tail(log_text));
    if (log_text.find("Address already in use") == std::string::npos) break;
  }
  return absl::InternalError(last_error);
}

absl::Status StopPostgresCluster(const std::string& dir) {
  std::error_code ec;
  const std::string link = dir + "/data";
  // Files under /tmp when `dir` was out of the postgres user's reach (ClusterHome).
  std::string home;
  std::string data = link;
  if (fs::is_symlink(link, ec)) {
    data = fs::read_symlink(link, ec).string();
    home = fs::path(data).parent_path().string();
  }
  fs::remove(dir + "/url", ec);
  if (fs::exists(data + "/postmaster.pid", ec)) {
    auto stop = Run({Bin("pg_ctl"), "stop", "-D", data, "-m", "immediate", "-w", "-t", "60"},
                    home.empty() ? dir : home);
    if (!stop.ok()) return stop.status();
    if (stop->exit_code != 0) {
      // A stale postmaster.pid (the machine rebooted, the postmaster was killed) is no error:
      // pg_ctl status exits with 3 when no server runs.
      auto status = Run({Bin("pg_ctl"), "status", "-D", data}, home.empty() ? dir : home);
      if (!status.ok()) return status.status();
      if (status->exit_code != 3) {
        return absl::InternalError(fmt::format("pg_ctl stop -D {}: {}", data, Trimmed(stop->text)));
      }
    }
  }
  fs::remove_all(data, ec);
  if (ec) return absl::InternalError(fmt::format("rm -r {}: {}", data, ec.message()));
  fs::remove_all(dir + "/sock", ec);
  if (!home.empty()) {
    fs::remove(link, ec);
    // Keep the log beside `dir`, as when the cluster lived there.
    if (fs::is_symlink(dir + "/postgres.log", ec)) {
      fs::remove(dir + "/postgres.log", ec);
      fs::copy_file(home + "/postgres.log", dir + "/postgres.log", ec);
    }
    fs::remove_all(home, ec);
  }
  return absl::OkStatus();
}

const std::string& TestPostgresAdminUrl() {
  // Never destroyed: the atexit handler and late tests may still read it.
  static const std::string* url = new std::string(ResolveAdminUrl());
  return *url;
}

absl::StatusOr<std::string> CreateDatabase(const std::string& admin_url) {
  static std::atomic<int> counter{0};
  std::random_device random;
  std::string name =
      fmt::format("t_{}_{}_{:08x}", getpid(), ++counter, static_cast<uint32_t>(random()));
  std::unique_ptr<PGconn, ConnCloser> conn(PQconnectdb(admin_url.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(
        fmt::format("connect {}: {}", admin_url, Trimmed(PQerrorMessage(conn.get()))));
  }
  std::unique_ptr<PGresult, ResultClearer> result(
      PQexec(conn.get(), fmt::format("CREATE DATABASE {}", name).c_str()));
  if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    return absl::InternalError(
        fmt::format("CREATE DATABASE {}: {}", name, Trimmed(PQresultErrorMessage(result.get()))));
  }
  return admin_url.substr(0, admin_url.rfind('/') + 1) + name;
}

absl::StatusOr<std::string> CreateTestDatabase() {
  const std::string& admin = TestPostgresAdminUrl();
  if (admin.empty()) {
    return absl::FailedPreconditionError("no test PostgreSQL cluster (the reason is on stderr)");
  }
  return CreateDatabase(admin);
}

}  // namespace handoff::testing

namespace handoff::testing {

absl::Status DropDatabase(const std::string& admin_url, const std::string& url) {
  const std::string name = url.substr(url.rfind('/') + 1);
  if (name.empty() ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
    return absl::InvalidArgumentError(fmt::format("not a test database URL: {}", url));
  }
  std::unique_ptr<PGconn, ConnCloser> conn(PQconnectdb(admin_url.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(Trimmed(PQerrorMessage(conn.get())));
  }
  // WITH (FORCE): a node a test killed may leave a session behind for a moment.
  std::unique_ptr<PGresult, ResultClearer> result(
      PQexec(conn.get(), fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name).c_str()));
  if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    return absl::InternalError(Trimmed(PQresultErrorMessage(result.get())));
  }
  return absl::OkStatus();
}

absl::Status DropTestDatabase(const std::string& url) {
  const std::string& admin = TestPostgresAdminUrl();
  if (admin.empty()) return absl::FailedPreconditionError("no test PostgreSQL cluster");
  return DropDatabase(admin, url);
}

}  // namespace handoff::testing
