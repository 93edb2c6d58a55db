#include "transfer/connectors/webhook/webhook_connector.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"

namespace handoff {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr Micros kWebhookNow = 1614265330 * kMicrosPerSecond;

std::string HeaderOf(const OutboundRequest& r, const std::string& name) {
  std::string found;
  int count = 0;
  for (const auto& [k, v] : r.headers) {
    std::string lower = k;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == name) {
      found = v;
      ++count;
    }
  }
  EXPECT_LE(count, 1) << name << " sent more than once";
  return found;
}

class WebhookConnectorTest : public ::testing::Test {
 protected:
  WebhookConnectorTest() {
    dest_.name = "sink";
    dest_.connector = "webhook";
    dest_.url = "https://example.com/hooks";
    handoff_.id = "0190c4c0-7a3e-7b11-8c55-3f1b2a4d5e6f";
    handoff_.workspace = "ws";
    handoff_.inquiry_id = "0190c4c0-0000-7000-8000-000000000001";
    handoff_.destination = "sink";
    inquiry_.id = handoff_.inquiry_id;
    inquiry_.workspace = "ws";
    inquiry_.source = "website";
    inquiry_.channel = Channel::kForm;
    inquiry_.received_at = kWebhookNow;
    inquiry_.message = "no hot water";
    inquiry_.raw_payload = "{\"secret\":\"raw\"}";
  }

  DeliveryContext Ctx(Micros now = kWebhookNow) {
    return DeliveryContext{dest_, handoff_, inquiry_, task_, contact_, now};
  }

  DestinationConfig dest_;
  Handoff handoff_;
  Inquiry inquiry_;
  std::optional<Task> task_;
  std::optional<Contact> contact_;
  WebhookConnector connector_;
};

TEST(SignStandardWebhook, KnownAnswerVector) {
  // RELIABILITY.md §2 / the Standard Webhooks reference libraries' test vector.
  auto sig =
      SignStandardWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                          1614265330, "{\"test\": 2432232314}");
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(*sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(SignStandardWebhook, AnyChangedInputChangesTheSignature) {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const std::string good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
  EXPECT_NE(*SignStandardWebhook(secret, "msg_p5jXN8AQM9LWM0D4loKWxJeK", 1614265330,
                                 "{\"test\": 2432232314}"),
            good);
  EXPECT_NE(*SignStandardWebhook(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331,
                                 "{\"test\": 2432232314}"),
            good);
  EXPECT_NE(*SignStandardWebhook(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                 "{\"test\":2432232314}"),
            good);
  // Without the prefix the same text is used as raw key bytes, giving another MAC.
  EXPECT_NE(*SignStandardWebhook("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                 1614265330, "{\"test\": 2432232314}"),
            good);
}

TEST(SignStandardWebhook, RejectsMalformedWhsecSecret) {
  for (const char* s : {"whsec_not*base64", "whsec_a", "whsec_ab=c"}) {
    EXPECT_FALSE(SignStandardWebhook(s, "id", 1, "{}").ok()) << s;
  }
}

TEST_F(WebhookConnectorTest, BuildsSignedJsonPost) {
  dest_.secrets = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  dest_.headers = {{"X-Tenant", "harbor"}};
  Task task;
  task.id = "task-1";
  task.owner = "ana";
  task_ = task;
  auto req = connector_.BuildRequest(Ctx());
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->method, "POST");
  EXPECT_EQ(req->url, "https://example.com/hooks");
  EXPECT_EQ(HeaderOf(*req, "content-type"), "application/json");
  EXPECT_EQ(HeaderOf(*req, "x-tenant"), "harbor");
  EXPECT_EQ(HeaderOf(*req, "webhook-id"), handoff_.id);
  EXPECT_EQ(HeaderOf(*req, "idempotency-key"), handoff_.id);
  EXPECT_EQ(HeaderOf(*req, "webhook-timestamp"), "1614265330");
  // The signature covers exactly the body that is sent.
  EXPECT_EQ(HeaderOf(*req, "webhook-signature"),
            *SignStandardWebhook(dest_.secrets[0], handoff_.id, 1614265330, req->body));

  nlohmann::json body = nlohmann::json::parse(req->body);
  EXPECT_EQ(body["type"], "inquiry.handoff");
  EXPECT_EQ(body["handoff_id"], handoff_.id);
  EXPECT_EQ(body["inquiry"]["id"], inquiry_.id);
  EXPECT_EQ(body["inquiry"]["message"], "no hot water");
  EXPECT_EQ(req->body.find("\"secret\":\"raw\""), std::string::npos) << "raw payload leaked";
  EXPECT_TRUE(body["contact"].is_null());
  EXPECT_EQ(body["task"]["id"], "task-1");
}

TEST_F(WebhookConnectorTest, WebhookIdIsStableAcrossAttemptsTimestampIsNot) {
  dest_.secrets = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  auto first = connector_.BuildRequest(Ctx(kWebhookNow));
  auto second = connector_.BuildRequest(Ctx(kWebhookNow + 300 * kMicrosPerSecond));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(HeaderOf(*first, "webhook-id"), HeaderOf(*second, "webhook-id"));
  EXPECT_EQ(HeaderOf(*first, "idempotency-key"), HeaderOf(*second, "idempotency-key"));
  EXPECT_EQ(HeaderOf(*second, "webhook-timestamp"), "1614265630");
  EXPECT_NE(HeaderOf(*first, "webhook-signature"), HeaderOf(*second, "webhook-signature"));
  EXPECT_EQ(first->body, second->body);
}

TEST_F(WebhookConnectorTest, RotationSignsWithEverySecret) {
  dest_.secrets = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "a-plain-old-secret"};
  auto req = connector_.BuildRequest(Ctx());
  ASSERT_TRUE(req.ok());
  const std::string expected =
      *SignStandardWebhook(dest_.secrets[0], handoff_.id, 1614265330, req->body) + " " +
      *SignStandardWebhook(dest_.secrets[1], handoff_.id, 1614265330, req->body);
  EXPECT_EQ(HeaderOf(*req, "webhook-signature"), expected);
}

TEST_F(WebhookConnectorTest, NoSignatureHeaderWithoutSecrets) {
  auto req = connector_.BuildRequest(Ctx());
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(HeaderOf(*req, "webhook-signature"), "");
  EXPECT_EQ(HeaderOf(*req, "webhook-id"), handoff_.id);
}

TEST_F(WebhookConnectorTest, ContactIsIncludedWhenKnown) {
  Contact c;
  c.id = "contact-1";
  c.email = "a@example.com";
  contact_ = c;
  auto req = connector_.BuildRequest(Ctx());
  ASSERT_TRUE(req.ok());
  nlohmann::json body = nlohmann::json::parse(req->body);
  EXPECT_EQ(body["contact"]["id"], "contact-1");
  EXPECT_TRUE(body["task"].is_null());
}

TEST_F(WebhookConnectorTest, InvalidUtf8InLeadDataStillBuildsValidJson) {
  inquiry_.message = std::string("bad \xff\xfe bytes");
  auto req = connector_.BuildRequest(Ctx());
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_TRUE(nlohmann::json::accept(req->body));
}

// The default body is written as text (model/json_writer.h) in the form nlohmann dumps: the
// keys in its order, so parsing and dumping it again gives the same bytes; a notice says what it
// is, for whom, with its ack link.
TEST_F(WebhookConnectorTest, TheBodyIsCanonicalJsonForEveryPurpose) {
  Contact c;
  c.id = "contact-1";
  c.name = "Dana \"D\" Roe";
  contact_ = c;
  Task t;
  t.id = "task-1";
  t.owner = "ana";
  t.missing = {"contact.phone"};
  task_ = t;
  inquiry_.message = std::string("line one\nline \xff two");
  TeamMember ana;
  ana.id = "ana";
  ana.name = "Ana Ortiz";
  for (const char* purpose : {"deliver", "notify", "escalate"}) {
    handoff_.purpose = purpose;
    DeliveryContext ctx = Ctx();
    if (handoff_.purpose != "deliver") {
      ctx.recipient = ana;
      ctx.ack_url = "https://handoff.example/ack?t=abc";
    }
    auto req = connector_.BuildRequest(ctx);
    ASSERT_TRUE(req.ok()) << req.status();
    nlohmann::json body = nlohmann::json::parse(req->body);
    EXPECT_EQ(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), req->body);
    EXPECT_EQ(body["handoff_id"], handoff_.id);
    EXPECT_EQ(body["inquiry"]["id"], inquiry_.id);
    EXPECT_EQ(body["contact"]["name"], "Dana \"D\" Roe");
    EXPECT_EQ(body["task"]["missing"][0], "contact.phone");
    EXPECT_FALSE(body["inquiry"].contains("raw"));  // the raw body stays in handoff
    if (handoff_.purpose == "deliver") {
      EXPECT_EQ(body["type"], "inquiry.handoff");
      EXPECT_FALSE(body.contains("recipient"));
      EXPECT_FALSE(body.contains("ack_url"));
    } else {
      EXPECT_EQ(body["type"], std::string("inquiry.") + purpose);
      EXPECT_EQ(body["recipient"]["name"], "Ana Ortiz");
      EXPECT_EQ(body["ack_url"], "https://handoff.example/ack?t=abc");
    }
  }
}

TEST_F(WebhookConnectorTest, BadConfigFailsTheBuild) {
  {
    dest_.headers = {{"Webhook-Signature", "forged"}};
    EXPECT_FALSE(connector_.BuildRequest(Ctx()).ok());
  }
  {
    dest_.headers = {{"X-Ok", "a\r\nX-Injected: 1"}};
    EXPECT_FALSE(connector_.BuildRequest(Ctx()).ok());
  }
  {
    dest_.headers = {{"Bad Name", "v"}};
    EXPECT_FALSE(connector_.BuildRequest(Ctx()).ok());
  }
  {
    dest_.headers.clear();
    dest_.secrets = {"whsec_***"};
    EXPECT_FALSE(connector_.BuildRequest(Ctx()).ok());
  }
  {
    dest_.secrets.clear();
    dest_.url.clear();
    EXPECT_FALSE(connector_.BuildRequest(Ctx()).ok());
  }
}

struct ClassifyCase {
  int status;
  DeliveryOutcome::Kind kind;
  const char* retry_after_header;  // nullptr = none
  std::optional<Micros> retry_after;
};

TEST_F(WebhookConnectorTest, ClassificationTable) {
  using K = DeliveryOutcome::Kind;
  const ClassifyCase cases[] = {
      {200, K::kConfirmed, nullptr, std::nullopt},
      {201, K::kConfirmed, nullptr, std::nullopt},
      {204, K::kConfirmed, nullptr, std::nullopt},
      {301, K::kPermanent, nullptr, std::nullopt},
      {302, K::kPermanent, nullptr, std::nullopt},
      {307, K::kPermanent, nullptr, std::nullopt},
      {400, K::kPermanent, nullptr, std::nullopt},
      {401, K::kPermanent, nullptr, std::nullopt},
      {404, K::kPermanent, nullptr, std::nullopt},
      {410, K::kPermanent, nullptr, std::nullopt},
      {422, K::kPermanent, nullptr, std::nullopt},
      {408, K::kRetryable, nullptr, std::nullopt},
      {429, K::kRetryable, nullptr, std::nullopt},
      {429, K::kRetryable, "2", 2 * kMicrosPerSecond},
      {429, K::kRetryable, "Thu, 25 Feb 2021 15:03:10 GMT", 60 * kMicrosPerSecond},
      {429, K::kRetryable, "garbage", std::nullopt},
      {500, K::kRetryable, nullptr, std::nullopt},
      {501, K::kRetryable, nullptr, std::nullopt},
      {502, K::kRetryable, "30", 30 * kMicrosPerSecond},
      {503, K::kRetryable, "120", 120 * kMicrosPerSecond},
      {503, K::kRetryable, nullptr, std::nullopt},
      {504, K::kRetryable, nullptr, std::nullopt},
  };
  for (const ClassifyCase& c : cases) {
    Headers headers = {{"content-type", "text/plain"}};
    if (c.retry_after_header) headers.emplace_back("Retry-After", c.retry_after_header);
    DeliveryOutcome o = connector_.Classify(Ctx(), c.status, headers, "nope");
    EXPECT_EQ(o.kind, c.kind) << c.status;
    EXPECT_EQ(o.retry_after, c.retry_after) << c.status << " " << (c.retry_after_header ?: "");
    EXPECT_FALSE(o.reason.empty()) << c.status;
    EXPECT_TRUE(o.remote_id.empty()) << c.status;
  }
}

TEST_F(WebhookConnectorTest, RedirectReasonSaysItWasNotFollowed) {
  DeliveryOutcome o = connector_.Classify(Ctx(), 301, {{"location", "http://10.0.0.1/"}}, "");
  EXPECT_NE(o.reason.find("redirect not followed"), std::string::npos) << o.reason;
}

TEST_F(WebhookConnectorTest, RemoteIdComesFromTheJsonBody) {
  EXPECT_EQ(connector_.Classify(Ctx(), 201, {}, R"({"id":"rec_42","ok":true})").remote_id,
            "rec_42");
  EXPECT_EQ(connector_.Classify(Ctx(), 200, {}, R"({"id":12345})").remote_id, "12345");
  EXPECT_EQ(connector_.Classify(Ctx(), 200, {}, R"({"other":1})").remote_id, "");
  EXPECT_EQ(connector_.Classify(Ctx(), 200, {}, "OK").remote_id, "");
  EXPECT_EQ(connector_.Classify(Ctx(), 200, {}, R"(["id"])").remote_id, "");
  EXPECT_EQ(connector_.Classify(Ctx(), 200, {}, R"({"id":{"nested":1}})").remote_id, "");
  EXPECT_EQ(connector_.Classify(Ctx(), 200, {}, "{\"id\":\"a\\nb\"}").remote_id, "");
  EXPECT_EQ(
      connector_.Classify(Ctx(), 200, {}, "{\"id\":\"" + std::string(500, 'x') + "\"}").remote_id,
      "");
}

TEST_F(WebhookConnectorTest, PayloadTemplateShapesTheBodyAndQuotesLeadText) {
  inquiry_.normalized.name = "Dana \"Roe\" <b>";
  inquiry_.normalized.phone = "+14155550142";
  Task t;
  t.title = "Call back Dana";
  t.owner = "ana";
  t.due_at = kWebhookNow + 5 * kMicrosPerMinute;
  task_ = t;
  dest_.settings["payload"] = {
      {"lead", {{"full_name", "{{contact.name}}"}, {"phone", "{{contact.phone}}"}}},
      {"note", "{{inquiry.message}} (via {{inquiry.source}})"},
      {"due", "{{task.due_at}}"},
      {"ref", "{{handoff_id}}"},
      {"tags", {"handoff", "{{inquiry.channel}}"}},
      {"priority", 2}};
  auto req = connector_.BuildRequest(Ctx());
  ASSERT_TRUE(req.ok()) << req.status();
  nlohmann::json body = nlohmann::json::parse(req->body);
  EXPECT_EQ(body["lead"]["full_name"], "Dana \"Roe\" <b>") << "quoted by JSON, not HTML-escaped";
  EXPECT_EQ(body["lead"]["phone"], "+14155550142");
  EXPECT_EQ(body["note"], "no hot water (via website)");
  EXPECT_EQ(body["due"], "2021-02-25T15:07:10.000Z");
  EXPECT_EQ(body["ref"], handoff_.id);
  EXPECT_EQ(body["tags"], nlohmann::json({"handoff", "form"}));
  EXPECT_EQ(body["priority"], 2);
  EXPECT_FALSE(body.contains("inquiry")) << "the template replaces the default body";
  // The signature covers the templated body like any other.
  dest_.secrets = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  auto signed_req = connector_.BuildRequest(Ctx());
  ASSERT_TRUE(signed_req.ok());
  EXPECT_EQ(HeaderOf(*signed_req, "webhook-signature"),
            *SignStandardWebhook(dest_.secrets[0], handoff_.id, kWebhookNow / kMicrosPerSecond,
                                 signed_req->body));
}

TEST_F(WebhookConnectorTest, ABrokenPayloadTemplateIsAConfigError) {
  dest_.settings["payload"] = {{"x", "{{#inquiry}}unclosed"}};
  auto req = connector_.BuildRequest(Ctx());
  ASSERT_FALSE(req.ok());
  EXPECT_NE(req.status().message().find("does not parse"), std::string::npos) << req.status();
  dest_.settings["payload"] = "just text";
  EXPECT_FALSE(connector_.BuildRequest(Ctx()).ok());
}

}  // namespace
}  // namespace handoff
