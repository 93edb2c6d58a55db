// The real binary on loopback with Twilio sources: signed voice and SMS webhooks over HTTP, the
// TwiML answers Twilio needs, a missed call whose voicemail and transcription end up as one
// inquiry, and redeliveries.
#include <string>

#include "entry/common/twilio_testing.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/server_process.h"

namespace handoff::testing {
namespace {

using nlohmann::json;

constexpr char kPublicUrl[] = "https://hooks.test.example";
constexpr char kParent[] = "CA5d6e7f8091a2b3c4d5e6f708192a3b4c";
constexpr char kTranscriptStart[] = "Hi, this is Ana. My water heater is leaking";

std::string TwilioConfig() {
  return fmt::format(R"(workspace: test-works
business:
  name: Test Works
  public_url: {}
server:
  admin_token: ${{HANDOFF_ADMIN_TOKEN}}
team:
  - {{ id: ana, name: Ana Ortiz }}
sources:
  voice:
    adapter: twilio_voice
    signature: {{ secret: [{}, {}] }}
    greeting: "Sorry, Test Works & co. missed you. Leave a message."
    voicemail_max_seconds: 90
  texts:
    adapter: twilio_sms
    signature: {{ secret: {} }}
    auto_reply: "Thanks <3 we'll text back soon"
routes:
  - name: everything
    fallback: true
    assign: ana
)",
                     kPublicUrl, kTwilioOldAuthToken, kTwilioAuthToken, kTwilioAuthToken);
}

class TwilioSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_.File("handoff.yaml"), TwilioConfig());
    server_ = std::make_unique<ServerProcess>(
        dir_.File("handoff.yaml"), dir_.File("handoff.db"),
        std::map<std::string, std::string>{{"HANDOFF_ADMIN_TOKEN", kAdminToken}});
    server_->Start();
  }

  // Posts a testdata body to /in/{source}, signed for the public URL like Twilio would.
  HttpClientResponse PostSigned(const std::string& source, const std::string& body,
                                std::vector<std::pair<std::string, std::string>> extra = {}) {
    const std::string path = "/in/" + source;
    extra.emplace_back("X-Twilio-Signature",
                       TwilioSign(kTwilioAuthToken, std::string(kPublicUrl) + path, body));
    return server_->Post(path, body, "application/x-www-form-urlencoded", extra);
  }
  HttpClientResponse PostVoice(const std::string& file) {
    return PostSigned("voice", TwilioTestdata("twilio_voice/testdata/" + file));
  }

  json Show(const std::string& id) {
    auto r = server_->ApiGet("/api/v1/inquiries/" + id);
    if (r.status != 200) return json();
    return json::parse(r.body, nullptr, false);
  }
  json List() {
    auto r = server_->ApiGet("/api/v1/inquiries");
    return json::parse(r.body, nullptr, false);
  }
  static std::string Id(const HttpClientResponse& r) {
    auto j = json::parse(r.body, nullptr, false);
    return j.is_object() ? j.value("id", "") : "";
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(TwilioSourcesTest, AMissedForwardedCallWithVoicemailIsOneInquiryWithTheTranscript) {
  // The <Dial action> of the missed forward: answered with TwiML that takes a voicemail.
  HttpClientResponse dial = PostVoice("dial_action_no_answer.urlencoded");
  ASSERT_EQ(dial.status, 200) << dial.body << server_->Logs();
  EXPECT_EQ(dial.Header("content-type"), "text/xml");
  EXPECT_NE(dial.body.find("<Say>Sorry, Test Works &amp; co. missed you. Leave a message.</Say>"),
            std::string::npos)
      << dial.body;
  EXPECT_NE(dial.body.find("<Record action=\"https://hooks.test.example/in/voice\""),
            std::string::npos)
      << dial.body;
  EXPECT_NE(dial.body.find("maxLength=\"90\""), std::string::npos);
  EXPECT_NE(dial.body.find("transcribeCallback=\"https://hooks.test.example/in/voice\""),
            std::string::npos);

  // Twilio retries the Dial action: the same TwiML, nothing new.
  HttpClientResponse again = PostVoice("dial_action_no_answer.urlencoded");
  EXPECT_EQ(again.body, dial.body);

  // The child leg's status callback tells of the same miss.
  HttpClientResponse child = PostVoice("child_leg_no_answer.urlencoded");
  ASSERT_EQ(child.status, 200) << child.body;
  const std::string id = Id(child);
  ASSERT_FALSE(id.empty()) << child.body;
  EXPECT_EQ(json::parse(child.body)["status"], "updated");

  // The voicemail, then its transcription.
  HttpClientResponse action = PostVoice("record_action.urlencoded");
  EXPECT_EQ(action.Header("content-type"), "text/xml");
  HttpClientResponse recording = PostVoice("recording_completed.urlencoded");
  EXPECT_EQ(Id(recording), id);
  HttpClientResponse transcription = PostVoice("transcription_completed.urlencoded");
  EXPECT_EQ(transcription.status, 200) << transcription.body;
  EXPECT_EQ(Id(transcription), id);

  json shown = Show(id);
  ASSERT_TRUE(shown.is_object()) << server_->Logs();
  const json& inquiry = shown["inquiry"];
  EXPECT_EQ(inquiry["channel"], "call");
  EXPECT_EQ(inquiry["source"], "voice");
  EXPECT_EQ(inquiry["contact_as_received"]["phone"], "+14155550101");
  EXPECT_EQ(inquiry["message"].get<std::string>().rfind(kTranscriptStart, 0), 0u) << inquiry.dump();
  EXPECT_EQ(inquiry["fields"]["kind"], "missed_call");
  EXPECT_EQ(inquiry["fields"]["call_sid"], kParent);

  json list = List();
  ASSERT_TRUE(list.is_object()) << list.dump();
  EXPECT_EQ(list["inquiries"].size(), 1u) << "dial, child leg, voicemail, transcript: one";
}

TEST_F(TwilioSourcesTest, AnsweredCallsAndBadSignaturesStoreNothing) {
  HttpClientResponse answered = PostVoice("dial_action_completed.urlencoded");
  EXPECT_EQ(answered.status, 200);
  EXPECT_EQ(answered.Header("content-type"), "text/xml");
  EXPECT_NE(answered.body.find("<Response/>"), std::string::npos);

  const std::string body = TwilioTestdata("twilio_voice/testdata/status_busy.urlencoded");
  HttpClientResponse unsigned_post =
      server_->Post("/in/voice", body, "application/x-www-form-urlencoded");
  EXPECT_EQ(unsigned_post.status, 401);
  EXPECT_EQ(json::parse(unsigned_post.body)["error"]["code"], "bad_credentials");
  // Signed for the loopback address the request really went to, not the public URL.
  HttpClientResponse wrong_url =
      server_->Post("/in/voice", body, "application/x-www-form-urlencoded",
                    {{"X-Twilio-Signature",
                      TwilioSign(kTwilioAuthToken, server_->base_url() + "/in/voice", body)}});
  EXPECT_EQ(wrong_url.status, 401);
  json list = List();
  EXPECT_EQ(list["inquiries"].size(), 0u);
}

TEST_F(TwilioSourcesTest, AnInboundTextGetsTheAutoReplyOnceStored) {
  const std::string body = TwilioTestdata("twilio_sms/testdata/inbound_mms.urlencoded");
  for (int i = 0; i < 2; ++i) {
    HttpClientResponse r = PostSigned("texts", body, {{"I-Twilio-Idempotency-Token", "idem-sms"}});
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Header("content-type"), "text/xml");
    EXPECT_NE(r.body.find("<Message>Thanks &lt;3 we&#39;ll text back soon</Message>"),
              std::string::npos)
        << r.body;
  }
  json list = List();
  ASSERT_EQ(list["inquiries"].size(), 1u) << list.dump();
  json shown = Show(list["inquiries"][0]["id"]);
  EXPECT_EQ(shown["inquiry"]["channel"], "sms");
  EXPECT_EQ(shown["inquiry"]["message"], "Photo of the leak");
  EXPECT_EQ(shown["inquiry"]["fields"]["media_urls"].size(), 2u);
}

}  // namespace
}  // namespace handoff::testing
