#include "entry/sources/twilio_voice/twilio_voice_adapter.h"

#include <gtest/gtest.h>

#include <future>

#include "entry/common/twilio_testing.h"
#include "entry/common/twilio_webhook.h"
#include "entry/ingress.h"
#include "entry/rejection.h"
#include "store/store.h"
#include "tests/support/temp_dir.h"

namespace handoff {
namespace {

using testing::kTwilioAuthToken;
using testing::kTwilioPublicUrl;
using testing::TwilioPost;

constexpr char kParent[] = "CA5d6e7f8091a2b3c4d5e6f708192a3b4c";
constexpr char kChild[] = "CA9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b";
constexpr char kRecording[] = "RE0a1b2c3d4e5f60718293a4b5c6d7e8f9";
constexpr char kRecordingUrl[] =
    "https://api.twilio.com/2010-04-01/Accounts/ACf3b2d1c0a9e8d7c6b5a4f3e2d1c0b9a8/Recordings/"
    "RE0a1b2c3d4e5f60718293a4b5c6d7e8f9";
constexpr char kTranscript[] =
    "Hi, this is Ana. My water heater is leaking & the basement's flooding. Please call back "
    "<today>.";

std::string Voice(const std::string& file) {
  return testing::TwilioTestdata("twilio_voice/testdata/" + file);
}

SourceConfig VoiceSource() {
  SourceConfig s;
  s.name = "voice";
  s.adapter = "twilio_voice";
  s.public_url = kTwilioPublicUrl;
  s.auth.hmac_secrets = {kTwilioAuthToken};
  return s;
}

absl::StatusOr<ParsedDelivery> ParseVoice(const std::string& body,
                                          const SourceConfig& source = VoiceSource()) {
  TwilioVoiceAdapter adapter;
  HttpRequest r = TwilioPost("/in/voice", body);
  EXPECT_TRUE(adapter.Verify(source, r, 0).ok());
  return adapter.Parse(source, r);
}

// Every testdata request: what it becomes.
TEST(TwilioVoiceAdapter, MapsEachKindOfVoiceRequest) {
  struct Case {
    std::string file;
    std::string outcome;  // "inquiry", "ignored" or "reply-only"
    std::string phone, name, message, dedupe, call_status;
    Micros occurred_at = 0;
    bool replace = false;
    std::string reply_has;  // "" = no reply
  };
  const std::string thread = std::string("call:") + kParent;
  const std::string rec = std::string("event:") + kRecording;
  const std::string voicemail = std::string("voicemail: ") + kRecordingUrl;
  const std::string tr = "event:TRa1b2c3d4e5f60718293a4b5c6d7e8f90";
  const std::vector<Case> cases = {
      {"status_busy.urlencoded", "inquiry", "+14155550101", "ORTIZ ANA", "",
       std::string("event:") + kParent + ":2", "busy", 1741962723LL * kMicrosPerSecond, false, ""},
      {"child_leg_no_answer.urlencoded", "inquiry", "+14155550101", "", "",
       std::string("event:") + kChild + ":3", "no-answer", 1741962745LL * kMicrosPerSecond, false,
       ""},
      {"dial_action_no_answer.urlencoded", "inquiry", "+14155550101", "", "",
       std::string("event:") + kChild, "no-answer", 0, false, "<Record "},
      {"record_action.urlencoded", "inquiry", "+14155550101", "", voicemail, rec, "", 0, false,
       "<Response/>"},
      {"recording_completed.urlencoded", "inquiry", "", "", voicemail, rec, "",
       1741962761LL * kMicrosPerSecond, false, ""},
      {"transcription_completed.urlencoded", "inquiry", "+14155550101", "", kTranscript, tr, "", 0,
       true, ""},
      {"transcription_failed.urlencoded", "inquiry", "+14155550101", "", voicemail, tr, "", 0,
       false, ""},
      {"status_completed.urlencoded", "ignored", "", "", "", "", "", 0, false, ""},
      {"dial_action_completed.urlencoded", "reply-only", "", "", "", "", "", 0, false,
       "<Response/>"},
  };

  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string body = Voice(c.file);
    auto d = ParseVoice(body);
    if (c.outcome == "ignored") {
      EXPECT_EQ(RejectionCode(d.status()), "ignored");
      continue;
    }
    ASSERT_TRUE(d.ok()) << d.status();
    if (c.outcome == "reply-only") {
      EXPECT_FALSE(d->store);
      ASSERT_TRUE(d->reply.has_value());
      EXPECT_NE(d->reply->body.find(c.reply_has), std::string::npos);
      continue;
    }
    EXPECT_TRUE(d->store);
    const Inquiry& in = d->inquiry;
    EXPECT_EQ(in.channel, Channel::kCall);
    EXPECT_EQ(in.received.phone, c.phone);
    EXPECT_EQ(in.received.name, c.name);
    EXPECT_EQ(in.message, c.message);
    EXPECT_EQ(in.occurred_at, c.occurred_at);
    EXPECT_EQ(in.fields.value("kind", ""), "missed_call");
    EXPECT_EQ(in.fields.value("call_sid", ""), kParent);
    if (!c.call_status.empty()) {
      EXPECT_EQ(in.fields.value("call_status", ""), c.call_status);
    }
    EXPECT_EQ(d->thread_key, thread) << "one call, one thread (the parent's for a child leg)";
    EXPECT_EQ(d->thread_mode, ParsedDelivery::ThreadMode::kCreateOrUpdate);
    EXPECT_EQ(d->dedupe_key, c.dedupe);
    EXPECT_EQ(d->replace_message, c.replace);
    EXPECT_EQ(in.raw_payload, body) << "kept verbatim";
    EXPECT_EQ(in.raw_content_type, "application/x-www-form-urlencoded; charset=utf-8");
    if (c.reply_has.empty()) {
      EXPECT_FALSE(d->reply.has_value());
    } else {
      ASSERT_TRUE(d->reply.has_value());
      EXPECT_EQ(d->reply->content_type, "text/xml");
      EXPECT_NE(d->reply->body.find(c.reply_has), std::string::npos) << d->reply->body;
    }
  }
}

TEST(TwilioVoiceAdapter, AnswersAMissedDialWithAGreetingAndAVoicemailRecord) {
  auto d = ParseVoice(Voice("dial_action_no_answer.urlencoded"));
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE(d->reply.has_value());
  EXPECT_EQ(d->reply->status, 200);
  EXPECT_EQ(d->reply->content_type, "text/xml");
  EXPECT_EQ(d->reply->body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"
            "<Say>Sorry we missed your call. Please leave a message after the tone.</Say>"
            "<Record action=\"https://hooks.example.com/in/voice\" method=\"POST\" "
            "maxLength=\"120\" playBeep=\"true\" "
            "recordingStatusCallback=\"https://hooks.example.com/in/voice\" "
            "recordingStatusCallbackMethod=\"POST\" transcribe=\"true\" "
            "transcribeCallback=\"https://hooks.example.com/in/voice\"/></Response>");
}

TEST(TwilioVoiceAdapter, TheDialAnswerFollowsTheSettingsAndEscapesText) {
  struct Case {
    nlohmann::json settings;
    std::string target;
    std::string want_inner;
  };
  const std::vector<Case> cases = {
      {{{"greeting", "Tom & Jerry's <Plumbing>: leave a \"message\""},
        {"transcribe", false},
        {"voicemail_max_seconds", 60},
        {"say_voice", "Polly.Joanna"},
        {"say_language", "en-US"}},
       "/in/voice?site=a&b=1",
       "<Say voice=\"Polly.Joanna\" language=\"en-US\">Tom &amp; Jerry&#39;s &lt;Plumbing&gt;: "
       "leave a &quot;message&quot;</Say>"
       "<Record action=\"https://hooks.example.com/in/voice?site=a&amp;b=1\" method=\"POST\" "
       "maxLength=\"60\" playBeep=\"true\" "
       "recordingStatusCallback=\"https://hooks.example.com/in/voice?site=a&amp;b=1\" "
       "recordingStatusCallbackMethod=\"POST\"/>"},
      {{{"voicemail", false}},
       "/in/voice",
       "<Say>Sorry we missed your call. We will call you back soon.</Say>"},
      {{{"voicemail", false}, {"greeting", ""}}, "/in/voice", ""},
  };
  TwilioVoiceAdapter adapter;
  for (const Case& c : cases) {
    SourceConfig source = VoiceSource();
    source.settings = c.settings;
    HttpRequest r = TwilioPost(c.target, Voice("dial_action_no_answer.urlencoded"));
    ASSERT_TRUE(adapter.Verify(source, r, 0).ok());
    auto d = adapter.Parse(source, r);
    ASSERT_TRUE(d.ok()) << d.status();
    ASSERT_TRUE(d->reply.has_value());
    EXPECT_EQ(d->reply->body, TwimlResponse(c.want_inner).body) << c.settings.dump();
  }
}

TEST(TwilioVoiceAdapter, IgnoresWhatIsNotAMissedIncomingCall) {
  const std::string busy = Voice("status_busy.urlencoded");
  struct Case {
    std::string name;
    std::string body;
    nlohmann::json settings;
  };
  auto replace = [](std::string s, const std::string& from, const std::string& to) {
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  const std::vector<Case> cases = {
      {"ringing", replace(busy, "CallStatus=busy", "CallStatus=ringing"), {}},
      {"in-progress", replace(busy, "CallStatus=busy", "CallStatus=in-progress"), {}},
      {"completed", Voice("status_completed.urlencoded"), {}},
      {"our own outgoing call", replace(busy, "Direction=inbound", "Direction=outbound-api"), {}},
      {"a child leg with child_legs off",
       Voice("child_leg_no_answer.urlencoded"),
       {{"child_legs", false}}},
      {"a recording still in progress",
       replace(Voice("recording_completed.urlencoded"), "RecordingStatus=completed",
               "RecordingStatus=in-progress"),
       {}},
      {"a call recording from <Dial record>",
       replace(Voice("recording_completed.urlencoded"), "RecordingSource=RecordVerb",
               "RecordingSource=DialVerb"),
       {}},
  };
  for (const Case& c : cases) {
    SourceConfig source = VoiceSource();
    source.settings = c.settings;
    auto d = ParseVoice(c.body, source);
    EXPECT_EQ(RejectionCode(d.status()), "ignored") << c.name << ": " << d.status();
  }
}

TEST(TwilioVoiceAdapter, RejectsRequestsItCannotRead) {
  struct Case {
    std::string body;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"From=%2B14155550101&CallStatus=busy", "missing_field"},
      {"CallSid=CA1&From=%2B14155550101", "missing_field"},
      {"CallSid=CA1&CallStatus=busy&From=%ZZ", "malformed_body"},
      {"CallSid=CA1&RecordingStatus=completed&RecordingSource=RecordVerb", "missing_field"},
  };
  for (const Case& c : cases) {
    TwilioVoiceAdapter adapter;
    HttpRequest r = TwilioPost("/in/voice", c.body);
    EXPECT_EQ(RejectionCode(adapter.Parse(VoiceSource(), r).status()), c.code) << c.body;
  }
  HttpRequest json = TwilioPost("/in/voice", "{}");
  json.headers[0].second = "application/json";
  EXPECT_EQ(RejectionCode(TwilioVoiceAdapter().Parse(VoiceSource(), json).status()),
            "unsupported_media_type");
}

TEST(TwilioVoiceAdapter, MissingOptionalFieldsAndUnknownOnesAreFine) {
  const std::string body =
      "CallSid=CA77&CallStatus=no-answer&From=%2B14155550123&Direction=inbound"
      "&SomethingNew=42&Timestamp=not-a-date";
  auto d = ParseVoice(body);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.received.phone, "+14155550123");
  EXPECT_EQ(d->inquiry.received.name, "");
  EXPECT_EQ(d->inquiry.occurred_at, 0) << "the ingress uses the receipt time";
  EXPECT_EQ(d->dedupe_key, "event:CA77:no-answer") << "no SequenceNumber: the status instead";
  EXPECT_EQ(d->inquiry.raw_payload, body);
}

TEST(TwilioVoiceAdapter, TheIdempotencyTokenIsTheDedupeKeyWhenSent) {
  TwilioVoiceAdapter adapter;
  HttpRequest r = TwilioPost("/in/voice", Voice("status_busy.urlencoded"));
  r.headers.emplace_back("i-twilio-idempotency-token", "f7d3f1e0-busy-retry");
  auto d = adapter.Parse(VoiceSource(), r);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->dedupe_key, "idem:f7d3f1e0-busy-retry");
  EXPECT_EQ(d->inquiry.provider_event_id, std::string(kParent) + ":2");
}

TEST(TwilioVoiceAdapter, TheConfiguredChannelOverridesCall) {
  SourceConfig source = VoiceSource();
  source.channel = "other";
  auto d = ParseVoice(Voice("status_busy.urlencoded"), source);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->inquiry.channel, Channel::kOther);
}

TEST(TwilioVoiceAdapter, IsRegisteredWithItsSettings) {
  SourceAdapterRegistry registry;
  RegisterBuiltinSources(registry);
  const SourceAdapterSpec* spec = registry.FindSpec("twilio_voice");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->default_channel, Channel::kCall);
  std::vector<std::string> keys;
  for (const auto& s : spec->settings) keys.push_back(s.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"greeting", "voicemail", "transcribe",
                                            "voicemail_max_seconds", "say_voice", "say_language",
                                            "child_legs"}));
}

// The real adapter behind the real ingress and a real SQLite store.
class TwilioVoiceIngressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.workspace = "ws";
    config_.sources.push_back(VoiceSource());
    RegisterBuiltinSources(adapters_);
    auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    ingress_ = std::make_unique<Ingress>(&config_, &adapters_, store_.get(), &clock_);
  }
  void TearDown() override { store_->Shutdown(); }

  HttpResponse Send(HttpRequest r) {
    std::promise<HttpResponse> answered;
    ingress_->Handle(std::move(r), [&](HttpResponse resp) { answered.set_value(resp); });
    clock_.Advance(kMicrosPerSecond);
    return answered.get_future().get();
  }
  HttpResponse Post(const std::string& file) { return Send(TwilioPost("/in/voice", Voice(file))); }

  std::vector<Inquiry> Inquiries() {
    auto list = store_->ListInquiries("ws", InquiryFilter{});
    EXPECT_TRUE(list.ok());
    return list.ok() ? *list : std::vector<Inquiry>{};
  }

  static std::string Field(const HttpResponse& r, const char* key) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_object() ? j.value(key, "") : "";
  }

  testing::TempDir dir_;
  FakeClock clock_{1'764'000'000LL * kMicrosPerSecond};
  Config config_;
  SourceAdapterRegistry adapters_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Ingress> ingress_;
};

TEST_F(TwilioVoiceIngressTest, AForwardedMissedCallItsVoicemailAndTranscriptionAreOneInquiry) {
  // The child leg's no-answer and the Dial action both tell of the miss.
  HttpResponse child = Post("child_leg_no_answer.urlencoded");
  ASSERT_EQ(child.status, 202) << child.body;
  const std::string id = Field(child, "id");
  HttpResponse dial = Post("dial_action_no_answer.urlencoded");
  EXPECT_EQ(dial.status, 200);
  EXPECT_EQ(dial.content_type, "text/xml");
  EXPECT_NE(dial.body.find("<Record "), std::string::npos) << dial.body;

  // The voicemail: the <Record action> (TwiML back), the recording callback, the transcript.
  HttpResponse action = Post("record_action.urlencoded");
  EXPECT_EQ(action.content_type, "text/xml");
  EXPECT_NE(action.body.find("<Response/>"), std::string::npos);
  HttpResponse recording = Post("recording_completed.urlencoded");
  EXPECT_EQ(Field(recording, "id"), id);
  EXPECT_EQ(Field(recording, "status"), "duplicate") << "the same RecordingSid as the action";
  HttpResponse transcription = Post("transcription_completed.urlencoded");
  EXPECT_EQ(Field(transcription, "id"), id);
  EXPECT_EQ(Field(transcription, "status"), "updated");

  std::vector<Inquiry> all = Inquiries();
  ASSERT_EQ(all.size(), 1u) << "one call, one inquiry";
  auto inquiry = store_->GetInquiry("ws", id);
  ASSERT_TRUE(inquiry.ok());
  EXPECT_EQ(inquiry->message, kTranscript);
  EXPECT_EQ(inquiry->received.phone, "+14155550101");
  EXPECT_EQ(inquiry->channel, Channel::kCall);
  EXPECT_EQ(inquiry->fields.value("kind", ""), "missed_call");
  EXPECT_EQ(inquiry->fields.value("voicemail_url", ""), kRecordingUrl);
  EXPECT_EQ(inquiry->fields.value("transcription_status", ""), "completed");
  EXPECT_EQ(inquiry->raw_payload, Voice("child_leg_no_answer.urlencoded"));
}

TEST_F(TwilioVoiceIngressTest, AFailedTranscriptionKeepsTheVoicemailLink) {
  Post("dial_action_no_answer.urlencoded");
  ASSERT_EQ(Inquiries().size(), 1u);
  const std::string id = Inquiries()[0].id;
  Post("recording_completed.urlencoded");
  Post("transcription_failed.urlencoded");
  auto inquiry = store_->GetInquiry("ws", id);
  ASSERT_TRUE(inquiry.ok());
  EXPECT_EQ(inquiry->message, std::string("voicemail: ") + kRecordingUrl);
  EXPECT_EQ(inquiry->fields.value("transcription_status", ""), "failed");
  EXPECT_EQ(Inquiries().size(), 1u);
}

TEST_F(TwilioVoiceIngressTest, RedeliveriesAreDuplicatesAndTheDialStillGetsItsTwiml) {
  HttpResponse first = Post("dial_action_no_answer.urlencoded");
  ASSERT_EQ(first.content_type, "text/xml");
  for (int i = 0; i < 3; ++i) {
    HttpResponse again = Post("dial_action_no_answer.urlencoded");
    EXPECT_EQ(again.body, first.body) << "Twilio needs TwiML on a retry too";
  }
  // Another caller's busy call, delivered twice with Twilio's idempotency token.
  std::string other_call = Voice("status_busy.urlencoded");
  other_call.replace(other_call.find(kParent), std::string(kParent).size(), "CAother");
  HttpRequest with_token = TwilioPost("/in/voice", other_call);
  with_token.headers.emplace_back("i-twilio-idempotency-token", "tok-1");
  HttpResponse busy = Send(with_token);
  EXPECT_EQ(busy.status, 202);
  HttpResponse busy_again = Send(with_token);
  EXPECT_EQ(Field(busy_again, "status"), "duplicate");
  EXPECT_EQ(Field(busy_again, "id"), Field(busy, "id"));
  EXPECT_EQ(Inquiries().size(), 2u);
}

TEST_F(TwilioVoiceIngressTest, AnAnsweredDialHangsUpAndStoresNothing) {
  HttpResponse r = Post("dial_action_completed.urlencoded");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/xml");
  EXPECT_EQ(r.body, TwimlResponse("").body);
  HttpResponse done = Post("status_completed.urlencoded");
  EXPECT_EQ(done.status, 200);
  EXPECT_EQ(Field(done, "status"), "ignored");
  EXPECT_TRUE(Inquiries().empty());
}

TEST_F(TwilioVoiceIngressTest, ABadSignatureIs401AndStoresNothing) {
  HttpRequest r = TwilioPost("/in/voice", Voice("status_busy.urlencoded"), "wrong-token-wrong");
  HttpResponse resp = Send(r);
  EXPECT_EQ(resp.status, 401);
  EXPECT_NE(resp.body.find("bad_credentials"), std::string::npos);
  EXPECT_TRUE(Inquiries().empty());
}

}  // namespace
}  // namespace handoff
