#include "entry/sources/twilio_sms/twilio_sms_adapter.h"

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
using testing::kTwilioOldAuthToken;
using testing::kTwilioPublicUrl;
using testing::TwilioPost;

std::string Sms(const std::string& file) {
  return testing::TwilioTestdata("twilio_sms/testdata/" + file);
}

SourceConfig SmsSource() {
  SourceConfig s;
  s.name = "texts";
  s.adapter = "twilio_sms";
  s.public_url = kTwilioPublicUrl;
  s.auth.hmac_secrets = {kTwilioAuthToken, kTwilioOldAuthToken};
  return s;
}

absl::StatusOr<ParsedDelivery> ParseSms(const std::string& body,
                                        const SourceConfig& source = SmsSource()) {
  TwilioSmsAdapter adapter;
  HttpRequest r = TwilioPost("/in/texts", body);
  EXPECT_TRUE(adapter.Verify(source, r, 0).ok());
  return adapter.Parse(source, r);
}

TEST(TwilioSmsAdapter, MapsEachKindOfMessage) {
  struct Case {
    std::string file;
    bool ignored = false;
    std::string phone = "", name = "", message = "", dedupe = "";
    size_t media = 0;
  };
  const std::vector<Case> cases = {
      {"inbound_sms.urlencoded", false, "+14155550101", "",
       "Hi! Do you service tankless water heaters? Need a quote + earliest slot.",
       "event:SM1f2e3d4c5b6a79880a1b2c3d4e5f6071"},
      {"inbound_mms.urlencoded", false, "+14155550101", "", "Photo of the leak",
       "event:MM2a3b4c5d6e7f80919a0b1c2d3e4f5061", 2},
      {"whatsapp.urlencoded", false, "+14155550101", "María López", "Hola, ¿tienen cita mañana?",
       "event:SM7f6e5d4c3b2a19080f1e2d3c4b5a6978"},
      {"status_delivered.urlencoded", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string body = Sms(c.file);
    auto d = ParseSms(body);
    if (c.ignored) {
      EXPECT_EQ(RejectionCode(d.status()), "ignored") << "our own replies never loop back";
      continue;
    }
    ASSERT_TRUE(d.ok()) << d.status();
    const Inquiry& in = d->inquiry;
    EXPECT_EQ(in.channel, Channel::kSms);
    EXPECT_EQ(in.received.phone, c.phone);
    EXPECT_EQ(in.received.name, c.name);
    EXPECT_EQ(in.message, c.message);
    EXPECT_EQ(d->dedupe_key, c.dedupe);
    EXPECT_EQ("event:" + in.provider_event_id, c.dedupe);
    EXPECT_EQ(in.occurred_at, 0) << "SMS carry no time: the receipt time is used";
    EXPECT_EQ(in.fields.value("kind", ""), "sms");
    EXPECT_EQ(in.raw_payload, body);
    EXPECT_TRUE(d->thread_key.empty());
    if (c.media > 0) {
      ASSERT_TRUE(in.fields.contains("media_urls"));
      ASSERT_EQ(in.fields["media_urls"].size(), c.media);
      EXPECT_NE(in.fields["media_urls"][1].get<std::string>().find("/Media/ME1a1b"),
                std::string::npos);
      EXPECT_EQ(in.fields["media_content_types"][0], "image/jpeg");
    } else {
      EXPECT_FALSE(in.fields.contains("media_urls"));
    }
    ASSERT_TRUE(d->reply.has_value());
    EXPECT_EQ(d->reply->content_type, "text/xml");
    EXPECT_EQ(d->reply->body, R"(<?xml version="1.0" encoding="UTF-8"?><Response/>)");
  }
}

TEST(TwilioSmsAdapter, AnswersWithTheConfiguredAutoReplyEscaped) {
  SourceConfig source = SmsSource();
  source.settings = {{"auto_reply", "Thanks! Ana & Ben's <team> will text you back."}};
  auto d = ParseSms(Sms("inbound_sms.urlencoded"), source);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->reply.has_value());
  EXPECT_EQ(d->reply->body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>Thanks! Ana &amp; "
            "Ben&#39;s &lt;team&gt; will text you back.</Message></Response>");
}

TEST(TwilioSmsAdapter, RejectsMessagesWithoutSidOrSender) {
  struct Case {
    std::string body;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"From=%2B14155550101&Body=hi", "missing_field"},
      {"MessageSid=SM1&Body=hi", "missing_field"},
      {"MessageSid=SM1&From=%2B1415&Body=%E0%A4", "invalid_utf8"},
      {"SmsSid=SM1&SmsStatus=sent&From=%2B1", "ignored"},
  };
  for (const Case& c : cases) {
    HttpRequest r = TwilioPost("/in/texts", c.body);
    EXPECT_EQ(RejectionCode(TwilioSmsAdapter().Parse(SmsSource(), r).status()), c.code) << c.body;
  }
}

TEST(TwilioSmsAdapter, LegacySidsAndMissingOptionalFields) {
  auto d = ParseSms("SmsMessageSid=SM9&From=%2B14155550111&NewParam=kept");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->dedupe_key, "event:SM9");
  EXPECT_EQ(d->inquiry.message, "");
  EXPECT_EQ(d->inquiry.raw_payload, "SmsMessageSid=SM9&From=%2B14155550111&NewParam=kept");
}

TEST(TwilioSmsAdapter, AcceptsGetWebhooks) {
  SourceConfig source = SmsSource();
  HttpRequest r;
  r.method = "GET";
  r.path = "/in/texts";
  r.query = "MessageSid=SM5&From=%2B14155550101&Body=Need+a+quote";
  r.target = r.path + "?" + r.query;
  r.headers = {
      {"x-twilio-signature",
       Base64Encode(HmacSha1(kTwilioAuthToken, std::string(kTwilioPublicUrl) + r.target))}};
  TwilioSmsAdapter adapter;
  ASSERT_TRUE(adapter.Verify(source, r, 0).ok());
  auto d = adapter.Parse(source, r);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.message, "Need a quote");
  EXPECT_EQ(d->inquiry.raw_payload, r.query);
}

TEST(TwilioSmsAdapter, RejectsEachSignatureFailure) {
  const std::string body = Sms("inbound_sms.urlencoded");
  struct Case {
    std::string name;
    HttpRequest request;
  };
  HttpRequest missing = TwilioPost("/in/texts", body);
  missing.headers.erase(missing.headers.begin() + 1);
  HttpRequest wrong = TwilioPost("/in/texts", body, "not-the-auth-token-at-all");
  HttpRequest other_url = TwilioPost("/in/voice", body);
  other_url.target = "/in/texts";
  HttpRequest tampered = TwilioPost("/in/texts", body);
  tampered.body.replace(tampered.body.find("Hi%21"), 5, "Yo%21");
  const std::vector<Case> cases = {{"missing", missing},
                                   {"wrong token", wrong},
                                   {"other URL", other_url},
                                   {"tampered", tampered}};
  for (const Case& c : cases) {
    EXPECT_EQ(RejectionCode(TwilioSmsAdapter().Verify(SmsSource(), c.request, 0)),
              "bad_credentials")
        << c.name;
  }
  // Rotation: the previous token is still accepted.
  EXPECT_TRUE(TwilioSmsAdapter()
                  .Verify(SmsSource(), TwilioPost("/in/texts", body, kTwilioOldAuthToken), 0)
                  .ok());
}

TEST(TwilioSmsAdapter, ARedeliveredMessageIsADuplicateThroughTheIngress) {
  ::handoff::testing::TempDir dir;
  FakeClock clock(1'764'000'000LL * kMicrosPerSecond);
  Config config;
  config.workspace = "ws";
  SourceConfig source = SmsSource();
  source.settings = {{"auto_reply", "Got it"}};
  config.sources.push_back(source);
  SourceAdapterRegistry adapters;
  RegisterBuiltinSources(adapters);
  auto store = OpenStore("sqlite:" + dir.File("handoff.db"), &clock);
  ASSERT_TRUE(store.ok()) << store.status();
  Ingress ingress(&config, &adapters, store->get(), &clock);
  auto send = [&](HttpRequest r) {
    std::promise<HttpResponse> answered;
    ingress.Handle(std::move(r), [&](HttpResponse resp) { answered.set_value(resp); });
    return answered.get_future().get();
  };
  const std::string body = Sms("inbound_sms.urlencoded");
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = send(TwilioPost("/in/texts", body));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/xml");
    EXPECT_NE(r.body.find("<Message>Got it</Message>"), std::string::npos);
  }
  auto list = (*store)->ListInquiries("ws", InquiryFilter{});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].channel, Channel::kSms);
  EXPECT_EQ((*list)[0].received.phone, "+14155550101");
  (*store)->Shutdown();
}

}  // namespace
}  // namespace handoff
