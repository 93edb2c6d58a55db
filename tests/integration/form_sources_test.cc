// The form sources through the real binary: Webflow (signed), Gravity Forms and Contact Form 7
// (token), and a plain HTML form (key in the URL, honeypot, Origin, 303 to the thank-you page).
// Each stores its inquiry as the API shows it, answers a redelivery with the first inquiry's id,
// and counts what it refused in /api/v1/sources.
#include <chrono>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/server_process.h"
#include "tests/support/test_config.h"

namespace handoff::testing {
namespace {

using nlohmann::json;

constexpr char kWebflowSecret[] = "wf_client_secret_0123456789";
constexpr char kWebflowOldSecret[] = "wf_client_secret_previous_42";
constexpr char kGfToken[] = "gf_token_0123456789abcdef";
constexpr char kCf7Token[] = "cf7_token_0123456789abcdef";
constexpr char kFormKey[] = "form_key_0123456789abcdef";
constexpr char kOldFormKey[] = "form_key_previous_0123456";

std::string Config(const std::string& sink_url) {
  return R"(workspace: test-works
business:
  name: Test Works
  public_url: https://hooks.test.example
server:
  admin_token: ${HANDOFF_ADMIN_TOKEN}
team:
  - { id: ana, name: Ana Ortiz }
sources:
  webflow:
    adapter: webflow
    signature: { secret: [)" +
         std::string(kWebflowSecret) + ", " + kWebflowOldSecret + R"(] }
  gravity:
    adapter: gravity_forms
    token: )" +
         kGfToken +
         R"(
    token_header: x-gf-token
    map: { service: "5.1", location: "6" }
  wordpress:
    adapter: contact_form_7
    token: )" +
         kCf7Token +
         R"(
  contact:
    adapter: html_form
    token: [)" +
         kFormKey + ", " + kOldFormKey + R"(]
    honeypot: website
    thank_you_url: https://plumbing.example/thanks
    allowed_origins: [https://plumbing.example]
destinations:
  crm:
    connector: webhook
    url: )" +
         sink_url +
         R"(
    secret: )" +
         kHookSecret +
         R"(
    allow_private: true
    retry: [200ms]
routes:
  - name: everything
    fallback: true
    assign: ana
    deliver: [crm]
)";
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class FormSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_.File("handoff.yaml"), Config(sink_.url("/crm")));
    server_ = std::make_unique<ServerProcess>(dir_.File("handoff.yaml"), dir_.File("handoff.db"));
    server_->Start();
  }

  HttpClientResponse PostWebflow(const std::string& body, const std::string& secret,
                                 int64_t ts_ms) {
    const std::string ts = std::to_string(ts_ms);
    return server_->Post(
        "/in/webflow", body, "application/json",
        {{"x-webflow-timestamp", ts}, {"x-webflow-signature", HmacHex(secret, ts + ":" + body)}});
  }

  json Inquiry(const std::string& id) {
    auto r = server_->ApiGet("/api/v1/inquiries/" + id);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false)["inquiry"];
  }

  size_t CountInquiries(const std::string& source) {
    auto r = server_->ApiGet("/api/v1/inquiries?source=" + source);
    return json::parse(r.body, nullptr, false)["inquiries"].size();
  }

  json Source(const std::string& name) {
    json body = json::parse(server_->ApiGet("/api/v1/sources").body, nullptr, false);
    for (const auto& s : body["sources"]) {
      if (s["name"] == name) return s;
    }
    return json();
  }

  static std::string Id(const HttpClientResponse& r) {
    return json::parse(r.body, nullptr, false).value("id", "");
  }
  static std::string Status(const HttpClientResponse& r) {
    return json::parse(r.body, nullptr, false).value("status", "");
  }
  static std::string ErrorCode(const HttpClientResponse& r) {
    return json::parse(r.body, nullptr, false).value("/error/code"_json_pointer, "");
  }

  TempDir dir_;
  Sink sink_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(FormSourcesTest, WebflowSignedSubmissionIsStoredOnceAndBadSignaturesAreCounted) {
  const std::string body =
      R"({"triggerType":"form_submission","payload":{"name":"Contact Us","siteId":"site1",)"
      R"("data":{"Name":"Ana Ortiz","Email":"ana@example.com","Phone Number":14155550101,)"
      R"("Message":"AC is down"},"submittedAt":"2026-03-14T14:32:03.117Z",)"
      R"("id":"sub-6321a1f4","formId":"form-42","pageUrl":"https://cool.example/contact"}})";
  auto first = PostWebflow(body, kWebflowSecret, NowMs());
  ASSERT_EQ(first.status, 202) << first.body;
  const std::string id = Id(first);
  json i = Inquiry(id);
  EXPECT_EQ(i["channel"], "form");
  EXPECT_EQ(i["contact_as_received"]["name"], "Ana Ortiz");
  EXPECT_EQ(i["contact_as_received"]["phone"], "14155550101");
  EXPECT_EQ(i["message"], "AC is down");
  EXPECT_EQ(i["provider_event_id"], "sub-6321a1f4");
  EXPECT_EQ(i["fields"]["form_name"], "Contact Us");
  EXPECT_EQ(i["attribution"]["landing_page"], "https://cool.example/contact");

  // Webflow's retry: new timestamp, signed with the secret being rotated out.
  auto again = PostWebflow(body, kWebflowOldSecret, NowMs() + 1000);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Status(again), "duplicate");
  EXPECT_EQ(Id(again), id);

  auto forged = PostWebflow(body, "an-attackers-secret-0123", NowMs());
  EXPECT_EQ(forged.status, 401);
  EXPECT_EQ(ErrorCode(forged), "bad_credentials");
  auto stale = PostWebflow(body, kWebflowSecret, NowMs() - 10 * 60 * 1000);
  EXPECT_EQ(stale.status, 401);
  EXPECT_EQ(ErrorCode(stale), "stale_timestamp");
  auto other =
      PostWebflow(R"({"triggerType":"site_publish","payload":{}})", kWebflowSecret, NowMs());
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(Status(other), "ignored");
  EXPECT_EQ(CountInquiries("webflow"), 1u);

  json s;
  ASSERT_TRUE(Eventually([&] {
    s = Source("webflow");
    return s.is_object() && s["last_hour"]["rejected"] == 2 && s["last_hour"]["ignored"] == 1;
  })) << s.dump(2);
  EXPECT_EQ(s["last_hour"]["accepted"], 1);
  EXPECT_EQ(s["last_hour"]["duplicates"], 1);
  EXPECT_EQ(s["last_hour"]["rejected_by_reason"]["bad_credentials"], 1);
  EXPECT_EQ(s["last_hour"]["rejected_by_reason"]["stale_timestamp"], 1);
  EXPECT_EQ(s["webhook_url"], "https://hooks.test.example/in/webflow");
  EXPECT_EQ(s["verification"], "hmac-sha256");
  EXPECT_FALSE(s["last_accepted_at"].is_null());
}

TEST_F(FormSourcesTest, GravityFormsEntryIsMappedByFieldIdAndDedupedOnTheEntryId) {
  const std::string body =
      R"({"id":"1187","form_id":"3","date_created":"2026-03-14 14:32:03",)"
      R"("source_url":"https://plumbing.example/contact/","1.3":"Grace","1.6":"Hopper",)"
      R"("2":"grace@example.com","3":"(415) 555-0142","4":"Slow kitchen drain",)"
      R"("5.1":"Drains","6":"Oakland","ip":"203.0.113.7"})";
  auto r = server_->Post("/in/gravity", body, "application/json", {{"X-GF-Token", kGfToken}});
  ASSERT_EQ(r.status, 202) << r.body;
  json i = Inquiry(Id(r));
  EXPECT_EQ(i["contact_as_received"]["name"], "Grace Hopper");
  EXPECT_EQ(i["contact_as_received"]["email"], "grace@example.com");
  EXPECT_EQ(i["service"], "Drains");
  EXPECT_EQ(i["location"], "Oakland");
  EXPECT_EQ(i["occurred_at"], "2026-03-14T14:32:03.000Z");
  EXPECT_EQ(i["fields"]["entry_id"], "1187");

  auto again = server_->Post("/in/gravity", body, "application/json", {{"X-GF-Token", kGfToken}});
  EXPECT_EQ(Status(again), "duplicate");
  EXPECT_EQ(Id(again), Id(r));
  auto anonymous = server_->Post("/in/gravity", body, "application/json");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(ErrorCode(anonymous), "bad_credentials");
  EXPECT_EQ(CountInquiries("gravity"), 1u);
}

TEST_F(FormSourcesTest, ContactForm7PostIsStoredAndARepostIsADuplicate) {
  const std::string body =
      R"({"your-name":"Katherine Johnson","your-email":"katherine@example.com",)"
      R"("your-tel":"+1 757 555 0123","your-subject":"Roof","your-message":"Hail damage?"})";
  auto r = server_->Post("/in/wordpress", body, "application/json; charset=UTF-8",
                         {{"X-Handoff-Token", kCf7Token}});
  ASSERT_EQ(r.status, 202) << r.body;
  json i = Inquiry(Id(r));
  EXPECT_EQ(i["contact_as_received"]["phone"], "+1 757 555 0123");
  EXPECT_EQ(i["message"], "Hail damage?");
  EXPECT_EQ(i["fields"]["subject"], "Roof");
  auto again = server_->Post("/in/wordpress", body, "application/json; charset=UTF-8",
                             {{"X-Handoff-Token", kCf7Token}});
  EXPECT_EQ(Status(again), "duplicate");
  EXPECT_EQ(Id(again), Id(r));
  // A key in the path means nothing to this adapter.
  EXPECT_EQ(
      server_->Post(std::string("/in/wordpress/") + kCf7Token, body, "application/json").status,
      404);
}

TEST_F(FormSourcesTest, HtmlFormRedirectsBrowsersTrapsBotsAndChecksKeyAndOrigin) {
  const std::string body =
      "name=Ana+Ortiz&email=ana%40example.com&phone=%28415%29+555-0101"
      "&message=No+hot+water&website=";
  const std::string path = std::string("/in/contact/") + kFormKey;
  const std::pair<std::string, std::string> browser = {"Accept", "text/html,*/*;q=0.8"};
  const std::pair<std::string, std::string> origin = {"Origin", "https://plumbing.example"};

  auto r = server_->Post(path, body, "application/x-www-form-urlencoded", {browser, origin});
  ASSERT_EQ(r.status, 303) << r.body;
  EXPECT_EQ(r.Header("location"), "https://plumbing.example/thanks");
  ASSERT_TRUE(Eventually([&] { return CountInquiries("contact") == 1; }));
  auto listed = json::parse(server_->ApiGet("/api/v1/inquiries?source=contact").body);
  EXPECT_EQ(listed["inquiries"][0]["contact_as_received"]["name"], "Ana Ortiz");

  // A double click: the same answer, still one inquiry.
  auto twice = server_->Post(path, body, "application/x-www-form-urlencoded", {browser, origin});
  EXPECT_EQ(twice.status, 303);
  // A script asking for JSON, with the key being rotated in via the query.
  auto script = server_->Post(
      std::string("/in/contact?token=") + kOldFormKey, "name=Ben+Cho&message=Quote+please",
      "application/x-www-form-urlencoded", {{"Accept", "application/json"}});
  EXPECT_EQ(script.status, 202) << script.body;
  EXPECT_EQ(Inquiry(Id(script))["contact_as_received"]["name"], "Ben Cho");

  // Bots: a filled honeypot looks accepted both ways and stores nothing.
  const std::string bot = "name=Cheap+Pills&message=Buy&website=http%3A%2F%2Fspam.example";
  auto bot_browser = server_->Post(path, bot, "application/x-www-form-urlencoded", {browser});
  EXPECT_EQ(bot_browser.status, 303);
  EXPECT_EQ(bot_browser.Header("location"), "https://plumbing.example/thanks");
  auto bot_script = server_->Post(path, bot, "application/x-www-form-urlencoded",
                                  {{"Accept", "application/json"}});
  EXPECT_EQ(bot_script.status, 202);
  EXPECT_EQ(Status(bot_script), "accepted");
  EXPECT_EQ(Id(bot_script).size(), 36u);
  EXPECT_EQ(server_->ApiGet("/api/v1/inquiries/" + Id(bot_script)).status, 404);

  auto wrong_key = server_->Post("/in/contact/not-the-key-0123456789", body,
                                 "application/x-www-form-urlencoded", {browser});
  EXPECT_EQ(wrong_key.status, 401);
  EXPECT_EQ(ErrorCode(wrong_key), "bad_credentials");
  auto elsewhere = server_->Post(path, body, "application/x-www-form-urlencoded",
                                 {browser, {"Origin", "https://evil.example"}});
  EXPECT_EQ(elsewhere.status, 401);
  EXPECT_EQ(CountInquiries("contact"), 2u);

  json s;
  ASSERT_TRUE(Eventually([&] {
    s = Source("contact");
    return s.is_object() && s["last_hour"]["spam"] == 2 && s["last_hour"]["rejected"] == 2;
  })) << s.dump(2);
  EXPECT_EQ(s["last_hour"]["accepted"], 2);
  EXPECT_EQ(s["last_hour"]["duplicates"], 1);
  EXPECT_EQ(s["last_hour"]["rejected_by_reason"]["bad_credentials"], 2);
  EXPECT_EQ(s["webhook_url"], "https://hooks.test.example/in/contact/{token}");
  EXPECT_EQ(s["verification_detail"]["tokens"], 2);
  EXPECT_EQ(s.dump().find(kFormKey), std::string::npos);
}

}  // namespace
}  // namespace handoff::testing
