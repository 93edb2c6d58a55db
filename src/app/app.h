// Wiring only: builds the running object graph from a config — store, ingress, the stage
// workers, the dispatcher, the API — and serves them over HTTP. `handoff serve` and
// `handoff demo` run one App.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "core/clock.h"

namespace handoff {

struct AppOptions {
  std::string database;          // overrides config.server.database when set
  std::string listen_address;    // overrides config.server.listen when set
  int port = -1;                 // overrides the config's port when >= 0 (0 = pick a free one)
  const Clock* clock = nullptr;  // defaults to the system clock
};

// Not copyable. Start, then Stop (or destroy) from one thread.
class App {
 public:
  // Validates the config against this build (adapters, connectors, settings), opens the store,
  // starts every worker and the HTTP server. Fails with every config error (file:line) or the
  // reason the store or the listener could not start.
  static absl::StatusOr<std::unique_ptr<App>> Start(Config config, const AppOptions& options);
  ~App();

  uint16_t port() const;
  const Config& config() const;

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
