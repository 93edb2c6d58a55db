// `handoff score`: the scorecard (GET /api/v1/scorecard): every path's five checks scored 1–5,
// the business overall, and what to fix first.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "http/url_encoding.h"
#include "nlohmann/json.hpp"

namespace handoff {

void AddScoreCommand(CLI::App& root, int* exit) {
  auto flags = std::make_shared<ApiFlags>();
  auto window = std::make_shared<std::string>("7d");
  CLI::App* cmd = root.add_subcommand(
      "score", "Score each path (source -> route -> destinations) on the five checks, 1-5");
  AddApiFlags(cmd, *flags);
  cmd->add_option("--window", *window, "The window scored, ending now: 24h, 7d, 30d… (default 7d)");
  cmd->callback([flags, window, exit] {
    const std::string path = "/api/v1/scorecard?window=" + PercentEncode(*window);
    if (flags->json) {
      auto body = CallApi(*flags, path);
      if (!body) {
        *exit = 1;
        return;
      }
      std::printf("%s\n", body->dump(2).c_str());
      return;
    }
    auto text = CallApiText(*flags, path + "&format=text");
    if (!text) {
      *exit = 1;
      return;
    }
    std::fputs(text->c_str(), stdout);
  });
}

}  // namespace handoff
