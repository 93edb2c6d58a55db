#include "trigger/router.h"

#include "gtest/gtest.h"

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

TEST(RenderTitle, FillsContactAndInquiryFieldsWithoutHtmlEscaping) {
  Inquiry i = Make("website", Channel::kForm);
  i.normalized.name = "Ana <Ortiz> & Co";
  i.normalized.phone = "+14155550101";
  i.service = "drains";
  EXPECT_EQ(
      RenderTitle("Call back {{contact.name}} ({{contact.phone}}) about {{inquiry.service}}", i),
      "Call back Ana <Ortiz> & Co (+14155550101) about drains");
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
}

}  // namespace
}  // namespace handoff
