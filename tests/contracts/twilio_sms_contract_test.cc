// The twilio_sms connector against a loopback Twilio Messages API, through the real dispatcher:
// requests checked against formats/README.md B5 (path, Basic auth, form body), answers as
// Twilio gives them (201 with the sid; error JSON with 21610 / 20429 and friends).
#include <gtest/gtest.h>

#include <map>

#include "http/url_encoding.h"
#include "nlohmann/json.hpp"
#include "tests/contracts/messaging_contract.h"

namespace handoff {
namespace {

using testing::ContractServer;
using testing::HeaderOf;
using testing::kFirstRetry;
using testing::Respond;

constexpr const char* kCreated =
    R"({"sid":"SM1f0e2d3c4b5a69788796a5b4c3d2e1f0","status":"queued","to":"+14155550100",)"
    R"("from":"+14155550199","body":"x","num_segments":"1","date_created":"Thu, 01 Jan 2026 00:00:00 +0000"})";

nlohmann::json SmsSettings(const std::string& base) {
  return {{"account_sid", "AC0123456789abcdef0123456789abcdef"},
          {"auth_token", "token-xyz"},
          {"from", "+14155550199"},
          {"base_url", base}};
}

HttpResponse TwilioError(int status, int code, const std::string& message) {
  return Respond(status, nlohmann::json{{"code", code},
                                        {"message", message},
                                        {"more_info", "https://www.twilio.com/docs/errors/" +
                                                          std::to_string(code)},
                                        {"status", status}}
                             .dump());
}

std::map<std::string, std::string> FormOf(const HttpRequest& r) {
  std::map<std::string, std::string> out;
  auto pairs = ParseUrlEncoded(r.body);
  EXPECT_TRUE(pairs.has_value()) << r.body;
  if (!pairs) return out;
  for (const auto& [k, v] : *pairs) {
    EXPECT_FALSE(out.contains(k)) << k << " sent twice";
    out[k] = v;
  }
  return out;
}

class TwilioSmsContractTest : public testing::MessagingContractTest {};

TEST_F(TwilioSmsContractTest, TextsTheOwnerAndKeepsTheSid) {
  ContractServer twilio([](const HttpRequest&, int) { return Respond(201, kCreated); });
  std::string id =
      Deliver("twilio_sms", SmsSettings(testing::LoopbackBase(twilio.port())),
              [](Inquiry& i, Contact&, Task&) { i.normalized.name = testing::kHostileLeadName; });
  Handoff h = h_.WaitForState(id, "confirmed", 1);
  EXPECT_EQ(h.remote_id, "SM1f0e2d3c4b5a69788796a5b4c3d2e1f0");
  auto requests = twilio.requests();
  ASSERT_EQ(requests.size(), 1u);
  const HttpRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json");
  EXPECT_EQ(HeaderOf(r, "content-type"), "application/x-www-form-urlencoded");
  // base64("AC0123456789abcdef0123456789abcdef:token-xyz")
  EXPECT_EQ(HeaderOf(r, "authorization"),
            "Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjp0b2tlbi14eXo=");
  auto form = FormOf(r);
  EXPECT_EQ(form["To"], "+14155550100");  // ana, the task owner, from the team list
  EXPECT_EQ(form["From"], "+14155550199");
  EXPECT_FALSE(form.contains("MessagingServiceSid"));
  // SMS is plain text: the name arrives exactly as typed, the link is ours.
  const std::string& body = form["Body"];
  EXPECT_EQ(body.rfind("New form inquiry from <!channel> *x* <http://evil|click>\n", 0), 0u)
      << body;
  EXPECT_NE(body.find("+14155550101"), std::string::npos) << body;
  EXPECT_NE(body.find("No hot water since this morning"), std::string::npos) << body;
  EXPECT_NE(body.find(TimelineUrl()), std::string::npos) << body;
  EXPECT_LE(body.size(), 1600u);
}

TEST_F(TwilioSmsContractTest, MissedCallTextBackGoesToTheLead) {
  ContractServer twilio([](const HttpRequest&, int) { return Respond(201, kCreated); });
  nlohmann::json settings = SmsSettings(testing::LoopbackBase(twilio.port()));
  settings.erase("from");
  settings["messaging_service_sid"] = "MG0123";
  settings["to"] = "lead";
  settings["body"] = "Sorry we missed your call, {{contact.name}}. We will call you back soon.";
  settings["status_callback"] = "https://handoff.example.com/twilio/status";
  std::string id = Deliver("twilio_sms", settings);
  h_.WaitForState(id, "confirmed", 1);
  auto requests = twilio.requests();
  ASSERT_EQ(requests.size(), 1u);
  auto form = FormOf(requests[0]);
  EXPECT_EQ(form["To"], "+14155550101");
  EXPECT_EQ(form["MessagingServiceSid"], "MG0123");
  EXPECT_FALSE(form.contains("From"));
  EXPECT_EQ(form["Body"], "Sorry we missed your call, Dana Roe. We will call you back soon.");
  EXPECT_EQ(form["StatusCallback"], "https://handoff.example.com/twilio/status");
}

TEST_F(TwilioSmsContractTest, OptedOutRecipientIsDeadAndNeverRetried) {
  ExpectDead("twilio_sms", SmsSettings,
             TwilioError(400, 21610, "Attempt to send to unsubscribed recipient"),
             "recipient opted out (21610)");
}

TEST_F(TwilioSmsContractTest, InvalidNumberIsDead) {
  ExpectDead("twilio_sms", SmsSettings, TwilioError(400, 21211, "Invalid 'To' Phone Number"),
             "21211");
}

TEST_F(TwilioSmsContractTest, BadCredentialsAreDead) {
  ExpectDead("twilio_sms", SmsSettings, TwilioError(401, 20003, "Authenticate"), "20003");
}

TEST_F(TwilioSmsContractTest, TooManyConcurrentRequestsIsRetried) {
  Handoff failed =
      ExpectRetriedAfter("twilio_sms", SmsSettings, TwilioError(429, 20429, "Too Many Requests"),
                         Respond(201, kCreated), kFirstRetry);
  EXPECT_NE(failed.last_error.find("20429"), std::string::npos) << failed.last_error;
}

TEST_F(TwilioSmsContractTest, TooManyRequestsHonoursRetryAfter) {
  HttpResponse limited = TwilioError(429, 20429, "Too Many Requests");
  limited.headers = {{"Retry-After", "25"}};
  ExpectRetriedAfter("twilio_sms", SmsSettings, limited, Respond(201, kCreated),
                     25 * kMicrosPerSecond);
}

TEST_F(TwilioSmsContractTest, ServerErrorIsRetried) {
  ExpectRetriedAfter("twilio_sms", SmsSettings, Respond(503, "{}"), Respond(201, kCreated),
                     kFirstRetry);
}

TEST_F(TwilioSmsContractTest, TimeoutIsRetried) {
  ExpectTimeoutIsRetried("twilio_sms", SmsSettings);
}

TEST_F(TwilioSmsContractTest, ConnectionResetIsRetried) {
  ExpectResetIsRetried("twilio_sms", SmsSettings);
}

TEST_F(TwilioSmsContractTest, OwnerWithoutPhoneIsDeadWithoutARequest) {
  ContractServer twilio([](const HttpRequest&, int) { return Respond(201, kCreated); });
  std::string id = Deliver("twilio_sms", SmsSettings(testing::LoopbackBase(twilio.port())),
                           [](Inquiry&, Contact&, Task& t) { t.owner = "not-on-the-team"; });
  Handoff h = h_.WaitForState(id, "dead", 1);
  EXPECT_NE(h.last_error.find("no phone"), std::string::npos) << h.last_error;
  EXPECT_TRUE(twilio.requests().empty());
}

}  // namespace
}  // namespace handoff
