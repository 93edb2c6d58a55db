// `handoff tasks`: the next steps handoff created, open ones first (GET /api/v1/tasks), and
// `handoff tasks ack ID` / `handoff tasks done ID` to acknowledge or finish one
// (POST /api/v1/tasks/ID/ack|done). Acknowledging stops the task's escalation.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "fmt/format.h"
#include "http/url_encoding.h"
#include "model/records.h"
#include "nlohmann/json.hpp"

namespace handoff {
namespace {

void PrintTasks(const nlohmann::json& body) {
  const nlohmann::json& tasks = body["tasks"];
  if (tasks.empty()) {
    std::printf("No tasks.\n");
    return;
  }
  std::printf("%-36s %-12s %-10s %-24s %-20s %s\n", "ID", "STATE", "OWNER", "DUE", "WHO", "TITLE");
  for (const auto& t : tasks) {
    const nlohmann::json& inquiry = t.value("inquiry", nlohmann::json::object());
    std::string who = Str(inquiry, "name");
    if (who.empty()) who = Str(inquiry, "phone");
    if (who.empty()) who = Str(inquiry, "email");
    std::string title = Str(t, "title");
    for (char& c : title) {
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    std::printf("%-36s %-12s %-10s %-24s %-20s %s\n", Str(t, "id").c_str(), Str(t, "state").c_str(),
                Str(t, "owner").c_str(), Str(t, "due_at").c_str(), who.c_str(), title.c_str());
    if (t.contains("missing") && !t["missing"].empty()) {
      std::string missing;
      for (const auto& m : t["missing"]) {
        if (m.is_string()) missing += (missing.empty() ? "" : ", ") + m.get<std::string>();
      }
      std::printf("%-36s ask for: %s\n", "", missing.c_str());
    }
  }
}

}  // namespace

void AddTasksCommand(CLI::App& root, int* exit) {
  auto flags = std::make_shared<ApiFlags>();
  auto state = std::make_shared<std::string>("open");
  auto owner = std::make_shared<std::string>();
  auto id = std::make_shared<std::string>();
  CLI::App* cmd =
      root.add_subcommand("tasks", "List tasks (open by default), or acknowledge or finish one");
  AddApiFlags(cmd, *flags);
  cmd->add_option("--state", *state, "open, acknowledged, done or all")->check(CLI::IsMember([] {
    std::vector<std::string> states(kTaskStates.begin(), kTaskStates.end());
    states.push_back("all");
    return states;
  }()));
  cmd->add_option("--owner", *owner, "Only this team member's tasks");
  CLI::App* ack = cmd->add_subcommand("ack", "Acknowledge a task: it is yours, escalation stops");
  CLI::App* done = cmd->add_subcommand("done", "Mark a task done");
  for (CLI::App* sub : {ack, done}) {
    sub->fallthrough();  // --url, --token, --json given after the id belong to `tasks`
    sub->add_option("id", *id, "The task's id (as listed)")->required();
  }
  cmd->callback([flags, state, owner, id, ack, done, exit] {
    if (ack->parsed() || done->parsed()) {
      const char* action = ack->parsed() ? "ack" : "done";
      auto body = CallApi(*flags, fmt::format("/api/v1/tasks/{}/{}", *id, action),
                          nlohmann::json::object());
      if (!body) {
        *exit = 1;
        return;
      }
      if (flags->json) {
        std::printf("%s\n", body->dump(2).c_str());
        return;
      }
      const std::string now = Str((*body)["task"], "state");
      if ((*body)["changed"].get<bool>()) {
        std::printf("Task %s is now %s.\n", id->c_str(), now.c_str());
      } else {
        std::printf("Task %s was already %s; nothing changed.\n", id->c_str(), now.c_str());
      }
      return;
    }
    std::string path = "/api/v1/tasks?state=" + *state;
    if (!owner->empty()) path += "&owner=" + PercentEncode(*owner);
    auto body = CallApi(*flags, path);
    if (!body) {
      *exit = 1;
      return;
    }
    if (flags->json) {
      std::printf("%s\n", body->dump(2).c_str());
    } else {
      PrintTasks(*body);
    }
  });
}

}  // namespace handoff
