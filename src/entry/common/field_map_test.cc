#include "entry/common/field_map.h"

#include <gtest/gtest.h>

#include <string>

#include "core/time_format.h"
#include "entry/rejection.h"

namespace handoff {
namespace {

ParsedBody Json(const std::string& text) {
  auto r = ParseBody("application/json", text);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : ParsedBody{};
}

ParsedBody Form(const std::string& text) {
  auto r = ParseBody("application/x-www-form-urlencoded", text);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : ParsedBody{};
}

SourceConfig Source(FieldMap map, std::vector<std::string> required = {}) {
  SourceConfig s;
  s.name = "website";
  s.adapter = "json";
  s.map = std::move(map);
  s.required = std::move(required);
  return s;
}

const char kNested[] = R"({
  "contact": {"email": "ana@example.com", "phone": 4155550101, "name": {"first": "Ana"}},
  "answers": [{"text": "Water heater leaking"}, {"text": "Mission district"}],
  "meta.source": "literal dotted key",
  "price": 10.50,
  "odd/key~name": {"total": 2.50},
  "prices": [1.10, 2.0],
  "urgent": true,
  "nothing": null,
  "blank": "   "
})";

struct PathCase {
  std::string path;
  std::string want;  // "" = absent
};

TEST(MapFields, FollowsDottedPathsIntoObjectsAndArrays) {
  const ParsedBody body = Json(kNested);
  const PathCase cases[] = {
      {"contact.email", "ana@example.com"},
      {"contact.phone", "4155550101"},
      {"answers.0.text", "Water heater leaking"},
      {"answers.1.text", "Mission district"},
      {"answers.2.text", ""},
      {"answers.x.text", ""},
      {"answers.-1.text", ""},
      {"contact.email.more", ""},
      {"contact.missing", ""},
      {"meta.source", "literal dotted key"},
      {"price", "10.50"},
      // The text as written, found by the JSON pointer the parser recorded it under: escaped
      // key characters and array indices must name it the same way.
      {"odd/key~name.total", "2.50"},
      {"prices.0", "1.10"},
      {"prices.1", "2.0"},
      {"urgent", "true"},
      {"nothing", ""},
      {"blank", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    auto r = MapFields(Source({{"message", c.path}}), body);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->Get("message"), c.want);
  }
}

TEST(MapFields, ObjectOrArrayWhereTextIsExpectedIsInvalid) {
  const ParsedBody body = Json(kNested);
  for (const std::string path : {"contact.name", "answers", "contact"}) {
    SCOPED_TRACE(path);
    auto r = MapFields(Source({{"name", path}}), body);
    EXPECT_EQ(RejectionCode(r.status()), "invalid_field");
    EXPECT_EQ(RejectionHttpStatus(r.status()), 422);
    EXPECT_NE(RejectionDetail(r.status()).find("mapped from '" + path + "'"), std::string::npos)
        << r.status();
  }
}

TEST(MapFields, UsesDefaultsAndAliasesWithoutAMap) {
  const std::pair<std::string, std::pair<std::string, std::string>> cases[] = {
      {R"({"name":"Ana"})", {"name", "Ana"}},
      {R"({"full_name":"Ana Ortiz"})", {"name", "Ana Ortiz"}},
      {R"({"fullName":"Ana Ortiz"})", {"name", "Ana Ortiz"}},
      {R"({"name":"Ana","full_name":"Other"})", {"name", "Ana"}},
      {R"({"phone_number":"415"})", {"phone", "415"}},
      {R"({"tel":"415"})", {"phone", "415"}},
      {R"({"comments":"hi"})", {"message", "hi"}},
      {R"({"details":"hi"})", {"message", "hi"}},
      {R"({"body":"hi"})", {"message", "hi"}},
      {R"({"utm_campaign":"spring"})", {"utm_campaign", "spring"}},
      {R"({"event_id":"evt_1"})", {"event_id", "evt_1"}},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    auto r = MapFields(Source({}), Json(text));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->Get(want.first), want.second);
  }
  auto form = MapFields(Source({}), Form("full_name=Ana+Ortiz&tel=%2B14155550101&details=Hi"));
  ASSERT_TRUE(form.ok()) << form.status();
  EXPECT_EQ(form->Get("name"), "Ana Ortiz");
  EXPECT_EQ(form->Get("phone"), "+14155550101");
  EXPECT_EQ(form->Get("message"), "Hi");
}

TEST(MapFields, JoinsFirstAndLastNameWhenThereIsNoName) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"first_name":"Ana","last_name":"Ortiz"})", "Ana Ortiz"},
      {R"({"firstName":"Ana"})", "Ana"},
      {R"({"last_name":"Ortiz"})", "Ortiz"},
      {R"({"name":"A. Ortiz","first_name":"Ana","last_name":"Ortiz"})", "A. Ortiz"},
      {R"({"email":"a@b.c"})", ""},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    auto r = MapFields(Source({}), Json(text));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->Get("name"), want);
  }
  auto mapped = MapFields(Source({{"first_name", "p.f"}, {"last_name", "p.l"}}, {"name"}),
                          Json(R"({"p":{"f":"Ana","l":"Ortiz"}})"));
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_EQ(mapped->Get("name"), "Ana Ortiz");
}

TEST(MapFields, FormUsesTheFirstNonBlankValueOfARepeatedField) {
  auto r = MapFields(Source({{"service", "svc"}, {"email", "contact[email]"}}),
                     Form("svc=&svc=drains&svc=remodel&contact%5Bemail%5D=a%40b.c"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Get("service"), "drains");
  EXPECT_EQ(r->Get("email"), "a@b.c");
}

TEST(MapFields, AFieldMappedTwiceFallsBackInOrder) {
  const SourceConfig s = Source({{"phone", "mobile"}, {"phone", "landline"}});
  auto r = MapFields(s, Json(R"({"landline":"415-555-0100"})"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Get("phone"), "415-555-0100");
  r = MapFields(s, Json(R"({"mobile":"415-555-0199","landline":"415-555-0100"})"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Get("phone"), "415-555-0199");
}

TEST(MapFields, RequiredFieldsThatAreAbsentAreNamedWithTheirPaths) {
  auto r = MapFields(
      Source({{"email", "contact.email"}, {"phone", "contact.phone"}}, {"email", "phone", "name"}),
      Json(R"({"contact":{"phone":"415"}})"));
  ASSERT_EQ(RejectionCode(r.status()), "missing_field") << r.status();
  EXPECT_EQ(RejectionHttpStatus(r.status()), 422);
  const std::string detail = RejectionDetail(r.status());
  EXPECT_NE(detail.find("required field 'email' (mapped from 'contact.email') is absent"),
            std::string::npos)
      << detail;
  EXPECT_NE(detail.find("required field 'name' is absent"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("'phone'"), std::string::npos) << detail;

  auto blank = MapFields(Source({}, {"email"}), Json(R"({"email":"  "})"));
  EXPECT_EQ(RejectionCode(blank.status()), "missing_field");
  auto present = MapFields(Source({}, {"email"}), Json(R"({"email":"a@b.c"})"));
  EXPECT_TRUE(present.ok()) << present.status();
}

TEST(ValidateFieldMap, RejectsUnknownCanonicalNamesAndEmptyPaths) {
  EXPECT_TRUE(
      ValidateFieldMap({{"email", "contact.email"}, {"utm_source", "utm.source"}}, {"email"}).ok());
  const absl::Status s =
      ValidateFieldMap({{"emial", "contact.email"}, {"phone", ""}, {"name", "a..b"}}, {"fone"});
  ASSERT_FALSE(s.ok());
  const std::string message(s.message());
  EXPECT_NE(message.find("unknown canonical field 'emial'"), std::string::npos) << message;
  EXPECT_NE(message.find("map.phone: the path is empty"), std::string::npos) << message;
  EXPECT_NE(message.find("'a..b' has an empty segment"), std::string::npos) << message;
  EXPECT_NE(message.find("required: unknown canonical field 'fone'"), std::string::npos) << message;

  // MapFields refuses an invalid map as a config error, not as the sender's fault.
  auto r = MapFields(Source({{"emial", "email"}}), Json(R"({"email":"a@b.c"})"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RejectionCode(r.status()), "internal");
}

TEST(CanonicalFieldNames, ListsEveryCanonicalField) {
  const std::vector<std::string> want = {
      "name",        "first_name", "last_name",    "email",       "phone",        "message",
      "service",     "location",   "utm_source",   "utm_medium",  "utm_campaign", "utm_term",
      "utm_content", "referrer",   "landing_page", "occurred_at", "event_id"};
  EXPECT_EQ(CanonicalFieldNames(), want);
}

TEST(ParseOccurredAt, AcceptsRfc3339AndUnixSecondsOrMilliseconds) {
  const Micros t = *ParseRfc3339("2026-11-29T10:00:00Z");
  const std::pair<std::string, Micros> cases[] = {
      {"2026-11-29T10:00:00Z", t},
      {"2026-11-29T11:00:00+01:00", t},
      {"1795946400", t},
      {"1795946400000", t},
      {"1795946400.25", t + 250'000},
      {"1795946400123.5", t + 123'500},
  };
  ASSERT_EQ(t, 1795946400 * kMicrosPerSecond);
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    auto r = ParseOccurredAt(text);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, want);
  }
  for (const std::string bad : {"yesterday", "1795946400.", "17959464001234567", "-5", "1.2.3"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(ParseOccurredAt(bad).ok());
  }
}

TEST(MapFields, ConvertsOccurredAtAndRejectsAnUnreadableOne) {
  auto r = MapFields(Source({{"occurred_at", "submitted"}}), Json(R"({"submitted":1795946400})"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->occurred_at, 1795946400 * kMicrosPerSecond);
  auto bad = MapFields(Source({}), Json(R"({"occurred_at":"last tuesday"})"));
  EXPECT_EQ(RejectionCode(bad.status()), "invalid_field");
}

TEST(ApplyMappedFields, FillsTheInquiryAsReceived) {
  auto r = MapFields(Source({}), Json(R"({
      "name":"  Ana ORTIZ ", "email":"ANA@Example.com", "phone":"(415) 555-0101",
      "message":"No hot water", "service":"water-heater", "location":"94110",
      "utm_source":"google", "utm_medium":"cpc", "utm_campaign":"spring", "utm_term":"heater",
      "utm_content":"ad1", "referrer":"https://google.com/", "landing_page":"/water-heaters",
      "occurred_at":"2026-11-29T10:00:00Z", "event_id":"evt_42"})"));
  ASSERT_TRUE(r.ok()) << r.status();
  Inquiry i;
  ApplyMappedFields(*r, &i);
  EXPECT_EQ(i.received.name, "  Ana ORTIZ ");
  EXPECT_EQ(i.received.email, "ANA@Example.com");
  EXPECT_EQ(i.received.phone, "(415) 555-0101");
  EXPECT_EQ(i.message, "No hot water");
  EXPECT_EQ(i.service, "water-heater");
  EXPECT_EQ(i.location, "94110");
  EXPECT_EQ(i.attribution.utm_source, "google");
  EXPECT_EQ(i.attribution.utm_medium, "cpc");
  EXPECT_EQ(i.attribution.utm_campaign, "spring");
  EXPECT_EQ(i.attribution.utm_term, "heater");
  EXPECT_EQ(i.attribution.utm_content, "ad1");
  EXPECT_EQ(i.attribution.referrer, "https://google.com/");
  EXPECT_EQ(i.attribution.landing_page, "/water-heaters");
  EXPECT_EQ(i.occurred_at, 1795946400 * kMicrosPerSecond);
  EXPECT_EQ(i.provider_event_id, "evt_42");
  EXPECT_TRUE(i.normalized.name.empty());
}

}  // namespace
}  // namespace handoff
