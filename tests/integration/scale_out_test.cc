// Several `handoff serve` nodes on one PostgreSQL database (the real binary, a real cluster
// started by the test fixture, a real sink on loopback): nodes killed with SIGKILL lose
// nothing, a node frozen past its lease cannot overwrite the work another node took over, and
// the cluster-wide duties move when their holder dies.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/postgres_cluster.h"
#include "tests/support/server_process.h"
#include "tests/support/test_config.h"

namespace handoff::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// One test's database, dropped afterwards.
class ScaleOutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> url = CreateTestDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    db_ = *url;
  }
  void TearDown() override {
    nodes_.clear();
    (void)DropTestDatabase(db_);
  }

  ServerProcess& AddNode(const std::string& config_path) {
    const std::string name = fmt::format("node{}", nodes_.size() + 1);
    nodes_.push_back(ServerProcess::OnDatabase(config_path, db_, dir_.File(name)));
    return *nodes_.back();
  }

  std::set<std::string> DeliveredInquiryIds(const Sink& sink, const std::string& path) {
    std::set<std::string> ids;
    for (const Sink::Delivery& d : sink.deliveries()) {
      if (d.path != path) continue;
      json body = json::parse(d.body, nullptr, false);
      if (!body.is_discarded()) ids.insert(body["inquiry"]["id"].get<std::string>());
    }
    return ids;
  }

  TempDir dir_;
  std::string db_;
  std::vector<std::unique_ptr<ServerProcess>> nodes_;
};

TEST_F(ScaleOutTest, ThreeNodesUnderLoadLoseNothingWhenOneIsKilledEveryFewSeconds) {
  Sink sink;
  WriteFile(dir_.File("handoff.yaml"),
            TestConfig(sink.url("/crm"), "[100ms, 200ms, 400ms, 800ms, 1s, 1s, 1s, 1s, 1s, 1s]",
                       "  lease: 3s"));
  constexpr int kNodes = 3;
  std::vector<std::atomic<uint16_t>> ports(kNodes);  // 0 while a node is down
  for (int i = 0; i < kNodes; ++i) {
    AddNode(dir_.File("handoff.yaml")).Start();
    ports[i].store(nodes_[i]->port());
  }

  std::atomic<bool> stop{false};
  std::atomic<int> sent{0}, failed{0};
  std::mutex mu;
  std::vector<std::string> acked;
  std::vector<std::thread> clients;
  for (int c = 0; c < 12; ++c) {
    clients.emplace_back([&, c] {
      for (int n = 0; !stop.load(); ++n) {
        const uint16_t port = ports[(c + n) % kNodes].load();
        if (port == 0) continue;
        HttpClientRequest req;
        req.method = "POST";
        req.url = fmt::format("http://127.0.0.1:{}/in/calls", port);
        req.headers = {{"Content-Type", "application/json"}, {"X-Handoff-Token", kCallToken}};
        req.body = json{{"call_id", fmt::format("CA-{}-{}", c, n)},
                        {"caller", fmt::format("+1415555{:04d}", (c * 1000 + n) % 10000)}}
                       .dump();
        req.timeout = 5 * kMicrosPerSecond;
        ++sent;
        absl::StatusOr<HttpClientResponse> resp = HttpFetch(req);
        if (resp.ok() && resp->status == 202) {
          std::lock_guard<std::mutex> lock(mu);
          acked.push_back(json::parse(resp->body)["id"]);
        } else {
          ++failed;
        }
      }
    });
  }
  constexpr int kKills = 4;
  for (int k = 0; k < kKills; ++k) {
    std::this_thread::sleep_for(milliseconds(2500));
    const int victim = k % kNodes;
    ports[victim].store(0);
    nodes_[victim]->Kill();
    nodes_[victim]->Start();
    ports[victim].store(nodes_[victim]->port());
  }
  std::this_thread::sleep_for(milliseconds(1000));
  stop.store(true);
  for (std::thread& t : clients) t.join();

  const std::set<std::string> acked_ids(acked.begin(), acked.end());
  ASSERT_EQ(acked_ids.size(), acked.size()) << "the same id was acknowledged twice";
  ASSERT_GT(acked_ids.size(), 200u) << "too little load to mean anything";
  Eventually(
      [&] {
        const std::set<std::string> ids = DeliveredInquiryIds(sink, "/crm");
        for (const std::string& id : acked_ids) {
          if (!ids.count(id)) return false;
        }
        return true;
      },
      90000);
  const std::set<std::string> delivered = DeliveredInquiryIds(sink, "/crm");
  std::vector<std::string> lost;
  for (const std::string& id : acked_ids) {
    if (!delivered.count(id)) lost.push_back(id);
  }
  int missing_rows = 0;
  for (const std::string& id : acked_ids) {
    if (nodes_[missing_rows % kNodes]->ApiGet("/api/v1/inquiries/" + id).status != 200) {
      ++missing_rows;
    }
  }
  std::map<std::string, int> per_webhook_id;
  for (const Sink::Delivery& d : sink.deliveries()) ++per_webhook_id[d.webhook_id];
  int duplicates = 0;
  for (const auto& [id, n] : per_webhook_id) duplicates += n - 1;
  std::cout << fmt::format(
      "scale-out test: {} nodes, {} kills, {} requests sent, {} acked, {} not acked, lost {}, "
      "stored-missing {}, duplicate deliveries {}\n",
      kNodes, kKills, sent.load(), acked_ids.size(), failed.load(), lost.size(), missing_rows,
      duplicates);
  ::testing::Test::RecordProperty("acked", static_cast<int>(acked_ids.size()));
  ::testing::Test::RecordProperty("duplicates", duplicates);
  EXPECT_TRUE(lost.empty()) << "first lost id: " << (lost.empty() ? "" : lost[0]);
  EXPECT_EQ(missing_rows, 0);
  // At-least-once: a duplicate needs a kill between a delivery and its outcome's commit, so
  // there are at most as many as deliveries in flight at the kills (64 per node).
  EXPECT_LE(duplicates, kKills * 64);
}

TEST_F(ScaleOutTest, ANodeFrozenPastItsLeaseCannotOverwriteTheDeliveryAnotherNodeFinished) {
  // The first delivery attempt hangs in the destination long enough for the test to freeze
  // the node that made it; every later one is confirmed at once.
  std::atomic<bool> first_arrived{false};
  Sink sink([&](int n, const HttpRequest&) {
    if (n == 0) {
      first_arrived.store(true);
      std::this_thread::sleep_for(milliseconds(1500));
      return HttpResponse::Json(200, R"({"id":"from-the-frozen-node"})");
    }
    return HttpResponse::Json(200, R"({"id":"from-the-live-node"})");
  });
  WriteFile(dir_.File("handoff.yaml"),
            TestConfig(sink.url("/crm"), "[200ms, 200ms, 200ms]", "  lease: 2s"));
  ServerProcess& frozen = AddNode(dir_.File("handoff.yaml"));
  frozen.Start();
  HttpClientResponse posted =
      frozen.Post("/in/calls", json{{"call_id", "CA-zombie"}, {"caller", "+14155550100"}}.dump(),
                  "application/json", {{"X-Handoff-Token", kCallToken}});
  ASSERT_EQ(posted.status, 202) << posted.body;
  const std::string id = json::parse(posted.body)["id"];
  ASSERT_TRUE(Eventually([&] { return first_arrived.load(); }));
  ASSERT_EQ(::kill(frozen.pid(), SIGSTOP), 0);

  // Another node takes the delivery over once the frozen node's lease ran out, and finishes it.
  ServerProcess& live = AddNode(dir_.File("handoff.yaml"));
  live.Start();
  ASSERT_TRUE(sink.WaitFor([](const std::vector<Sink::Delivery>& d) { return d.size() >= 2; }));
  auto handoff_of = [&](ServerProcess& node) {
    json inquiry = json::parse(node.ApiGet("/api/v1/inquiries/" + id).body, nullptr, false);
    return inquiry.is_discarded() ? json() : inquiry["handoffs"][0];
  };
  ASSERT_TRUE(Eventually([&] { return handoff_of(live)["state"] == "confirmed"; }));
  const json confirmed = handoff_of(live);
  EXPECT_EQ(confirmed["remote_id"], "from-the-live-node");

  // The frozen node wakes up holding the first attempt's answer: its outcome is refused.
  ASSERT_EQ(::kill(frozen.pid(), SIGCONT), 0);
  ASSERT_TRUE(Eventually([&] {
    return frozen.Logs().find("no longer claimed with this lease") != std::string::npos;
  })) << frozen.Logs();
  std::this_thread::sleep_for(milliseconds(500));
  const json after = handoff_of(live);
  EXPECT_EQ(after, confirmed) << "the late outcome changed the handoff";
  json timeline = json::parse(live.ApiGet("/api/v1/inquiries/" + id).body)["timeline"]["events"];
  int confirmations = 0;
  for (const json& e : timeline) confirmations += e["kind"] == "handoff.confirmed" ? 1 : 0;
  EXPECT_EQ(confirmations, 1) << timeline.dump(1);
  // Both attempts reached the destination with the same webhook-id: it can drop the second.
  const std::vector<Sink::Delivery> deliveries = sink.deliveries();
  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_EQ(deliveries[0].webhook_id, deliveries[1].webhook_id);
}

TEST_F(ScaleOutTest, TheClusterDutiesMoveWithinSecondsWhenTheirHolderIsKilled) {
  Sink sink;
  std::string config = TestConfig(sink.url("/crm"), "[1s, 1s, 1s]", "  lease: 2s");
  config.replace(config.find("routes:\n"), 0,
                 "  probe-hook:\n    connector: webhook\n    url: " + sink.url("/probe") +
                     "\n    allow_private: true\n    retry: [1s]\n");
  config += "probes:\n  every: 1s\n  deadline: 5s\n  target: probe-hook\n  sources: [website]\n";
  WriteFile(dir_.File("handoff.yaml"), config);
  ServerProcess& a = AddNode(dir_.File("handoff.yaml"));
  ServerProcess& b = AddNode(dir_.File("handoff.yaml"));
  a.Start();
  b.Start();
  auto leader = [](ServerProcess& node) {
    json ready = json::parse(node.ApiGet("/readyz").body, nullptr, false);
    return !ready.is_discarded() && ready["node"]["leader"] == true;
  };
  // Exactly one node holds the duties.
  ASSERT_TRUE(Eventually([&] { return leader(a) != leader(b); }));
  ServerProcess& holder = leader(a) ? a : b;
  ServerProcess& other = leader(a) ? b : a;
  ASSERT_TRUE(sink.WaitFor([](const std::vector<Sink::Delivery>& d) {
    for (const Sink::Delivery& x : d) {
      if (x.path == "/probe") return true;
    }
    return false;
  }));

  holder.Kill();
  const auto killed = steady_clock::now();
  const size_t probes_before = DeliveredInquiryIds(sink, "/probe").size();
  ASSERT_TRUE(Eventually([&] { return leader(other); }, 20000));
  const double takeover = std::chrono::duration<double>(steady_clock::now() - killed).count();
  // The survivor now sends the probes.
  EXPECT_TRUE(Eventually([&] { return DeliveredInquiryIds(sink, "/probe").size() > probes_before; },
                         20000));
  std::cout << fmt::format("duties moved {:.1f} s after the holder was killed\n", takeover);
  EXPECT_LT(takeover, 10.0);
}

TEST_F(ScaleOutTest, ADashboardSessionStartedOnOneNodeIsKnownToTheOthers) {
  Sink sink;
  WriteFile(dir_.File("handoff.yaml"), TestConfig(sink.url("/crm")));
  ServerProcess& a = AddNode(dir_.File("handoff.yaml"));
  ServerProcess& b = AddNode(dir_.File("handoff.yaml"));
  a.Start();
  b.Start();
  HttpClientRequest sign_in;
  sign_in.method = "POST";
  sign_in.url = a.base_url() + "/api/v1/session";
  sign_in.headers = {{"Content-Type", "application/json"}};
  sign_in.body = json{{"token", kAdminToken}}.dump();
  absl::StatusOr<HttpClientResponse> signed_in = HttpFetch(sign_in);
  ASSERT_TRUE(signed_in.ok() && signed_in->status == 200);
  std::string cookie;
  for (const auto& [k, v] : signed_in->headers) {
    if (k == "set-cookie" || k == "Set-Cookie") cookie = v.substr(0, v.find(';'));
  }
  ASSERT_FALSE(cookie.empty());
  auto session_on = [&](ServerProcess& node) {
    HttpClientRequest req;
    req.url = node.base_url() + "/api/v1/session";
    req.headers = {{"Cookie", cookie}};
    absl::StatusOr<HttpClientResponse> r = HttpFetch(req);
    return r.ok() ? r->status : 0;
  };
  EXPECT_EQ(session_on(b), 200);
  // Signing out on b ends it on a too.
  HttpClientRequest out;
  out.method = "DELETE";
  out.url = b.base_url() + "/api/v1/session";
  out.headers = {{"Cookie", cookie},
                 {"X-CSRF-Token", json::parse(signed_in->body)["csrf_token"].get<std::string>()}};
  ASSERT_EQ(HttpFetch(out)->status, 200);
  EXPECT_EQ(session_on(a), 401);
}

}  // namespace
}  // namespace handoff::testing
