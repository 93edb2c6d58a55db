#include "transfer/connectors/twilio_sms/twilio_sms_connector.h"

#include <gtest/gtest.h>

#include "http/url_encoding.h"
#include "transfer/connectors/common/connector_test_fixture.h"

namespace handoff {
namespace {

using K = DeliveryOutcome::Kind;

class TwilioSmsConnectorTest : public testing::ConnectorTestBase {
 protected:
  TwilioSmsConnectorTest() {
    dest_.connector = "twilio_sms";
    dest_.settings = {{"account_sid", "AC123"}, {"auth_token", "tok"}, {"from", "+14155550199"}};
  }
  // The form body decoded into name → value (each name once).
  std::map<std::string, std::string> Form(const DeliveryContext& ctx) {
    auto req = connector_.BuildRequest(ctx);
    EXPECT_TRUE(req.ok()) << req.status();
    std::map<std::string, std::string> out;
    if (!req.ok()) return out;
    auto pairs = ParseUrlEncoded(req->body);
    EXPECT_TRUE(pairs.has_value()) << req->body;
    for (const auto& [k, v] : pairs.value_or(decltype(pairs)::value_type{})) {
      EXPECT_FALSE(out.contains(k)) << k;
      out[k] = v;
    }
    return out;
  }
  TwilioSmsConnector connector_;
};

TEST_F(TwilioSmsConnectorTest, TextsTheOwnerWithBasicAuth) {
  auto req = connector_.BuildRequest(Ctx());
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->method, "POST");
  EXPECT_EQ(req->url, "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json");
  EXPECT_EQ(HeaderOf(*req, "authorization"), "Basic QUMxMjM6dG9r");  // AC123:tok
  EXPECT_EQ(HeaderOf(*req, "content-type"), "application/x-www-form-urlencoded");
  auto form = Form(Ctx());
  EXPECT_EQ(form["To"], "+14155550100");
  EXPECT_EQ(form["From"], "+14155550199");
  EXPECT_FALSE(form.contains("MessagingServiceSid"));
  EXPECT_FALSE(form.contains("StatusCallback"));
  EXPECT_EQ(form["Body"],
            "New form inquiry from Dana Roe\n+14155550142\n\"No hot water since this morning\"\n"
            "https://handoff.example.com/inquiries/" +
                inquiry_.id);
  // '+' travels as %2B, never as a space.
  EXPECT_NE(req->body.find("To=%2B14155550100"), std::string::npos) << req->body;
}

TEST_F(TwilioSmsConnectorTest, ApiKeyMessagingServiceAndCallback) {
  dest_.settings = {{"account_sid", "AC123"},
                    {"api_key_sid", "SK9"},
                    {"api_key_secret", "s3cret"},
                    {"messaging_service_sid", "MG5"},
                    {"status_callback", "https://handoff.example.com/twilio/status?x=1"},
                    {"base_url", "http://127.0.0.1:9/"}};
  auto req = connector_.BuildRequest(Ctx());
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->url, "http://127.0.0.1:9/2010-04-01/Accounts/AC123/Messages.json");
  EXPECT_EQ(HeaderOf(*req, "authorization"), "Basic U0s5OnMzY3JldA==");  // SK9:s3cret
  auto form = Form(Ctx());
  EXPECT_EQ(form["MessagingServiceSid"], "MG5");
  EXPECT_FALSE(form.contains("From"));
  EXPECT_EQ(form["StatusCallback"], "https://handoff.example.com/twilio/status?x=1");
}

TEST_F(TwilioSmsConnectorTest, RecipientChoices) {
  dest_.settings["to"] = "+442071838750";
  EXPECT_EQ(Form(Ctx())["To"], "+442071838750");
  dest_.settings["to"] = "lead";
  dest_.settings["body"] = "Thanks {{contact.name}}, we will call you back shortly.";
  auto form = Form(Ctx());
  EXPECT_EQ(form["To"], "+14155550142");
  EXPECT_EQ(form["Body"], "Thanks Dana Roe, we will call you back shortly.");
}

TEST_F(TwilioSmsConnectorTest, ATextBackGoesToTheLeadWithTheRoutesText) {
  handoff_.purpose = "reply";
  handoff_.recipient = "lead";
  handoff_.text = "Sorry we missed your call, Dana. We'll call you back within 10 minutes.";
  // Whatever the destination is set up for, a reply texts the lead its own text.
  auto form = Form(Ctx());
  EXPECT_EQ(form["To"], "+14155550142");
  EXPECT_EQ(form["Body"], handoff_.text);
  dest_.settings["body"] = "Team summary {{contact.name}}";
  EXPECT_EQ(Form(Ctx())["Body"], handoff_.text);
  inquiry_.normalized.phone.clear();
  EXPECT_TRUE(absl::IsFailedPrecondition(connector_.BuildRequest(Ctx()).status()));
}

TEST_F(TwilioSmsConnectorTest, ANotificationTextsItsRecipientWithTheAckLink) {
  handoff_.purpose = "escalate";
  handoff_.recipient = "maria";
  dest_.settings["to"] = "+442071838750";  // the team's shared number, for routine notices
  DeliveryContext ctx = Ctx();
  TeamMember maria;
  maria.id = "maria";
  maria.name = "Maria";
  maria.phone = "+14155550103";
  ctx.recipient = maria;
  ctx.ack_url = "https://handoff.example.com/t/abc.def";
  auto form = Form(ctx);
  EXPECT_EQ(form["To"], "+14155550103");
  EXPECT_NE(form["Body"].find("Not acknowledged: form inquiry from Dana Roe"), std::string::npos)
      << form["Body"];
  EXPECT_NE(form["Body"].find("Ack: https://handoff.example.com/t/abc.def"), std::string::npos);
  maria.phone.clear();
  ctx.recipient = maria;
  auto none = connector_.BuildRequest(ctx);
  EXPECT_EQ(none.status().message(), "no phone: maria has no phone in the team list");
}

TEST_F(TwilioSmsConnectorTest, MissingPhoneIsABuildError) {
  owner_->phone.clear();
  auto r = connector_.BuildRequest(Ctx());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no phone"), std::string::npos) << r.status();
  owner_.reset();
  EXPECT_FALSE(connector_.BuildRequest(Ctx()).ok());
  dest_.settings["to"] = "lead";
  dest_.settings["body"] = "hi";
  inquiry_.normalized.phone.clear();
  r = connector_.BuildRequest(Ctx());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no phone"), std::string::npos) << r.status();
}

TEST_F(TwilioSmsConnectorTest, BadSettings) {
  const std::vector<nlohmann::json> bad = {
      {{"auth_token", "t"}, {"from", "+14155550199"}},
      {{"account_sid", "AC1"}, {"from", "+14155550199"}},
      {{"account_sid", "AC1"}, {"auth_token", "t"}},
      {{"account_sid", "AC1"}, {"auth_token", "t"}, {"from", "+1"}, {"messaging_service_sid", "M"}},
      {{"account_sid", "AC1"}, {"auth_token", "t"}, {"api_key_sid", "SK"}, {"from", "+1"}},
      {{"account_sid", "AC1"}, {"auth_token", "t"}, {"from", "+1"}, {"to", "4155550100"}},
      // The team's summary must never be texted to the lead.
      {{"account_sid", "AC1"}, {"auth_token", "t"}, {"from", "+1"}, {"to", "lead"}},
      {{"account_sid", "AC/../x"}, {"auth_token", "t"}, {"from", "+1"}},
  };
  for (const auto& settings : bad) {
    dest_.settings = settings;
    EXPECT_FALSE(connector_.BuildRequest(Ctx()).ok()) << settings.dump();
  }
  for (size_t i = 0; i + 1 < bad.size(); ++i) {
    dest_.settings = bad[i];
    EXPECT_FALSE(connector_.CheckSettings(dest_).empty()) << bad[i].dump();
  }
  dest_.settings = {{"account_sid", "AC1"}, {"auth_token", "t"}, {"from", "+1"}};
  EXPECT_TRUE(connector_.CheckSettings(dest_).empty());
}

TEST_F(TwilioSmsConnectorTest, LongMessagesAreCut) {
  inquiry_.message = std::string(5000, 'x');
  std::string body = Form(Ctx())["Body"];
  EXPECT_LE(body.size(), 1600u);
  EXPECT_LT(body.size(), 600u);  // the message is cut to a couple of segments
  dest_.settings["body"] = "{{inquiry.message}}";
  EXPECT_LE(Form(Ctx())["Body"].size(), 1600u);
}

struct SmsCase {
  int status;
  const char* body;
  const char* retry_after_header;
  K kind;
  const char* remote_id;
  const char* reason_part;
  std::optional<Micros> retry_after;
};

TEST_F(TwilioSmsConnectorTest, Answers) {
  const SmsCase cases[] = {
      {201, R"({"sid":"SM1234567890abcdef","status":"queued"})", nullptr, K::kConfirmed,
       "SM1234567890abcdef", "HTTP 201", std::nullopt},
      {400,
       R"({"code":21610,"message":"Attempt to send to unsubscribed recipient","more_info":"https://www.twilio.com/docs/errors/21610","status":400})",
       nullptr, K::kPermanent, "", "recipient opted out (21610)", std::nullopt},
      {400, R"({"code":21211,"message":"Invalid 'To' Phone Number","status":400})", nullptr,
       K::kPermanent, "", "21211", std::nullopt},
      {400, R"({"code":21614,"status":400})", nullptr, K::kPermanent, "", "21614", std::nullopt},
      {400, R"({"code":21408,"status":400})", nullptr, K::kPermanent, "", "21408", std::nullopt},
      {401, R"({"code":20003,"message":"Authenticate","status":401})", nullptr, K::kPermanent, "",
       "20003", std::nullopt},
      {401, "", nullptr, K::kPermanent, "", "HTTP 401", std::nullopt},
      {429, R"({"code":20429,"message":"Too Many Requests","status":429})", nullptr, K::kRetryable,
       "", "20429", std::nullopt},
      {429, R"({"code":20429,"status":429})", "4", K::kRetryable, "", "20429",
       4 * kMicrosPerSecond},
      {429, "", "9", K::kRetryable, "", "HTTP 429", 9 * kMicrosPerSecond},
      {400, R"({"code":21602,"status":400})", nullptr, K::kPermanent, "", "twilio error 21602",
       std::nullopt},
      {500, "oops", nullptr, K::kRetryable, "", "HTTP 500", std::nullopt},
      {503, R"({"code":20500,"status":503})", nullptr, K::kRetryable, "", "20500", std::nullopt},
  };
  for (const SmsCase& c : cases) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (c.retry_after_header) headers.emplace_back("retry-after", c.retry_after_header);
    DeliveryOutcome o = connector_.Classify(Ctx(), c.status, headers, c.body);
    EXPECT_EQ(o.kind, c.kind) << c.status << " " << c.body;
    EXPECT_EQ(o.remote_id, c.remote_id) << c.body;
    EXPECT_NE(o.reason.find(c.reason_part), std::string::npos) << o.reason;
    EXPECT_EQ(o.retry_after, c.retry_after) << c.body;
  }
}

}  // namespace
}  // namespace handoff
