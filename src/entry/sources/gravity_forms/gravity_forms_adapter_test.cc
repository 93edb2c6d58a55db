#include "entry/sources/gravity_forms/gravity_forms_adapter.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "entry/common/source_auth.h"
#include "entry/rejection.h"

namespace handoff {
namespace {

constexpr char kToken[] = "gf_token_0123456789abcdef";
constexpr char kOldToken[] = "gf_token_previous_0123456";

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
  r.path = r.target = "/in/gravity";
  r.headers.push_back({"content-type", std::move(content_type)});
  for (auto& h : extra) r.headers.push_back(std::move(h));
  r.body = std::move(body);
  return r;
}

class GravityFormsAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterGravityFormsSource(registry_);
    adapter_ = registry_.Find("gravity_forms");
    ASSERT_NE(adapter_, nullptr);
    source_.name = "gravity";
    source_.adapter = "gravity_forms";
    source_.auth.tokens = {kToken};
  }
  SourceAdapterRegistry registry_;
  const SourceAdapter* adapter_ = nullptr;
  SourceConfig source_;
};

TEST_F(GravityFormsAdapterTest, MapsAnAllFieldsEntryByFieldId) {
  const std::string body = Testdata("all_fields.json");
  auto d = adapter_->Parse(source_, Post(body));
  ASSERT_TRUE(d.ok()) << d.status();
  const Inquiry& i = d->inquiry;
  EXPECT_EQ(i.channel, Channel::kForm);
  EXPECT_EQ(i.received.name, "Grace Hopper");  // 1.3 + 1.6
  EXPECT_EQ(i.received.email, "grace@example.com");
  EXPECT_EQ(i.received.phone, "(415) 555-0142");
  EXPECT_EQ(i.message, "The kitchen sink drains slowly and gurgles.");
  EXPECT_EQ(i.attribution.landing_page, "https://plumbing.example/contact/?utm_source=facebook");
  EXPECT_EQ(i.occurred_at, 1'773'498'723LL * kMicrosPerSecond);  // 2026-03-14 14:32:03 UTC
  EXPECT_EQ(i.provider_event_id, "1187");
  EXPECT_EQ(d->dedupe_key, "event:1187");
  EXPECT_EQ(d->dedupe_window, 0);
  EXPECT_EQ(i.raw_payload, body);  // ip, user_agent, payment_* kept verbatim
  EXPECT_EQ(i.fields["kind"], "form_entry");
  EXPECT_EQ(i.fields["form_id"], "3");
  EXPECT_EQ(i.fields["entry_id"], "1187");
}

TEST_F(GravityFormsAdapterTest, TheMapOverridesFieldIds) {
  source_.map = {{"service", "5.1"}, {"location", "6"}, {"phone", "7"}, {"phone", "3"}};
  auto d = adapter_->Parse(source_, Post(Testdata("all_fields.json")));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.service, "Drains");
  EXPECT_EQ(d->inquiry.location, "Oakland");
  EXPECT_EQ(d->inquiry.received.phone, "(415) 555-0142");  // "7" is blank: the fallback "3"
  EXPECT_EQ(d->inquiry.received.email, "grace@example.com");

  source_.map = {{"message", "6"}};
  d = adapter_->Parse(source_, Post(Testdata("all_fields.json")));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->inquiry.message, "Oakland");  // the override replaces default "4"
}

TEST_F(GravityFormsAdapterTest, ReadsTheFormFormat) {
  auto d = adapter_->Parse(
      source_, Post(Testdata("all_fields.urlencoded"), "application/x-www-form-urlencoded"));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.received.name, "Alan Turing");
  EXPECT_EQ(d->inquiry.received.phone, "+14155550199");
  EXPECT_EQ(d->inquiry.message, "Water heater quote, 50 gallon");
  EXPECT_EQ(d->dedupe_key, "event:1188");
  EXPECT_EQ(d->inquiry.occurred_at, 1'773'499'200LL * kMicrosPerSecond);
}

TEST_F(GravityFormsAdapterTest, SelectFieldsWithoutAnIdDedupeOnContentWithinAMinute) {
  const std::string body = Testdata("select_fields.json");
  auto d = adapter_->Parse(source_, Post(body));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.received.name, "Ada Lovelace");
  EXPECT_EQ(d->inquiry.service, "remodel");
  EXPECT_EQ(d->inquiry.occurred_at, 0);  // no date_created: the ingress uses receipt time
  EXPECT_EQ(d->dedupe_key.substr(0, 7), "sha256:");
  EXPECT_EQ(d->dedupe_window, kMicrosPerMinute);
  auto again = adapter_->Parse(source_, Post(body));
  EXPECT_EQ(again->dedupe_key, d->dedupe_key);
  EXPECT_FALSE(d->inquiry.fields.contains("entry_id"));
}

TEST_F(GravityFormsAdapterTest, AuthIsTheGenericTokenOrSignature) {
  const std::string body = Testdata("all_fields.json");
  struct Case {
    const char* name;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string query;
    std::string want;
  };
  const Case cases[] = {
      {"custom header", {{"x-handoff-token", kToken}}, "", "ok"},
      {"rotated token", {{"authorization", std::string("Bearer ") + kOldToken}}, "", "ok"},
      {"query", {}, std::string("token=") + kToken, "ok"},
      {"missing", {}, "", "bad_credentials"},
      {"wrong", {{"x-handoff-token", "gf_token_0123456789abcdeX"}}, "", "bad_credentials"},
      {"twice", {{"x-handoff-token", kToken}, {"x-handoff-token", kToken}}, "", "bad_credentials"},
  };
  source_.auth.tokens = {kToken, kOldToken};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    HttpRequest r = Post(body, "application/json", c.headers);
    r.query = c.query;
    EXPECT_EQ(RejectionCode(adapter_->Verify(source_, r, 0)), c.want);
  }
  source_.auth.tokens.clear();
  source_.auth.hmac_secrets = {"gf_hmac_secret_0123456789"};
  source_.auth.hmac_prefix = "sha256=";
  const std::string mac = "sha256=" + HexEncode(HmacSha256("gf_hmac_secret_0123456789", body));
  EXPECT_TRUE(
      adapter_->Verify(source_, Post(body, "application/json", {{"x-signature", mac}}), 0).ok());
  EXPECT_EQ(RejectionCode(adapter_->Verify(
                source_, Post(body + "x", "application/json", {{"x-signature", mac}}), 0)),
            "bad_credentials");
}

TEST_F(GravityFormsAdapterTest, RefusesUnusableBodies) {
  struct Case {
    const char* name;
    std::string body;
    std::string content_type;
    std::string want;
  };
  const Case cases[] = {
      {"nothing to act on", R"({"id":"9","form_id":"3","5.1":"x"})", "application/json",
       "missing_field"},
      {"an object where text is expected", R"({"id":"9","2":{"a":1}})", "application/json",
       "invalid_field"},
      {"not json", R"({"id":)", "application/json", "malformed_body"},
      {"multipart", "--x--\r\n", "multipart/form-data; boundary=x", "unsupported_media_type"},
      {"text", "hello", "text/plain", "unsupported_media_type"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(RejectionCode(adapter_->Parse(source_, Post(c.body, c.content_type)).status()),
              c.want);
  }
}

}  // namespace
}  // namespace handoff
