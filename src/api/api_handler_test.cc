#include "api/api_handler.h"

#include <future>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace handoff {
namespace {

using nlohmann::json;

constexpr Micros kT0 = 1'773'498'725LL * kMicrosPerSecond;  // 2026-03-14T14:32:05Z
constexpr char kAdmin[] = "admin-token-0123456789";

class ApiSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.workspace = "acme";
    config_.business.public_url = "https://hooks.acme.example";
    config_.server.admin_token = kAdmin;
    SourceConfig web;
    web.name = "website";
    web.adapter = "html_form";
    web.auth.tokens = {"form_key_0123456789abcdef", "form_key_previous_0123456"};
    SourceConfig flow;
    flow.name = "webflow";
    flow.adapter = "webflow";
    flow.auth.hmac_secrets = {"wf_client_secret_0123456789"};
    SourceConfig open;
    open.name = "open";
    open.adapter = "json";
    open.channel = "chat";
    config_.sources = {web, flow, open};
    RegisterBuiltinSources(registry_);
    auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    api_ = std::make_unique<ApiHandler>(
        &config_, store_.get(), &clock_, [] { return absl::OkStatus(); }, nullptr, &registry_);
  }
  void TearDown() override { store_->Shutdown(); }

  void CountAt(const std::string& source, const std::string& outcome, const std::string& reason,
               Micros at, int64_t n) {
    ASSERT_TRUE(store_
                    ->Write([&](WriteTx& tx) {
                      return tx.CountEntry("acme", source, outcome, reason, at, n);
                    })
                    .ok());
  }

  HttpResponse Get(const std::string& path, const std::string& token = kAdmin) {
    HttpRequest r;
    r.method = "GET";
    r.path = r.target = path;
    r.headers = {{"authorization", "Bearer " + token}};
    std::promise<HttpResponse> answered;
    api_->Handle(std::move(r), [&](HttpResponse resp) { answered.set_value(resp); });
    return answered.get_future().get();
  }

  json Source(const json& body, const std::string& name) {
    for (const json& s : body["sources"]) {
      if (s["name"] == name) return s;
    }
    ADD_FAILURE() << "no source " << name << " in " << body.dump(2);
    return json::object();
  }

  testing::TempDir dir_;
  FakeClock clock_{kT0};
  Config config_;
  SourceAdapterRegistry registry_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ApiHandler> api_;
};

TEST_F(ApiSourcesTest, ListsEverySourceWithItsUrlVerificationAndCounts) {
  const Micros ten_min_ago = kT0 - 10 * kMicrosPerMinute;
  const Micros five_hours_ago = kT0 - 5 * kMicrosPerHour;
  CountAt("website", "accepted", "", ten_min_ago, 3);
  CountAt("website", "accepted", "", five_hours_ago, 4);
  CountAt("website", "duplicate", "", ten_min_ago, 2);
  CountAt("website", "spam", "", ten_min_ago, 5);
  CountAt("website", "spam", "", five_hours_ago, 1);
  CountAt("website", "rejected", "bad_credentials", ten_min_ago, 6);
  CountAt("website", "rejected", "missing_field", five_hours_ago, 1);
  CountAt("webflow", "rejected", "stale_timestamp", ten_min_ago, 1);
  CountAt("webflow", "updated", "", ten_min_ago, 1);
  CountAt("webflow", "ignored", "unknown thread", ten_min_ago, 2);
  CountAt("website", "accepted", "", kT0 - 2 * kMicrosPerDay, 100);  // outside both windows

  Inquiry i;
  i.id = "01960000-0000-7000-8000-000000000001";
  i.workspace = "acme";
  i.source = "website";
  i.channel = Channel::kForm;
  i.received_at = ten_min_ago + 17 * kMicrosPerSecond;
  i.occurred_at = i.received_at;
  i.stage = Stage::kEntry;
  i.status = "received";
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.InsertInquiry(i); }).ok());

  HttpResponse r = Get("/api/v1/sources");
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = json::parse(r.body);
  ASSERT_EQ(body["sources"].size(), 3u);
  EXPECT_EQ(body["public_url"], "https://hooks.acme.example");

  const json web = Source(body, "website");
  EXPECT_EQ(web["adapter"], "html_form");
  EXPECT_EQ(web["channel"], "form");
  EXPECT_EQ(web["webhook_url"], "https://hooks.acme.example/in/website/{token}");
  EXPECT_EQ(web["webhook_url_with_workspace"],
            "https://hooks.acme.example/in/acme/website/{token}");
  EXPECT_EQ(web["verification"], "token");
  EXPECT_EQ(web["verification_detail"]["tokens"], 2);
  EXPECT_EQ(web["verification_detail"]["token_in"][0], "path");
  EXPECT_NE(web["verification_detail"]["adapter_checks"].get<std::string>().find("honeypot"),
            std::string::npos);
  EXPECT_EQ(r.body.find("form_key_0123456789abcdef"), std::string::npos) << "never a secret";
  EXPECT_EQ(web["last_accepted_at"], "2026-03-14T14:22:22.000Z");
  const json& hour = web["last_hour"];
  EXPECT_EQ(hour["accepted"], 3);
  EXPECT_EQ(hour["duplicates"], 2);
  EXPECT_EQ(hour["spam"], 5);
  EXPECT_EQ(hour["rejected"], 6);
  EXPECT_EQ(hour["rejected_by_reason"], (json{{"bad_credentials", 6}}));
  EXPECT_EQ(hour["last_accepted_minute"], "2026-03-14T14:22:00.000Z");
  const json& day = web["last_day"];
  EXPECT_EQ(day["accepted"], 7);
  EXPECT_EQ(day["spam"], 6);
  EXPECT_EQ(day["rejected"], 7);
  EXPECT_EQ(day["rejected_by_reason"], (json{{"bad_credentials", 6}, {"missing_field", 1}}));

  const json flow = Source(body, "webflow");
  EXPECT_EQ(flow["webhook_url"], "https://hooks.acme.example/in/webflow");
  EXPECT_EQ(flow["verification"], "hmac-sha256");
  EXPECT_EQ(flow["verification_detail"]["signature_secrets"], 1);
  EXPECT_NE(
      flow["verification_detail"]["adapter_checks"].get<std::string>().find("x-webflow-signature"),
      std::string::npos);
  EXPECT_EQ(flow["last_hour"]["updated"], 1);
  EXPECT_EQ(flow["last_hour"]["ignored"], 2);
  EXPECT_EQ(flow["last_hour"]["rejected_by_reason"]["stale_timestamp"], 1);
  EXPECT_TRUE(flow["last_accepted_at"].is_null());
  EXPECT_TRUE(flow["last_hour"]["last_accepted_minute"].is_null());

  const json open = Source(body, "open");
  EXPECT_EQ(open["channel"], "chat");
  EXPECT_EQ(open["verification"], "none");
  EXPECT_TRUE(open["verification_detail"].contains("warning"));
  EXPECT_EQ(open["last_day"]["accepted"], 0);
}

TEST_F(ApiSourcesTest, NeedsTheAdminToken) {
  EXPECT_EQ(Get("/api/v1/sources", "wrong-token-0123456789").status, 401);
}

}  // namespace
}  // namespace handoff
