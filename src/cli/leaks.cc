// `handoff leaks`: where demand is being lost right now (GET /api/v1/leaks): each open leak with
// why, and the alert groups that told people about them.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "nlohmann/json.hpp"

namespace handoff {
namespace {

std::string OneLine(std::string text, size_t max) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (text.size() > max) text = text.substr(0, max - 3) + "...";
  return text;
}

void PrintLeaks(const nlohmann::json& body) {
  const nlohmann::json& leaks = body["leaks"];
  if (leaks.empty()) {
    std::printf("No leaks.\n");
  } else {
    std::printf("%-7s %-20s %-14s %-24s %-36s %s\n", "STATE", "KIND", "SOURCE", "SINCE", "INQUIRY",
                "WHY");
    for (const auto& l : leaks) {
      std::printf("%-7s %-20s %-14s %-24s %-36s %s\n", Str(l, "state").c_str(),
                  Str(l, "kind").c_str(), Str(l, "source").c_str(), Str(l, "since").c_str(),
                  Str(l, "inquiry_id").c_str(), OneLine(Str(l, "reason"), 90).c_str());
    }
  }
  const nlohmann::json& groups = body["groups"];
  if (groups.empty()) return;
  std::printf("\nAlert groups:\n");
  for (const auto& g : groups) {
    const bool open = g["closed_at"].is_null();
    std::printf(
        "  %-6s %s: %d open, %d in all, alerted %s\n", open ? "OPEN" : "closed",
        Str(g, "title").c_str(), g.value("open", 0), g.value("total", 0),
        g["alerted_at"].is_null() ? "never (no alert channel)" : Str(g, "alerted_at").c_str());
  }
}

}  // namespace

void AddLeaksCommand(CLI::App& root, int* exit) {
  auto flags = std::make_shared<ApiFlags>();
  auto state = std::make_shared<std::string>("open");
  CLI::App* cmd = root.add_subcommand(
      "leaks", "List the leaks handoff has found (open ones by default) and their alerts");
  AddApiFlags(cmd, *flags);
  cmd->add_option("--state", *state, "open, closed (last 7 days) or all")
      ->check(CLI::IsMember({"open", "closed", "all"}));
  cmd->callback([flags, state, exit] {
    auto body = CallApi(*flags, "/api/v1/leaks?state=" + *state);
    if (!body) {
      *exit = 1;
      return;
    }
    if (flags->json) {
      std::printf("%s\n", body->dump(2).c_str());
    } else {
      PrintLeaks(*body);
    }
  });
}

}  // namespace handoff
