// Checks a parsed config against what this build can run: every source's adapter and every
// destination's connector exists, their settings are known keys, and the map has no obvious
// leaks. Shared by `handoff check` and `handoff serve` (which refuses to start on errors).
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "entry/source_adapter.h"
#include "transfer/connector.h"

namespace handoff {

struct ConfigFindings {
  std::vector<std::string> errors;    // "file:line: message": the config cannot run
  std::vector<std::string> warnings;  // "file:line: message": it runs, but something may leak
};

ConfigFindings CheckConfig(const Config& config, const SourceAdapterRegistry& sources,
                           const ConnectorRegistry& connectors);

}  // namespace handoff
