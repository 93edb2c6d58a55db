// The chat and ad-platform sources through the real binary: Chatwoot (signed, a conversation
// and its messages as one inquiry, our replies ignored), Intercom (ping, HTML body, redelivery)
// and Meta Lead Ads (handshake, a lead awaiting its context until a fake Graph API on loopback
// answers, batched leads).
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <ctime>
#include <mutex>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/server_process.h"
#include "tests/support/test_config.h"

namespace handoff::testing {
namespace {

using nlohmann::json;

constexpr char kChatwootSecret[] = "cw-secret-0123456789abcdef";
constexpr char kIntercomSecret[] = "ic-client-secret-0123456789";
constexpr char kMetaAppSecret[] = "meta-app-secret-0123456789";
constexpr char kMetaVerify[] = "meta-verify-0123456789";
constexpr char kMetaPageToken[] = "EAAPageToken0123456789xyz";

std::string Hex(const unsigned char* mac, unsigned int len) {
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", mac[i]);
  return hex;
}

std::string HmacSha1Hex(const std::string& key, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  return Hex(mac, len);
}

std::string Config(const std::string& sink_url, const std::string& graph_base) {
  return fmt::format(R"(workspace: chat-works
business:
  name: Chat Works
  region: US
  public_url: https://hooks.test.example
server:
  admin_token: ${{HANDOFF_ADMIN_TOKEN}}
team:
  - {{ id: ana, name: Ana Ortiz }}
sources:
  chatwoot:
    adapter: chatwoot
    signature: {{ secret: {} }}
  intercom:
    adapter: intercom
    signature: {{ secret: {} }}
  facebook:
    adapter: meta_leads
    signature: {{ secret: {} }}
    verify_token: {}
    access_token: {}
    graph_base: {}
    allow_private: true
    fetch_timeout: 2s
destinations:
  crm:
    connector: webhook
    url: {}
    secret: {}
    allow_private: true
routes:
  - name: everything
    fallback: true
    assign: ana
    deliver: [crm]
)",
                     kChatwootSecret, kIntercomSecret, kMetaAppSecret, kMetaVerify, kMetaPageToken,
                     graph_base, sink_url, kHookSecret);
}

class ChatSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    graph_ = std::make_unique<Sink>([this](int, const HttpRequest& request) {
      {
        std::lock_guard lock(graph_mu_);
        graph_targets_.push_back(request.path + "?" + request.query);
      }
      if (!graph_ready_) {
        return HttpResponse::Json(503, R"({"error":{"message":"try later","code":2}})");
      }
      return HttpResponse::Json(200, R"({"id":"1234567890123456","field_data":[
          {"name":"full_name","values":["Jordan Reyes"]},
          {"name":"email","values":["jordan.reyes@example.com"]},
          {"name":"phone_number","values":["+14155550188"]},
          {"name":"zip_code","values":["94607"]}],"platform":"fb"})");
    });
    sink_ = std::make_unique<Sink>();
    WriteFile(dir_.File("handoff.yaml"), Config(sink_->url("/crm"), graph_->url("")));
    server_ = std::make_unique<ServerProcess>(dir_.File("handoff.yaml"), dir_.File("handoff.db"));
    server_->Start();
  }

  HttpClientResponse PostChatwoot(const std::string& body, const std::string& delivery) {
    const std::string stamp = std::to_string(std::time(nullptr));
    return server_->Post(
        "/in/chatwoot", body, "application/json",
        {{"X-Chatwoot-Signature", "sha256=" + HmacHex(kChatwootSecret, stamp + "." + body)},
         {"X-Chatwoot-Timestamp", stamp},
         {"X-Chatwoot-Delivery", delivery}});
  }

  json Show(const std::string& id) {
    auto r = server_->ApiGet("/api/v1/inquiries/" + id);
    if (r.status != 200) return json();
    return json::parse(r.body, nullptr, false);
  }

  size_t InquiryCount() {
    auto r = server_->ApiGet("/api/v1/inquiries");
    json j = json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("inquiries")) return j["inquiries"].size();
    return j.is_array() ? j.size() : 0;
  }

  TempDir dir_;
  std::atomic<bool> graph_ready_{false};
  std::mutex graph_mu_;
  std::vector<std::string> graph_targets_;  // guarded by graph_mu_
  std::unique_ptr<Sink> graph_;
  std::unique_ptr<Sink> sink_;
  std::unique_ptr<ServerProcess> server_;
};

json ChatwootMessage(int id, const std::string& type, bool is_private, const json& sender) {
  return {{"event", "message_created"},
          {"id", id},
          {"content", "Message " + std::to_string(id)},
          {"created_at", "2026-03-02T17:04:11.000Z"},
          {"message_type", type},
          {"content_type", "text"},
          {"private", is_private},
          {"inbox", {{"id", 3}, {"name", "Website chat"}}},
          {"conversation",
           {{"id", 512},
            {"account_id", 1},
            {"channel", "Channel::WebWidget"},
            {"additional_attributes", {{"referer", "https://acme.example/pricing"}}},
            {"meta", {{"sender", sender}}}}},
          {"account", {{"id", 1}, {"name", "Acme"}}}};
}

TEST_F(ChatSourcesTest, ChatwootConversationIsOneInquiryAndRepliesNeverLoopBack) {
  json anonymous = {{"id", 77}, {"name", "little-haze-776"}, {"email", nullptr}};
  auto first = PostChatwoot(ChatwootMessage(1042, "incoming", false, anonymous).dump(), "d-1");
  ASSERT_EQ(first.status, 202) << first.body;
  const std::string id = json::parse(first.body)["id"];

  auto reply = PostChatwoot(ChatwootMessage(1043, "outgoing", false, anonymous).dump(), "d-2");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(json::parse(reply.body)["status"], "ignored");
  auto note = PostChatwoot(ChatwootMessage(1044, "incoming", true, anonymous).dump(), "d-3");
  EXPECT_EQ(json::parse(note.body)["status"], "ignored");

  // The visitor leaves an email later: the same inquiry gains it; the first message stays.
  json known = {{"id", 77}, {"name", "Ana Ortiz"}, {"email", "ana@example.com"}};
  auto later = PostChatwoot(ChatwootMessage(1045, "incoming", false, known).dump(), "d-4");
  ASSERT_EQ(later.status, 200) << later.body;
  EXPECT_EQ(json::parse(later.body)["status"], "updated");
  EXPECT_EQ(json::parse(later.body)["id"], id);

  auto again = PostChatwoot(ChatwootMessage(1045, "incoming", false, known).dump(), "d-4");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(json::parse(again.body)["status"], "duplicate");

  // A bad signature is refused with a JSON reason.
  auto forged = server_->Post("/in/chatwoot", ChatwootMessage(1, "incoming", false, known).dump(),
                              "application/json",
                              {{"X-Chatwoot-Signature", "sha256=" + std::string(64, 'a')},
                               {"X-Chatwoot-Timestamp", std::to_string(std::time(nullptr))}});
  EXPECT_EQ(forged.status, 401);
  EXPECT_EQ(json::parse(forged.body)["error"]["code"], "bad_credentials");

  json shown;
  ASSERT_TRUE(Eventually([&] {
    shown = Show(id);
    return shown.is_object() &&
           shown["inquiry"]["contact_as_received"]["email"] == "ana@example.com";
  })) << shown.dump();
  const json& inquiry = shown["inquiry"];
  EXPECT_EQ(inquiry["channel"], "chat");
  EXPECT_EQ(inquiry["message"], "Message 1042");
  EXPECT_EQ(inquiry["contact_as_received"]["name"], "little-haze-776");
  EXPECT_EQ(inquiry["attribution"]["referrer"], "https://acme.example/pricing");
  EXPECT_EQ(inquiry["fields"]["conversation_id"], "512");
  EXPECT_EQ(InquiryCount(), 1u);
}

TEST_F(ChatSourcesTest, IntercomPingAndConversation) {
  const std::string ping =
      R"({"type":"notification_event","topic":"ping","id":null,"data":{"item":{"type":"ping"}}})";
  auto pong = server_->Post("/in/intercom", ping, "application/json",
                            {{"X-Hub-Signature", "sha1=" + HmacSha1Hex(kIntercomSecret, ping)}});
  EXPECT_EQ(pong.status, 200) << pong.body;

  const std::string body =
      json{{"type", "notification_event"},
           {"app_id", "k7q2xw9r"},
           {"id", "notif_1"},
           {"topic", "conversation.user.created"},
           {"data",
            {{"item",
              {{"id", "186281600003257"},
               {"created_at", 1772478000},
               {"source",
                {{"body", "<p>Leak &amp; flood</p><p>Help</p>"},
                 {"author", {{"name", "Sam Lee"}, {"email", "sam@example.org"}}}}}}}}}}
          .dump();
  const std::vector<std::pair<std::string, std::string>> sig = {
      {"X-Hub-Signature", "sha1=" + HmacSha1Hex(kIntercomSecret, body)}};
  auto r = server_->Post("/in/intercom", body, "application/json", sig);
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = json::parse(r.body)["id"];
  auto again = server_->Post("/in/intercom", body, "application/json", sig);
  EXPECT_EQ(json::parse(again.body)["status"], "duplicate");
  EXPECT_EQ(json::parse(again.body)["id"], id);
  auto unsigned_post = server_->Post("/in/intercom", body, "application/json");
  EXPECT_EQ(unsigned_post.status, 401);

  json shown = Show(id);
  EXPECT_EQ(shown["inquiry"]["message"], "Leak & flood\nHelp");
  EXPECT_EQ(shown["inquiry"]["contact_as_received"]["email"], "sam@example.org");
  EXPECT_EQ(InquiryCount(), 1u) << "the ping stored nothing";
}

TEST_F(ChatSourcesTest, MetaLeadAwaitsItsContextThenIsEnriched) {
  // The subscription handshake, then a wrong token.
  auto get = [&](const std::string& query) {
    HttpClientRequest request;
    request.url = server_->base_url() + "/in/facebook?" + query;
    return HttpFetch(request);
  };
  auto handshake = get(
      std::string("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=") + kMetaVerify);
  ASSERT_TRUE(handshake.ok()) << handshake.status();
  EXPECT_EQ(handshake->status, 200);
  EXPECT_EQ(handshake->body, "1158201444");
  auto wrong = get("hub.mode=subscribe&hub.challenge=1&hub.verify_token=x");
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 401);

  const std::string body =
      R"({"object":"page","entry":[{"id":"104738291045561","time":1772480000,"changes":[)"
      R"({"field":"leadgen","value":{"ad_id":"120210000000000111","form_id":"987654321012345",)"
      R"("leadgen_id":"1234567890123456","created_time":1772479990,"page_id":"104738291045561",)"
      R"("adgroup_id":"120210000000000222"}}]}]})";
  const std::vector<std::pair<std::string, std::string>> sig = {
      {"X-Hub-Signature-256", "sha256=" + HmacHex(kMetaAppSecret, body)}};
  auto r = server_->Post("/in/facebook", body, "application/json", sig);
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = json::parse(r.body)["id"];

  // The Graph API fails at first (retryable): the inquiry waits for its context.
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard lock(graph_mu_);
    return !graph_targets_.empty();
  })) << server_->Logs();
  json shown = Show(id);
  EXPECT_EQ(shown["inquiry"]["status"], "awaiting_context") << shown.dump();
  EXPECT_EQ(shown["inquiry"]["fields"]["leadgen_id"], "1234567890123456");
  auto again = server_->Post("/in/facebook", body, "application/json", sig);
  EXPECT_EQ(json::parse(again.body)["status"], "duplicate");

  graph_ready_ = true;
  ASSERT_TRUE(Eventually([&] {
    shown = Show(id);
    return shown.is_object() && shown["inquiry"]["contact"]["name"] == "Jordan Reyes";
  })) << shown.dump()
      << server_->Logs();
  EXPECT_NE(shown["inquiry"]["status"], "awaiting_context");
  EXPECT_EQ(shown["inquiry"]["contact"]["phone"], "+14155550188");
  EXPECT_EQ(shown["inquiry"]["fields"]["postcode"], "94607");
  std::lock_guard lock(graph_mu_);
  ASSERT_FALSE(graph_targets_.empty());
  EXPECT_EQ(graph_targets_.back(),
            "/v21.0/1234567890123456?fields=id,created_time,ad_id,form_id,field_data,is_organic,"
            "platform&access_token=EAAPageToken0123456789xyz");
  EXPECT_EQ(server_->Logs().find(kMetaPageToken), std::string::npos)
      << "the page token never reaches the logs";
  EXPECT_EQ(shown.dump().find(kMetaPageToken), std::string::npos);
}

TEST_F(ChatSourcesTest, MetaBatchedLeadsBecomeOneInquiryEach) {
  graph_ready_ = true;
  const std::string body =
      R"({"object":"page","entry":[{"id":"1","time":1772480100,"changes":[)"
      R"({"field":"leadgen","value":{"leadgen_id":"2234567890123456","page_id":"1","form_id":"2"}},)"
      R"({"field":"leadgen","value":{"leadgen_id":"3234567890123456","page_id":"1","form_id":"2"}}]}]})";
  const std::vector<std::pair<std::string, std::string>> sig = {
      {"X-Hub-Signature-256", "sha256=" + HmacHex(kMetaAppSecret, body)}};
  auto r = server_->Post("/in/facebook", body, "application/json", sig);
  ASSERT_EQ(r.status, 202) << r.body;
  json answer = json::parse(r.body);
  ASSERT_EQ(answer["deliveries"].size(), 2u) << r.body;
  EXPECT_NE(answer["deliveries"][0]["id"], answer["deliveries"][1]["id"]);
  auto again = server_->Post("/in/facebook", body, "application/json", sig);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body)["deliveries"][1]["status"], "duplicate");
  EXPECT_EQ(InquiryCount(), 2u);
}

}  // namespace
}  // namespace handoff::testing
