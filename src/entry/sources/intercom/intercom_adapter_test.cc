#include "entry/sources/intercom/intercom_adapter.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "entry/common/source_auth.h"
#include "entry/rejection.h"

namespace handoff {
namespace {

constexpr char kSecret[] = "ic_client_secret_current_0001";
constexpr char kOldSecret[] = "ic_client_secret_previous_0002";

std::string Testdata(const std::string& name) {
  std::ifstream in(std::string(HANDOFF_TESTDATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Sign(const std::string& secret, const std::string& body) {
  return "sha1=" + HexEncode(HmacSha1(secret, body));
}

HttpRequest Request(std::string body, std::vector<std::pair<std::string, std::string>> extra = {}) {
  HttpRequest r;
  r.method = "POST";
  r.path = r.target = "/in/intercom";
  r.headers = {{"content-type", "application/json"}};
  for (auto& h : extra) r.headers.push_back(std::move(h));
  r.body = std::move(body);
  return r;
}

HttpRequest Signed(const std::string& body, const std::string& secret = kSecret) {
  return Request(body, {{"x-hub-signature", Sign(secret, body)}});
}

class IntercomAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterIntercomSource(registry_);
    adapter_ = registry_.Find("intercom");
    ASSERT_NE(adapter_, nullptr);
    source_.name = "intercom";
    source_.adapter = "intercom";
    source_.auth.hmac_secrets = {kSecret, kOldSecret};
  }
  SourceAdapterRegistry registry_;
  const SourceAdapter* adapter_ = nullptr;
  SourceConfig source_;
};

TEST_F(IntercomAdapterTest, MapsANewVisitorConversation) {
  const std::string body = Testdata("conversation_user_created.json");
  HttpRequest r = Signed(body);
  ASSERT_TRUE(adapter_->Verify(source_, r, 0).ok());
  auto d = adapter_->Parse(source_, r);
  ASSERT_TRUE(d.ok()) << d.status();
  const Inquiry& in = d->inquiry;
  EXPECT_EQ(in.channel, Channel::kChat);
  EXPECT_EQ(in.received.name, "Sam Lee");
  EXPECT_EQ(in.received.email, "sam.lee@example.org");
  EXPECT_EQ(in.received.phone, "") << "Intercom's payload has no phone";
  EXPECT_EQ(in.message,
            "Hi! Our kitchen sink is leaking under the cabinet & the floor's getting wet.\n"
            "Can someone come today?");
  EXPECT_EQ(in.occurred_at, 1'772'478'000LL * kMicrosPerSecond);
  EXPECT_EQ(in.attribution.landing_page, "https://acme-plumbing.example/emergency");
  EXPECT_EQ(in.fields["conversation_id"], "186281600003257");
  EXPECT_EQ(in.fields["contact_id"], "65f1c0d2e4b0a1b2c3d4e5f6");
  EXPECT_EQ(in.fields["author_type"], "lead");
  EXPECT_EQ(in.provider_event_id, "notif_3f9b7c1e-5a2d-4e8f-9b6a-1c2d3e4f5a6b");
  EXPECT_EQ(d->dedupe_key, "notification:notif_3f9b7c1e-5a2d-4e8f-9b6a-1c2d3e4f5a6b");
  EXPECT_EQ(in.raw_payload, body);
  EXPECT_TRUE(d->store);
}

TEST_F(IntercomAdapterTest, APingIsAnsweredAndStoresNothing) {
  auto d = adapter_->Parse(source_, Signed(Testdata("ping.json")));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->store);
  ASSERT_TRUE(d->reply.has_value());
  EXPECT_EQ(d->reply->status, 200);
}

TEST_F(IntercomAdapterTest, OtherTopicsAreIgnoredAndLeadsAreOptIn) {
  for (const char* file : {"conversation_user_replied.json", "contact_lead_created.json"}) {
    auto d = adapter_->Parse(source_, Signed(Testdata(file)));
    EXPECT_EQ(RejectionCode(d.status()), "ignored") << file;
  }
  source_.settings["contact_leads"] = true;
  auto lead = adapter_->Parse(source_, Signed(Testdata("contact_lead_created.json")));
  ASSERT_TRUE(lead.ok()) << lead.status();
  EXPECT_EQ(lead->inquiry.received.name, "Kim Park");
  EXPECT_EQ(lead->inquiry.received.phone, "+14155550133");
  EXPECT_EQ(lead->inquiry.fields["kind"], "lead");
  EXPECT_EQ(lead->dedupe_key, "notification:notif_8a1b2c3d-0000-4e8f-9b6a-1c2d3e4f5a6b");
}

TEST_F(IntercomAdapterTest, SignatureFailures) {
  const std::string body = Testdata("conversation_user_created.json");
  const std::string good = Sign(kSecret, body);
  struct Case {
    const char* name;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  const std::vector<Case> cases = {
      {"missing", {}},
      {"wrong body", {{"x-hub-signature", Sign(kSecret, body + "\n")}}},
      {"wrong secret", {{"x-hub-signature", Sign("not-the-client-secret-000", body)}}},
      {"malformed", {{"x-hub-signature", "sha1=not-hex"}}},
      {"sha256 instead", {{"x-hub-signature", "sha256=" + HexEncode(HmacSha256(kSecret, body))}}},
      {"no prefix", {{"x-hub-signature", good.substr(5)}}},
      {"twice", {{"x-hub-signature", good}, {"x-hub-signature", good}}},
  };
  for (const Case& c : cases) {
    absl::Status s = adapter_->Verify(source_, Request(body, c.headers), 0);
    EXPECT_EQ(RejectionCode(s), "bad_credentials") << c.name << ": " << s;
  }
  EXPECT_TRUE(adapter_->Verify(source_, Signed(body, kOldSecret), 0).ok()) << "rotation";
  EXPECT_TRUE(
      adapter_->Verify(source_, Request(body, {{"x-hub-signature", "SHA1=" + good.substr(5)}}), 0)
          .ok())
      << "the prefix is matched case-insensitively";
}

TEST_F(IntercomAdapterTest, MissingOptionalFieldsAndBadBodies) {
  nlohmann::json minimal = {{"type", "notification_event"},
                            {"id", "notif_min"},
                            {"topic", "conversation.user.created"},
                            {"data", {{"item", {{"id", "42"}}}}}};
  auto d = adapter_->Parse(source_, Request(minimal.dump()));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.message, "");
  EXPECT_EQ(d->inquiry.occurred_at, 0);
  EXPECT_EQ(d->inquiry.fields["conversation_id"], "42");

  minimal.erase("id");
  EXPECT_EQ(RejectionCode(adapter_->Parse(source_, Request(minimal.dump())).status()),
            "missing_field");
  minimal["id"] = "notif_x";
  minimal["data"] = "nope";
  EXPECT_EQ(RejectionCode(adapter_->Parse(source_, Request(minimal.dump())).status()),
            "missing_field");
  EXPECT_EQ(RejectionCode(adapter_->Parse(source_, Request("{")).status()), "malformed_body");
}

TEST_F(IntercomAdapterTest, TheSourceMapOverridesTheDefaults) {
  source_.map = {{"service", "data.item.source.subject"}};
  auto j = nlohmann::json::parse(Testdata("conversation_user_created.json"));
  j["data"]["item"]["source"]["subject"] = "Leak";
  auto d = adapter_->Parse(source_, Request(j.dump()));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.service, "Leak");
  EXPECT_EQ(d->inquiry.received.name, "Sam Lee");
}

}  // namespace
}  // namespace handoff
