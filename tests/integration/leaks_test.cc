// The real binary on loopback: a destination that breaks is found as leaks, told to the alert
// channel once (with a count), shown in /api/v1/leaks, /readyz and /metrics, and when it heals
// the channel hears one recovery notice.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/server_process.h"
#include "tests/support/test_config.h"

namespace handoff::testing {
namespace {

using nlohmann::json;

std::vector<json> AlertsIn(const std::vector<Sink::Delivery>& deliveries) {
  std::vector<json> out;
  for (const Sink::Delivery& d : deliveries) {
    if (d.path == "/alerts") out.push_back(json::parse(d.body, nullptr, false));
  }
  return out;
}

int CountStartingWith(const std::vector<json>& alerts, const std::string& prefix) {
  int n = 0;
  for (const json& a : alerts) {
    if (a.value("text", "").rfind(prefix, 0) == 0) ++n;
  }
  return n;
}

// A sink whose `path` answers 503 while `down` is set, and 200 otherwise.
Sink::Responder DownWhile(const std::string& path, const std::atomic<bool>& down) {
  return [path, &down](int, const HttpRequest& request) {
    if (request.path == path && down.load()) {
      return HttpResponse::JsonError(503, "down", "maintenance");
    }
    return HttpResponse::Json(200, R"({"id":"ok"})");
  };
}

// The test config with the CRM at the sink's /crm (retried every second) plus `destinations`
// (YAML lines under `destinations:`) and `tail` appended at the end.
std::string ConfigWith(const Sink& sink, const std::string& destinations, const std::string& tail) {
  std::string config = TestConfig(sink.url("/crm"), "[1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s]");
  config.replace(config.find("routes:\n"), 0, destinations);
  return config + tail;
}

std::string WebhookAt(const Sink& sink, const std::string& name, const std::string& path) {
  return "  " + name + ":\n    connector: webhook\n    url: " + sink.url(path) +
         "\n    allow_private: true\n    retry: [1s, 1s, 1s]\n";
}

TEST(Leaks, ABrokenDestinationIsAlertedOnceAndItsRecoveryToo) {
  TempDir dir;
  std::atomic<bool> crm_down{true};
  Sink sink(DownWhile("/crm", crm_down));
  std::string config = ConfigWith(sink, WebhookAt(sink, "alerts-hook", "/alerts"),
                                  "alerts:\n  via: [alerts-hook]\n  leak_after: { "
                                  "unconfirmed_handoff: 1s }\n  scan_every: 1s\n");
  config.replace(config.find("    retry: [1s, 1s, 1s, 1s"), 0, "    breaker: { open_for: 1s }\n");
  WriteFile(dir.File("handoff.yaml"), config);
  ServerProcess server(dir.File("handoff.yaml"), dir.File("handoff.db"));
  server.Start();

  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto r = server.Post(std::string("/in/website?key=") + kFormToken,
                         "full_name=Al&details=Leak+test&email=al" + std::to_string(i) + "%40x.com",
                         "application/x-www-form-urlencoded");
    ASSERT_EQ(r.status, 202) << r.body;
    ids.push_back(json::parse(r.body).value("id", ""));
  }

  // All three handoffs to the CRM become leaks, in one group. A scan commits its new leaks
  // before their groups (LeakMonitor::Scan writes in chunks), so a read can fall between.
  json leaks;
  ASSERT_TRUE(Eventually([&] {
    leaks = json::parse(server.ApiGet("/api/v1/leaks").body, nullptr, false);
    return leaks.is_object() && leaks["leaks"].size() == 3 && !leaks["groups"].empty();
  })) << leaks.dump();
  for (const json& l : leaks["leaks"]) {
    EXPECT_EQ(l["kind"], "unconfirmed_handoff");
    EXPECT_EQ(l["destination"], "crm");
    EXPECT_EQ(l["state"], "open");
  }
  ASSERT_EQ(leaks["groups"].size(), 1u);
  EXPECT_EQ(leaks["groups"][0]["key"], "handoff:crm");
  EXPECT_EQ(leaks["groups"][0]["open"], 3);

  // The alert channel hears about it once, as a group.
  ASSERT_TRUE(sink.WaitFor([](const std::vector<Sink::Delivery>& d) {
    return CountStartingWith(AlertsIn(d),
                             "Leak alert (Test Works): handoffs to crm are not "
                             "confirmed") == 1;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // two more scans
  std::vector<json> alerts = AlertsIn(sink.deliveries());
  EXPECT_EQ(CountStartingWith(alerts, "Leak alert"), 1);
  EXPECT_EQ(alerts[0]["type"], "alert");
  EXPECT_EQ(alerts[0]["workspace"], "test-works");

  // The leak is on the inquiry's timeline.
  json shown = json::parse(server.ApiGet("/api/v1/inquiries/" + ids[0]).body, nullptr, false);
  bool on_timeline = false;
  for (const json& e : shown["timeline"]["events"]) {
    on_timeline = on_timeline || (e["kind"] == "leak.opened" && e["stage"] == "track");
  }
  EXPECT_TRUE(on_timeline) << shown.dump();

  // The alert channel works, and the metrics show the leaks and the traffic.
  json readyz = json::parse(server.ApiGet("/readyz").body, nullptr, false);
  EXPECT_EQ(readyz["alert_channels"]["alerts-hook"]["state"], "ok") << readyz.dump();
  auto metrics = server.ApiGet("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find(R"(handoff_leaks_open{kind="unconfirmed_handoff"} 3)"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(
      metrics.body.find(R"(handoff_ingress_requests_total{outcome="accepted",source="website"} 3)"),
      std::string::npos)
      << metrics.body;
  EXPECT_NE(
      metrics.body.find(R"(handoff_delivery_attempts_total{destination="crm",outcome="retry")"),
      std::string::npos);
  // Metrics need the admin token like the API.
  EXPECT_EQ(server.Post("/metrics", "", "text/plain").status, 401);

  // The CRM comes back: the handoffs are confirmed, the leaks close, one recovery notice.
  crm_down.store(false);
  ASSERT_TRUE(sink.WaitFor([](const std::vector<Sink::Delivery>& d) {
    return CountStartingWith(AlertsIn(d), "Recovered (Test Works): no longer handoffs to crm") == 1;
  }));
  leaks = json::parse(server.ApiGet("/api/v1/leaks").body, nullptr, false);
  EXPECT_TRUE(leaks["leaks"].empty()) << leaks.dump();
  json closed = json::parse(server.ApiGet("/api/v1/leaks?state=closed").body, nullptr, false);
  EXPECT_EQ(closed["leaks"].size(), 3u) << closed.dump();
  alerts = AlertsIn(sink.deliveries());
  EXPECT_NE(alerts.back()["text"].get<std::string>().find("3 leaks in all"), std::string::npos)
      << alerts.back().dump();

  // `handoff leaks` shows them through the API.
  auto cli = RunHandoff({"leaks", "--state", "all", "--url", server.base_url(), "--token",
                         kAdminToken, "--config", dir.File("handoff.yaml")},
                        {{"HANDOFF_ADMIN_TOKEN", kAdminToken}});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_NE(cli.out.find("unconfirmed_handoff"), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("handoffs to crm are not confirmed"), std::string::npos) << cli.out;
}

TEST(Probes, ProveEachPathAtTheProbeTargetAndAreAlertedWhenItBreaks) {
  TempDir dir;
  std::atomic<bool> probe_down{false};
  Sink sink(DownWhile("/probe", probe_down));
  const std::string config = ConfigWith(
      sink, WebhookAt(sink, "alerts-hook", "/alerts") + WebhookAt(sink, "probe-hook", "/probe"),
      "alerts:\n  via: [alerts-hook]\n  scan_every: 1s\n"
      "probes:\n  every: 2s\n  deadline: 2s\n  target: probe-hook\n  sources: [website]\n");
  WriteFile(dir.File("handoff.yaml"), config);
  ServerProcess server(dir.File("handoff.yaml"), dir.File("handoff.db"));
  server.Start();

  // A probe of the website reaches the probe target, routed like a real form inquiry.
  ASSERT_TRUE(sink.WaitFor([](const std::vector<Sink::Delivery>& d) {
    for (const Sink::Delivery& x : d) {
      if (x.path == "/probe") return true;
    }
    return false;
  }));
  json probe;
  for (const Sink::Delivery& d : sink.deliveries()) {
    if (d.path == "/probe") probe = json::parse(d.body, nullptr, false);
  }
  EXPECT_EQ(probe["inquiry"]["fields"]["synthetic"], true) << probe.dump();
  EXPECT_EQ(probe["inquiry"]["source"], "website");
  EXPECT_EQ(probe["task"]["state"], "done");  // never open work for anyone
  // Nothing reached the CRM, nobody was alerted.
  for (const Sink::Delivery& d : sink.deliveries()) {
    EXPECT_NE(d.path, "/crm");
    EXPECT_NE(d.path, "/alerts");
  }

  // The probe target breaks: the next probes miss their deadline, and the team hears of it.
  probe_down.store(true);
  ASSERT_TRUE(sink.WaitFor([](const std::vector<Sink::Delivery>& d) {
    return CountStartingWith(AlertsIn(d),
                             "Leak alert (Test Works): probes of website do not "
                             "make it through end to end") == 1;
  })) << server.Logs();
  json leaks = json::parse(server.ApiGet("/api/v1/leaks").body, nullptr, false);
  bool probe_leak = false;
  for (const json& l : leaks["leaks"]) probe_leak = probe_leak || l["kind"] == "probe_failed";
  EXPECT_TRUE(probe_leak) << leaks.dump();

  // The scorecard's Visibility counts the probes.
  json card = json::parse(server.ApiGet("/api/v1/scorecard?window=1h").body, nullptr, false);
  json visibility;
  for (const json& c : card["overall"]["checks"]) {
    if (c["check"] == "visibility") visibility = c;
  }
  EXPECT_TRUE(visibility["figures"].contains("probes")) << card.dump();
  EXPECT_GE(visibility["figures"]["probes"]["due"].get<int>(), 1) << visibility.dump();
}

}  // namespace
}  // namespace handoff::testing
