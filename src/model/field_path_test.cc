#include "model/field_path.h"

#include <gtest/gtest.h>

namespace handoff {
namespace {

TEST(FieldPath, KnownPathsAndFieldKeysAreAccepted) {
  for (const char* p :
       {"message", "service", "location", "source", "channel", "contact.name", "contact.email",
        "contact.phone", "intent", "urgency", "fields.postcode", "fields.booking.start"}) {
    EXPECT_TRUE(IsFieldPath(p)) << p;
  }
  for (const char* p : {"", "contact", "contact.address", "fields.", "fields..x", "fields.x.",
                        "Message", "raw_payload"}) {
    EXPECT_FALSE(IsFieldPath(p)) << p;
  }
}

TEST(FieldPath, ResolvesInquiryTextContactFallbacksAndNestedFields) {
  Inquiry in;
  in.message = "no hot water";
  in.source = "website";
  in.channel = Channel::kCall;
  in.received.phone = "(415) 555-0101";
  in.normalized.phone = "+14155550101";
  in.fields = {{"postcode", "94110"},
               {"in_hours", true},
               {"intent", "water-heater"},
               {"booking", {{"start", "2026-12-01T09:00:00Z"}}}};
  Contact known;
  known.name = "Dana Reyes";
  known.email = "dana@example.com";

  EXPECT_EQ(FieldText(in, "message"), "no hot water");
  EXPECT_EQ(FieldText(in, "channel"), "call");
  EXPECT_EQ(FieldText(in, "contact.phone"), "+14155550101");
  EXPECT_EQ(FieldText(in, "contact.name"), "");
  EXPECT_EQ(FieldText(in, "contact.name", &known), "Dana Reyes");
  EXPECT_EQ(FieldText(in, "contact.email", &known), "dana@example.com");
  EXPECT_EQ(FieldText(in, "fields.postcode"), "94110");
  EXPECT_EQ(FieldText(in, "fields.in_hours"), "true");
  EXPECT_EQ(FieldText(in, "fields.booking.start"), "2026-12-01T09:00:00Z");
  EXPECT_EQ(FieldText(in, "fields.booking.end"), "");
  EXPECT_EQ(FieldText(in, "fields.postcode.x"), "");
  EXPECT_EQ(FieldText(in, "intent"), "water-heater");
  EXPECT_EQ(FieldText(in, "urgency"), "");
}

}  // namespace
}  // namespace handoff
