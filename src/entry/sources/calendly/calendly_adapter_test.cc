#include "entry/sources/calendly/calendly_adapter.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "entry/common/signature.h"
#include "entry/common/source_auth.h"
#include "entry/rejection.h"
#include "tests/support/ingress_harness.h"

namespace handoff {
namespace {

using nlohmann::json;

constexpr char kKey[] = "calendly-signing-key-0001";
constexpr char kOldKey[] = "calendly-signing-key-0000";
// 2026-03-16T08:00:00Z, when the test deliveries are signed.
constexpr Micros kNow = 1'773'648'000LL * kMicrosPerSecond;

std::string Testdata(const std::string& name) {
  std::ifstream in(std::string(HANDOFF_TESTDATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Signature(const std::string& key, Micros at, const std::string& body) {
  const std::string t = std::to_string(at / kMicrosPerSecond);
  return "t=" + t + ",v1=" + HexEncode(HmacSha256(key, t + "." + body));
}

HttpRequest Signed(const std::string& body, Micros at = kNow, const std::string& key = kKey) {
  HttpRequest r;
  r.method = "POST";
  r.target = r.path = "/in/bookings";
  r.headers = {{"content-type", "application/json; charset=utf-8"},
               {"calendly-webhook-signature", Signature(key, at, body)}};
  r.body = body;
  return r;
}

SourceConfig Source() {
  SourceConfig s;
  s.name = "bookings";
  s.adapter = "calendly";
  s.auth.hmac_secrets = {kKey, kOldKey};
  return s;
}

ParsedDelivery MustParse(const SourceConfig& source, const std::string& body) {
  CalendlyAdapter adapter;
  auto d = adapter.Parse(source, Signed(body));
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *d : ParsedDelivery();
}

// --- Signature -----------------------------------------------------------------------------

struct VerifyCase {
  std::string name;
  std::function<void(HttpRequest&)> mutate;
  Micros now = kNow;
  std::string want;  // "ok" or the rejection code
};

TEST(CalendlyAdapter, VerifiesTheSignatureHeader) {
  const std::string body = Testdata("invitee_created.json");
  const std::string t = std::to_string(kNow / kMicrosPerSecond);
  auto set = [](std::string value) {
    return [value](HttpRequest& r) { r.headers[1].second = value; };
  };
  const std::vector<VerifyCase> cases = {
      {"valid", [](HttpRequest&) {}, kNow, "ok"},
      {"rotated key still accepted",
       [&](HttpRequest& r) { r.headers[1].second = Signature(kOldKey, kNow, body); }, kNow, "ok"},
      {"spaces after the comma",
       set("t=" + t + ", v1=" + HexEncode(HmacSha256(kKey, t + "." + body))), kNow, "ok"},
      {"missing header", [](HttpRequest& r) { r.headers.pop_back(); }, kNow, "bad_credentials"},
      {"two headers", [](HttpRequest& r) { r.headers.push_back(r.headers[1]); }, kNow,
       "bad_credentials"},
      {"no t", set("v1=" + HexEncode(HmacSha256(kKey, t + "." + body))), kNow, "bad_credentials"},
      {"no v1", set("t=" + t), kNow, "bad_credentials"},
      {"t not a number", set("t=abc,v1=00"), kNow, "bad_credentials"},
      {"v1 not hex", set("t=" + t + ",v1=zz"), kNow, "bad_credentials"},
      {"v1 truncated",
       set("t=" + t + ",v1=" + HexEncode(HmacSha256(kKey, t + "." + body)).substr(2)), kNow,
       "bad_credentials"},
      {"unknown key",
       [&](HttpRequest& r) { r.headers[1].second = Signature("someone-else-key", kNow, body); },
       kNow, "bad_credentials"},
      {"body changed", [](HttpRequest& r) { r.body += " "; }, kNow, "bad_credentials"},
      {"signed without the timestamp", set("t=" + t + ",v1=" + HexEncode(HmacSha256(kKey, body))),
       kNow, "bad_credentials"},
      {"t changed after signing",
       [&](HttpRequest& r) {
         const std::string mac = HexEncode(HmacSha256(kKey, t + "." + body));
         r.headers[1].second = "t=" + std::to_string(kNow / kMicrosPerSecond + 1) + ",v1=" + mac;
       },
       kNow, "bad_credentials"},
      {"stale: 4 minutes old", [](HttpRequest&) {}, kNow + 4 * kMicrosPerMinute, "stale_timestamp"},
      {"within tolerance: 2 minutes old", [](HttpRequest&) {}, kNow + 2 * kMicrosPerMinute, "ok"},
      {"from the future", [](HttpRequest&) {}, kNow - 10 * kMicrosPerMinute, "stale_timestamp"},
  };
  CalendlyAdapter adapter;
  for (const auto& c : cases) {
    HttpRequest r = Signed(body);
    c.mutate(r);
    EXPECT_EQ(RejectionCode(adapter.Verify(Source(), r, c.now)), c.want) << c.name;
  }
}

TEST(CalendlyAdapter, ToleranceIsConfigurable) {
  CalendlyAdapter adapter;
  SourceConfig source = Source();
  source.settings["tolerance"] = "10m";
  const HttpRequest r = Signed(Testdata("invitee_created.json"));
  EXPECT_TRUE(adapter.Verify(source, r, kNow + 9 * kMicrosPerMinute).ok());
  EXPECT_EQ(RejectionCode(adapter.Verify(source, r, kNow + 11 * kMicrosPerMinute)),
            "stale_timestamp");
  source.settings["tolerance"] = 30;  // seconds
  EXPECT_EQ(RejectionCode(adapter.Verify(source, r, kNow + 31 * kMicrosPerSecond)),
            "stale_timestamp");
  source.settings["tolerance"] = "soon";
  EXPECT_EQ(adapter.Verify(source, r, kNow).code(), absl::StatusCode::kInvalidArgument);
}

TEST(CalendlyAdapter, AlsoChecksAConfiguredToken) {
  CalendlyAdapter adapter;
  SourceConfig source = Source();
  source.auth.tokens = {"url-token-0123456789"};
  HttpRequest r = Signed(Testdata("invitee_created.json"));
  EXPECT_EQ(RejectionCode(adapter.Verify(source, r, kNow)), "bad_credentials");
  r.query = "token=url-token-0123456789";
  EXPECT_TRUE(adapter.Verify(source, r, kNow).ok());
}

// --- Mapping -------------------------------------------------------------------------------

TEST(CalendlyAdapter, MapsAnInviteeCreated) {
  const std::string body = Testdata("invitee_created.json");
  const ParsedDelivery d = MustParse(Source(), body);
  const Inquiry& i = d.inquiry;
  EXPECT_EQ(i.channel, Channel::kBooking);
  EXPECT_EQ(i.received.name, "Jane Roe");
  EXPECT_EQ(i.received.email, "jane.roe@example.com");
  EXPECT_EQ(i.received.phone, "+1 415-555-0142") << "text_reminder_number first";
  EXPECT_EQ(i.message,
            "Preferred replacement: Tankless if possible\n"
            "What do you need help with?: Water heater leaking in the garage, about 12 years "
            "old.\n"
            "Anything we should know?: Side gate code 4411")
      << "answers ordered by position, not body order";
  EXPECT_EQ(i.service, "On-site estimate");
  EXPECT_EQ(i.location, "1200 Harbor Way, Oakland CA") << "ask_invitee: the invitee's address";
  EXPECT_EQ(i.attribution.utm_source, "google");
  EXPECT_EQ(i.attribution.utm_medium, "cpc");
  EXPECT_EQ(i.attribution.utm_campaign, "spring-water-heaters");
  EXPECT_EQ(i.attribution.utm_content, "ad-2");
  EXPECT_EQ(i.attribution.utm_term, "water heater repair");
  EXPECT_EQ(i.fields["kind"], "booking");
  EXPECT_EQ(i.fields["booking_status"], "booked");
  EXPECT_EQ(i.fields["booking_start"], "2026-03-18T17:00:00.000000Z");
  EXPECT_EQ(i.fields["booking_end"], "2026-03-18T17:30:00.000000Z");
  EXPECT_EQ(i.fields["event_name"], "On-site estimate");
  EXPECT_EQ(i.fields["location"], "1200 Harbor Way, Oakland CA");
  EXPECT_EQ(i.fields["cancel_url"], "https://calendly.com/cancellations/INV-ORIGINAL-0001");
  EXPECT_EQ(i.fields["reschedule_url"], "https://calendly.com/reschedulings/INV-ORIGINAL-0001");
  EXPECT_EQ(i.occurred_at,
            kNow - 2 * kMicrosPerDay + (6 * 60 + 32) * kMicrosPerMinute + 3 * kMicrosPerSecond)
      << "when the booking was made (2026-03-14T14:32:03Z)";
  const std::string uri =
      "https://api.calendly.com/scheduled_events/EVT-ORIGINAL-0001/invitees/INV-ORIGINAL-0001";
  EXPECT_EQ(i.provider_event_id, uri + "#invitee.created");
  EXPECT_EQ(d.dedupe_key, "event:" + uri + "#invitee.created");
  EXPECT_EQ(d.thread_key, "invitee:" + uri);
  EXPECT_TRUE(d.thread_aliases.empty());
  EXPECT_EQ(d.thread_mode, ParsedDelivery::ThreadMode::kCreateOrUpdate);
  EXPECT_EQ(i.raw_payload, body) << "kept verbatim, unknown fields included";
  EXPECT_NE(i.raw_payload.find("some_field_calendly_adds_later"), std::string::npos);
  EXPECT_EQ(i.raw_content_type, "application/json; charset=utf-8");
}

TEST(CalendlyAdapter, FindsThePhoneWhereCalendlyPutsIt) {
  struct Case {
    std::string file;
    std::string phone;
  };
  const std::vector<Case> cases = {
      {"invitee_created.json", "+1 415-555-0142"},          // text_reminder_number
      {"invitee_created_phone_call.json", "+14155550199"},  // outbound_call location
      {"invitee_created_minimal.json", "(510) 555-0123"},   // a phone-like Q&A answer
  };
  for (const auto& c : cases) {
    EXPECT_EQ(MustParse(Source(), Testdata(c.file)).inquiry.received.phone, c.phone) << c.file;
  }
}

TEST(CalendlyAdapter, PrefersTheAnswerToAPhoneQuestionAndSkipsDates) {
  json body = json::parse(Testdata("invitee_created_minimal.json"));
  body["payload"]["questions_and_answers"] = {
      {{"question", "Preferred date"}, {"answer", "2026-03-18"}, {"position", 0}},
      {{"question", "Gate code"}, {"answer", "44 11 22 33"}, {"position", 1}},
      {{"question", "Mobile"}, {"answer", "+1 (510) 555-0123"}, {"position", 2}}};
  EXPECT_EQ(MustParse(Source(), body.dump()).inquiry.received.phone, "+1 (510) 555-0123");
  body["payload"]["questions_and_answers"].erase(2);
  EXPECT_EQ(MustParse(Source(), body.dump()).inquiry.received.phone, "44 11 22 33")
      << "else the first phone-like answer";
  body["payload"]["questions_and_answers"].erase(1);
  EXPECT_EQ(MustParse(Source(), body.dump()).inquiry.received.phone, "") << "a date is no phone";
}

TEST(CalendlyAdapter, MissingOptionalFieldsAreFine) {
  const ParsedDelivery d = MustParse(Source(), Testdata("invitee_created_minimal.json"));
  const Inquiry& i = d.inquiry;
  EXPECT_EQ(i.received.name, "Min Park");
  EXPECT_EQ(i.message, "Best number to reach you?: (510) 555-0123");
  EXPECT_TRUE(i.service.empty());
  EXPECT_TRUE(i.attribution.empty());
  EXPECT_FALSE(i.fields.contains("booking_start"));
  EXPECT_EQ(i.fields["booking_status"], "booked");

  const ParsedDelivery call = MustParse(Source(), Testdata("invitee_created_phone_call.json"));
  EXPECT_TRUE(call.inquiry.location.empty()) << "a phone call has no meeting address";
  EXPECT_TRUE(call.inquiry.attribution.empty()) << "null utm values are absent";
  EXPECT_EQ(call.inquiry.fields["location_type"], "outbound_call");
}

TEST(CalendlyAdapter, RejectsOrIgnoresWhatIsNotABooking) {
  struct Case {
    std::string name;
    std::string body;
    std::string content_type;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"routing form", Testdata("routing_form_submission.json"), "application/json", "ignored"},
      {"no event", R"({"payload":{"uri":"x"}})", "application/json", "ignored"},
      {"no payload", R"({"event":"invitee.created"})", "application/json", "missing_field"},
      {"payload not an object", R"({"event":"invitee.created","payload":[1]})", "application/json",
       "missing_field"},
      {"no uri", R"({"event":"invitee.created","payload":{"email":"a@b.c"}})", "application/json",
       "missing_field"},
      {"uri not text", R"({"event":"invitee.created","payload":{"uri":{"a":1},"email":"a@b.c"}})",
       "application/json", "missing_field"},
      {"nobody", R"({"event":"invitee.created","payload":{"uri":"u"}})", "application/json",
       "missing_field"},
      {"huge uri",
       R"({"event":"invitee.created","payload":{"email":"a@b.c","uri":")" + std::string(300, 'u') +
           R"("}})",
       "application/json", "invalid_field"},
      {"not json", "event=invitee.created", "application/x-www-form-urlencoded",
       "unsupported_media_type"},
      {"broken json", R"({"event":)", "application/json", "malformed_body"},
      {"json array", R"([1,2])", "application/json", "malformed_body"},
  };
  CalendlyAdapter adapter;
  for (const auto& c : cases) {
    HttpRequest r = Signed(c.body);
    r.headers[0].second = c.content_type;
    EXPECT_EQ(RejectionCode(adapter.Parse(Source(), r).status()), c.want) << c.name;
  }
}

TEST(CalendlyAdapter, ACancellationOnlyUpdatesItsBooking) {
  const ParsedDelivery d = MustParse(Source(), Testdata("invitee_canceled.json"));
  const std::string uri =
      "https://api.calendly.com/scheduled_events/EVT-ORIGINAL-0001/invitees/INV-ORIGINAL-0001";
  EXPECT_EQ(d.thread_key, "invitee:" + uri);
  EXPECT_EQ(d.thread_mode, ParsedDelivery::ThreadMode::kUpdateOnly);
  EXPECT_EQ(d.dedupe_key, "event:" + uri + "#invitee.canceled");
  EXPECT_EQ(d.inquiry.fields["booking_status"], "canceled");
  EXPECT_EQ(d.inquiry.fields["cancel_reason"], "Fixed it myself");
  EXPECT_EQ(d.inquiry.fields["canceler_type"], "invitee");
  EXPECT_FALSE(d.inquiry.fields.contains("booking_start")) << "a cancel never moves the time";
  EXPECT_FALSE(d.inquiry.fields.contains("kind"));
}

TEST(CalendlyAdapter, ARescheduleNamesBothInvitees) {
  const std::string old_uri =
      "https://api.calendly.com/scheduled_events/EVT-ORIGINAL-0001/invitees/INV-ORIGINAL-0001";
  const std::string new_uri =
      "https://api.calendly.com/scheduled_events/EVT-MOVED-0002/invitees/INV-MOVED-0002";
  const ParsedDelivery canceled = MustParse(Source(), Testdata("reschedule_canceled.json"));
  EXPECT_EQ(canceled.thread_key, "invitee:" + old_uri);
  EXPECT_EQ(canceled.thread_mode, ParsedDelivery::ThreadMode::kUpdateOnly);
  EXPECT_EQ(canceled.inquiry.fields["booking_status"], "rescheduling");
  EXPECT_EQ(canceled.thread_aliases, std::vector<std::string>{"invitee:" + new_uri});

  const ParsedDelivery created = MustParse(Source(), Testdata("reschedule_created.json"));
  EXPECT_EQ(created.thread_key, "invitee:" + old_uri);
  EXPECT_EQ(created.thread_aliases, std::vector<std::string>{"invitee:" + new_uri});
  EXPECT_EQ(created.thread_mode, ParsedDelivery::ThreadMode::kCreateOrUpdate);
  EXPECT_EQ(created.inquiry.fields["booking_status"], "rescheduled");
  EXPECT_EQ(created.inquiry.fields["booking_start"], "2026-03-20T21:00:00.000000Z");
  EXPECT_EQ(created.dedupe_key, "event:" + new_uri + "#invitee.created");
}

TEST(CalendlyAdapter, TheSourceMapOverridesAndRequiredApplies) {
  SourceConfig source = Source();
  source.map = {{"message", "payload.questions_and_answers.0.answer"},
                {"service", "payload.scheduled_event.event_type"}};
  const ParsedDelivery d = MustParse(source, Testdata("invitee_created.json"));
  EXPECT_EQ(d.inquiry.message, "Water heater leaking in the garage, about 12 years old.")
      << "the map wins (a path into the body, body order)";
  EXPECT_EQ(d.inquiry.service, "https://api.calendly.com/event_types/ET-ESTIMATE");
  EXPECT_EQ(d.inquiry.received.email, "jane.roe@example.com") << "unmapped fields stay";

  source.map.clear();
  source.required = {"utm_source"};
  CalendlyAdapter adapter;
  EXPECT_EQ(RejectionCode(
                adapter.Parse(source, Signed(Testdata("invitee_created_minimal.json"))).status()),
            "missing_field");
  EXPECT_TRUE(adapter.Parse(source, Signed(Testdata("invitee_created.json"))).ok());
}

// --- Threads through the real Ingress and SQLite store --------------------------------------

class CalendlyThreadTest : public ::testing::Test {
 protected:
  HttpResponse Post(const std::string& file) {
    return harness_.Post(Signed(Testdata(file), harness_.clock().Now()));
  }
  static std::string Id(const HttpResponse& r) { return testing::IngressHarness::Field(r, "id"); }
  static std::string Status(const HttpResponse& r) {
    return testing::IngressHarness::Field(r, "status");
  }
  testing::IngressHarness harness_{Source(), kNow};
};

TEST_F(CalendlyThreadTest, ARescheduleCancelFirstIsOneInquiry) {
  const std::string id = Id(Post("invitee_created.json"));
  ASSERT_FALSE(id.empty());
  HttpResponse cancel = Post("reschedule_canceled.json");
  EXPECT_EQ(Status(cancel), "updated") << cancel.body;
  EXPECT_EQ(harness_.Get(id).fields["booking_status"], "rescheduling");
  HttpResponse created = Post("reschedule_created.json");
  EXPECT_EQ(Status(created), "updated") << created.body;
  EXPECT_EQ(Id(created), id);

  ASSERT_EQ(harness_.Inquiries().size(), 1u);
  const Inquiry i = harness_.Get(id);
  EXPECT_EQ(i.fields["booking_status"], "rescheduled");
  EXPECT_EQ(i.fields["booking_start"], "2026-03-20T21:00:00.000000Z");
  EXPECT_EQ(i.fields["cancel_url"], "https://calendly.com/cancellations/INV-MOVED-0002");
  EXPECT_EQ(harness_.Count("accepted"), 1);
  EXPECT_EQ(harness_.Count("updated"), 2);
}

TEST_F(CalendlyThreadTest, ARescheduleCreatedFirstIsOneInquiryToo) {
  const std::string id = Id(Post("invitee_created.json"));
  EXPECT_EQ(Status(Post("reschedule_created.json")), "updated");
  HttpResponse late_cancel = Post("reschedule_canceled.json");
  EXPECT_EQ(late_cancel.status, 200);
  EXPECT_EQ(Id(late_cancel), id);

  ASSERT_EQ(harness_.Inquiries().size(), 1u);
  const Inquiry i = harness_.Get(id);
  EXPECT_EQ(i.fields["booking_status"], "rescheduled")
      << "the stale first half must not undo the second";
  EXPECT_EQ(i.fields["booking_start"], "2026-03-20T21:00:00.000000Z");
}

TEST_F(CalendlyThreadTest, ALateRetryOfTheOriginalCreationChangesNothing) {
  const std::string id = Id(Post("invitee_created.json"));
  Post("reschedule_canceled.json");
  Post("reschedule_created.json");
  // Calendly retried the original delivery (its first answer was lost); with a new
  // timestamp, so it is not simply the same request.
  HttpResponse again = Post("invitee_created.json");
  EXPECT_EQ(Status(again), "duplicate");
  EXPECT_EQ(harness_.Get(id).fields["booking_start"], "2026-03-20T21:00:00.000000Z");
}

TEST_F(CalendlyThreadTest, ACancelAfterARescheduleFindsTheBookingByTheNewInvitee) {
  const std::string id = Id(Post("invitee_created.json"));
  Post("reschedule_canceled.json");
  Post("reschedule_created.json");
  // The booking's later cancellation names only the new invitee.
  json cancel = json::parse(Testdata("invitee_canceled.json"));
  cancel["payload"]["uri"] =
      "https://api.calendly.com/scheduled_events/EVT-MOVED-0002/invitees/INV-MOVED-0002";
  HttpResponse r = harness_.Post(Signed(cancel.dump(), harness_.clock().Now()));
  EXPECT_EQ(Status(r), "updated") << r.body;
  EXPECT_EQ(Id(r), id);
  EXPECT_EQ(harness_.Get(id).fields["booking_status"], "canceled");
  EXPECT_EQ(harness_.Inquiries().size(), 1u);
}

TEST_F(CalendlyThreadTest, APlainCancelUpdatesTheBooking) {
  const std::string id = Id(Post("invitee_created.json"));
  HttpResponse r = Post("invitee_canceled.json");
  EXPECT_EQ(Status(r), "updated");
  const Inquiry i = harness_.Get(id);
  EXPECT_EQ(i.fields["booking_status"], "canceled");
  EXPECT_EQ(i.fields["cancel_reason"], "Fixed it myself");
  EXPECT_EQ(i.fields["booking_start"], "2026-03-18T17:00:00.000000Z");
  EXPECT_EQ(i.status, "received") << "the pipeline's status is not the booking's";
  EXPECT_EQ(harness_.Inquiries().size(), 1u);
}

TEST_F(CalendlyThreadTest, ACancelForABookingNeverSeenIsIgnoredAndCounted) {
  HttpResponse r = Post("invitee_canceled.json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Status(r), "ignored");
  EXPECT_TRUE(harness_.Inquiries().empty());
  EXPECT_EQ(harness_.Count("ignored"), 1);
}

TEST_F(CalendlyThreadTest, ARescheduleOfABookingNeverSeenCreatesIt) {
  EXPECT_EQ(Status(Post("reschedule_canceled.json")), "ignored");
  HttpResponse r = Post("reschedule_created.json");
  EXPECT_EQ(r.status, 202) << r.body;
  const auto list = harness_.Inquiries();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].fields["booking_status"], "rescheduled");
}

TEST_F(CalendlyThreadTest, ARedeliveryIsADuplicate) {
  HttpResponse first = Post("invitee_created.json");
  ASSERT_EQ(first.status, 202) << first.body;
  HttpResponse again = Post("invitee_created.json");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(Status(again), "duplicate");
  EXPECT_EQ(Id(again), Id(first));
  EXPECT_EQ(harness_.Inquiries().size(), 1u);
  EXPECT_EQ(harness_.Count("duplicate"), 1);
}

TEST_F(CalendlyThreadTest, BadSignaturesAreRefusedAndCounted) {
  HttpRequest r = Signed(Testdata("invitee_created.json"), harness_.clock().Now(), "wrong-key");
  HttpResponse refused = harness_.Post(r);
  EXPECT_EQ(refused.status, 401);
  EXPECT_NE(refused.body.find("bad_credentials"), std::string::npos);
  HttpResponse stale =
      harness_.Post(Signed(Testdata("invitee_created.json"), kNow - kMicrosPerHour));
  EXPECT_EQ(stale.status, 401);
  EXPECT_NE(stale.body.find("stale_timestamp"), std::string::npos);
  EXPECT_TRUE(harness_.Inquiries().empty());
  EXPECT_EQ(harness_.Count("rejected"), 2);
}

}  // namespace
}  // namespace handoff
