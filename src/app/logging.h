// Process-wide log set-up: human-readable lines by default, JSON lines on request. Log lines
// carry ids and reasons, never secrets or personal data (callers keep to that).
#pragma once

#include <string>

namespace handoff {

// Configures spdlog's default logger on stderr. `level` is trace|debug|info|warn|error.
void SetUpLogging(bool json, const std::string& level);

}  // namespace handoff
