// How CLI commands talk to a running server: its API, with the base URL and admin token taken
// from flags or, by default, from the workspace config.
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

// Adds --config, --url, --token and --json to `cmd`.
void AddApiFlags(CLI::App* cmd, ApiFlags& flags);

// Calls `path` on the server (GET, or POST with `body` when given); prints the problem to
// stderr and returns nullopt on any failure (unreachable, non-200, not JSON).
std::optional<nlohmann::json> CallApi(const ApiFlags& flags, const std::string& path,
                                      const std::optional<nlohmann::json>& body = std::nullopt);

// The same for an endpoint answering text (not JSON): the body of its 200.
std::optional<std::string> CallApiText(const ApiFlags& flags, const std::string& path);

// The value of `key` in `j` as text ("" when absent or null).
std::string Str(const nlohmann::json& j, const char* key);

}  // namespace handoff
