#include "entry/sources/json/json_adapter.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/time_format.h"
#include "entry/common/source_auth.h"
#include "entry/rejection.h"

namespace handoff {
namespace {

std::string Testdata(const std::string& name) {
  std::ifstream in(std::string(HANDOFF_TESTDATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HttpRequest Post(std::string body, std::string content_type = "application/json",
                 std::vector<std::pair<std::string, std::string>> extra = {}) {
  HttpRequest r;
  r.method = "POST";
  r.target = r.path = "/in/website";
  r.headers.push_back({"content-type", std::move(content_type)});
  for (auto& h : extra) r.headers.push_back(std::move(h));
  r.body = std::move(body);
  return r;
}

SourceConfig WebflowSource() {
  SourceConfig s;
  s.name = "website";
  s.adapter = "json";
  s.map = {{"first_name", "payload.data.First Name"},
           {"last_name", "payload.data.Last Name"},
           {"email", "payload.data.Email"},
           {"phone", "payload.data.Phone"},
           {"message", "payload.data.Message"},
           {"service", "payload.data.Service"},
           {"location", "payload.answers.0.text"},
           {"utm_source", "payload.tracking.utm_source"},
           {"utm_medium", "payload.tracking.utm_medium"},
           {"utm_campaign", "payload.tracking.utm_campaign"},
           {"landing_page", "payload.pageUrl"},
           {"occurred_at", "payload.submittedAt"},
           {"event_id", "payload.id"}};
  s.required = {"email"};
  return s;
}

class JsonAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterJsonSource(registry_);
    adapter_ = registry_.Find("json");
    ASSERT_NE(adapter_, nullptr);
  }
  SourceAdapterRegistry registry_;
  const SourceAdapter* adapter_ = nullptr;
};

TEST_F(JsonAdapterTest, MapsAWebflowSubmissionEndToEnd) {
  const std::string body = Testdata("webflow_form_submission.json");
  SourceConfig source = WebflowSource();
  source.auth.hmac_secrets = {"whsec_0123456789abcdef"};
  source.auth.hmac_prefix = "sha256=";
  const HttpRequest request =
      Post(body, "application/json; charset=utf-8",
           {{"x-signature", "sha256=" + HexEncode(HmacSha256("whsec_0123456789abcdef", body))}});

  ASSERT_TRUE(adapter_->Verify(source, request, 0).ok());
  auto d = adapter_->Parse(source, request);
  ASSERT_TRUE(d.ok()) << d.status();
  const Inquiry& i = d->inquiry;
  EXPECT_EQ(i.channel, Channel::kOther);
  EXPECT_EQ(i.received.name, "Ana Ortiz");
  EXPECT_EQ(i.received.email, "Ana.Ortiz@Example.com");  // as received, not normalized
  EXPECT_EQ(i.received.phone, "(415) 555-0101");
  EXPECT_EQ(i.message,
            "No hot water since this morning. The tank is 12 years old — is a same-day visit "
            "possible?");
  EXPECT_EQ(i.service, "water-heater");
  EXPECT_EQ(i.location, "94110");
  EXPECT_EQ(i.attribution.utm_source, "google");
  EXPECT_EQ(i.attribution.utm_medium, "cpc");
  EXPECT_EQ(i.attribution.utm_campaign, "winter-2026");
  EXPECT_EQ(i.attribution.landing_page,
            "https://harborplumbing.example/water-heaters?utm_source=google");
  EXPECT_EQ(i.occurred_at, *ParseRfc3339("2026-11-29T18:04:11Z"));
  EXPECT_EQ(i.provider_event_id, "6321ca84df3949bfc6752327");
  EXPECT_EQ(i.raw_payload, body);
  EXPECT_EQ(i.raw_content_type, "application/json; charset=utf-8");
  EXPECT_TRUE(i.normalized.email.empty());
  EXPECT_EQ(d->dedupe_key, "event:6321ca84df3949bfc6752327");

  // One flipped byte in the body fails the signature.
  HttpRequest tampered = request;
  tampered.body[tampered.body.find("Ana")] = 'E';
  EXPECT_EQ(RejectionCode(adapter_->Verify(source, tampered, 0)), "bad_credentials");
}

TEST_F(JsonAdapterTest, UsesDefaultsWhenTheSourceHasNoMap) {
  SourceConfig source;
  source.name = "leads";
  source.channel = "chat";
  auto d = adapter_->Parse(source, Post(Testdata("minimal_lead.json")));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.channel, Channel::kChat);
  EXPECT_EQ(d->inquiry.received.name, "Ben Cho");
  EXPECT_EQ(d->inquiry.received.phone, "+1 415 555 0199");
  EXPECT_EQ(d->inquiry.message, "Kitchen drain is clogged.");
  EXPECT_EQ(d->inquiry.attribution.utm_source, "newsletter");
  EXPECT_EQ(d->inquiry.occurred_at, 1795946400 * kMicrosPerSecond);
  EXPECT_EQ(d->dedupe_key, "");
}

TEST_F(JsonAdapterTest, DedupeKeyPrefersEventIdThenIdempotencyKeyThenContent) {
  SourceConfig plain;
  SourceConfig content;
  content.settings = {{"dedupe", "content"}};
  const std::string with_id = R"({"email":"a@b.c","event_id":"evt_9"})";
  const std::string without_id = R"({"email":"a@b.c"})";
  unsigned char digest[32];
  EVP_Digest(without_id.data(), without_id.size(), digest, nullptr, EVP_sha256(), nullptr);
  const std::string content_key =
      "sha256:" + HexEncode(std::string_view(reinterpret_cast<const char*>(digest), 32));

  struct Case {
    std::string name;
    const SourceConfig* source;
    HttpRequest request;
    std::string want;
  };
  const Case cases[] = {
      {"event id", &content, Post(with_id, "application/json", {{"idempotency-key", "k1"}}),
       "event:evt_9"},
      {"idempotency key", &content,
       Post(without_id, "application/json", {{"idempotency-key", "k1"}}), "idem:k1"},
      {"content hash", &content, Post(without_id), content_key},
      {"nothing", &plain, Post(without_id), ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto d = adapter_->Parse(*c.source, c.request);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->dedupe_key, c.want);
  }
  auto other = adapter_->Parse(content, Post(R"({"email":"x@b.c"})"));
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE(other->dedupe_key, content_key);

  auto twice = adapter_->Parse(plain, Post(without_id, "application/json",
                                           {{"idempotency-key", "k1"}, {"idempotency-key", "k2"}}));
  EXPECT_EQ(RejectionCode(twice.status()), "invalid_field");
  auto long_id = adapter_->Parse(
      plain, Post(R"({"email":"a@b.c","event_id":")" + std::string(300, 'x') + "\"}"));
  EXPECT_EQ(RejectionCode(long_id.status()), "invalid_field");
}

struct RejectCase {
  std::string name;
  std::string content_type;
  std::string body;
  std::string want_code;
  int want_http;
};

TEST_F(JsonAdapterTest, RejectsBadRequestsWithTheRightReason) {
  const RejectCase cases[] = {
      {"form body", "application/x-www-form-urlencoded", "email=a%40b.c", "unsupported_media_type",
       415},
      {"multipart body", "multipart/form-data; boundary=x", "--x--", "unsupported_media_type", 415},
      {"no content type", "", R"({"email":"a@b.c"})", "unsupported_media_type", 415},
      {"malformed", "application/json", R"({"email":)", "malformed_body", 400},
      {"invalid utf-8", "application/json", "{\"email\":\"\xff\"}", "invalid_utf8", 400},
      {"depth bomb", "application/json", std::string(100'000, '['), "too_deep", 400},
      {"nothing to act on", "application/json", R"({"service":"drains","utm_source":"x"})",
       "missing_field", 422},
      {"object as message", "application/json", R"({"email":"a@b.c","message":{"a":1}})",
       "invalid_field", 422},
  };
  SourceConfig source;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto d = adapter_->Parse(source, Post(c.body, c.content_type));
    EXPECT_EQ(RejectionCode(d.status()), c.want_code) << d.status();
    EXPECT_EQ(RejectionHttpStatus(d.status()), c.want_http);
  }
  auto missing = adapter_->Parse(WebflowSource(), Post(R"({"payload":{"data":{"Phone":"1"}}})"));
  EXPECT_EQ(RejectionCode(missing.status()), "missing_field");
  EXPECT_NE(RejectionDetail(missing.status()).find("'payload.data.Email'"), std::string::npos);
}

TEST_F(JsonAdapterTest, VerifiesTokensThroughTheDefaultCheck) {
  SourceConfig source;
  source.auth.tokens = {"tok_0123456789abcdef"};
  EXPECT_TRUE(
      adapter_
          ->Verify(
              source,
              Post("{}", "application/json", {{"authorization", "Bearer tok_0123456789abcdef"}}), 0)
          .ok());
  EXPECT_EQ(RejectionCode(adapter_->Verify(source, Post("{}"), 0)), "bad_credentials");
}

}  // namespace
}  // namespace handoff
