#include "entry/sources/webflow/webflow_adapter.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "entry/common/source_auth.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

constexpr char kSecret[] = "wf_client_secret_0123456789";
constexpr char kOldSecret[] = "wf_client_secret_previous_42";
// 2026-03-14T14:32:05Z, two seconds after the sample's submittedAt.
constexpr Micros kNow = 1'773'498'725LL * kMicrosPerSecond;
constexpr int64_t kNowMs = kNow / kMicrosPerMilli;

std::string Testdata(const std::string& name) {
  std::ifstream in(std::string(HANDOFF_TESTDATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Sign(const std::string& secret, const std::string& ts, const std::string& body) {
  return HexEncode(HmacSha256(secret, ts + ":" + body));
}

HttpRequest Post(std::string body, std::vector<std::pair<std::string, std::string>> extra = {}) {
  HttpRequest r;
  r.method = "POST";
  r.path = r.target = "/in/webflow";
  r.headers.push_back({"content-type", "application/json"});
  for (auto& h : extra) r.headers.push_back(std::move(h));
  r.body = std::move(body);
  return r;
}

HttpRequest Signed(const std::string& body, const std::string& secret = kSecret,
                   int64_t ts_ms = kNowMs) {
  const std::string ts = std::to_string(ts_ms);
  return Post(body, {{"x-webflow-timestamp", ts}, {"x-webflow-signature", Sign(secret, ts, body)}});
}

class WebflowAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterWebflowSource(registry_);
    adapter_ = registry_.Find("webflow");
    ASSERT_NE(adapter_, nullptr);
    source_.name = "webflow";
    source_.adapter = "webflow";
    source_.auth.hmac_secrets = {kSecret};
  }
  SourceAdapterRegistry registry_;
  const SourceAdapter* adapter_ = nullptr;
  SourceConfig source_;
};

TEST_F(WebflowAdapterTest, MapsAFormSubmissionEndToEnd) {
  const std::string body = Testdata("form_submission.json");
  const HttpRequest request = Signed(body);
  ASSERT_TRUE(adapter_->Verify(source_, request, kNow).ok());
  auto d = adapter_->Parse(source_, request);
  ASSERT_TRUE(d.ok()) << d.status();
  const Inquiry& i = d->inquiry;
  EXPECT_EQ(i.channel, Channel::kForm);
  EXPECT_EQ(i.received.name, "Ana Ortiz");
  EXPECT_EQ(i.received.email, "ana@example.com");
  EXPECT_EQ(i.received.phone, "14155550101");  // Webflow sends numbers as numbers
  EXPECT_EQ(i.message, "Our AC stopped working, can someone come today?");
  EXPECT_EQ(i.service, "ac-repair");
  EXPECT_EQ(i.attribution.utm_source, "google");
  EXPECT_EQ(i.attribution.landing_page, "https://www.cool-air.example/contact");
  EXPECT_EQ(i.occurred_at, 1'773'498'723'117'000LL);
  EXPECT_EQ(i.provider_event_id, "6321a1f4a3e5d5d04b2b2e84");
  EXPECT_EQ(d->dedupe_key, "event:6321a1f4a3e5d5d04b2b2e84");
  EXPECT_EQ(i.raw_payload, body);  // unknown fields (schema, Newsletter) kept verbatim
  EXPECT_EQ(i.raw_content_type, "application/json");
  EXPECT_EQ(i.fields["kind"], "form_submission");
  EXPECT_EQ(i.fields["form_name"], "Contact Us");
  EXPECT_EQ(i.fields["form_id"], "65429eadebe8a9f3a30f62d0");
  EXPECT_EQ(i.fields["site_id"], "65427cf400e02b306eaa049c");
  EXPECT_EQ(i.fields["page_id"], "65427cf400e02b306eaa04a1");
  EXPECT_EQ(i.fields["published_path"], "/contact");
}

TEST_F(WebflowAdapterTest, ARedeliveryCarriesTheSameDedupeKey) {
  const std::string body = Testdata("form_submission.json");
  auto first = adapter_->Parse(source_, Signed(body));
  // Webflow retries with a new timestamp and signature; the submission id is what repeats.
  auto again = adapter_->Parse(source_, Signed(body, kSecret, kNowMs + 60'000));
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->dedupe_key, again->dedupe_key);
  EXPECT_FALSE(first->dedupe_key.empty());
}

TEST_F(WebflowAdapterTest, SignatureChecks) {
  const std::string body = Testdata("form_submission.json");
  const std::string ts = std::to_string(kNowMs);
  const std::string good = Sign(kSecret, ts, body);
  struct Case {
    const char* name;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string want;  // rejection code, "ok" when accepted
  };
  const std::string stale = std::to_string(kNowMs - 6 * 60 * 1000);
  const std::string future = std::to_string(kNowMs + 6 * 60 * 1000);
  const std::string edge = std::to_string(kNowMs - 4 * 60 * 1000);
  const Case cases[] = {
      {"valid", {{"x-webflow-timestamp", ts}, {"x-webflow-signature", good}}, body, "ok"},
      {"uppercase hex",
       {{"x-webflow-timestamp", ts},
        {"x-webflow-signature",
         [&] {
           std::string s = good;
           for (char& c : s) c = static_cast<char>(toupper(c));
           return s;
         }()}},
       body,
       "ok"},
      {"missing signature", {{"x-webflow-timestamp", ts}}, body, "bad_credentials"},
      {"missing timestamp", {{"x-webflow-signature", good}}, body, "bad_credentials"},
      {"no headers", {}, body, "bad_credentials"},
      {"wrong secret",
       {{"x-webflow-timestamp", ts},
        {"x-webflow-signature", Sign("not-the-secret-0123", ts, body)}},
       body,
       "bad_credentials"},
      {"body changed",
       {{"x-webflow-timestamp", ts}, {"x-webflow-signature", good}},
       body + " ",
       "bad_credentials"},
      {"signed without the colon",
       {{"x-webflow-timestamp", ts},
        {"x-webflow-signature", HexEncode(HmacSha256(kSecret, ts + body))}},
       body,
       "bad_credentials"},
      {"timestamp changed",
       {{"x-webflow-timestamp", std::to_string(kNowMs + 1)}, {"x-webflow-signature", good}},
       body,
       "bad_credentials"},
      {"not hex",
       {{"x-webflow-timestamp", ts}, {"x-webflow-signature", "zz" + good.substr(2)}},
       body,
       "bad_credentials"},
      {"truncated",
       {{"x-webflow-timestamp", ts}, {"x-webflow-signature", good.substr(0, 62)}},
       body,
       "bad_credentials"},
      {"timestamp not a number",
       {{"x-webflow-timestamp", "2026-03-14T14:32:05Z"}, {"x-webflow-signature", good}},
       body,
       "bad_credentials"},
      {"two signatures",
       {{"x-webflow-timestamp", ts}, {"x-webflow-signature", good}, {"x-webflow-signature", good}},
       body,
       "bad_credentials"},
      {"stale",
       {{"x-webflow-timestamp", stale}, {"x-webflow-signature", Sign(kSecret, stale, body)}},
       body,
       "stale_timestamp"},
      {"from the future",
       {{"x-webflow-timestamp", future}, {"x-webflow-signature", Sign(kSecret, future, body)}},
       body,
       "stale_timestamp"},
      {"four minutes old",
       {{"x-webflow-timestamp", edge}, {"x-webflow-signature", Sign(kSecret, edge, body)}},
       body,
       "ok"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(RejectionCode(adapter_->Verify(source_, Post(c.body, c.headers), kNow)), c.want);
  }
}

TEST_F(WebflowAdapterTest, RotationAcceptsEverySecretAndToleranceIsConfigurable) {
  const std::string body = Testdata("form_submission.json");
  source_.auth.hmac_secrets = {kSecret, kOldSecret};
  EXPECT_TRUE(adapter_->Verify(source_, Signed(body, kOldSecret), kNow).ok());
  EXPECT_TRUE(adapter_->Verify(source_, Signed(body, kSecret), kNow).ok());
  EXPECT_EQ(RejectionCode(adapter_->Verify(source_, Signed(body, "third-secret-0123456"), kNow)),
            "bad_credentials");

  const HttpRequest two_minutes_old = Signed(body, kSecret, kNowMs - 2 * 60 * 1000);
  EXPECT_TRUE(adapter_->Verify(source_, two_minutes_old, kNow).ok());
  source_.settings = {{"tolerance", "1m"}};
  EXPECT_EQ(RejectionCode(adapter_->Verify(source_, two_minutes_old, kNow)), "stale_timestamp");
  source_.settings = {{"tolerance", 180}};
  EXPECT_TRUE(adapter_->Verify(source_, two_minutes_old, kNow).ok());
}

TEST_F(WebflowAdapterTest, UnsignedDashboardWebhooksUseTheToken) {
  const std::string body = Testdata("form_submission.json");
  source_.auth.hmac_secrets.clear();
  source_.auth.tokens = {"wf_url_token_0123456789"};
  HttpRequest with_token = Post(body);
  with_token.query = "token=wf_url_token_0123456789";
  EXPECT_TRUE(adapter_->Verify(source_, with_token, kNow).ok());
  EXPECT_EQ(RejectionCode(adapter_->Verify(source_, Post(body), kNow)), "bad_credentials");
  // A signature header alone is not a token.
  EXPECT_EQ(RejectionCode(adapter_->Verify(source_, Signed(body), kNow)), "bad_credentials");
}

TEST_F(WebflowAdapterTest, LabelsMatchCaseInsensitivelyAndTheMapOverrides) {
  const std::string body = Testdata("custom_labels.json");
  auto d = adapter_->Parse(source_, Post(body));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.received.name, "Ben Cho");  // "FIRST NAME" + "last name"
  EXPECT_EQ(d->inquiry.received.email, "ben@example.com");
  EXPECT_EQ(d->inquiry.received.phone, "");  // "Mobile Number" is not a default label
  EXPECT_EQ(d->inquiry.message, "");
  EXPECT_EQ(d->inquiry.attribution.landing_page, "");  // pageUrl is newer and may be missing
  EXPECT_FALSE(d->inquiry.fields.contains("page_url"));

  source_.map = {{"phone", "mobile number"}, {"message", "PROJECT DETAILS"}};
  d = adapter_->Parse(source_, Post(body));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.received.phone, "+1 415 555 0102");
  EXPECT_EQ(d->inquiry.message, "Replace two windows");
  EXPECT_EQ(d->inquiry.received.email, "ben@example.com");  // defaults still apply elsewhere

  source_.required = {"location"};
  EXPECT_EQ(RejectionCode(adapter_->Parse(source_, Post(body)).status()), "missing_field");
}

TEST_F(WebflowAdapterTest, ReadsTheLegacyV1Body) {
  auto d = adapter_->Parse(source_, Post(Testdata("legacy_v1.json")));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.received.name, "Maria Lopez");
  EXPECT_EQ(d->inquiry.message, "Do you service Oakland?");
  EXPECT_EQ(d->dedupe_key, "event:6321a1f4a3e5d5d04b2b2e86");
  EXPECT_EQ(d->inquiry.fields["site_id"], "62749158efef318abc8d5a0f");
  EXPECT_EQ(d->inquiry.fields["form_name"], "Contact Us");
  EXPECT_GT(d->inquiry.occurred_at, 0);
}

TEST_F(WebflowAdapterTest, RefusesWhatIsNotASubmission) {
  struct Case {
    const char* name;
    std::string body;
    std::string content_type;
    std::string want;
  };
  const Case cases[] = {
      {"another trigger", Testdata("site_publish.json"), "application/json", "ignored"},
      {"no payload", R"({"triggerType":"form_submission"})", "application/json", "missing_field"},
      {"no data", R"({"triggerType":"form_submission","payload":{"id":"x"}})", "application/json",
       "missing_field"},
      {"data not an object", R"({"triggerType":"form_submission","payload":{"data":[1]}})",
       "application/json", "missing_field"},
      {"nothing mapped",
       R"({"triggerType":"form_submission","payload":{"id":"x","data":{"Size":"L"}}})",
       "application/json", "missing_field"},
      {"not json", "{", "application/json", "malformed_body"},
      {"a form body", "Name=x", "application/x-www-form-urlencoded", "unsupported_media_type"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    HttpRequest r = Post(c.body);
    r.headers[0].second = c.content_type;
    EXPECT_EQ(RejectionCode(adapter_->Parse(source_, r).status()), c.want);
  }
}

}  // namespace
}  // namespace handoff
