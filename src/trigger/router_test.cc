#include "trigger/router.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "model/template_values.h"

namespace handoff {
namespace {

Config TwoRoutes(bool with_fallback) {
  Config c;
  RouteConfig calls;
  calls.name = "calls";
  calls.when_channels = {"call"};
  RouteConfig web;
  web.name = "web";
  web.when_sources = {"website"};
  web.when_channels = {"form", "chat"};
  c.routes = {calls, web};
  if (with_fallback) {
    RouteConfig fb;
    fb.name = "rest";
    fb.fallback = true;
    c.routes.push_back(fb);
  }
  return c;
}

const RouteConfig* MatchRoute(const Config& c, const Inquiry& i, const Contact* contact = nullptr) {
  return Router(c).Match(i, contact);
}

Inquiry Make(const std::string& source, Channel ch) {
  Inquiry i;
  i.source = source;
  i.channel = ch;
  return i;
}

TEST(MatchRoute, FirstMatchWins) {
  Config c = TwoRoutes(true);
  EXPECT_EQ(MatchRoute(c, Make("phone", Channel::kCall))->name, "calls");
  EXPECT_EQ(MatchRoute(c, Make("website", Channel::kForm))->name, "web");
  EXPECT_EQ(MatchRoute(c, Make("website", Channel::kChat))->name, "web");
}

TEST(MatchRoute, AllConditionsMustHold) {
  Config c = TwoRoutes(true);
  EXPECT_EQ(MatchRoute(c, Make("partner", Channel::kForm))->name, "rest");
  EXPECT_EQ(MatchRoute(c, Make("website", Channel::kSms))->name, "rest");
}

TEST(MatchRoute, NoFallbackLeavesUnrouted) {
  Config c = TwoRoutes(false);
  EXPECT_EQ(MatchRoute(c, Make("partner", Channel::kForm)), nullptr);
}

// One route per content condition, in order, then a fallback: which one an inquiry takes shows
// which condition held.
Config ContentRoutes() {
  Config c;
  RouteConfig emergency;
  emergency.name = "emergency";
  emergency.when_urgency = {"emergency"};
  RouteConfig missed;
  missed.name = "missed";
  missed.when_channels = {"call"};
  missed.when_kinds = {"missed_call"};
  RouteConfig heaters;
  heaters.name = "heaters";
  heaters.when_intents = {"water-heater"};
  heaters.when_in_hours = true;
  RouteConfig returning;
  returning.name = "returning";
  returning.when_contact = "returning";
  RouteConfig vip;
  vip.name = "vip";
  vip.when_match = {{"contact.email", "(?i)@bigclient\\.example$"}, {"fields.postcode", "^941"}};
  RouteConfig rest;
  rest.name = "rest";
  rest.fallback = true;
  c.routes = {emergency, missed, heaters, returning, vip, rest};
  return c;
}

TEST(MatchRoute, ContentConditionsReadTheEnrichedFields) {
  Config c = ContentRoutes();
  Inquiry i = Make("web", Channel::kForm);
  EXPECT_EQ(MatchRoute(c, i)->name, "rest");

  Inquiry urgent = i;
  urgent.fields["urgency"] = "emergency";
  EXPECT_EQ(MatchRoute(c, urgent)->name, "emergency");

  Inquiry call = Make("line", Channel::kCall);
  call.fields["kind"] = "voicemail";
  EXPECT_EQ(MatchRoute(c, call)->name, "rest");
  call.fields["kind"] = "missed_call";
  EXPECT_EQ(MatchRoute(c, call)->name, "missed");

  Inquiry heater = i;
  heater.fields["intent"] = "water-heater";
  heater.fields["in_hours"] = false;  // out of hours: the in-hours route does not take it
  EXPECT_EQ(MatchRoute(c, heater)->name, "rest");
  heater.fields["in_hours"] = true;
  EXPECT_EQ(MatchRoute(c, heater)->name, "heaters");

  Inquiry back = i;
  back.fields["contact_status"] = "new";
  EXPECT_EQ(MatchRoute(c, back)->name, "rest");
  back.fields["contact_status"] = "returning";
  EXPECT_EQ(MatchRoute(c, back)->name, "returning");
}

TEST(MatchRoute, PatternConditionsMustAllMatchAndMayReadTheLinkedContact) {
  Config c = ContentRoutes();
  Inquiry i = Make("web", Channel::kForm);
  i.normalized.email = "buyer@BigClient.example";
  EXPECT_EQ(MatchRoute(c, i)->name, "rest");  // the postcode pattern does not hold yet
  i.fields["postcode"] = "94110";
  EXPECT_EQ(MatchRoute(c, i)->name, "vip");
  i.fields["postcode"] = "10001";
  EXPECT_EQ(MatchRoute(c, i)->name, "rest");

  // A call carries only a phone: the email comes from the contact it was linked to.
  Inquiry call = Make("line", Channel::kCall);
  call.fields["postcode"] = "94107";
  Contact known;
  known.email = "ops@bigclient.example";
  EXPECT_EQ(MatchRoute(c, call)->name, "rest");
  EXPECT_EQ(MatchRoute(c, call, &known)->name, "vip");
}

TEST(RouterCoverage, TellsWhetherEverythingFromASourceIsRouted) {
  Config c = ContentRoutes();
  EXPECT_EQ(Router(c).CoverageOf("web", Channel::kForm), Router::Coverage::kAll);  // fallback
  c.routes.pop_back();
  EXPECT_EQ(Router(c).CoverageOf("line", Channel::kCall), Router::Coverage::kSome);
  RouteConfig calls;
  calls.name = "all calls";
  calls.when_channels = {"call"};
  c.routes.push_back(calls);
  EXPECT_EQ(Router(c).CoverageOf("line", Channel::kCall), Router::Coverage::kAll);
  EXPECT_EQ(Router(c).CoverageOf("web", Channel::kForm), Router::Coverage::kSome);
  Config sources_only = TwoRoutes(false);
  EXPECT_EQ(Router(sources_only).CoverageOf("partner", Channel::kSms), Router::Coverage::kNone);
}

TEST(RenderTitle, FillsIntentAndHistory) {
  Inquiry i = Make("website", Channel::kForm);
  i.normalized.name = "Dana";
  i.service = "plumbing";
  EXPECT_EQ(RenderTitle("Reply to {{contact.name}} about {{intent.service}}", i),
            "Reply to Dana about plumbing");  // no rule matched: the source's service
  i.fields["intent"] = "water-heater";
  i.fields["urgency"] = "emergency";
  i.fields["history"] = {{"text", "returning: 1 earlier inquiry"}};
  EXPECT_EQ(RenderTitle("{{intent.urgency}}: {{intent.service}} ({{history.text}})", i),
            "emergency: water-heater (returning: 1 earlier inquiry)");
}

TEST(RenderTitle, FillsContactAndInquiryFieldsWithoutHtmlEscaping) {
  Inquiry i = Make("website", Channel::kForm);
  i.normalized.name = "Ana <Ortiz> & Co";
  i.normalized.phone = "+14155550101";
  i.service = "drains";
  EXPECT_EQ(
      RenderTitle("Call back {{contact.name}} ({{contact.phone}}) about {{inquiry.service}}", i),
      "Call back Ana <Ortiz> & Co (+14155550101) about drains");
}

// Only the sections a template names are built; every form of naming them (dotted, a section,
// an inverted section, nested) renders as it does with every value built.
TEST(RenderTitle, RendersAsWithEveryValueWhateverFormNamesTheSections) {
  Inquiry i = Make("website", Channel::kForm);
  i.normalized.name = "Dana";
  i.normalized.email = "dana@example.com";
  i.service = "plumbing";
  i.message = "Leak under the sink";
  i.fields["urgency"] = "emergency";
  i.fields["history"] = {{"text", "returning"}};
  const std::vector<std::string> templates = {
      "Call back {{contact.name}}",
      "{{#contact}}{{name}} <{{email}}>{{/contact}} via {{inquiry.source}}",
      "{{#inquiry}}{{channel}}: {{message}} ({{#intent}}{{urgency}}{{/intent}}){{/inquiry}}",
      "{{^history.text}}new{{/history.text}}{{#history}}{{text}}{{/history}}",
      "{{#contact}}{{inquiry.service}}{{/contact}} {{intent.service}}",
      "no names at all",
      "{{unknown}}{{contact}}"};
  for (const std::string& t : templates) {
    kainjow::mustache::mustache full(t);
    full.set_custom_escape([](const std::string& s) { return s; });
    EXPECT_EQ(RenderTitle(t, i), full.render(InquiryTemplateValues(i, nullptr))) << t;
  }
  EXPECT_EQ(TemplateSectionsIn("Call back {{contact.name}}"), kTemplateContact);
  EXPECT_EQ(TemplateSectionsIn("{{#inquiry}}{{message}}{{/inquiry}} {{history.text}}"),
            kTemplateInquiry | kTemplateHistory);
  EXPECT_EQ(TemplateSectionsIn("plain"), 0u);
}

TEST(RenderTitle, FallsBackToPhoneWhenNameIsMissing) {
  Inquiry i = Make("line", Channel::kCall);
  i.normalized.phone = "+14155550101";
  EXPECT_EQ(RenderTitle("Call back {{contact.name}}", i), "Call back +14155550101");
}

TEST(RenderTitle, TakesWhatTheInquiryLacksFromItsContact) {
  Inquiry i = Make("line", Channel::kCall);
  i.normalized.phone = "+14155550101";
  Contact c;
  c.name = "Priya Raman";
  c.email = "priya@example.org";
  EXPECT_EQ(RenderTitle("Call back {{contact.name}} <{{contact.email}}>", i, &c),
            "Call back Priya Raman <priya@example.org>");
}

TEST(RenderTitle, InvalidTemplateRendersAsText) {
  Inquiry i;
  EXPECT_EQ(RenderTitle("Call {{#open", i), "Call {{#open");
  EXPECT_EQ(RenderTitle("Call {{#open", i), "Call {{#open") << "the second, parsed once already";
}

// A template is parsed once per thread and rendered again for each inquiry: nothing of one
// rendering shows in the next, and many templates (past the cache's bound) all still render.
TEST(RenderTitle, RendersEachInquiryWithItsOwnValuesEveryTime) {
  for (int round = 0; round < 3; ++round) {
    for (int n = 0; n < 100; ++n) {
      Inquiry i = Make("website", Channel::kForm);
      i.normalized.name = "Person " + std::to_string(n);
      i.service = n % 2 == 0 ? "drains" : "";
      const std::string tmpl = "T" + std::to_string(n) + ": {{contact.name}} {{inquiry.service}}";
      EXPECT_EQ(RenderTitle(tmpl, i),
                "T" + std::to_string(n) + ": Person " + std::to_string(n) + " " + i.service);
      EXPECT_EQ(RenderTitle("Call back {{contact.name}}", i),
                "Call back Person " + std::to_string(n));
    }
  }
}

}  // namespace
}  // namespace handoff
