#include "enrich/intent_rules.h"

#include <gtest/gtest.h>

namespace handoff {
namespace {

EnrichConfig PlumbingRules() {
  EnrichConfig c;
  c.intents = {
      {"water-heater", "(?i)water heater|no hot water|tankless", {"message", "service"}, 900, 1},
      {"drains", "(?i)drain|clog|backed up", {"message", "service"}, 250, 2},
      {"commercial", "(?i)\\.example\\.com$", {"contact.email"}, 5000, 3}};
  c.urgency = {{"emergency", "(?i)flood|burst|gas smell", {"message"}, 0, 4},
               {"soon", "(?i)today|asap", {"message", "fields.when"}, 0, 5}};
  return c;
}

Inquiry WithMessage(const std::string& message) {
  Inquiry i;
  i.message = message;
  return i;
}

TEST(IntentRules, FirstMatchingIntentNamesServiceAndValue) {
  IntentRules rules(PlumbingRules());
  Classification c = rules.Classify(WithMessage("We have NO HOT WATER and the drain is slow"));
  EXPECT_EQ(c.service, "water-heater");  // both match; the first rule wins
  EXPECT_EQ(c.value, 900);
  EXPECT_EQ(c.urgency, "");

  c = rules.Classify(WithMessage("kitchen sink backed up"));
  EXPECT_EQ(c.service, "drains");
  EXPECT_EQ(c.value, 250);

  c = rules.Classify(WithMessage("quote for a remodel"));
  EXPECT_EQ(c.service, "");
  EXPECT_EQ(c.value, 0);
}

TEST(IntentRules, RulesReadOnlyTheFieldsTheyName) {
  IntentRules rules(PlumbingRules());
  Inquiry form = WithMessage("");
  form.service = "Tankless install";  // the form's service dropdown
  EXPECT_EQ(rules.Classify(form).service, "water-heater");

  Inquiry office = WithMessage("leaking pipe");
  office.normalized.email = "facilities@acme.example.com";
  EXPECT_EQ(rules.Classify(office).service, "commercial");
  // The email pattern is not applied to the message.
  EXPECT_EQ(rules.Classify(WithMessage("write to me at x@acme.example.com")).service, "");

  Inquiry booked = WithMessage("new fixture");
  booked.fields["when"] = "ASAP please";
  EXPECT_EQ(rules.Classify(booked).urgency, "soon");
}

TEST(IntentRules, UrgencyIsIndependentOfIntent) {
  IntentRules rules(PlumbingRules());
  Classification c = rules.Classify(WithMessage("Burst pipe, the basement is flooding"));
  EXPECT_EQ(c.urgency, "emergency");
  EXPECT_EQ(c.service, "");
  c = rules.Classify(WithMessage("water heater burst today"));
  EXPECT_EQ(c.urgency, "emergency");  // first urgency rule wins over "soon"
  EXPECT_EQ(c.service, "water-heater");
}

TEST(IntentRules, APatternThatDoesNotCompileNeverMatches) {
  EnrichConfig c;
  c.intents = {{"broken", "(unclosed", {"message"}, 1, 1}, {"ok", "unclosed", {"message"}, 2, 2}};
  IntentRules rules(c);
  EXPECT_EQ(rules.Classify(WithMessage("(unclosed")).service, "ok");
}

}  // namespace
}  // namespace handoff
