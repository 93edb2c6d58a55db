// Wiring only: builds the running object graph — store, ingress, the stage workers, the
// dispatcher, the API — and serves it over HTTP. One deployment serves one workspace (a config
// file: `handoff serve`, `handoff demo`) or many (a directory of config files: `handoff serve
// --workspaces DIR`), each workspace with its own stages, dispatcher, API and credentials on
// the one store, and picked up, replaced or dropped while the others keep running.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "core/clock.h"

namespace handoff {

struct AppOptions {
  std::string database;          // overrides config.server.database when set
  std::string listen_address;    // overrides config.server.listen when set
  int port = -1;                 // overrides the config's port when >= 0 (0 = pick a free one)
  Micros lease = 0;              // overrides config.server.lease when > 0
  const Clock* clock = nullptr;  // defaults to the system clock
  // Directory mode: how often the directory is read again for added, changed and removed
  // workspace files.
  Micros reload_every = 2 * kMicrosPerSecond;
};

// Not copyable. Start, then Stop (or destroy) from one thread.
class App {
 public:
  // Serves one workspace. Validates the config against this build (adapters, connectors,
  // settings), opens the store, starts every worker and the HTTP server. Fails with every
  // config error (file:line) or the reason the store or the listener could not start.
  static absl::StatusOr<std::unique_ptr<App>> Start(Config config, const AppOptions& options);

  // Serves every workspace config in `dir` (one per *.yaml or *.yml file, each with its own
  // `workspace` name and admin token) on one store and one listener, given by `options`
  // (database and listen address; defaults sqlite:handoff.db and 127.0.0.1:8080; a file's own
  // server.listen and server.database do not apply). Files added, changed or removed later
  // are picked up within `options.reload_every` without touching the other workspaces; a file
  // with errors is reported in the log and leaves what was running as it was.
  static absl::StatusOr<std::unique_ptr<App>> StartDirectory(const std::string& dir,
                                                             const AppOptions& options);
  ~App();

  uint16_t port() const;
  // The workspace's config (the first one's in directory mode; an empty one when there is
  // none yet).
  const Config& config() const;
  // The workspaces being served, by name.
  std::vector<std::string> workspaces() const;
  // Directory mode: reads the directory now instead of waiting for the next turn.
  void Reload();

  // Graceful stop: stops accepting connections, answers requests in flight, finishes the
  // stages' current batches and in-flight deliveries, commits everything submitted, closes
  // the store. Idempotent.
  void Stop();

 private:
  struct Parts;
  explicit App(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace handoff
