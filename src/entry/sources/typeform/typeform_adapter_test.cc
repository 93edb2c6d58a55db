#include "entry/sources/typeform/typeform_adapter.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "entry/common/signature.h"
#include "entry/common/source_auth.h"
#include "entry/rejection.h"
#include "tests/support/ingress_harness.h"

namespace handoff {
namespace {

using nlohmann::json;

constexpr char kSecret[] = "typeform-webhook-secret-0001";
constexpr char kOldSecret[] = "typeform-webhook-secret-0000";
constexpr Micros kNow = 1'773'648'000LL * kMicrosPerSecond;  // 2026-03-16T08:00:00Z

std::string Testdata(const std::string& name) {
  std::ifstream in(std::string(HANDOFF_TESTDATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Signature(const std::string& secret, const std::string& body) {
  return "sha256=" + Base64Encode(HmacSha256(secret, body));
}

HttpRequest Signed(const std::string& body, const std::string& secret = kSecret) {
  HttpRequest r;
  r.method = "POST";
  r.target = r.path = "/in/quote-form";
  r.headers = {{"content-type", "application/json"},
               {"typeform-signature", Signature(secret, body)}};
  r.body = body;
  return r;
}

SourceConfig Source(json refs = {{"name", "full_name"},
                                 {"phone", "phone_ref"},
                                 {"service", "service_ref"},
                                 {"location", "zip"}}) {
  SourceConfig s;
  s.name = "quote-form";
  s.adapter = "typeform";
  s.auth.hmac_secrets = {kSecret, kOldSecret};
  if (!refs.is_null()) s.settings["refs"] = std::move(refs);
  return s;
}

ParsedDelivery MustParse(const SourceConfig& source, const std::string& body) {
  TypeformAdapter adapter;
  auto d = adapter.Parse(source, Signed(body));
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *d : ParsedDelivery();
}

TEST(TypeformAdapter, VerifiesTheBase64Signature) {
  const std::string body = Testdata("form_response.json");
  const std::string mac = HmacSha256(kSecret, body);
  auto set = [](std::string value) {
    return [value](HttpRequest& r) { r.headers[1].second = value; };
  };
  std::string url_safe = Base64Encode(mac);
  for (char& c : url_safe) c = c == '+' ? '-' : c == '/' ? '_' : c;
  struct Case {
    std::string name;
    std::function<void(HttpRequest&)> mutate;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"valid", [](HttpRequest&) {}, "ok"},
      {"rotated secret", set(Signature(kOldSecret, body)), "ok"},
      {"missing", [](HttpRequest& r) { r.headers.pop_back(); }, "bad_credentials"},
      {"two headers", [](HttpRequest& r) { r.headers.push_back(r.headers[1]); }, "bad_credentials"},
      {"no prefix", set(Base64Encode(mac)), "bad_credentials"},
      {"hex, not base64", set("sha256=" + HexEncode(mac)), "bad_credentials"},
      {"not base64", set("sha256=%%%%"), "bad_credentials"},
      {"padding stripped", set("sha256=" + Base64Encode(mac).substr(0, 43)), "bad_credentials"},
      {"empty", set("sha256="), "bad_credentials"},
      {"wrong secret", set(Signature("someone-elses-secret", body)), "bad_credentials"},
      {"body changed", [](HttpRequest& r) { r.body.pop_back(); }, "bad_credentials"},
  };
  TypeformAdapter adapter;
  for (const auto& c : cases) {
    HttpRequest r = Signed(body);
    c.mutate(r);
    EXPECT_EQ(RejectionCode(adapter.Verify(Source(), r, kNow)), c.want) << c.name;
  }
  if (url_safe != Base64Encode(mac)) {
    HttpRequest r = Signed(body);
    r.headers[1].second = "sha256=" + url_safe;
    EXPECT_EQ(RejectionCode(adapter.Verify(Source(), r, kNow)), "bad_credentials");
  }
}

TEST(TypeformAdapter, MatchesAnswersByRefNeverByPosition) {
  const std::string body = Testdata("form_response.json");
  const ParsedDelivery d = MustParse(Source(), body);
  const Inquiry& i = d.inquiry;
  EXPECT_EQ(i.channel, Channel::kForm);
  EXPECT_EQ(i.received.name, "Jane Roe");
  EXPECT_EQ(i.received.email, "jane.roe@example.com") << "the email answer, by type";
  EXPECT_EQ(i.received.phone, "+14155550188") << "phone_ref, not the first phone answer";
  EXPECT_EQ(i.service, "Water heater") << "a choice is its label";
  EXPECT_EQ(i.location, "94607");
  EXPECT_EQ(i.message, "Leaking in the garage, about 12 years old.") << "the long_text answer";
  EXPECT_EQ(i.attribution.utm_source, "facebook");
  EXPECT_EQ(i.attribution.utm_medium, "paid_social");
  EXPECT_EQ(i.attribution.utm_campaign, "spring-leaks");
  EXPECT_EQ(i.attribution.landing_page, "https://harbor-plumbing.example/leaks");
  EXPECT_EQ(i.fields["kind"], "form");
  EXPECT_EQ(i.fields["form_id"], "lT4Z3j");
  EXPECT_EQ(i.fields["form_title"], "Request a quote");
  EXPECT_EQ(i.fields["response_token"], "a3a12ec67a1365927098a606107fac15");
  EXPECT_EQ(i.fields["score"], 4);
  EXPECT_EQ(i.fields["ending"], "thanks");
  EXPECT_EQ(i.fields["answers"]["when"], "Weekday mornings, Saturday, After 6pm");
  EXPECT_EQ(i.fields["answers"]["urgent"], "yes");
  EXPECT_EQ(i.fields["hidden"]["gclid"], "");
  EXPECT_EQ(i.provider_event_id, "01JQ7ZK3T9X2M4N5P6R7S8T9V0");
  EXPECT_EQ(d.dedupe_key, "event:01JQ7ZK3T9X2M4N5P6R7S8T9V0");
  EXPECT_TRUE(d.thread_key.empty());
  EXPECT_EQ(i.occurred_at,
            kNow - 2 * kMicrosPerDay + (6 * 60 + 32) * kMicrosPerMinute + 3 * kMicrosPerSecond);
  EXPECT_EQ(i.raw_payload, body);
  EXPECT_NE(i.raw_payload.find("a_key_typeform_adds_later"), std::string::npos);
}

TEST(TypeformAdapter, RefsSettingVariants) {
  struct Case {
    std::string name;
    json refs;
    std::function<void(const Inquiry&)> check;
  };
  const std::vector<Case> cases = {
      {"no refs: defaults by type and common refs", nullptr,
       [](const Inquiry& i) {
         EXPECT_EQ(i.received.name, "Jane Roe") << "full_name is a default ref";
         EXPECT_EQ(i.received.phone, "+14155550142") << "the first phone_number answer";
         EXPECT_TRUE(i.service.empty());
       }},
      {"a list of refs tries each",
       {{"phone", {"cell", "phone_ref"}}},
       [](const Inquiry& i) { EXPECT_EQ(i.received.phone, "+14155550188"); }},
      {"a configured ref that is absent leaves the field empty",
       {{"phone", "cell"}},
       [](const Inquiry& i) { EXPECT_TRUE(i.received.phone.empty()); }},
      {"message from a ref",
       {{"message", "when"}},
       [](const Inquiry& i) { EXPECT_EQ(i.message, "Weekday mornings, Saturday, After 6pm"); }},
      {"utm from a question",
       {{"utm_term", "zip"}},
       [](const Inquiry& i) { EXPECT_EQ(i.attribution.utm_term, "94607"); }},
      {"first and last name",
       {{"first_name", "full_name"}, {"last_name", "zip"}},
       [](const Inquiry& i) { EXPECT_EQ(i.received.name, "Jane Roe 94607"); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    c.check(MustParse(Source(c.refs), Testdata("form_response.json")).inquiry);
  }
}

TEST(TypeformAdapter, SkippedQuestionsAreSimplyAbsent) {
  const Inquiry i = MustParse(Source(), Testdata("form_response_skipped.json")).inquiry;
  EXPECT_TRUE(i.received.name.empty());
  EXPECT_TRUE(i.received.phone.empty());
  EXPECT_EQ(i.received.email, "min@example.net");
  EXPECT_EQ(i.message, "Drain is slow\n\nAlso the kitchen sink");
  EXPECT_TRUE(i.attribution.empty());
  EXPECT_FALSE(i.fields.contains("hidden"));
}

TEST(TypeformAdapter, IgnoresOtherEventsAndRejectsBrokenResponses) {
  struct Case {
    std::string name, body, want;
  };
  const std::vector<Case> cases = {
      {"other event", R"({"event_id":"e","event_type":"form_partial_response"})", "ignored"},
      {"no form_response", R"({"event_id":"e","event_type":"form_response"})", "missing_field"},
      {"no ids",
       R"({"event_type":"form_response","form_response":{"answers":[{"type":"email","email":"a@b.c"}]}})",
       "missing_field"},
      {"nothing to act on",
       R"({"event_id":"e","event_type":"form_response","form_response":{"answers":[{"type":"number","number":3,"field":{"ref":"n"}}]}})",
       "missing_field"},
      {"answers of odd shapes",
       R"({"event_id":"e","event_type":"form_response","form_response":{"answers":[1,null,{"type":"email"},{"type":"choices","choices":{"labels":[null,{}]}}]}})",
       "missing_field"},
      {"broken", R"({"event_id":)", "malformed_body"},
  };
  TypeformAdapter adapter;
  for (const auto& c : cases) {
    EXPECT_EQ(RejectionCode(adapter.Parse(Source(), Signed(c.body)).status()), c.want) << c.name;
  }
  // The token stands in for a missing event_id.
  const ParsedDelivery d = MustParse(
      Source(),
      R"({"event_type":"form_response","form_response":{"token":"tok1","answers":[{"type":"email","email":"a@b.c","field":{"ref":"x"}}]}})");
  EXPECT_EQ(d.dedupe_key, "event:tok1");
}

TEST(TypeformAdapter, AnInvalidRefsSettingIsAConfigError) {
  TypeformAdapter adapter;
  for (const json& refs : {json("full_name"), json{{"nickname", "x"}}, json{{"name", 7}},
                           json{{"event_id", "x"}}, json{{"phone", {"a", 1}}}}) {
    SourceConfig source = Source(refs);
    EXPECT_EQ(adapter.Parse(source, Signed(Testdata("form_response.json"))).status().code(),
              absl::StatusCode::kInvalidArgument)
        << refs.dump();
  }
}

TEST(TypeformAdapter, TheSourceMapOverridesAndRequiredApplies) {
  SourceConfig source = Source();
  source.map = {{"service", "form_response.definition.title"}};
  EXPECT_EQ(MustParse(source, Testdata("form_response.json")).inquiry.service, "Request a quote");
  source.map.clear();
  source.required = {"phone"};
  TypeformAdapter adapter;
  EXPECT_EQ(
      RejectionCode(adapter.Parse(source, Signed(Testdata("form_response_skipped.json"))).status()),
      "missing_field");
}

TEST(TypeformAdapter, ARedeliveryThroughTheIngressIsADuplicate) {
  testing::IngressHarness harness(Source(), kNow);
  HttpResponse first = harness.Post(Signed(Testdata("form_response.json")));
  ASSERT_EQ(first.status, 202) << first.body;
  HttpResponse again = harness.Post(Signed(Testdata("form_response.json")));
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(testing::IngressHarness::Field(again, "status"), "duplicate");
  EXPECT_EQ(testing::IngressHarness::Field(again, "id"),
            testing::IngressHarness::Field(first, "id"));
  HttpResponse forged = harness.Post(Signed(Testdata("form_response.json"), "forged-secret"));
  EXPECT_EQ(forged.status, 401);
  EXPECT_EQ(harness.Inquiries().size(), 1u);
  EXPECT_EQ(harness.Count("duplicate"), 1);
}

}  // namespace
}  // namespace handoff
