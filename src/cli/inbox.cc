// `handoff inbox`: the records the `inbox` connector keeps for a business with no CRM yet
// (GET /api/v1/inbox), and `handoff inbox done ID` to close one (POST /api/v1/inbox/ID/done).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace handoff {
namespace {

void PrintInbox(const nlohmann::json& body) {
  const nlohmann::json& items = body["items"];
  if (items.empty()) {
    std::printf("The inbox is empty.\n");
    return;
  }
  std::printf("%-36s %-6s %-10s %-20s %-16s %-24s %s\n", "ID", "STATE", "OWNER", "WHO", "PHONE",
              "DUE", "MESSAGE");
  for (const auto& item : items) {
    const nlohmann::json& inquiry = item.value("inquiry", nlohmann::json::object());
    const nlohmann::json& contact = inquiry.value("contact", nlohmann::json::object());
    const nlohmann::json& task = item.value("task", nlohmann::json::object());
    std::string who = Str(contact, "name");
    if (who.empty()) who = Str(contact, "email");
    std::string message = Str(inquiry, "message");
    if (message.size() > 60) message = message.substr(0, 57) + "...";
    for (char& c : message) {
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    std::printf("%-36s %-6s %-10s %-20s %-16s %-24s %s\n", Str(item, "id").c_str(),
                Str(item, "state").c_str(), Str(item, "owner").c_str(), who.c_str(),
                Str(contact, "phone").c_str(), Str(task, "due_at").c_str(), message.c_str());
  }
}

}  // namespace

void AddInboxCommand(CLI::App& root, int* exit) {
  auto flags = std::make_shared<ApiFlags>();
  auto state = std::make_shared<std::string>("open");
  auto done_id = std::make_shared<std::string>();
  CLI::App* cmd = root.add_subcommand(
      "inbox", "List the inquiries the `inbox` destination keeps in handoff (open by default)");
  AddApiFlags(cmd, *flags);
  cmd->add_option("--state", *state, "open, done or all")
      ->check(CLI::IsMember({"open", "done", "all"}));
  CLI::App* done = cmd->add_subcommand("done", "Mark an inbox record done");
  done->fallthrough();  // --url, --token, --json given after the id belong to `inbox`
  done->add_option("id", *done_id, "The record's id (as listed)")->required();
  cmd->callback([flags, state, done_id, done, exit] {
    if (done->parsed()) {
      auto body =
          CallApi(*flags, fmt::format("/api/v1/inbox/{}/done", *done_id), nlohmann::json::object());
      if (!body) {
        *exit = 1;
        return;
      }
      if (flags->json) {
        std::printf("%s\n", body->dump(2).c_str());
      } else {
        std::printf("Marked %s done.\n", done_id->c_str());
      }
      return;
    }
    auto body = CallApi(*flags, "/api/v1/inbox?state=" + *state);
    if (!body) {
      *exit = 1;
      return;
    }
    if (flags->json) {
      std::printf("%s\n", body->dump(2).c_str());
    } else {
      PrintInbox(*body);
    }
  });
}

}  // namespace handoff
