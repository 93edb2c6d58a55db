#include "tests/support/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "fmt/format.h"

extern char** environ;

namespace handoff::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Builds envp: the current environment plus `extra` (which wins).
std::vector<std::string> Environment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

pid_t Spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            const std::string& out_path, const std::string& err_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> envs = Environment(env);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0].c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn failed for " + args[0]);
  return pid;
}

}  // namespace

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string HandoffBinary() { return HANDOFF_BINARY; }

CommandResult RunHandoff(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env) {
  TempDir dir;
  std::vector<std::string> full{HandoffBinary()};
  full.insert(full.end(), args.begin(), args.end());
  pid_t pid = Spawn(full, env, dir.File("out"), dir.File("err"));
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(dir.File("out"));
  r.err = ReadFile(dir.File("err"));
  return r;
}

ServerProcess::ServerProcess(std::string config_path, std::string db_path,
                             std::map<std::string, std::string> env)
    : config_path_(std::move(config_path)), db_path_(std::move(db_path)), env_(std::move(env)) {
  log_path_ = db_path_ + ".log";
  port_file_ = db_path_ + ".port";
  database_ = "sqlite:" + db_path_;
  env_.emplace("HANDOFF_ADMIN_TOKEN", kAdminToken);
}

std::unique_ptr<ServerProcess> ServerProcess::OnDatabase(std::string config_path,
                                                         std::string database_url,
                                                         std::string files_prefix,
                                                         std::map<std::string, std::string> env) {
  auto server =
      std::make_unique<ServerProcess>(std::move(config_path), files_prefix, std::move(env));
  server->database_ = std::move(database_url);
  return server;
}

std::unique_ptr<ServerProcess> ServerProcess::ServingDirectory(std::string dir,
                                                               std::string database_url,
                                                               std::string files_prefix) {
  auto server = OnDatabase("", std::move(database_url), std::move(files_prefix));
  server->workspaces_dir_ = std::move(dir);
  return server;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill();
}

void ServerProcess::Start() {
  std::remove(port_file_.c_str());
  std::vector<std::string> args = {HandoffBinary(), "serve"};
  if (workspaces_dir_.empty()) {
    args.insert(args.end(), {"--config", config_path_});
  } else {
    args.insert(args.end(), {"--workspaces", workspaces_dir_});
  }
  args.insert(args.end(),
              {"--db", database_, "--listen", "127.0.0.1:0", "--port-file", port_file_});
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  pid_ = Spawn(args, env_, log_path_, log_path_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("handoff serve exited during start-up:\n" + Logs());
    }
    std::string port = ReadFile(port_file_);
    if (!port.empty()) {
      port_ = static_cast<uint16_t>(std::stoi(port));
      HttpClientRequest req;
      req.url = base_url() + "/readyz";
      req.timeout = kMicrosPerSecond;
      auto resp = HttpFetch(req);
      if (resp.ok() && resp->status == 200) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("handoff serve did not become ready:\n" + Logs());
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int ServerProcess::Terminate() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ServerProcess::base_url() const { return fmt::format("http://127.0.0.1:{}", port_); }

std::string ServerProcess::Logs() const { return ReadFile(log_path_); }

HttpClientResponse ServerProcess::Post(const std::string& path, const std::string& body,
                                       const std::string& content_type,
                                       std::vector<std::pair<std::string, std::string>> headers) {
  HttpClientRequest req;
  req.method = "POST";
  req.url = base_url() + path;
  req.body = body;
  if (!content_type.empty()) headers.emplace_back("Content-Type", content_type);
  req.headers = std::move(headers);
  auto resp = HttpFetch(req);
  if (!resp.ok()) return HttpClientResponse{0, {}, std::string(resp.status().message())};
  return *resp;
}

HttpClientResponse ServerProcess::ApiGet(const std::string& path) {
  HttpClientRequest req;
  req.url = base_url() + path;
  req.headers.emplace_back("Authorization", std::string("Bearer ") + kAdminToken);
  auto resp = HttpFetch(req);
  if (!resp.ok()) return HttpClientResponse{0, {}, std::string(resp.status().message())};
  return *resp;
}

HttpClientResponse ServerProcess::ApiPost(const std::string& path, const std::string& json_body) {
  HttpClientRequest req;
  req.method = "POST";
  req.url = base_url() + path;
  req.body = json_body;
  req.headers.emplace_back("Authorization", std::string("Bearer ") + kAdminToken);
  req.headers.emplace_back("Content-Type", "application/json");
  auto resp = HttpFetch(req);
  if (!resp.ok()) return HttpClientResponse{0, {}, std::string(resp.status().message())};
  return *resp;
}

Sink::Sink()
    : Sink([](int n, const HttpRequest&) {
        return HttpResponse::Json(200, fmt::format(R"({{"id":"sink-{}"}})", n));
      }) {}

Sink::Sink(Responder responder) : responder_(std::move(responder)) {
  HttpServerOptions options;
  options.port = 0;
  auto server = HttpServer::Start(options, [this](HttpRequest&& req, HttpResponder respond) {
    int n = requests_.fetch_add(1);
    HttpResponse resp = responder_(n, req);
    if (resp.status >= 200 && resp.status < 300) {
      std::lock_guard<std::mutex> lock(mu_);
      deliveries_.push_back(Delivery{std::string(req.Header("webhook-id").value_or("")), req.path,
                                     req.headers, req.body});
    }
    respond(std::move(resp));
  });
  if (!server.ok()) throw std::runtime_error("sink failed to start");
  server_ = std::move(*server);
}

Sink::~Sink() { server_->Stop(kMicrosPerSecond); }

uint16_t Sink::port() const { return server_->port(); }

std::string Sink::url(const std::string& path) const {
  return fmt::format("http://127.0.0.1:{}{}", port(), path);
}

std::vector<Sink::Delivery> Sink::deliveries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return deliveries_;
}

size_t Sink::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return deliveries_.size();
}

bool Sink::WaitFor(const std::function<bool(const std::vector<Delivery>&)>& pred,
                   int timeout_ms) const {
  return Eventually([&] { return pred(deliveries()); }, timeout_ms);
}

bool Eventually(const std::function<bool()>& fn, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (fn()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace handoff::testing
