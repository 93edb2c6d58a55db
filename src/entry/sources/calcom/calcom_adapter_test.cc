#include "entry/sources/calcom/calcom_adapter.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "entry/common/source_auth.h"
#include "entry/rejection.h"
#include "tests/support/ingress_harness.h"

namespace handoff {
namespace {

using nlohmann::json;

constexpr char kSecret[] = "calcom-webhook-secret-0001";
constexpr char kOldSecret[] = "calcom-webhook-secret-0000";
constexpr Micros kNow = 1'773'648'000LL * kMicrosPerSecond;  // 2026-03-16T08:00:00Z

std::string Testdata(const std::string& name) {
  std::ifstream in(std::string(HANDOFF_TESTDATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HttpRequest Signed(const std::string& body, const std::string& secret = kSecret) {
  HttpRequest r;
  r.method = "POST";
  r.target = r.path = "/in/cal";
  r.headers = {{"content-type", "application/json"},
               {"x-cal-signature-256", HexEncode(HmacSha256(secret, body))}};
  r.body = body;
  return r;
}

SourceConfig Source() {
  SourceConfig s;
  s.name = "cal";
  s.adapter = "calcom";
  s.auth.hmac_secrets = {kSecret, kOldSecret};
  return s;
}

ParsedDelivery MustParse(const SourceConfig& source, const std::string& body) {
  CalcomAdapter adapter;
  auto d = adapter.Parse(source, Signed(body));
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *d : ParsedDelivery();
}

TEST(CalcomAdapter, VerifiesXCalSignature256) {
  const std::string body = Testdata("booking_created.json");
  const std::string good = HexEncode(HmacSha256(kSecret, body));
  auto set = [](std::string value) {
    return [value](HttpRequest& r) { r.headers[1].second = value; };
  };
  struct Case {
    std::string name;
    std::function<void(HttpRequest&)> mutate;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"valid", [](HttpRequest&) {}, "ok"},
      {"uppercase hex", set([&] {
         std::string up = good;
         for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
         return up;
       }()),
       "ok"},
      {"rotated secret", set(HexEncode(HmacSha256(kOldSecret, body))), "ok"},
      {"missing", [](HttpRequest& r) { r.headers.pop_back(); }, "bad_credentials"},
      {"two headers", [](HttpRequest& r) { r.headers.push_back(r.headers[1]); }, "bad_credentials"},
      {"no secret on the sender", set("no-secret-provided"), "bad_credentials"},
      {"not hex", set("sha256=" + good), "bad_credentials"},
      {"truncated", set(good.substr(0, 62)), "bad_credentials"},
      {"wrong secret", set(HexEncode(HmacSha256("someone-elses-secret", body))), "bad_credentials"},
      {"body changed", [](HttpRequest& r) { r.body.insert(1, " "); }, "bad_credentials"},
  };
  CalcomAdapter adapter;
  for (const auto& c : cases) {
    HttpRequest r = Signed(body);
    c.mutate(r);
    EXPECT_EQ(RejectionCode(adapter.Verify(Source(), r, kNow)), c.want) << c.name;
  }
}

TEST(CalcomAdapter, WithoutASecretAnythingPassesUnlessATokenIsSet) {
  CalcomAdapter adapter;
  SourceConfig source = Source();
  source.auth.hmac_secrets.clear();
  HttpRequest r = Signed(Testdata("booking_created.json"));
  r.headers[1].second = "no-secret-provided";
  EXPECT_TRUE(adapter.Verify(source, r, kNow).ok());
  source.auth.tokens = {"url-token-0123456789"};
  EXPECT_EQ(RejectionCode(adapter.Verify(source, r, kNow)), "bad_credentials");
  r.query = "token=url-token-0123456789";
  EXPECT_TRUE(adapter.Verify(source, r, kNow).ok());
}

TEST(CalcomAdapter, MapsABookingCreated) {
  const std::string body = Testdata("booking_created.json");
  const ParsedDelivery d = MustParse(Source(), body);
  const Inquiry& i = d.inquiry;
  EXPECT_EQ(i.channel, Channel::kBooking);
  EXPECT_EQ(i.received.name, "Jane Roe");
  EXPECT_EQ(i.received.email, "jane.roe@example.com");
  EXPECT_EQ(i.received.phone, "+14155550142");
  EXPECT_EQ(i.message, "Water heater leaking in the garage");
  EXPECT_EQ(i.service, "On-site estimate");
  EXPECT_EQ(i.location, "1200 Harbor Way, Oakland CA");
  EXPECT_EQ(i.fields["kind"], "booking");
  EXPECT_EQ(i.fields["booking_status"], "booked");
  EXPECT_EQ(i.fields["booking_start"], "2026-03-18T17:00:00Z");
  EXPECT_EQ(i.fields["booking_end"], "2026-03-18T17:30:00Z");
  EXPECT_EQ(i.fields["booking_uid"], "bFJeNb2uX8ANpT3JL5EfXw");
  EXPECT_EQ(i.fields["booking_id"], "1001");
  EXPECT_EQ(i.fields["event_type"], "estimate");
  EXPECT_EQ(i.fields["organizer_email"], "ben@harbor-plumbing.example");
  EXPECT_EQ(i.provider_event_id, "bFJeNb2uX8ANpT3JL5EfXw#BOOKING_CREATED");
  EXPECT_EQ(d.dedupe_key, "event:bFJeNb2uX8ANpT3JL5EfXw#BOOKING_CREATED");
  EXPECT_EQ(d.thread_key, "booking:bFJeNb2uX8ANpT3JL5EfXw");
  EXPECT_EQ(d.thread_mode, ParsedDelivery::ThreadMode::kCreateOrUpdate);
  EXPECT_EQ(i.raw_payload, body);
  EXPECT_NE(i.raw_payload.find("somethingCalAddsLater"), std::string::npos);
  EXPECT_EQ(i.occurred_at,
            kNow - 2 * kMicrosPerDay + (6 * 60 + 32) * kMicrosPerMinute + 3412 * kMicrosPerMilli);
}

TEST(CalcomAdapter, ReadsSplitNamesPhoneLocationsAndAttendeeFallbacks) {
  struct Case {
    std::string file;
    std::string name, email, phone, message;
  };
  const std::vector<Case> cases = {
      {"booking_created_split_name.json", "Sam Lee", "sam@example.org", "+14155550199", ""},
      {"booking_created_minimal.json", "Min Park", "min@example.net", "+15105550123", ""},
      {"booking_rescheduled.json", "Jane Roe", "jane.roe@example.com", "",
       "Water heater leaking in the garage"},  // additionalNotes when no notes response
  };
  for (const auto& c : cases) {
    const Inquiry i = MustParse(Source(), Testdata(c.file)).inquiry;
    EXPECT_EQ(i.received.name, c.name) << c.file;
    EXPECT_EQ(i.received.email, c.email) << c.file;
    EXPECT_EQ(i.received.phone, c.phone) << c.file;
    EXPECT_EQ(i.message, c.message) << c.file;
  }
  const Inquiry minimal = MustParse(Source(), Testdata("booking_created_minimal.json")).inquiry;
  EXPECT_TRUE(minimal.service.empty());
  EXPECT_FALSE(minimal.fields.contains("booking_start"));
  EXPECT_EQ(minimal.occurred_at, kNow - 2 * kMicrosPerDay + 8 * kMicrosPerHour);
}

TEST(CalcomAdapter, IgnoresOtherTriggersAndRejectsBrokenBookings) {
  struct Case {
    std::string name, body, content_type, want;
  };
  const std::vector<Case> cases = {
      {"ping", Testdata("ping.json"), "application/json", "ignored"},
      {"meeting ended", R"({"triggerEvent":"MEETING_ENDED","payload":{"uid":"u"}})",
       "application/json", "ignored"},
      {"requested", R"({"triggerEvent":"BOOKING_REQUESTED","payload":{"uid":"u"}})",
       "application/json", "ignored"},
      {"no payload", R"({"triggerEvent":"BOOKING_CREATED"})", "application/json", "missing_field"},
      {"no uid", R"({"triggerEvent":"BOOKING_CREATED","payload":{"attendees":[]}})",
       "application/json", "missing_field"},
      {"nobody", R"({"triggerEvent":"BOOKING_CREATED","payload":{"uid":"u","attendees":[7]}})",
       "application/json", "missing_field"},
      {"name of the wrong type",
       R"({"triggerEvent":"BOOKING_CREATED","payload":{"uid":"u","responses":{"name":{"value":[1]}}}})",
       "application/json", "missing_field"},
      {"urlencoded template", "triggerEvent=BOOKING_CREATED", "application/x-www-form-urlencoded",
       "unsupported_media_type"},
      {"broken", "{", "application/json", "malformed_body"},
  };
  CalcomAdapter adapter;
  for (const auto& c : cases) {
    HttpRequest r = Signed(c.body);
    r.headers[0].second = c.content_type;
    EXPECT_EQ(RejectionCode(adapter.Parse(Source(), r).status()), c.want) << c.name;
  }
}

TEST(CalcomAdapter, ARescheduleThreadsOnTheOriginalUid) {
  const ParsedDelivery d = MustParse(Source(), Testdata("booking_rescheduled.json"));
  EXPECT_EQ(d.thread_key, "booking:bFJeNb2uX8ANpT3JL5EfXw");
  EXPECT_EQ(d.thread_aliases, std::vector<std::string>{"booking:n3wUidAfterMove000000x"});
  EXPECT_EQ(d.dedupe_key, "event:n3wUidAfterMove000000x#BOOKING_RESCHEDULED");
  EXPECT_EQ(d.inquiry.fields["booking_status"], "rescheduled");
  EXPECT_EQ(d.inquiry.fields["rescheduled_from"], "bFJeNb2uX8ANpT3JL5EfXw");
  EXPECT_EQ(d.inquiry.fields["reschedule_reason"], "Out of town on the 18th");

  const ParsedDelivery cancel = MustParse(Source(), Testdata("booking_cancelled.json"));
  EXPECT_EQ(cancel.thread_key, "booking:bFJeNb2uX8ANpT3JL5EfXw");
  EXPECT_EQ(cancel.thread_mode, ParsedDelivery::ThreadMode::kUpdateOnly);
  EXPECT_EQ(cancel.inquiry.fields["booking_status"], "canceled");
  EXPECT_EQ(cancel.inquiry.fields["cancel_reason"], "Fixed it myself");
}

TEST(CalcomAdapter, TheSourceMapOverridesAndRequiredApplies) {
  SourceConfig source = Source();
  source.map = {{"service", "payload.type"}, {"landing_page", "payload.metadata.page"}};
  const Inquiry i = MustParse(source, Testdata("booking_created.json")).inquiry;
  EXPECT_EQ(i.service, "estimate");
  EXPECT_TRUE(i.attribution.landing_page.empty()) << "an absent mapped path changes nothing";
  EXPECT_EQ(i.received.phone, "+14155550142");

  source.map = {{"message", "payload.responses.gate-code.value"}};
  EXPECT_EQ(MustParse(source, Testdata("booking_created.json")).inquiry.message, "4411");

  source.map.clear();
  source.required = {"phone"};
  CalcomAdapter adapter;
  EXPECT_EQ(
      RejectionCode(adapter.Parse(source, Signed(Testdata("booking_rescheduled.json"))).status()),
      "missing_field");
}

// --- Threads through the real Ingress and SQLite store --------------------------------------

class CalcomThreadTest : public ::testing::Test {
 protected:
  HttpResponse Post(const std::string& file) { return harness_.Post(Signed(Testdata(file))); }
  static std::string Id(const HttpResponse& r) { return testing::IngressHarness::Field(r, "id"); }
  static std::string Status(const HttpResponse& r) {
    return testing::IngressHarness::Field(r, "status");
  }
  testing::IngressHarness harness_{Source(), kNow};
};

TEST_F(CalcomThreadTest, ARescheduleThenACancelUpdateOneInquiry) {
  const std::string id = Id(Post("booking_created.json"));
  ASSERT_FALSE(id.empty());
  HttpResponse moved = Post("booking_rescheduled.json");
  EXPECT_EQ(Status(moved), "updated") << moved.body;
  EXPECT_EQ(Id(moved), id);
  Inquiry i = harness_.Get(id);
  EXPECT_EQ(i.fields["booking_status"], "rescheduled");
  EXPECT_EQ(i.fields["booking_start"], "2026-03-20T21:00:00Z");
  EXPECT_EQ(i.received.phone, "+14155550142") << "kept from the booking";

  // The cancel names the new uid only.
  json cancel = json::parse(Testdata("booking_cancelled.json"));
  cancel["payload"]["uid"] = "n3wUidAfterMove000000x";
  HttpResponse canceled = harness_.Post(Signed(cancel.dump()));
  EXPECT_EQ(Status(canceled), "updated") << canceled.body;
  EXPECT_EQ(Id(canceled), id);
  i = harness_.Get(id);
  EXPECT_EQ(i.fields["booking_status"], "canceled");
  EXPECT_EQ(harness_.Inquiries().size(), 1u);
  EXPECT_EQ(harness_.Count("accepted"), 1);
  EXPECT_EQ(harness_.Count("updated"), 2);
}

TEST_F(CalcomThreadTest, ARescheduleBeforeTheLateCreationIsStillOneInquiry) {
  HttpResponse moved = Post("booking_rescheduled.json");
  ASSERT_EQ(moved.status, 202) << moved.body;
  HttpResponse late = Post("booking_created.json");
  EXPECT_EQ(Status(late), "duplicate") << "superseded by the reschedule";
  EXPECT_EQ(Id(late), Id(moved));
  ASSERT_EQ(harness_.Inquiries().size(), 1u);
  EXPECT_EQ(harness_.Get(Id(moved)).fields["booking_start"], "2026-03-20T21:00:00Z");
}

TEST_F(CalcomThreadTest, ACancelUpdatesTheBookingAndAnUnknownOneIsIgnored) {
  HttpResponse unknown = Post("booking_cancelled.json");
  EXPECT_EQ(Status(unknown), "ignored");
  EXPECT_EQ(harness_.Count("ignored"), 1);
  EXPECT_TRUE(harness_.Inquiries().empty());

  const std::string id = Id(Post("booking_created.json"));
  json cancel = json::parse(Testdata("booking_cancelled.json"));
  cancel["createdAt"] = "2026-03-15T09:11:00.000Z";  // Cal.com's next attempt is a new body
  HttpResponse r = harness_.Post(Signed(cancel.dump()));
  EXPECT_EQ(Status(r), "updated");
  EXPECT_EQ(harness_.Get(id).fields["booking_status"], "canceled");
}

TEST_F(CalcomThreadTest, ARedeliveryIsADuplicateAndBadSignaturesAre401) {
  HttpResponse first = Post("booking_created.json");
  ASSERT_EQ(first.status, 202) << first.body;
  HttpResponse again = Post("booking_created.json");
  EXPECT_EQ(Status(again), "duplicate");
  EXPECT_EQ(Id(again), Id(first));
  HttpResponse forged = harness_.Post(Signed(Testdata("booking_created.json"), "forged-secret"));
  EXPECT_EQ(forged.status, 401);
  EXPECT_EQ(harness_.Inquiries().size(), 1u);
  EXPECT_EQ(harness_.Count("duplicate"), 1);
  EXPECT_EQ(harness_.Count("rejected"), 1);
}

}  // namespace
}  // namespace handoff
