#include "entry/sources/form/form_adapter.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "entry/common/source_auth.h"
#include "entry/rejection.h"

namespace handoff {
namespace {

const char kMultipartType[] =
    "multipart/form-data; boundary=----WebKitFormBoundaryq3Xo8vHUlNFJ5zQe";

std::string Testdata(const std::string& name) {
  std::ifstream in(std::string(HANDOFF_TESTDATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HttpRequest Post(std::string body, std::string content_type,
                 std::vector<std::pair<std::string, std::string>> extra = {},
                 std::string query = "") {
  HttpRequest r;
  r.method = "POST";
  r.path = "/in/website";
  r.query = std::move(query);
  r.target = r.path + (r.query.empty() ? "" : "?" + r.query);
  r.headers.push_back({"content-type", std::move(content_type)});
  for (auto& h : extra) r.headers.push_back(std::move(h));
  r.body = std::move(body);
  return r;
}

class FormAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterFormSource(registry_);
    adapter_ = registry_.Find("form");
    ASSERT_NE(adapter_, nullptr);
  }
  SourceAdapterRegistry registry_;
  const SourceAdapter* adapter_ = nullptr;
};

TEST_F(FormAdapterTest, MapsAnUrlencodedWebsiteFormEndToEnd) {
  const std::string body = Testdata("website_form.urlencoded");
  SourceConfig source;
  source.name = "website";
  source.adapter = "form";
  source.map = {{"name", "full_name"},
                {"email", "email"},
                {"phone", "phone"},
                {"message", "details"},
                {"service", "service"},
                {"utm_source", "utm_source"},
                {"utm_medium", "utm_medium"},
                {"utm_campaign", "utm_campaign"},
                {"landing_page", "landing_page"}};
  source.required = {"email", "message"};
  source.auth.tokens = {"form_key_0123456789abcdef"};
  source.auth.token_query = "key";
  const HttpRequest request =
      Post(body, "application/x-www-form-urlencoded", {{"idempotency-key", "sub_123"}},
           "key=form_key_0123456789abcdef");

  ASSERT_TRUE(adapter_->Verify(source, request, 0).ok());
  auto d = adapter_->Parse(source, request);
  ASSERT_TRUE(d.ok()) << d.status();
  const Inquiry& i = d->inquiry;
  EXPECT_EQ(i.channel, Channel::kForm);
  EXPECT_EQ(i.received.name, "Ana Ortiz");
  EXPECT_EQ(i.received.email, "ana@example.com");
  EXPECT_EQ(i.received.phone, "(415) 555-0101");
  EXPECT_EQ(i.message, "No hot water since this morning.\r\nThe tank is 12 years old.");
  EXPECT_EQ(i.service, "water-heater");
  EXPECT_EQ(i.attribution.utm_source, "google");
  EXPECT_EQ(i.attribution.utm_medium, "cpc");
  EXPECT_EQ(i.attribution.utm_campaign, "winter-2026");
  EXPECT_EQ(i.attribution.landing_page, "/water-heaters");
  EXPECT_EQ(i.occurred_at, 0);
  EXPECT_EQ(i.raw_payload, body);
  EXPECT_EQ(i.raw_content_type, "application/x-www-form-urlencoded");
  EXPECT_EQ(d->dedupe_key, "idem:sub_123");

  HttpRequest wrong_key = request;
  wrong_key.query = "key=form_key_0123456789abcdeX";
  EXPECT_EQ(RejectionCode(adapter_->Verify(source, wrong_key, 0)), "bad_credentials");
}

TEST_F(FormAdapterTest, MapsAMultipartFormWithFilesByDefaults) {
  const std::string body = Testdata("quote_request.multipart");
  SourceConfig source;
  source.name = "quote";
  source.settings = {{"dedupe", "content"}};
  auto d = adapter_->Parse(source, Post(body, kMultipartType));
  ASSERT_TRUE(d.ok()) << d.status();
  const Inquiry& i = d->inquiry;
  EXPECT_EQ(i.channel, Channel::kForm);
  EXPECT_EQ(i.received.name, "Maria Lopez");
  EXPECT_EQ(i.received.email, "maria@example.com");
  EXPECT_EQ(i.received.phone, "+14155550103");
  EXPECT_EQ(i.message, "Basement floor drain backed up after the rain.\r\nPhotos attached.");
  EXPECT_EQ(i.service, "drains");
  EXPECT_EQ(i.raw_payload, body);  // the audit copy keeps the body verbatim, files included
  EXPECT_EQ(d->dedupe_key.substr(0, 7), "sha256:");
  EXPECT_EQ(d->dedupe_key.size(), 7u + 64u);
}

TEST_F(FormAdapterTest, SignedMultipartIsVerifiedOverTheRawBytes) {
  const std::string body = Testdata("quote_request.multipart");
  SourceConfig source;
  source.auth.hmac_secrets = {"form_secret_0123456789"};
  source.auth.hmac_encoding = "hex";
  const std::string mac = HexEncode(HmacSha256("form_secret_0123456789", body));
  EXPECT_TRUE(adapter_->Verify(source, Post(body, kMultipartType, {{"x-signature", mac}}), 0).ok());
  std::string tampered = body;
  tampered[tampered.size() / 2] ^= 0x20;
  EXPECT_EQ(RejectionCode(adapter_->Verify(
                source, Post(tampered, kMultipartType, {{"x-signature", mac}}), 0)),
            "bad_credentials");
}

struct RejectCase {
  std::string name;
  std::string content_type;
  std::string body;
  std::string want_code;
  int want_http;
};

TEST_F(FormAdapterTest, RejectsBadRequestsWithTheRightReason) {
  const std::string multipart = Testdata("quote_request.multipart");
  const RejectCase cases[] = {
      {"json body", "application/json", R"({"email":"a@b.c"})", "unsupported_media_type", 415},
      {"text body", "text/plain", "email=a@b.c", "unsupported_media_type", 415},
      {"bad escape", "application/x-www-form-urlencoded", "email=a%G0", "malformed_body", 400},
      {"invalid utf-8", "application/x-www-form-urlencoded", "message=%C3%28", "invalid_utf8", 400},
      {"multipart without boundary", "multipart/form-data", multipart, "malformed_body", 400},
      {"truncated multipart", kMultipartType, multipart.substr(0, multipart.size() - 60),
       "malformed_body", 400},
      {"nothing to act on", "application/x-www-form-urlencoded",
       "service=drains&website_url=", "missing_field", 422},
      {"empty form", "application/x-www-form-urlencoded", "", "missing_field", 422},
  };
  SourceConfig source;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto d = adapter_->Parse(source, Post(c.body, c.content_type));
    EXPECT_EQ(RejectionCode(d.status()), c.want_code) << d.status();
    EXPECT_EQ(RejectionHttpStatus(d.status()), c.want_http);
  }
}

TEST_F(FormAdapterTest, RequiredFieldMissingNamesTheFormField) {
  SourceConfig source;
  source.map = {{"email", "contact_email"}, {"name", "full_name"}};
  source.required = {"email"};
  auto d = adapter_->Parse(
      source, Post("full_name=Ana&contact_email=", "application/x-www-form-urlencoded"));
  EXPECT_EQ(RejectionCode(d.status()), "missing_field");
  EXPECT_NE(RejectionDetail(d.status()).find("(mapped from 'contact_email')"), std::string::npos)
      << d.status();
}

}  // namespace
}  // namespace handoff
