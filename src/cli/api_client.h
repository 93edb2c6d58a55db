// How the read-only subcommands (`inquiries`, `sources`) reach a running server's API: the
// flags they share and one GET.
#pragma once

#include <optional>
#include <string>

#include "nlohmann/json.hpp"

namespace CLI {
class App;
}

namespace handoff {

struct ApiFlags {
  std::string config = "handoff.yaml";
  std::string url;    // e.g. http://127.0.0.1:8080; default from the config's listen address
  std::string token;  // default: the config's admin token (or $HANDOFF_ADMIN_TOKEN)
  bool json = false;
};

// Adds -c/--config, --url, --token and --json to `cmd`, bound to `flags`.
void AddApiFlags(CLI::App& cmd, ApiFlags& flags);

// Fetches `path` from a running server's API; prints the problem to stderr and returns nullopt
// on failure (unreachable, not 200, not JSON).
std::optional<nlohmann::json> ApiGet(const ApiFlags& flags, const std::string& path);

}  // namespace handoff
