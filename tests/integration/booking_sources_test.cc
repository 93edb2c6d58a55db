// The real binary on loopback with a temporary SQLite file, fed signed Calendly, Cal.com and
// Typeform webhooks over HTTP: stored inquiries as the API shows them, redeliveries, a
// reschedule and a cancellation updating one booking, and the 401s for bad signatures.
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "entry/common/signature.h"
#include "entry/common/source_auth.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/server_process.h"

namespace handoff::testing {
namespace {

using nlohmann::json;

constexpr char kCalendlyKey[] = "calendly-signing-key-0001";
constexpr char kCalendlyOldKey[] = "calendly-signing-key-0000";
constexpr char kCalSecret[] = "calcom-webhook-secret-0001";
constexpr char kTypeformSecret[] = "typeform-webhook-secret-0001";

std::string Testdata(const std::string& adapter, const std::string& name) {
  std::ifstream in(std::string(HANDOFF_SOURCES_DIR) + "/" + adapter + "/testdata/" + name,
                   std::ios::binary);
  EXPECT_TRUE(in.good()) << adapter << "/" << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Config() {
  return R"(workspace: test-works
business:
  name: Test Works
  public_url: https://hooks.test.example
server:
  admin_token: ${HANDOFF_ADMIN_TOKEN}
team:
  - { id: ana, name: Ana Ortiz }
sources:
  bookings:
    adapter: calendly
    signature: { secret: [calendly-signing-key-0001, calendly-signing-key-0000] }
    tolerance: 5m
  cal:
    adapter: calcom
    signature: { secret: calcom-webhook-secret-0001 }
  quote-form:
    adapter: typeform
    signature: { secret: typeform-webhook-secret-0001 }
    refs: { name: full_name, phone: phone_ref, service: service_ref }
routes:
  - name: everything
    fallback: true
    assign: ana
    task: { title: "Follow up", due: 1h }
)";
}

class BookingSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_.File("handoff.yaml"), Config());
    auto check =
        RunHandoff({"check", dir_.File("handoff.yaml")}, {{"HANDOFF_ADMIN_TOKEN", kAdminToken}});
    ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
    server_ = std::make_unique<ServerProcess>(dir_.File("handoff.yaml"), dir_.File("handoff.db"));
    server_->Start();
  }

  HttpClientResponse PostCalendly(const std::string& body, const std::string& key = kCalendlyKey,
                                  long long t = static_cast<long long>(std::time(nullptr))) {
    const std::string ts = std::to_string(t);
    return server_->Post("/in/bookings", body, "application/json",
                         {{"Calendly-Webhook-Signature",
                           "t=" + ts + ",v1=" + HexEncode(HmacSha256(key, ts + "." + body))}});
  }
  HttpClientResponse PostCal(const std::string& body, const std::string& signature = "") {
    return server_->Post(
        "/in/cal", body, "application/json",
        {{"X-Cal-Signature-256",
          signature.empty() ? HexEncode(HmacSha256(kCalSecret, body)) : signature}});
  }
  HttpClientResponse PostTypeform(const std::string& body) {
    return server_->Post(
        "/in/quote-form", body, "application/json",
        {{"Typeform-Signature", "sha256=" + Base64Encode(HmacSha256(kTypeformSecret, body))}});
  }

  json Inquiry(const std::string& id) {
    auto r = server_->ApiGet("/api/v1/inquiries/" + id);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false)["inquiry"];
  }
  size_t CountInquiries(const std::string& source) {
    auto r = server_->ApiGet("/api/v1/inquiries?source=" + source);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false)["inquiries"].size();
  }
  static json Body(const HttpClientResponse& r) { return json::parse(r.body, nullptr, false); }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(BookingSourcesTest, CalendlyBookingRescheduleAndRedelivery) {
  const std::string created = Testdata("calendly", "invitee_created.json");
  auto first = PostCalendly(created);
  ASSERT_EQ(first.status, 202) << first.body;
  const std::string id = Body(first)["id"];

  json i = Inquiry(id);
  EXPECT_EQ(i["channel"], "booking");
  EXPECT_EQ(i["source"], "bookings");
  EXPECT_EQ(i["contact_as_received"]["name"], "Jane Roe");
  EXPECT_EQ(i["contact_as_received"]["email"], "jane.roe@example.com");
  EXPECT_EQ(i["attribution"]["utm_source"], "google");
  EXPECT_EQ(i["fields"]["booking_status"], "booked");
  EXPECT_EQ(i["fields"]["booking_start"], "2026-03-18T17:00:00.000000Z");
  EXPECT_EQ(i["raw"]["body"], created) << "the raw payload verbatim";

  // A redelivery (with a fresh signature, as Calendly retries) creates nothing.
  auto again = PostCalendly(created, kCalendlyOldKey);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Body(again)["status"], "duplicate");
  EXPECT_EQ(Body(again)["id"], id);

  // The reschedule's two halves, the created one first.
  auto moved = PostCalendly(Testdata("calendly", "reschedule_created.json"));
  EXPECT_EQ(Body(moved)["status"], "updated") << moved.body;
  auto stale_half = PostCalendly(Testdata("calendly", "reschedule_canceled.json"));
  EXPECT_EQ(stale_half.status, 200) << stale_half.body;
  EXPECT_EQ(Body(stale_half)["id"], id);

  i = Inquiry(id);
  EXPECT_EQ(i["fields"]["booking_status"], "rescheduled");
  EXPECT_EQ(i["fields"]["booking_start"], "2026-03-20T21:00:00.000000Z");
  EXPECT_EQ(CountInquiries("bookings"), 1u);
}

TEST_F(BookingSourcesTest, CalendlyRefusesBadAndStaleSignatures) {
  const std::string body = Testdata("calendly", "invitee_created.json");
  auto forged = PostCalendly(body, "not-the-signing-key");
  EXPECT_EQ(forged.status, 401);
  EXPECT_EQ(Body(forged)["error"]["code"], "bad_credentials");
  auto stale = PostCalendly(body, kCalendlyKey, std::time(nullptr) - 600);
  EXPECT_EQ(stale.status, 401);
  EXPECT_EQ(Body(stale)["error"]["code"], "stale_timestamp");
  auto unsigned_post = server_->Post("/in/bookings", body, "application/json");
  EXPECT_EQ(unsigned_post.status, 401);
  EXPECT_EQ(CountInquiries("bookings"), 0u);
}

TEST_F(BookingSourcesTest, CalcomBookingCancelAndSignatures) {
  auto created = PostCal(Testdata("calcom", "booking_created.json"));
  ASSERT_EQ(created.status, 202) << created.body;
  const std::string id = Body(created)["id"];
  auto canceled = PostCal(Testdata("calcom", "booking_cancelled.json"));
  EXPECT_EQ(Body(canceled)["status"], "updated") << canceled.body;
  json i = Inquiry(id);
  EXPECT_EQ(i["contact_as_received"]["phone"], "+14155550142");
  EXPECT_EQ(i["fields"]["booking_status"], "canceled");
  EXPECT_EQ(i["fields"]["cancel_reason"], "Fixed it myself");

  auto ping = PostCal(Testdata("calcom", "ping.json"));
  EXPECT_EQ(ping.status, 200);
  EXPECT_EQ(Body(ping)["status"], "ignored");
  auto no_secret = PostCal(Testdata("calcom", "booking_created.json"), "no-secret-provided");
  EXPECT_EQ(no_secret.status, 401);
  EXPECT_EQ(Body(no_secret)["error"]["code"], "bad_credentials");
  EXPECT_EQ(CountInquiries("cal"), 1u);
}

TEST_F(BookingSourcesTest, TypeformByRefAndTenConcurrentCopiesMakeOneInquiry) {
  const std::string body = Testdata("typeform", "form_response.json");
  std::vector<int> statuses(10);
  std::vector<std::string> ids(10);
  std::vector<std::thread> threads;
  for (int n = 0; n < 10; ++n) {
    threads.emplace_back([&, n] {
      auto r = PostTypeform(body);
      statuses[n] = r.status;
      ids[n] = Body(r).value("id", "");
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 202), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 9);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u) << "one id for all";

  json i = Inquiry(ids[0]);
  EXPECT_EQ(i["channel"], "form");
  EXPECT_EQ(i["contact_as_received"]["name"], "Jane Roe");
  EXPECT_EQ(i["contact_as_received"]["phone"], "+14155550188");
  EXPECT_EQ(i["service"], "Water heater");
  EXPECT_EQ(i["attribution"]["utm_campaign"], "spring-leaks");
  EXPECT_EQ(i["provider_event_id"], "01JQ7ZK3T9X2M4N5P6R7S8T9V0");
  EXPECT_EQ(CountInquiries("quote-form"), 1u);

  auto forged = server_->Post("/in/quote-form", body, "application/json",
                              {{"Typeform-Signature", "sha256=AAAA"}});
  EXPECT_EQ(forged.status, 401);
}

TEST_F(BookingSourcesTest, TheSourcesListShowsTheWebhookUrls) {
  auto r = server_->ApiGet("/api/v1/sources");
  ASSERT_EQ(r.status, 200) << r.body;
  std::map<std::string, std::string> urls;
  const json listed = Body(r);
  for (const auto& s : listed["sources"]) urls[s["adapter"]] = s["webhook_url"];
  EXPECT_EQ(urls["calendly"], "https://hooks.test.example/in/bookings");
  EXPECT_EQ(urls["calcom"], "https://hooks.test.example/in/cal");
  EXPECT_EQ(urls["typeform"], "https://hooks.test.example/in/quote-form");
}

}  // namespace
}  // namespace handoff::testing
