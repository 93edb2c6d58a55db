// Test support: runs the real `handoff` binary on loopback with a temporary SQLite file, and a
// real HTTP sink standing in for a destination. Used by the integration suites.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/http_client.h"
#include "http/http_server.h"
#include "tests/support/temp_dir.h"

namespace handoff::testing {

// Writes `text` to `path`, replacing it.
void WriteFile(const std::string& path, const std::string& text);

// The path of the built `handoff` binary.
std::string HandoffBinary();

// Runs `handoff` with arguments; returns exit code, stdout and stderr.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult RunHandoff(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env = {});

// One `handoff serve` process on 127.0.0.1 with a free port.
class ServerProcess {
 public:
  // `config_path` is the YAML file; `db_path` the SQLite file; `env` extra environment.
  ServerProcess(std::string config_path, std::string db_path,
                std::map<std::string, std::string> env = {});
  ~ServerProcess();  // kills the process if it still runs

  // `handoff serve --workspaces dir`: every workspace config in `dir`, on `database_url`; the
  // log and port files are `files_prefix`.log and `files_prefix`.port. The admin token of each
  // workspace is its own (ApiGet/ApiPost send kAdminToken).
  static std::unique_ptr<ServerProcess> ServingDirectory(std::string dir, std::string database_url,
                                                         std::string files_prefix);

  // A node on another database (a postgres:// URL): its log and port files are
  // `files_prefix`.log and `files_prefix`.port.
  static std::unique_ptr<ServerProcess> OnDatabase(std::string config_path,
                                                   std::string database_url,
                                                   std::string files_prefix,
                                                   std::map<std::string, std::string> env = {});

  // More `handoff serve` flags for the next Start (e.g. {"--lease", "3s"}).
  void set_extra_args(std::vector<std::string> args) { extra_args_ = std::move(args); }
  // Starts the server and waits until /readyz answers 200 (up to 20 s). Fails if it exits.
  void Start();
  // SIGKILL, then reaps.
  void Kill();
  // SIGTERM, waits for exit; returns the exit status (as from waitpid's WEXITSTATUS, or -1).
  int Terminate();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  std::string base_url() const;
  // The server's stderr so far (its logs).
  std::string Logs() const;

  // Requests against this server.
  HttpClientResponse Post(const std::string& path, const std::string& body,
                          const std::string& content_type,
                          std::vector<std::pair<std::string, std::string>> headers = {});
  // GET with the admin token of the test configs (kAdminToken).
  HttpClientResponse ApiGet(const std::string& path);
  // POST of a JSON body with the admin token.
  HttpClientResponse ApiPost(const std::string& path, const std::string& json_body);

 private:
  std::string config_path_, db_path_, log_path_, port_file_;
  std::string database_;        // the --db URL
  std::string workspaces_dir_;  // --workspaces instead of --config when set
  std::vector<std::string> extra_args_;
  std::map<std::string, std::string> env_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

constexpr char kAdminToken[] = "test-admin-token-0123456789";

// A destination on loopback that records every delivery and answers as told.
class Sink {
 public:
  struct Delivery {
    std::string webhook_id;
    std::string path;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  // Decides the answer for the n-th request (0-based) to this sink.
  using Responder = std::function<HttpResponse(int n, const HttpRequest& request)>;

  Sink();  // answers 200 {"id":"sink-N"} to everything
  explicit Sink(Responder responder);
  ~Sink();

  uint16_t port() const;
  std::string url(const std::string& path = "/hook") const;
  std::vector<Delivery> deliveries() const;
  size_t count() const;
  // Waits until `pred(deliveries)` holds or `timeout_ms` passes; returns whether it held.
  bool WaitFor(const std::function<bool(const std::vector<Delivery>&)>& pred,
               int timeout_ms = 20000) const;

 private:
  Responder responder_;
  mutable std::mutex mu_;
  std::vector<Delivery> deliveries_;
  std::atomic<int> requests_{0};
  std::unique_ptr<HttpServer> server_;
};

// Polls `fn` every 20 ms until it returns true or `timeout_ms` passes.
bool Eventually(const std::function<bool()>& fn, int timeout_ms = 20000);

}  // namespace handoff::testing
