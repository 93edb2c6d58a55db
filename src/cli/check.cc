#include <CLI/CLI.hpp>
#include <cstdio>

#include "app/config_check.h"
#include "cli/commands.h"
#include "config/config.h"

namespace handoff {

void AddCheckCommand(CLI::App& root, int* exit) {
  auto path = std::make_shared<std::string>("handoff.yaml");
  auto strict = std::make_shared<bool>(false);
  CLI::App* cmd = root.add_subcommand(
      "check", "Validate a config and audit it as a continuity map (exit 1 on errors)");
  cmd->add_option("config", *path, "The workspace config file")->capture_default_str();
  cmd->add_flag("--strict", *strict, "Treat warnings as errors");
  cmd->callback([path, strict, exit] {
    auto config = LoadConfig(*path, ProcessEnv);
    if (!config.ok()) {
      std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
      *exit = 1;
      return;
    }
    SourceAdapterRegistry sources;
    ConnectorRegistry connectors;
    RegisterBuiltinSources(sources);
    RegisterBuiltinConnectors(connectors);
    ConfigFindings f = CheckConfig(*config, sources, connectors);
    for (const auto& e : f.errors) std::fprintf(stderr, "error: %s\n", e.c_str());
    for (const auto& w : f.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    if (!f.errors.empty() || (*strict && !f.warnings.empty())) {
      *exit = 1;
      return;
    }
    std::printf("%s: ok — workspace '%s': %zu sources, %zu destinations, %zu routes%s\n",
                path->c_str(), config->workspace.c_str(), config->sources.size(),
                config->destinations.size(), config->routes.size(),
                f.warnings.empty() ? "" : " (see warnings above)");
  });
}

}  // namespace handoff
