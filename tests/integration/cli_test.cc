// The CLI as a user runs it: --version, --help, check, serve's refusal of a bad config,
// inquiries list/show against a running server, and the demo end to end.
#include <chrono>
#include <regex>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/server_process.h"
#include "tests/support/test_config.h"

namespace handoff::testing {
namespace {

using nlohmann::json;

const std::map<std::string, std::string> kEnv = {{"HANDOFF_ADMIN_TOKEN", kAdminToken}};

TEST(Cli, VersionAndHelp) {
  auto v = RunHandoff({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("handoff 0."), std::string::npos) << v.out;
  auto h = RunHandoff({"--help"});
  EXPECT_EQ(h.exit_code, 0);
  for (const char* cmd : {"serve", "check", "inquiries", "sources", "demo"}) {
    EXPECT_NE(h.out.find(cmd), std::string::npos) << cmd;
  }
  auto sub = RunHandoff({"serve", "--help"});
  EXPECT_NE(sub.out.find("--config"), std::string::npos);
  auto none = RunHandoff({});
  EXPECT_NE(none.exit_code, 0);
}

TEST(Cli, CheckAcceptsAGoodConfigAndNamesFileLineOfProblems) {
  TempDir dir;
  WriteFile(dir.File("good.yaml"), TestConfig("https://crm.example/hook"));
  auto good = RunHandoff({"check", dir.File("good.yaml")}, kEnv);
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_NE(good.out.find("ok"), std::string::npos);

  std::string bad = TestConfig("https://crm.example/hook");
  bad.replace(bad.find("    adapter: form"), 17, "    adapter: typeform2");
  WriteFile(dir.File("bad.yaml"), bad);
  auto r = RunHandoff({"check", dir.File("bad.yaml")}, kEnv);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(std::regex_search(r.err, std::regex("bad\\.yaml:\\d+: source 'website': unknown "
                                                  "adapter 'typeform2'")))
      << r.err;

  WriteFile(dir.File("typo.yaml"),
            "workspace: w\nroutes:\n  - name: r\n    when: { chanel: form }\n");
  auto t = RunHandoff({"check", dir.File("typo.yaml")}, kEnv);
  EXPECT_EQ(t.exit_code, 1);
  EXPECT_NE(t.err.find("typo.yaml:4: unknown key 'chanel'"), std::string::npos) << t.err;

  auto missing_env = RunHandoff({"check", dir.File("good.yaml")}, {{"HANDOFF_ADMIN_TOKEN", ""}});
  // An empty admin token is too short: still reported with its line.
  EXPECT_EQ(missing_env.exit_code, 1);
  EXPECT_NE(missing_env.err.find("admin_token must be at least 16 characters"), std::string::npos)
      << missing_env.err;

  WriteFile(dir.File("leaky.yaml"), "workspace: w\nsources:\n  web: { adapter: form }\n");
  auto leaky = RunHandoff({"check", "--strict", dir.File("leaky.yaml")}, kEnv);
  EXPECT_EQ(leaky.exit_code, 1);
  EXPECT_NE(leaky.err.find("leaky.yaml:3: source 'web' is handled by no route"), std::string::npos)
      << leaky.err;
}

TEST(Cli, CheckWarnsAboutRoutingThatLeaks) {
  TempDir dir;
  const std::string routing = R"(workspace: w
team: [{ id: ana }, { id: ben }]
enrich:
  urgency: [{ level: emergency, match: flood }]
sources:
  web: { adapter: form, token: form-token-0123456789 }
  chat: { adapter: json, channel: chat, token: chat-token-0123456789, map: { name: who } }
destinations:
  crm: { connector: webhook, url: "https://crm.example/hook" }
  sheet: { connector: google_sheets, spreadsheet_id: abc, access_token: tok }
  mail: { connector: smtp, url: "smtp://mail.example:587", from: "a@example.com" }
  sms: { connector: twilio_sms, account_sid: AC1, auth_token: t, from: "+14155550100" }
routes:
  - name: urgent
    when: { urgency: emergency }
    assign: { strategy: by_skill, pool: [ana, ben], available_only: true }
    task: { title: Call, due: 5m }
    notify: [{ via: sheet }]
    deliver: [crm]
  - name: mail only
    when: { channel: chat }
    reply: { via: sms, text: "Thanks" }
    assign: ana
    task: { title: Reply, due: 5m }
    notify: [{ via: crm }]
    escalate:
      - { after: 5m, notify: owner }
    deliver: [mail]
)";
  WriteFile(dir.File("routing.yaml"), routing);
  auto r = RunHandoff({"check", "--strict", dir.File("routing.yaml")}, kEnv);
  EXPECT_EQ(r.exit_code, 1);
  for (const char* want :
       {"routing.yaml:6: source 'web' is routed only when its content matches a route's "
        "conditions and there is no fallback route",
        "routing.yaml:18: route 'urgent' sends notifications through 'sheet', a google_sheets "
        "destination",
        "routing.yaml:14: route 'urgent' assigns by_skill but nobody in its pool has skills",
        "routing.yaml:14: route 'urgent' assigns only to available people but names no fallback "
        "and nobody is on call",
        "routing.yaml:20: route 'mail only' delivers only messages (email, chat, SMS): no system "
        "keeps a record of its inquiries",
        "routing.yaml:27: route 'mail only': the escalation chain ends by telling the owner "
        "again",
        "routing.yaml:22: route 'mail only' texts the lead back, but none of its sources maps a "
        "phone"}) {
    EXPECT_NE(r.err.find(want), std::string::npos) << want << "\n" << r.err;
  }
  // A destination used only for notifications is used.
  EXPECT_EQ(r.err.find("destination 'sheet' is not used"), std::string::npos) << r.err;

  // Once the chat source maps a phone, the text-back can be sent.
  std::string config = routing;
  config.replace(config.find("map: { name: who }"), 18, "map: { name: who, phone: tel }");
  WriteFile(dir.File("routing.yaml"), config);
  auto mapped = RunHandoff({"check", dir.File("routing.yaml")}, kEnv);
  EXPECT_EQ(mapped.err.find("texts the lead back"), std::string::npos) << mapped.err;
  EXPECT_NE(mapped.err.find("delivers only messages"), std::string::npos) << mapped.err;
}

TEST(Cli, CheckAuditsWhoHearsAboutLeaks) {
  TempDir dir;
  const std::string base = R"(workspace: w
server: { admin_token: admin-token-0123456789 }
team: [{ id: ana, phone: "+14155550101" }]
sources:
  web: { adapter: form, token: form-token-0123456789, map: { name: who } }
destinations:
  crm: { connector: webhook, url: "https://crm.example/hook" }
  sheet: { connector: google_sheets, spreadsheet_id: abc, range: "Leads!A1", token: tok }
  text-lead: { connector: twilio_sms, account_sid: AC1, auth_token: t, from: "+14155550100", to: lead, body: "Thanks {{contact.name}}" }
routes:
  - name: all
    fallback: true
    assign: ana
    task: { title: Call, due: 5m }
    deliver: [crm, sheet, text-lead]
)";
  WriteFile(dir.File("quiet.yaml"), base);
  auto quiet = RunHandoff({"check", dir.File("quiet.yaml")}, kEnv);
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_NE(quiet.err.find("quiet.yaml:1: no alert channel (alerts.via)"), std::string::npos)
      << quiet.err;
  // The SMS destination texts the lead, but the form maps no phone.
  EXPECT_NE(quiet.err.find("quiet.yaml:11: route 'all' delivers to 'text-lead', which texts the "
                           "lead, but none of its sources maps a phone"),
            std::string::npos)
      << quiet.err;

  WriteFile(dir.File("sheet.yaml"), base + "alerts:\n  via: [sheet]\n");
  auto sheet = RunHandoff({"check", dir.File("sheet.yaml")}, kEnv);
  EXPECT_EQ(sheet.exit_code, 1);
  EXPECT_NE(sheet.err.find("sheet.yaml:17: alerts go through 'sheet', a google_sheets "
                           "destination"),
            std::string::npos)
      << sheet.err;

  WriteFile(dir.File("same.yaml"), base + "alerts:\n  via: [crm]\n");
  auto same = RunHandoff({"check", dir.File("same.yaml")}, kEnv);
  EXPECT_EQ(same.exit_code, 0) << same.err;
  EXPECT_NE(same.err.find("same.yaml:17: 'crm' is the only alert channel and also a delivery "
                          "destination"),
            std::string::npos)
      << same.err;
  EXPECT_EQ(same.err.find("no alert channel"), std::string::npos) << same.err;

  WriteFile(dir.File("owner.yaml"),
            base +
                "alerts:\n  via: [{ via: crm, to: owner }, { via: crm, to: zed }]\n  "
                "leak_after: { unacknowledged_task: soon }\n");
  auto owner = RunHandoff({"check", dir.File("owner.yaml")}, kEnv);
  EXPECT_EQ(owner.exit_code, 1);
  EXPECT_NE(owner.err.find("owner.yaml:17: alerts: 'to: owner' means nothing here"),
            std::string::npos)
      << owner.err;
  EXPECT_NE(owner.err.find("owner.yaml:17: alerts: 'zed' is not on the team"), std::string::npos)
      << owner.err;
  EXPECT_NE(owner.err.find("owner.yaml:18: alerts unacknowledged_task (`due` or a duration after "
                           "it)"),
            std::string::npos)
      << owner.err;
}

TEST(Cli, CheckCatchesDestinationsEveryDeliveryWouldFail) {
  TempDir dir;
  std::string config = TestConfig("https://crm.example/hook");
  config.replace(config.find(kHookSecret), std::string(kHookSecret).size(), "whsec_***not-base64");
  WriteFile(dir.File("secret.yaml"), config);
  auto r = RunHandoff({"check", dir.File("secret.yaml")}, kEnv);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(std::regex_search(r.err, std::regex("secret\\.yaml:\\d+: destination 'crm': ")))
      << r.err;

  std::string header = TestConfig("https://crm.example/hook");
  header.replace(header.find("    timeout: 2s"), 14,
                 "    headers: { webhook-id: forged }\n    timeout: 2s");
  WriteFile(dir.File("header.yaml"), header);
  auto h = RunHandoff({"check", dir.File("header.yaml")}, kEnv);
  EXPECT_EQ(h.exit_code, 1);
  EXPECT_NE(h.err.find("destination 'crm'"), std::string::npos) << h.err;
}

TEST(Cli, ServeRefusesABadConfigWithTheReason) {
  TempDir dir;
  WriteFile(dir.File("bad.yaml"), "workspace: w\nserver: { listen: nowhere }\n");
  auto r = RunHandoff({"serve", "--config", dir.File("bad.yaml")}, kEnv);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.yaml:2: listen must be HOST:PORT"), std::string::npos) << r.err;
}

// server.lease from the config, or from --lease over it; /readyz shows the one in force. A bad
// --lease is refused before anything starts.
TEST(Cli, ServeTakesTheLeaseFromItsFlagOverTheConfig) {
  TempDir dir;
  WriteFile(dir.File("handoff.yaml"), TestConfig("http://127.0.0.1:9/crm", "[1s]", "  lease: 4s"));
  for (const char* bad : {"1s", "11m", "soon"}) {
    auto r = RunHandoff({"serve", "--config", dir.File("handoff.yaml"), "--lease", bad}, kEnv);
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("--lease must be a duration from 2s to 10m"), std::string::npos) << r.err;
  }
  auto lease_of = [](ServerProcess& server) {
    json ready = json::parse(server.ApiGet("/readyz").body, nullptr, false);
    return ready.is_discarded() ? -1.0 : ready["node"].value("lease_seconds", -1.0);
  };
  {
    ServerProcess server(dir.File("handoff.yaml"), dir.File("a.db"), kEnv);
    server.Start();
    EXPECT_EQ(lease_of(server), 4.0);
  }
  ServerProcess server(dir.File("handoff.yaml"), dir.File("b.db"), kEnv);
  server.set_extra_args({"--lease", "2500ms"});
  server.Start();
  EXPECT_EQ(lease_of(server), 2.5);
}

TEST(Cli, InboxKeepsTheRecordUntilMarkedDone) {
  TempDir dir;
  Sink sink;
  std::string config = TestConfig(sink.url("/crm"));
  config.replace(config.find("destinations:\n"), 14,
                 "destinations:\n  inbox:\n    connector: inbox\n");
  const std::string web_route = "due: 15m }\n    deliver: [crm]";
  config.replace(config.find(web_route), web_route.size(), "due: 15m }\n    deliver: [crm, inbox]");
  WriteFile(dir.File("handoff.yaml"), config);
  ASSERT_EQ(RunHandoff({"check", dir.File("handoff.yaml")}, kEnv).exit_code, 0);
  ServerProcess server(dir.File("handoff.yaml"), dir.File("handoff.db"));
  server.Start();
  auto posted = server.Post(std::string("/in/website?key=") + kFormToken,
                            "full_name=Grace+Hopper&phone=4155550142&details=Leaking+tap",
                            "application/x-www-form-urlencoded");
  ASSERT_EQ(posted.status, 202);
  std::string id = json::parse(posted.body)["id"];

  json items;
  for (int i = 0; i < 200; ++i) {
    items = json::parse(server.ApiGet("/api/v1/inbox").body)["items"];
    if (!items.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(items.size(), 1u);
  const json& item = items[0];
  EXPECT_EQ(item["state"], "open");
  EXPECT_EQ(item["owner"], "ana");
  EXPECT_EQ(item["inquiry"]["id"], id);
  EXPECT_EQ(item["inquiry"]["message"], "Leaking tap");
  EXPECT_EQ(item["task"]["title"], "Reply to Grace Hopper");
  std::string item_id = item["id"];
  // The inbox handoff is confirmed with the record's id, like any destination.
  json shown = json::parse(server.ApiGet("/api/v1/inquiries/" + id).body);
  bool confirmed = false;
  for (const json& h : shown["handoffs"]) {
    if (h["destination"] == "inbox")
      confirmed = h["state"] == "confirmed" && h["remote_id"] == "inbox:" + item_id;
  }
  EXPECT_TRUE(confirmed) << shown.dump();

  auto list = RunHandoff({"inbox", "--url", server.base_url(), "--token", kAdminToken});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("Grace Hopper"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("+14155550142"), std::string::npos) << list.out;

  auto done =
      RunHandoff({"inbox", "done", item_id, "--url", server.base_url(), "--token", kAdminToken});
  EXPECT_EQ(done.exit_code, 0) << done.err;
  EXPECT_TRUE(json::parse(server.ApiGet("/api/v1/inbox").body)["items"].empty());
  json closed = json::parse(server.ApiGet("/api/v1/inbox?state=done").body)["items"];
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_FALSE(closed[0]["done_at"].is_null());

  auto unknown = RunHandoff({"inbox", "done", "0190f0aa-0000-7000-8000-000000000001", "--url",
                             server.base_url(), "--token", kAdminToken});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("404"), std::string::npos) << unknown.err;
  EXPECT_EQ(server.ApiGet("/api/v1/inbox?state=maybe").status, 400);
}

TEST(Cli, InquiriesListAndShowReadTheRunningServer) {
  TempDir dir;
  Sink sink;
  WriteFile(dir.File("handoff.yaml"), TestConfig(sink.url("/crm")));
  ServerProcess server(dir.File("handoff.yaml"), dir.File("handoff.db"));
  server.Start();
  auto posted = server.Post(std::string("/in/website?key=") + kFormToken,
                            "full_name=Grace+Hopper&email=grace%40example.com&details=Hi",
                            "application/x-www-form-urlencoded");
  ASSERT_EQ(posted.status, 202);
  std::string id = json::parse(posted.body)["id"];
  ASSERT_TRUE(sink.WaitFor([](const auto& d) { return d.size() == 1; }));

  auto list = RunHandoff({"inquiries", "list", "--url", server.base_url(), "--token", kAdminToken});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(id), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("Grace Hopper"), std::string::npos);

  auto show = RunHandoff({"inquiries", "show", id, "--url", server.base_url()}, kEnv);
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("timeline"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("handoff.confirmed"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("route     web leads\n"), std::string::npos) << show.out;

  auto json_out = RunHandoff(
      {"inquiries", "show", id, "--json", "--url", server.base_url(), "--token", kAdminToken});
  EXPECT_EQ(json::parse(json_out.out)["inquiry"]["id"], id);

  auto wrong = RunHandoff(
      {"inquiries", "list", "--url", server.base_url(), "--token", "wrong-token-0123456789"});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("401"), std::string::npos);
  auto unknown = RunHandoff({"inquiries", "show", "00000000-0000-7000-8000-000000000000", "--url",
                             server.base_url(), "--token", kAdminToken});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("404"), std::string::npos);
}

TEST(Cli, SourcesShowsUrlsVerificationAndCountsOfTheRunningServer) {
  TempDir dir;
  Sink sink;
  WriteFile(dir.File("handoff.yaml"), TestConfig(sink.url("/crm")));
  ServerProcess server(dir.File("handoff.yaml"), dir.File("handoff.db"));
  server.Start();
  ASSERT_EQ(server
                .Post(std::string("/in/website?key=") + kFormToken,
                      "full_name=Grace+Hopper&email=grace%40example.com&details=Hi",
                      "application/x-www-form-urlencoded")
                .status,
            202);
  ASSERT_EQ(server
                .Post("/in/website?key=wrong-key-0123456789", "details=Hi",
                      "application/x-www-form-urlencoded")
                .status,
            401);
  // The rejection is counted without anyone waiting for it: poll until both counts show.
  json sources;
  ASSERT_TRUE(Eventually([&] {
    auto r = RunHandoff({"sources", "--json", "--url", server.base_url(), "--token", kAdminToken});
    sources = json::parse(r.out, nullptr, false);
    if (r.exit_code != 0 || sources.is_discarded()) return false;
    for (const auto& s : sources["sources"]) {
      if (s["name"] == "website" && s["last_day"]["rejected"] == 1) return true;
    }
    return false;
  })) << sources.dump(2);
  ASSERT_EQ(sources["sources"].size(), 3u);
  for (const auto& s : sources["sources"]) {
    if (s["name"] != "website") continue;
    EXPECT_EQ(s["webhook_url"], "https://hooks.test.example/in/website");
    EXPECT_EQ(s["last_hour"]["accepted"], 1);
    EXPECT_EQ(s["last_day"]["rejected_by_reason"]["bad_credentials"], 1);
  }

  auto text = RunHandoff({"sources", "--url", server.base_url()}, kEnv);
  EXPECT_EQ(text.exit_code, 0) << text.err;
  for (const char* want :
       {"SOURCE", "LAST ACCEPTED", "website", "calls", "chat", "hmac-sha256", "1/1", "never",
        "https://hooks.test.example/in/website", "bad_credentials 1"}) {
    EXPECT_NE(text.out.find(want), std::string::npos) << want << "\n" << text.out;
  }
  EXPECT_EQ(text.out.find(kFormToken), std::string::npos) << "never print a secret";

  auto help = RunHandoff({"sources", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--json"), std::string::npos);
  auto wrong =
      RunHandoff({"sources", "--url", server.base_url(), "--token", "wrong-token-0123456789"});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("401"), std::string::npos);
}

TEST(Cli, DemoRunsTheFiveStagesAndDeliversToItsCrm) {
  TempDir dir;
  auto r = RunHandoff(
      {"demo", "--seconds", "5", "--interval", "0.4", "--port", "0", "--db", dir.File("demo.db")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m,
                                std::regex("(\\d+) posted, (\\d+) accepted \\(202\\), (\\d+) "
                                           "delivered to the demo CRM, (\\d+) duplicate")))
      << r.out << r.err;
  int accepted = std::stoi(m[2]), delivered = std::stoi(m[3]), duplicates = std::stoi(m[4]);
  EXPECT_GE(accepted, 4);              // at least one inquiry on each of the four channels
  EXPECT_GE(delivered, accepted - 1);  // the last one may still be in flight at the stop
  EXPECT_EQ(duplicates, 0);
  for (const char* channel : {"form", "call", "chat", "booking"}) {
    EXPECT_NE(r.out.find(std::string("  ") + channel), std::string::npos) << channel;
  }
}

TEST(Cli, LogJsonWritesOneJsonObjectPerLine) {
  TempDir dir;
  auto r = RunHandoff({"--log-json", "demo", "--seconds", "1", "--interval", "5", "--port", "0",
                       "--db", dir.File("demo.db")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  int lines = 0;
  std::istringstream in(r.err);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("msg")) << line;
    ++lines;
  }
  EXPECT_GE(lines, 2);  // at least "serving" and "stopped"
  EXPECT_NE(r.err.find("\"msg\":\"handoff stopped\""), std::string::npos) << r.err;
}

}  // namespace
}  // namespace handoff::testing
