#include "entry/sources/chatwoot/chatwoot_adapter.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "entry/common/source_auth.h"
#include "entry/rejection.h"

namespace handoff {
namespace {

constexpr char kSecret[] = "cw_webhook_secret_current_0001";
constexpr char kOldSecret[] = "cw_webhook_secret_previous_0002";
constexpr char kToken[] = "cw-url-token-0123456789";
constexpr Micros kNow = 1'772'471'100LL * kMicrosPerSecond;
constexpr char kStamp[] = "1772471100";

std::string Testdata(const std::string& name) {
  std::ifstream in(std::string(HANDOFF_TESTDATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Sign(const std::string& secret, const std::string& stamp, const std::string& body) {
  return "sha256=" + HexEncode(HmacSha256(secret, stamp + "." + body));
}

HttpRequest Request(std::string body, std::vector<std::pair<std::string, std::string>> extra = {},
                    std::string query = "") {
  HttpRequest r;
  r.method = "POST";
  r.path = "/in/chat";
  r.query = std::move(query);
  r.target = r.path + (r.query.empty() ? "" : "?" + r.query);
  r.headers = {{"content-type", "application/json"}};
  for (auto& h : extra) r.headers.push_back(std::move(h));
  r.body = std::move(body);
  return r;
}

HttpRequest Signed(const std::string& body, const std::string& secret = kSecret,
                   const std::string& stamp = kStamp) {
  return Request(body, {{"x-chatwoot-signature", Sign(secret, stamp, body)},
                        {"x-chatwoot-timestamp", stamp},
                        {"x-chatwoot-delivery", "0d6c1c3a-8f1e-4c7e-a3b5-6a2f7e9d1c20"}});
}

class ChatwootAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterChatwootSource(registry_);
    adapter_ = registry_.Find("chatwoot");
    ASSERT_NE(adapter_, nullptr);
    source_.name = "chat";
    source_.adapter = "chatwoot";
    source_.auth.hmac_secrets = {kSecret, kOldSecret};
  }
  SourceAdapterRegistry registry_;
  const SourceAdapter* adapter_ = nullptr;
  SourceConfig source_;
};

TEST_F(ChatwootAdapterTest, MapsAnIncomingMessage) {
  const std::string body = Testdata("message_created.json");
  HttpRequest r = Signed(body);
  ASSERT_TRUE(adapter_->Verify(source_, r, kNow).ok());
  auto d = adapter_->Parse(source_, r);
  ASSERT_TRUE(d.ok()) << d.status();
  const Inquiry& in = d->inquiry;
  EXPECT_EQ(in.channel, Channel::kChat);
  EXPECT_EQ(in.received.name, "Ana Ortiz");
  EXPECT_EQ(in.received.email, "ana.ortiz@example.com");
  EXPECT_EQ(in.received.phone, "+14155550101");
  EXPECT_EQ(in.message, "Hi, do you service tankless water heaters in Oakland?");
  EXPECT_EQ(in.attribution.referrer,
            "https://acme-plumbing.example/water-heaters?utm_source=google");
  EXPECT_EQ(in.occurred_at, 1'772'471'051'512'000LL);
  EXPECT_EQ(in.fields["conversation_id"], "512");
  EXPECT_EQ(in.fields["inbox"], "Website chat");
  EXPECT_EQ(in.fields["inbox_id"], "3");
  EXPECT_EQ(in.fields["channel_type"], "Channel::WebWidget");
  EXPECT_EQ(in.fields["kind"], "chat");
  EXPECT_EQ(in.provider_event_id, "message:1042");
  EXPECT_EQ(in.raw_payload, body) << "the raw payload is kept verbatim, unknown fields too";
  EXPECT_EQ(d->dedupe_key, "delivery:0d6c1c3a-8f1e-4c7e-a3b5-6a2f7e9d1c20");
  EXPECT_EQ(d->thread_key, "conversation:1:512");
  EXPECT_EQ(d->thread_mode, ParsedDelivery::ThreadMode::kCreateOrUpdate);
  EXPECT_FALSE(d->replace_message) << "a later message must not replace the first";
}

TEST_F(ChatwootAdapterTest, WithoutADeliveryHeaderTheMessageIdDedupes) {
  auto d = adapter_->Parse(source_, Request(Testdata("message_created.json")));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->dedupe_key, "message:1042");
  auto c = adapter_->Parse(source_, Request(Testdata("conversation_created.json")));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->dedupe_key, "conversation:513");
}

TEST_F(ChatwootAdapterTest, AConversationAndItsMessagesShareOneThread) {
  auto created = adapter_->Parse(source_, Request(Testdata("conversation_created.json")));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->inquiry.received.name, "little-haze-776");
  EXPECT_EQ(created->inquiry.received.email, "") << "null is not an email";
  EXPECT_EQ(created->inquiry.message, "");
  EXPECT_EQ(created->inquiry.attribution.referrer, "https://acme-plumbing.example/contact");
  EXPECT_EQ(created->inquiry.occurred_at, 1'772'475'000LL * kMicrosPerSecond);
  EXPECT_EQ(created->inquiry.fields["inbox_id"], "3");
  EXPECT_FALSE(created->inquiry.fields.contains("inbox")) << "only messages name the inbox";

  auto email = adapter_->Parse(source_, Request(Testdata("message_input_email.json")));
  ASSERT_TRUE(email.ok()) << email.status();
  EXPECT_EQ(email->thread_key, created->thread_key);
  EXPECT_EQ(email->inquiry.received.email, "sam.lee@example.org")
      << "the email a visitor typed into the widget's prompt";

  // Folded into the conversation's inquiry: the blank email is filled, nothing else lost.
  Inquiry existing = created->inquiry;
  auto changed = MergeThreadDelivery(existing, *email);
  EXPECT_EQ(existing.received.email, "sam.lee@example.org");
  EXPECT_NE(std::find(changed.begin(), changed.end(), "email"), changed.end());
}

TEST_F(ChatwootAdapterTest, AConversationCarriesItsFirstIncomingMessage) {
  std::string body = Testdata("message_created.json");
  // The conversation object of message_created, sent as conversation_created.
  auto j = nlohmann::json::parse(body)["conversation"];
  j["event"] = "conversation_created";
  auto d = adapter_->Parse(source_, Request(j.dump()));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.message, "Hi, do you service tankless water heaters in Oakland?");
  EXPECT_EQ(d->thread_key, "conversation:1:512");
}

TEST_F(ChatwootAdapterTest, OnlyIncomingPublicMessagesAndInquiryEventsCount) {
  struct Case {
    const char* file;
    const char* why;
  };
  for (const Case& c : {Case{"message_outgoing.json", "our own reply"},
                        Case{"message_private_note.json", "a private note"},
                        Case{"conversation_status_changed.json", "another event"}}) {
    auto d = adapter_->Parse(source_, Request(Testdata(c.file)));
    ASSERT_FALSE(d.ok()) << c.why;
    EXPECT_EQ(RejectionCode(d.status()), "ignored") << c.why;
    EXPECT_EQ(RejectionHttpStatus(d.status()), 200) << c.why;
  }
  for (const char* type : {"\"activity\"", "\"template\"", "1", "2"}) {
    std::string body = Testdata("message_created.json");
    auto j = nlohmann::json::parse(body);
    j["message_type"] = nlohmann::json::parse(type);
    auto d = adapter_->Parse(source_, Request(j.dump()));
    EXPECT_EQ(RejectionCode(d.status()), "ignored") << type;
  }
  auto j = nlohmann::json::parse(Testdata("message_created.json"));
  j["message_type"] = 0;
  EXPECT_TRUE(adapter_->Parse(source_, Request(j.dump())).ok()) << "0 is incoming";
}

TEST_F(ChatwootAdapterTest, SignatureFailures) {
  const std::string body = Testdata("message_created.json");
  struct Case {
    const char* name;
    std::vector<std::pair<std::string, std::string>> headers;
    const char* code;
  };
  const std::string good = Sign(kSecret, kStamp, body);
  const std::vector<Case> cases = {
      {"missing signature", {{"x-chatwoot-timestamp", kStamp}}, "bad_credentials"},
      {"missing timestamp", {{"x-chatwoot-signature", good}}, "bad_credentials"},
      {"wrong signature",
       {{"x-chatwoot-signature", Sign(kSecret, kStamp, body + " ")},
        {"x-chatwoot-timestamp", kStamp}},
       "bad_credentials"},
      {"wrong secret",
       {{"x-chatwoot-signature", Sign("some-other-secret-000000", kStamp, body)},
        {"x-chatwoot-timestamp", kStamp}},
       "bad_credentials"},
      {"malformed hex",
       {{"x-chatwoot-signature", "sha256=zz" + good.substr(9)}, {"x-chatwoot-timestamp", kStamp}},
       "bad_credentials"},
      {"no prefix",
       {{"x-chatwoot-signature", good.substr(7)}, {"x-chatwoot-timestamp", kStamp}},
       "bad_credentials"},
      {"truncated",
       {{"x-chatwoot-signature", good.substr(0, 40)}, {"x-chatwoot-timestamp", kStamp}},
       "bad_credentials"},
      {"timestamp not signed with this body",
       {{"x-chatwoot-signature", good}, {"x-chatwoot-timestamp", "1772471101"}},
       "bad_credentials"},
      {"stale timestamp",
       {{"x-chatwoot-signature", Sign(kSecret, "1772470700", body)},
        {"x-chatwoot-timestamp", "1772470700"}},
       "stale_timestamp"},
      {"future timestamp",
       {{"x-chatwoot-signature", Sign(kSecret, "1772471500", body)},
        {"x-chatwoot-timestamp", "1772471500"}},
       "stale_timestamp"},
      {"timestamp not a number",
       {{"x-chatwoot-signature", Sign(kSecret, "soon", body)}, {"x-chatwoot-timestamp", "soon"}},
       "bad_credentials"},
  };
  for (const Case& c : cases) {
    absl::Status s = adapter_->Verify(source_, Request(body, c.headers), kNow);
    EXPECT_EQ(RejectionCode(s), c.code) << c.name << ": " << s;
    EXPECT_EQ(RejectionHttpStatus(s), 401) << c.name;
    EXPECT_EQ(std::string(s.message()).find(kSecret), std::string::npos) << c.name;
  }
}

TEST_F(ChatwootAdapterTest, AcceptsTheRotatedSecretAndAConfiguredTolerance) {
  const std::string body = Testdata("message_created.json");
  EXPECT_TRUE(adapter_->Verify(source_, Signed(body, kOldSecret), kNow).ok());
  // Four minutes old: inside the default five.
  EXPECT_TRUE(adapter_->Verify(source_, Signed(body, kSecret, "1772470860"), kNow).ok());
  source_.settings["timestamp_tolerance"] = "1m";
  EXPECT_EQ(RejectionCode(adapter_->Verify(source_, Signed(body, kSecret, "1772470860"), kNow)),
            "stale_timestamp");
  source_.settings["timestamp_tolerance"] = 600;
  EXPECT_TRUE(adapter_->Verify(source_, Signed(body, kSecret, "1772470600"), kNow).ok());
}

TEST_F(ChatwootAdapterTest, UnsignedInstallsUseAToken) {
  const std::string body = Testdata("message_created.json");
  // Secret and token: an unsigned request passes with the token, a signed one must verify.
  source_.auth.tokens = {kToken};
  EXPECT_TRUE(
      adapter_->Verify(source_, Request(body, {}, std::string("token=") + kToken), kNow).ok());
  EXPECT_EQ(RejectionCode(adapter_->Verify(source_, Request(body, {}, "token=nope"), kNow)),
            "bad_credentials");
  EXPECT_EQ(RejectionCode(adapter_->Verify(source_, Request(body), kNow)), "bad_credentials");
  HttpRequest forged = Request(body,
                               {{"x-chatwoot-signature", "sha256=" + std::string(64, '0')},
                                {"x-chatwoot-timestamp", kStamp}},
                               std::string("token=") + kToken);
  EXPECT_EQ(RejectionCode(adapter_->Verify(source_, forged, kNow)), "bad_credentials")
      << "a signed request is judged by its signature";
  // Token only.
  source_.auth.hmac_secrets.clear();
  EXPECT_TRUE(
      adapter_->Verify(source_, Request(body, {}, std::string("token=") + kToken), kNow).ok());
  EXPECT_FALSE(adapter_->Verify(source_, Signed(body), kNow).ok());
}

TEST_F(ChatwootAdapterTest, MissingOptionalFieldsAndMalformedBodies) {
  nlohmann::json minimal = {{"event", "message_created"},  {"id", 7},
                            {"message_type", "incoming"},  {"content", "hello"},
                            {"conversation", {{"id", 9}}}, {"account", {{"id", 2}}}};
  auto d = adapter_->Parse(source_, Request(minimal.dump()));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.message, "hello");
  EXPECT_EQ(d->inquiry.received.name, "");
  EXPECT_EQ(d->inquiry.occurred_at, 0) << "the ingress uses the receive time";
  EXPECT_EQ(d->thread_key, "conversation:2:9");

  minimal.erase("conversation");
  EXPECT_EQ(RejectionCode(adapter_->Parse(source_, Request(minimal.dump())).status()),
            "missing_field");
  EXPECT_EQ(RejectionCode(adapter_->Parse(source_, Request("{\"event\":")).status()),
            "malformed_body");
  EXPECT_EQ(RejectionCode(adapter_->Parse(source_, Request("[]")).status()), "malformed_body");
  HttpRequest form = Request("event=message_created");
  form.headers[0].second = "application/x-www-form-urlencoded";
  EXPECT_EQ(RejectionCode(adapter_->Parse(source_, form).status()), "unsupported_media_type");
}

TEST_F(ChatwootAdapterTest, TheSourceMapOverridesTheDefaults) {
  source_.map = {{"phone", "conversation.meta.sender.custom_attributes.mobile"},
                 {"service", "inbox.name"}};
  auto j = nlohmann::json::parse(Testdata("message_created.json"));
  j["conversation"]["meta"]["sender"]["custom_attributes"]["mobile"] = "+14155550999";
  auto d = adapter_->Parse(source_, Request(j.dump()));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.received.phone, "+14155550999");
  EXPECT_EQ(d->inquiry.service, "Website chat");
  EXPECT_EQ(d->inquiry.received.name, "Ana Ortiz") << "unmapped fields keep the defaults";
}

}  // namespace
}  // namespace handoff
