#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "http/url_encoding.h"
#include "nlohmann/json.hpp"

namespace handoff {
namespace {

void PrintList(const nlohmann::json& body) {
  std::printf("%-36s  %-24s  %-10s  %-8s  %-9s  %-10s  %s\n", "ID", "RECEIVED", "SOURCE", "CHANNEL",
              "STAGE", "STATUS", "CONTACT");
  for (const auto& i : body["inquiries"]) {
    const auto& c = i["contact"];
    std::string who = Str(c, "name");
    if (who.empty()) who = Str(c, "email");
    if (who.empty()) who = Str(c, "phone");
    std::printf("%-36s  %-24s  %-10s  %-8s  %-9s  %-10s  %s\n", Str(i, "id").c_str(),
                Str(i, "received_at").c_str(), Str(i, "source").c_str(), Str(i, "channel").c_str(),
                Str(i, "stage").c_str(), Str(i, "status").c_str(), who.c_str());
  }
  if (!body["next"].is_null()) {
    std::printf("(more: --before %s)\n", body["next"].get<std::string>().c_str());
  }
}

void PrintShow(const nlohmann::json& b) {
  const auto& i = b["inquiry"];
  std::printf("inquiry   %s\n", Str(i, "id").c_str());
  std::printf("source    %s (%s)\n", Str(i, "source").c_str(), Str(i, "channel").c_str());
  std::printf("received  %s\n", Str(i, "received_at").c_str());
  std::printf("status    %s, stage %s\n", Str(i, "status").c_str(), Str(i, "stage").c_str());
  if (!Str(i, "route").empty()) std::printf("route     %s\n", Str(i, "route").c_str());
  const auto& c = i["contact"];
  std::printf("contact   %s <%s> %s\n", Str(c, "name").c_str(), Str(c, "email").c_str(),
              Str(c, "phone").c_str());
  if (!Str(i, "message").empty()) std::printf("message   %s\n", Str(i, "message").c_str());
  for (const auto& t : b["tasks"]) {
    std::printf("task      %s — owner %s, due %s, %s\n", Str(t, "title").c_str(),
                Str(t, "owner").c_str(), Str(t, "due_at").c_str(), Str(t, "state").c_str());
  }
  for (const auto& h : b["handoffs"]) {
    std::printf("handoff   %s → %s, %d attempt(s)%s%s\n", Str(h, "destination").c_str(),
                Str(h, "state").c_str(), h.value("attempts", 0),
                Str(h, "latency_ms").empty() ? "" : ", confirmed after ",
                Str(h, "latency_ms").empty() ? "" : (Str(h, "latency_ms") + " ms").c_str());
  }
  std::printf("\ntimeline\n");
  for (const auto& e : b["timeline"]["events"]) {
    std::printf("  +%9.1f ms  %-8s  %-20s %s\n", e.value("since_received_ms", 0.0),
                Str(e, "stage").c_str(), Str(e, "kind").c_str(), e["detail"].dump().c_str());
  }
}

}  // namespace

void AddInquiriesCommand(CLI::App& root, int* exit) {
  auto flags = std::make_shared<ApiFlags>();
  auto filters = std::make_shared<std::map<std::string, std::string>>();
  auto id = std::make_shared<std::string>();
  CLI::App* cmd = root.add_subcommand("inquiries", "List inquiries or show one's timeline");
  cmd->require_subcommand(1);
  for (CLI::App* sub : {cmd->add_subcommand("list", "List inquiries, newest first"),
                        cmd->add_subcommand("show", "Show one inquiry with its full timeline")}) {
    AddApiFlags(sub, *flags);
  }
  CLI::App* list = cmd->get_subcommand("list");
  for (const char* f :
       {"source", "channel", "stage", "status", "route", "from", "until", "limit", "before"}) {
    list->add_option(std::string("--") + f, (*filters)[f], std::string("Filter: ") + f);
  }
  CLI::App* show = cmd->get_subcommand("show");
  show->add_option("id", *id, "The inquiry id")->required();

  list->callback([flags, filters, exit] {
    std::string query;
    for (const auto& [k, v] : *filters) {
      if (v.empty()) continue;
      query += (query.empty() ? "?" : "&") + k + "=" + PercentEncode(v);
    }
    auto body = CallApi(*flags, "/api/v1/inquiries" + query);
    if (!body) {
      *exit = 1;
      return;
    }
    if (flags->json) {
      std::printf("%s\n", body->dump(2).c_str());
    } else {
      PrintList(*body);
    }
  });
  show->callback([flags, id, exit] {
    auto body = CallApi(*flags, "/api/v1/inquiries/" + PercentEncode(*id));
    if (!body) {
      *exit = 1;
      return;
    }
    if (flags->json) {
      std::printf("%s\n", body->dump(2).c_str());
    } else {
      PrintShow(*body);
    }
  });
}

}  // namespace handoff
