// `handoff replay`: sends dead handoffs again through a running server, in batches, printing
// progress as it goes and a summary at the end (and, with --wait, how the replays settled).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "http/url_encoding.h"

namespace handoff {
namespace {

struct ReplayFlags {
  std::string handoff_id, destination, from, until;
  int batch = 500;
  int wait_seconds = 0;
};

// Polls each replayed handoff's inquiry until every replayed handoff settled (confirmed or
// dead) or the time is up; returns the count per final state ("pending" for unsettled ones).
std::map<std::string, int> WaitForOutcomes(const ApiFlags& api,
                                           const std::vector<nlohmann::json>& replayed,
                                           int seconds) {
  std::map<std::string, std::string> state;  // handoff id → state
  for (const auto& h : replayed) state[Str(h, "id")] = "pending";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (true) {
    bool settled = true;
    std::map<std::string, bool> fetched;  // inquiry id → already fetched this round
    for (const auto& h : replayed) {
      std::string id = Str(h, "id"), inquiry = Str(h, "inquiry_id");
      if (state[id] == "confirmed" || state[id] == "dead" || fetched[inquiry]) continue;
      fetched[inquiry] = true;
      auto shown = CallApi(api, "/api/v1/inquiries/" + PercentEncode(inquiry));
      if (!shown) continue;
      for (const auto& x : (*shown)["handoffs"]) {
        if (state.count(Str(x, "id"))) state[Str(x, "id")] = Str(x, "state");
      }
    }
    for (const auto& [id, s] : state) settled = settled && (s == "confirmed" || s == "dead");
    if (settled || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  std::map<std::string, int> counts;
  for (const auto& [id, s] : state) {
    ++counts[s == "confirmed" || s == "dead" ? s : "pending"];
  }
  return counts;
}

}  // namespace

void AddReplayCommand(CLI::App& root, int* exit) {
  auto api = std::make_shared<ApiFlags>();
  auto flags = std::make_shared<ReplayFlags>();
  CLI::App* cmd = root.add_subcommand(
      "replay",
      "Send dead handoffs again (same id, fresh retry schedule) through a running server");
  AddApiFlags(cmd, *api);
  cmd->add_option("--handoff", flags->handoff_id, "Replay this one handoff");
  cmd->add_option("--destination", flags->destination, "Replay the dead handoffs of a destination");
  cmd->add_option("--from", flags->from, "Only handoffs created at or after (RFC 3339)");
  cmd->add_option("--until", flags->until, "Only handoffs created before (RFC 3339)");
  cmd->add_option("--batch", flags->batch, "Handoffs per request (1-1000)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--wait", flags->wait_seconds,
                  "Then wait up to this many seconds for the replays to settle, and report");
  cmd->callback([api, flags, exit] {
    nlohmann::json filter = nlohmann::json::object();
    if (!flags->handoff_id.empty()) filter["handoff_id"] = flags->handoff_id;
    if (!flags->destination.empty()) filter["destination"] = flags->destination;
    if (!flags->from.empty()) filter["from"] = flags->from;
    if (!flags->until.empty()) filter["until"] = flags->until;
    if (filter.empty()) {
      std::fprintf(stderr,
                   "replay: name what to replay: --handoff ID, --destination NAME, or a time "
                   "range with --from/--until\n");
      *exit = 2;
      return;
    }
    filter["limit"] = flags->batch;
    std::vector<nlohmann::json> replayed;
    std::map<std::string, int> by_destination;
    int batches = 0;
    while (true) {
      auto answer = CallApi(*api, "/api/v1/handoffs/replay", filter);
      if (!answer) {
        std::fprintf(stderr, "replay: stopped after %zu handoff(s) in %d batch(es)\n",
                     replayed.size(), batches);
        *exit = 1;
        return;
      }
      ++batches;
      for (const auto& h : (*answer)["handoffs"]) {
        replayed.push_back(h);
        ++by_destination[Str(h, "destination")];
      }
      if (!api->json && !(*answer)["handoffs"].empty()) {
        std::fprintf(stderr, "replay: %zu handoff(s) so far…\n", replayed.size());
      }
      if (answer->value("done", true) || (*answer)["next_after"].is_null()) break;
      filter["after"] = (*answer)["next_after"];
    }
    std::map<std::string, int> outcomes;
    if (flags->wait_seconds > 0 && !replayed.empty()) {
      outcomes = WaitForOutcomes(*api, replayed, flags->wait_seconds);
    }
    if (api->json) {
      nlohmann::json out = {{"replayed", replayed.size()},
                            {"batches", batches},
                            {"by_destination", by_destination},
                            {"handoffs", replayed}};
      if (!outcomes.empty()) out["outcomes"] = outcomes;
      std::printf("%s\n", out.dump(2).c_str());
      return;
    }
    std::printf("replayed %zu dead handoff(s) in %d batch(es)\n", replayed.size(), batches);
    for (const auto& [dest, n] : by_destination) std::printf("  %-20s %d\n", dest.c_str(), n);
    if (!outcomes.empty()) {
      std::printf("after waiting: %d confirmed, %d dead again, %d still pending\n",
                  outcomes["confirmed"], outcomes["dead"], outcomes["pending"]);
    }
  });
}

}  // namespace handoff
