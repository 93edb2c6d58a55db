// The real binary on loopback with a temporary SQLite file: one inquiry through all five
// stages, redeliveries, identity across channels, retries, dead handoffs, restarts.
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/server_process.h"
#include "tests/support/test_config.h"

namespace handoff::testing {
namespace {

using nlohmann::json;

class PipelineTest : public ::testing::Test {
 protected:
  void StartWith(Sink::Responder responder = nullptr,
                 const std::string& retry = "[200ms, 200ms, 200ms]") {
    sink_ = responder ? std::make_unique<Sink>(responder) : std::make_unique<Sink>();
    WriteFile(dir_.File("handoff.yaml"), TestConfig(sink_->url("/crm"), retry));
    server_ = std::make_unique<ServerProcess>(dir_.File("handoff.yaml"), dir_.File("handoff.db"));
    server_->Start();
  }

  std::string PostForm(const std::string& body) {
    auto r = server_->Post(std::string("/in/website?key=") + kFormToken, body,
                           "application/x-www-form-urlencoded");
    EXPECT_EQ(r.status, 202) << r.body;
    return json::parse(r.body, nullptr, false).value("id", "");
  }

  HttpClientResponse PostCall(const json& body) {
    return server_->Post("/in/calls", body.dump(), "application/json",
                         {{"X-Handoff-Token", kCallToken}});
  }

  json Show(const std::string& id) {
    auto r = server_->ApiGet("/api/v1/inquiries/" + id);
    if (r.status != 200) return json();
    return json::parse(r.body, nullptr, false);
  }

  // Waits until the inquiry reaches `status`; returns its last view.
  json WaitForStatus(const std::string& id, const std::string& status) {
    json last;
    Eventually([&] {
      last = Show(id);
      return last.is_object() && last["inquiry"]["status"] == status;
    });
    return last;
  }

  static std::vector<std::string> Kinds(const json& shown) {
    std::vector<std::string> kinds;
    for (const auto& e : shown["timeline"]["events"]) kinds.push_back(e["kind"]);
    return kinds;
  }

  TempDir dir_;
  std::unique_ptr<Sink> sink_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(PipelineTest, ReadyzShowsADestinationWhoseBreakerOpened) {
  StartWith(
      [](int, const HttpRequest&) { return HttpResponse::JsonError(503, "down", "maintenance"); });
  auto readyz = [&] { return json::parse(server_->ApiGet("/readyz").body, nullptr, false); };
  EXPECT_EQ(readyz()["destinations"]["crm"]["breaker"], "closed");
  // Ten failed attempts in a row (the default min_requests) open it; the process stays ready.
  for (int i = 0; i < 4; ++i) {
    PostForm("full_name=Al&details=Hi&email=al" + std::to_string(i) + "%40x.com");
  }
  json last;
  Eventually([&] {
    last = readyz();
    return last["destinations"]["crm"]["breaker"] == "open";
  });
  EXPECT_EQ(last["status"], "ready");
  EXPECT_EQ(last["destinations"]["crm"]["times_opened"], 1);
  EXPECT_TRUE(last["destinations"]["crm"].contains("open_until"));
}

TEST_F(PipelineTest, OneInquiryTravelsAllFiveStages) {
  StartWith();
  std::string id = PostForm(
      "full_name=++Ana++Ortiz+&email=Ana.Ortiz%40Example.COM&phone=%28415%29+555-0101"
      "&details=No+hot+water&service=water-heater&utm_source=google");
  ASSERT_FALSE(id.empty());

  json shown = WaitForStatus(id, "delivered");
  ASSERT_TRUE(shown.is_object()) << server_->Logs();
  const json& inquiry = shown["inquiry"];
  EXPECT_EQ(inquiry["stage"], "transfer");
  EXPECT_EQ(inquiry["channel"], "form");
  EXPECT_EQ(inquiry["source"], "website");
  EXPECT_EQ(inquiry["contact"]["name"], "Ana Ortiz");
  EXPECT_EQ(inquiry["contact"]["email"], "ana.ortiz@example.com");
  EXPECT_EQ(inquiry["contact"]["phone"], "+14155550101");
  EXPECT_EQ(inquiry["contact_as_received"]["phone"], "(415) 555-0101");
  EXPECT_EQ(inquiry["message"], "No hot water");
  EXPECT_EQ(inquiry["service"], "water-heater");
  EXPECT_EQ(inquiry["route"], "web leads");
  EXPECT_NE(inquiry["raw"]["body"].get<std::string>().find("full_name="), std::string::npos);
  ASSERT_TRUE(shown["contact"].is_object());
  EXPECT_EQ(shown["contact"]["phone"], "+14155550101");

  ASSERT_EQ(shown["tasks"].size(), 1u);
  EXPECT_EQ(shown["tasks"][0]["owner"], "ana");
  EXPECT_EQ(shown["tasks"][0]["title"], "Reply to Ana Ortiz");
  EXPECT_EQ(shown["tasks"][0]["state"], "open");

  ASSERT_EQ(shown["handoffs"].size(), 1u);
  const json& handoff = shown["handoffs"][0];
  EXPECT_EQ(handoff["destination"], "crm");
  EXPECT_EQ(handoff["state"], "confirmed");
  EXPECT_EQ(handoff["attempts"], 1);
  EXPECT_EQ(handoff["remote_id"], "sink-0");

  std::vector<std::string> kinds = Kinds(shown);
  for (const char* k :
       {"received", "enriched", "routed", "handoff.confirmed", "inquiry.delivered"}) {
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), k), kinds.end()) << k;
  }
  for (const char* stage : {"entry", "enrich", "trigger", "transfer"}) {
    EXPECT_TRUE(shown["timeline"]["stages"].contains(stage)) << stage;
  }
  int64_t seq = 0;
  for (const auto& e : shown["timeline"]["events"]) EXPECT_EQ(e["seq"], ++seq);

  // The destination saw the canonical inquiry with Standard Webhooks headers.
  auto deliveries = sink_->deliveries();
  ASSERT_EQ(deliveries.size(), 1u);
  const auto& d = deliveries[0];
  EXPECT_EQ(d.webhook_id, handoff["id"]);
  std::map<std::string, std::string> h(d.headers.begin(), d.headers.end());
  EXPECT_EQ(h["idempotency-key"], handoff["id"]);
  EXPECT_EQ(h["webhook-signature"],
            StandardWebhookSignature(kHookSecret, d.webhook_id, h["webhook-timestamp"], d.body));
  json payload = json::parse(d.body);
  EXPECT_EQ(payload["inquiry"]["id"], id);
  EXPECT_EQ(payload["inquiry"]["contact"]["phone"], "+14155550101");
  EXPECT_EQ(payload["inquiry"]["route"], "web leads");
  EXPECT_EQ(payload["task"]["owner"], "ana");
}

TEST_F(PipelineTest, JsonSourceMapsDottedPathsAndVerifiesHmac) {
  StartWith();
  std::string body = json{{"visitor", {{"name", "Luis"}, {"email", "luis@example.net"}}},
                          {"message", {{"id", "m-1"}, {"text", "Drain is clogged"}}}}
                         .dump();
  auto r = server_->Post("/in/chat", body, "application/json",
                         {{"X-Chat-Signature", "sha256=" + HmacHex(kChatSecret, body)}});
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id = json::parse(r.body)["id"];
  json shown = WaitForStatus(id, "delivered");
  EXPECT_EQ(shown["inquiry"]["channel"], "chat");
  EXPECT_EQ(shown["inquiry"]["message"], "Drain is clogged");
  EXPECT_EQ(shown["inquiry"]["provider_event_id"], "m-1");
  EXPECT_EQ(shown["tasks"][0]["owner"], "ana");

  auto bad =
      server_->Post("/in/chat", body, "application/json",
                    {{"X-Chat-Signature", "sha256=" + HmacHex("wrong-secret-012345", body)}});
  EXPECT_EQ(bad.status, 401);
}

TEST_F(PipelineTest, RedeliveriesAreRecognisedEvenWhenConcurrent) {
  StartWith();
  json call = {{"call_id", "CA-dup-1"}, {"caller", "+1 415 555 0177"}, {"caller_name", "Tom"}};
  auto first = PostCall(call);
  ASSERT_EQ(first.status, 202) << first.body;
  std::string id = json::parse(first.body)["id"];
  auto again = PostCall(call);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(json::parse(again.body)["id"], id);
  EXPECT_EQ(json::parse(again.body)["status"], "duplicate");

  // Ten copies of another delivery at once: one inquiry, one id for all.
  json burst = {{"call_id", "CA-burst"}, {"caller", "+1 415 555 0188"}};
  std::vector<std::thread> threads;
  std::vector<std::string> ids(10);
  std::vector<int> statuses(10);
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] {
      auto r = PostCall(burst);
      statuses[i] = r.status;
      ids[i] = json::parse(r.body, nullptr, false).value("id", "");
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 202), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 9);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);

  auto list = json::parse(server_->ApiGet("/api/v1/inquiries?source=calls").body);
  EXPECT_EQ(list["inquiries"].size(), 2u);
  // Only two inquiries, so only two deliveries ever.
  ASSERT_TRUE(sink_->WaitFor([](const auto& d) { return d.size() >= 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(sink_->count(), 2u);
}

TEST_F(PipelineTest, SamePersonAcrossChannelsIsOneContact) {
  StartWith();
  std::string form =
      PostForm("full_name=Priya+Raman&email=priya%40example.org&phone=415-555-0199&details=Quote");
  auto call = PostCall({{"call_id", "CA-priya"}, {"caller", "+14155550199"}});
  ASSERT_EQ(call.status, 202);
  std::string call_id = json::parse(call.body)["id"];
  json a = WaitForStatus(form, "delivered");
  json b = WaitForStatus(call_id, "delivered");
  ASSERT_TRUE(a["inquiry"]["contact_id"].is_string());
  EXPECT_EQ(a["inquiry"]["contact_id"], b["inquiry"]["contact_id"]);
  EXPECT_EQ(b["tasks"][0]["owner"], "ben");
  EXPECT_EQ(b["tasks"][0]["title"], "Call back Priya Raman");  // the contact's name carried over
}

TEST_F(PipelineTest, RetriesUntilConfirmedWithTheSameWebhookId) {
  StartWith([](int n, const HttpRequest&) {
    if (n < 2) return HttpResponse::JsonError(503, "busy", "try later");
    return HttpResponse::Json(201, R"({"id":"crm-77"})");
  });
  std::string id = PostForm("full_name=Ben&email=b%40example.com&details=Hi");
  json shown = WaitForStatus(id, "delivered");
  ASSERT_TRUE(shown.is_object());
  EXPECT_EQ(shown["handoffs"][0]["attempts"], 3);
  EXPECT_EQ(shown["handoffs"][0]["remote_id"], "crm-77");
  std::vector<std::string> kinds = Kinds(shown);
  // One entry per attempt, named by its outcome.
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "handoff.retry_scheduled"), 2);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "handoff.confirmed"), 1);
  ASSERT_EQ(sink_->count(), 1u);
  EXPECT_EQ(sink_->deliveries()[0].webhook_id, shown["handoffs"][0]["id"]);
}

TEST_F(PipelineTest, PermanentRefusalIsDeadAndNeedsAttention) {
  StartWith([](int, const HttpRequest&) {
    return HttpResponse::JsonError(400, "bad", "rejected by the CRM");
  });
  std::string id = PostForm("full_name=Cy&email=c%40example.com&details=Hi");
  json shown = WaitForStatus(id, "attention");
  ASSERT_TRUE(shown.is_object()) << server_->Logs();
  EXPECT_EQ(shown["handoffs"][0]["state"], "dead");
  EXPECT_EQ(shown["handoffs"][0]["attempts"], 1);
  EXPECT_EQ(shown["handoffs"][0]["last_status"], 400);
  std::vector<std::string> kinds = Kinds(shown);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "handoff.dead"), kinds.end());
}

TEST_F(PipelineTest, ADeadHandoffIsReplayedWithItsIdFromTheCliAndTheApi) {
  // The CRM refuses the first request (the mapping was wrong), then accepts.
  StartWith([](int n, const HttpRequest&) {
    if (n == 0) return HttpResponse::JsonError(400, "bad", "rejected by the CRM");
    return HttpResponse::Json(201, R"({"id":"crm-9"})");
  });
  std::string id = PostForm("full_name=Di&email=d%40example.com&details=Hi");
  json dead = WaitForStatus(id, "attention");
  ASSERT_TRUE(dead.is_object()) << server_->Logs();
  std::string handoff_id = dead["handoffs"][0]["id"];

  // The API refuses a replay that names nothing, and GET.
  auto none = server_->ApiPost("/api/v1/handoffs/replay", "{}");
  EXPECT_EQ(none.status, 400) << none.body;
  EXPECT_NE(none.body.find("missing_field"), std::string::npos);
  auto bad = server_->ApiPost("/api/v1/handoffs/replay", R"({"destination":"crm","limit":0})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(server_->ApiGet("/api/v1/handoffs/replay").status, 405);

  CommandResult r = RunHandoff({"replay", "--destination", "crm", "--wait", "20", "--url",
                                server_->base_url(), "--token", kAdminToken});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("replayed 1 dead handoff(s) in 1 batch(es)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("after waiting: 1 confirmed, 0 dead again, 0 still pending"),
            std::string::npos)
      << r.out;

  json shown = WaitForStatus(id, "delivered");
  ASSERT_TRUE(shown.is_object());
  EXPECT_EQ(shown["handoffs"][0]["id"], handoff_id) << "same id, so the CRM can dedupe";
  EXPECT_EQ(shown["handoffs"][0]["remote_id"], "crm-9");
  std::vector<std::string> kinds = Kinds(shown);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "handoff.replayed"), kinds.end());
  ASSERT_EQ(sink_->count(), 1u);
  EXPECT_EQ(sink_->deliveries()[0].webhook_id, handoff_id);

  // Nothing dead is left: a second replay finds nothing.
  r = RunHandoff({"replay", "--handoff", handoff_id, "--url", server_->base_url(), "--token",
                  kAdminToken, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out, nullptr, false).value("replayed", -1), 0) << r.out;
  // Naming nothing is a usage error.
  r = RunHandoff({"replay", "--url", server_->base_url(), "--token", kAdminToken});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(PipelineTest, RetriesRunOutIntoDead) {
  StartWith([](int, const HttpRequest&) { return HttpResponse::JsonError(500, "down", "down"); },
            "[100ms, 100ms]");
  std::string id = PostForm("full_name=Di&email=d%40example.com&details=Hi");
  json shown = WaitForStatus(id, "attention");
  ASSERT_TRUE(shown.is_object());
  EXPECT_EQ(shown["handoffs"][0]["state"], "dead");
  EXPECT_EQ(shown["handoffs"][0]["attempts"], 3);
}

TEST_F(PipelineTest, UnfinishedDeliveriesResumeAfterAKill) {
  std::atomic<bool> healthy{false};
  StartWith(
      [&healthy](int, const HttpRequest&) {
        return healthy.load() ? HttpResponse::Json(200, "{}")
                              : HttpResponse::JsonError(503, "down", "down");
      },
      "[300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms]");
  std::string id = PostForm("full_name=Ed&email=e%40example.com&details=Hi");
  ASSERT_TRUE(Eventually([&] {
    json s = Show(id);
    return s.is_object() && s["handoffs"].size() == 1 && s["handoffs"][0]["attempts"] >= 1;
  }));
  server_->Kill();
  healthy.store(true);
  server_->Start();
  json shown = WaitForStatus(id, "delivered");
  ASSERT_TRUE(shown.is_object()) << server_->Logs();
  EXPECT_EQ(sink_->count(), 1u);
}

TEST_F(PipelineTest, ListFiltersAndPages) {
  StartWith();
  for (int i = 0; i < 5; ++i) {
    PostForm("full_name=P" + std::to_string(i) + "&email=p" + std::to_string(i) +
             "%40example.com&details=x");
  }
  ASSERT_EQ(PostCall({{"call_id", "CA-list"}, {"caller", "+14155550100"}}).status, 202);
  auto forms = json::parse(server_->ApiGet("/api/v1/inquiries?channel=form&limit=3").body);
  ASSERT_EQ(forms["inquiries"].size(), 3u);
  for (const auto& i : forms["inquiries"]) EXPECT_EQ(i["channel"], "form");
  ASSERT_TRUE(forms["next"].is_string());
  auto page2 = json::parse(server_
                               ->ApiGet("/api/v1/inquiries?channel=form&limit=3&before=" +
                                        forms["next"].get<std::string>())
                               .body);
  EXPECT_EQ(page2["inquiries"].size(), 2u);
  EXPECT_GT(forms["inquiries"][2]["id"].get<std::string>(),
            page2["inquiries"][0]["id"].get<std::string>());
  auto calls = json::parse(server_->ApiGet("/api/v1/inquiries?source=calls").body);
  EXPECT_EQ(calls["inquiries"].size(), 1u);
  EXPECT_EQ(server_->ApiGet("/api/v1/inquiries?channel=fax").status, 400);
  EXPECT_EQ(server_->ApiGet("/api/v1/inquiries?from=yesterday").status, 400);
  EXPECT_EQ(server_->ApiGet("/api/v1/inquiries?bogus=1").status, 400);
}

TEST_F(PipelineTest, ApiNeedsTheAdminToken) {
  StartWith();
  HttpClientRequest req;
  req.url = server_->base_url() + "/api/v1/inquiries";
  EXPECT_EQ(HttpFetch(req)->status, 401);
  req.headers.emplace_back("Authorization", "Bearer wrong-token-0123456789ab");
  EXPECT_EQ(HttpFetch(req)->status, 401);
  EXPECT_EQ(server_->ApiGet("/api/v1/inquiries/00000000-0000-7000-8000-000000000000").status, 404);
  HttpClientRequest health;
  health.url = server_->base_url() + "/healthz";
  EXPECT_EQ(HttpFetch(health)->status, 200);
}

TEST_F(PipelineTest, SigtermStopsGracefully) {
  StartWith();
  std::string id = PostForm("full_name=Flo&email=f%40example.com&details=Hi");
  WaitForStatus(id, "delivered");
  EXPECT_EQ(server_->Terminate(), 0);
  server_->Start();
  EXPECT_EQ(Show(id)["inquiry"]["status"], "delivered");
}

}  // namespace
}  // namespace handoff::testing
