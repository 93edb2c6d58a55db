#include "entry/sources/contact_form_7/contact_form_7_adapter.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "entry/rejection.h"

namespace handoff {
namespace {

constexpr char kToken[] = "cf7_token_0123456789abcdef";
constexpr char kJson[] = "application/json; charset=UTF-8";  // what the plugin sends

std::string Testdata(const std::string& name) {
  std::ifstream in(std::string(HANDOFF_TESTDATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HttpRequest Post(std::string body, std::string content_type = kJson,
                 std::vector<std::pair<std::string, std::string>> extra = {}) {
  HttpRequest r;
  r.method = "POST";
  r.path = r.target = "/in/wordpress";
  r.headers.push_back({"content-type", std::move(content_type)});
  for (auto& h : extra) r.headers.push_back(std::move(h));
  r.body = std::move(body);
  return r;
}

class ContactForm7AdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterContactForm7Source(registry_);
    adapter_ = registry_.Find("contact_form_7");
    ASSERT_NE(adapter_, nullptr);
    source_.name = "wordpress";
    source_.adapter = "contact_form_7";
    source_.auth.tokens = {kToken};
  }
  SourceAdapterRegistry registry_;
  const SourceAdapter* adapter_ = nullptr;
  SourceConfig source_;
};

TEST_F(ContactForm7AdapterTest, MapsTheDefaultTags) {
  const std::string body = Testdata("contact.json");
  auto d = adapter_->Parse(source_, Post(body));
  ASSERT_TRUE(d.ok()) << d.status();
  const Inquiry& i = d->inquiry;
  EXPECT_EQ(i.channel, Channel::kForm);
  EXPECT_EQ(i.received.name, "Katherine Johnson");
  EXPECT_EQ(i.received.email, "katherine@example.com");
  EXPECT_EQ(i.received.phone, "+1 757 555 0123");
  EXPECT_EQ(i.message, "We had hail last night; can you inspect the roof this week?");
  EXPECT_EQ(i.fields["kind"], "form_submission");
  EXPECT_EQ(i.fields["subject"], "Roof inspection");
  EXPECT_EQ(i.raw_payload, body);  // custom tags (menu-service, acceptance) kept verbatim
  EXPECT_EQ(i.raw_content_type, kJson);
  EXPECT_EQ(d->dedupe_key.substr(0, 7), "sha256:");
  EXPECT_EQ(d->dedupe_window, kMicrosPerMinute);
}

TEST_F(ContactForm7AdapterTest, TheMapOverridesAndArraysAreJoined) {
  source_.map = {{"service", "menu-service"}, {"message", "your-subject"}};
  auto d = adapter_->Parse(source_, Post(Testdata("contact.json")));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.service, "Roofing, Gutters");
  EXPECT_EQ(d->inquiry.message, "Roof inspection");
  EXPECT_EQ(d->inquiry.received.name, "Katherine Johnson");
}

TEST_F(ContactForm7AdapterTest, ARepostWithinTheMinuteIsTheSameDeliveryAndAnIdempotencyKeyWins) {
  const std::string body = Testdata("contact.json");
  auto a = adapter_->Parse(source_, Post(body));
  auto b = adapter_->Parse(source_, Post(body));
  auto other = adapter_->Parse(source_, Post(Testdata("minimal.json")));
  ASSERT_TRUE(a.ok() && b.ok() && other.ok());
  EXPECT_EQ(a->dedupe_key, b->dedupe_key);
  EXPECT_NE(a->dedupe_key, other->dedupe_key);
  auto keyed = adapter_->Parse(source_, Post(body, kJson, {{"idempotency-key", "sub-77"}}));
  ASSERT_TRUE(keyed.ok());
  EXPECT_EQ(keyed->dedupe_key, "idem:sub-77");
  EXPECT_EQ(keyed->dedupe_window, 0);
}

TEST_F(ContactForm7AdapterTest, MissingOptionalTagsAreFine) {
  auto d = adapter_->Parse(source_, Post(Testdata("minimal.json")));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.received.name, "Dorothy Vaughan");
  EXPECT_EQ(d->inquiry.received.phone, "");
  EXPECT_EQ(d->inquiry.message, "");
  EXPECT_EQ(d->inquiry.fields["subject"], "Hello");
}

TEST_F(ContactForm7AdapterTest, AuthIsTheTokenTheCustomHeaderCarries) {
  const std::string body = Testdata("contact.json");
  source_.auth.tokens = {kToken, "cf7_token_next_0123456789"};
  struct Case {
    const char* name;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string want;
  };
  const Case cases[] = {
      {"current", {{"x-handoff-token", kToken}}, "ok"},
      {"next (rotation)", {{"x-handoff-token", "cf7_token_next_0123456789"}}, "ok"},
      {"missing", {}, "bad_credentials"},
      {"empty", {{"x-handoff-token", ""}}, "bad_credentials"},
      {"wrong", {{"x-handoff-token", "cf7_token_0123456789abcdeF"}}, "bad_credentials"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(RejectionCode(adapter_->Verify(source_, Post(body, kJson, c.headers), 0)), c.want);
  }
}

TEST_F(ContactForm7AdapterTest, RefusesUnusableBodies) {
  struct Case {
    const char* name;
    std::string body;
    std::string content_type;
    std::string want;
  };
  const Case cases[] = {
      {"custom non-JSON body", "New message from Ana", "text/plain", "unsupported_media_type"},
      {"broken JSON", R"({"your-name": )", kJson, "malformed_body"},
      {"only custom tags", R"({"acceptance-privacy":"1"})", kJson, "missing_field"},
      {"nested object tag", R"({"your-name":{"first":"A"}})", kJson, "invalid_field"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(RejectionCode(adapter_->Parse(source_, Post(c.body, c.content_type)).status()),
              c.want);
  }
}

}  // namespace
}  // namespace handoff
