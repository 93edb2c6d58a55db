// `handoff sources`: every configured source with the URL to paste into its provider, how it
// is verified, and what arrived over the last hour and day (GET /api/v1/sources).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace handoff {
namespace {

int64_t Number(const nlohmann::json& window, const char* key) {
  auto it = window.find(key);
  return it != window.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

// "hour/day" of one counter.
std::string Pair(const nlohmann::json& s, const char* key) {
  return fmt::format("{}/{}", Number(s.value("last_hour", nlohmann::json::object()), key),
                     Number(s.value("last_day", nlohmann::json::object()), key));
}

void PrintTable(const nlohmann::json& body) {
  const nlohmann::json& sources = body["sources"];
  std::printf("%-16s %-15s %-18s %-9s %-9s %-9s %-9s %-9s %-9s %s\n", "SOURCE", "ADAPTER",
              "VERIFICATION", "ACCEPTED", "DUPES", "UPDATED", "IGNORED", "SPAM", "REJECTED",
              "LAST ACCEPTED");
  for (const auto& s : sources) {
    std::string last = Str(s, "last_accepted_at");
    std::printf("%-16s %-15s %-18s %-9s %-9s %-9s %-9s %-9s %-9s %s\n", Str(s, "name").c_str(),
                Str(s, "adapter").c_str(), Str(s, "verification").c_str(),
                Pair(s, "accepted").c_str(), Pair(s, "duplicates").c_str(),
                Pair(s, "updated").c_str(), Pair(s, "ignored").c_str(), Pair(s, "spam").c_str(),
                Pair(s, "rejected").c_str(), last.empty() ? "never" : last.c_str());
  }
  std::printf("(counts: last hour/last day)\n\nWebhook URLs to paste into each provider:\n");
  for (const auto& s : sources) {
    std::printf("  %-16s %s\n", Str(s, "name").c_str(), Str(s, "webhook_url").c_str());
  }
  std::printf("\nVerification:\n");
  for (const auto& s : sources) {
    const nlohmann::json& v = s.value("verification_detail", nlohmann::json::object());
    std::string line = Str(v, "adapter_checks");
    if (const std::string warning = Str(v, "warning"); !warning.empty()) {
      line += (line.empty() ? "" : "; ") + std::string("WARNING: ") + warning;
    }
    std::printf("  %-16s %s\n", Str(s, "name").c_str(), line.c_str());
  }
  bool header = false;
  for (const auto& s : sources) {
    const nlohmann::json& day = s.value("last_day", nlohmann::json::object());
    const nlohmann::json& reasons = day.value("rejected_by_reason", nlohmann::json::object());
    if (reasons.empty()) continue;
    if (!header) std::printf("\nRejected in the last day, by reason:\n");
    header = true;
    std::string list;
    for (const auto& [reason, n] : reasons.items()) {
      list += fmt::format("{}{} {}", list.empty() ? "" : ", ", reason, n.dump());
    }
    std::printf("  %-16s %s\n", Str(s, "name").c_str(), list.c_str());
  }
}

}  // namespace

void AddSourcesCommand(CLI::App& root, int* exit) {
  auto flags = std::make_shared<ApiFlags>();
  CLI::App* cmd = root.add_subcommand(
      "sources",
      "List the configured sources: webhook URL, verification, and what arrived over the last "
      "hour and day (accepted, duplicates, updated, ignored, spam, rejected by reason)");
  AddApiFlags(cmd, *flags);
  cmd->callback([flags, exit] {
    auto body = CallApi(*flags, "/api/v1/sources");
    if (!body) {
      *exit = 1;
      return;
    }
    if (flags->json) {
      std::printf("%s\n", body->dump(2).c_str());
    } else {
      PrintTable(*body);
    }
  });
}

}  // namespace handoff
