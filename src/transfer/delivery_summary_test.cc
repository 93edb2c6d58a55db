#include "transfer/delivery_summary.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace handoff {
namespace {

class DeliverySummaryTest : public ::testing::Test {
 protected:
  DeliverySummaryTest() {
    inquiry_.id = "0190f0aa-0000-7000-8000-000000000001";
    inquiry_.source = "website";
    inquiry_.channel = Channel::kCall;
    inquiry_.occurred_at = 1767225600 * kMicrosPerSecond;
    inquiry_.received.name = " dana roe ";
    inquiry_.normalized.name = "Dana Roe";
    inquiry_.normalized.phone = "+14155550142";
    inquiry_.message = "Water <everywhere> & fast";
    inquiry_.fields = {{"kind", "missed_call"}};
    Task t;
    t.title = "Call back Dana Roe";
    t.owner = "ana";
    t.due_at = inquiry_.occurred_at + 5 * kMicrosPerMinute;
    task_ = t;
    destination_.name = "crm";
  }
  DeliveryContext Context() {
    DeliveryContext ctx{destination_, handoff_, inquiry_, task_, contact_, 0};
    ctx.public_url = "https://handoff.example/";
    TeamMember ana;
    ana.id = "ana";
    ana.name = "Ana";
    ctx.owner = ana;
    return ctx;
  }
  DestinationConfig destination_;
  Handoff handoff_;
  Inquiry inquiry_;
  std::optional<Task> task_;
  std::optional<Contact> contact_;
};

TEST_F(DeliverySummaryTest, CarriesEveryFactWithAValue) {
  DeliverySummary s = Summarize(Context());
  EXPECT_EQ(s.title, "New call inquiry from Dana Roe");
  EXPECT_EQ(s.who, "Dana Roe");
  std::vector<std::pair<std::string, std::string>> want = {{"Name", "Dana Roe"},
                                                           {"Phone", "+14155550142"},
                                                           {"Source", "website"},
                                                           {"Channel", "call"},
                                                           {"Received", "2026-01-01T00:00:00.000Z"},
                                                           {"Kind", "missed_call"}};
  EXPECT_EQ(s.facts, want);
  EXPECT_EQ(s.next_step, "Call back Dana Roe — owner Ana, due 2026-01-01T00:05:00.000Z");
  EXPECT_EQ(s.timeline_url,
            "https://handoff.example/inquiries/0190f0aa-0000-7000-8000-000000000001");
}

TEST_F(DeliverySummaryTest, FallsBackToPhoneWhenNoName) {
  inquiry_.normalized.name.clear();
  inquiry_.received.name.clear();
  EXPECT_EQ(Summarize(Context()).who, "+14155550142");
  inquiry_.normalized.phone.clear();
  EXPECT_EQ(Summarize(Context()).who, "someone");
}

TEST_F(DeliverySummaryTest, HtmlEscapesEveryField) {
  inquiry_.normalized.name = "<script>x</script>";
  std::string html = SummaryHtml(Summarize(Context()));
  EXPECT_EQ(html.find("<script>"), std::string::npos) << html;
  EXPECT_NE(html.find("&lt;script&gt;x&lt;/script&gt;"), std::string::npos) << html;
  EXPECT_NE(html.find("Water &lt;everywhere&gt; &amp; fast"), std::string::npos) << html;
}

TEST_F(DeliverySummaryTest, TextHasOneLinePerFact) {
  std::string text = SummaryText(Summarize(Context()));
  EXPECT_NE(text.find("\nPhone: +14155550142\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nMessage: Water <everywhere> & fast\n"), std::string::npos) << text;
}

TEST(TruncateTest, NeverSplitsAUtf8Sequence) {
  EXPECT_EQ(Truncate("short", 10), "short");
  // "é" is two bytes; cutting at 6 would land inside the second one.
  std::string cut = Truncate(
      "abcé"
      "défghij",
      8);
  EXPECT_LE(cut.size(), 8u);
  EXPECT_EQ(cut, "abc\xC3\xA9\xE2\x80\xA6");
}

TEST_F(DeliverySummaryTest, CarriesTheEnrichedContextAndTheAckLinkOfANotification) {
  inquiry_.fields["urgency"] = "emergency";
  inquiry_.fields["intent"] = "water-heater";
  inquiry_.fields["history"] = {{"returning", true}, {"text", "returning: 1 earlier inquiry"}};
  task_->missing = {"contact.email", "message"};
  handoff_.purpose = "escalate";
  DeliveryContext ctx = Context();
  TeamMember maria;
  maria.id = "maria";
  maria.name = "Maria Lopez";
  ctx.recipient = maria;
  ctx.ack_url = "https://handoff.example/t/a.b";
  DeliverySummary s = Summarize(ctx);
  EXPECT_EQ(s.title, "Not acknowledged: call inquiry from Dana Roe");
  auto fact = [&](const std::string& label) {
    for (const auto& [l, v] : s.facts) {
      if (l == label) return v;
    }
    return std::string("(absent)");
  };
  EXPECT_EQ(fact("For"), "Maria Lopez");
  EXPECT_EQ(fact("Urgency"), "emergency");
  EXPECT_EQ(fact("Intent"), "water-heater");
  EXPECT_EQ(fact("History"), "returning: 1 earlier inquiry");
  EXPECT_EQ(fact("Ask for"), "contact.email, message");
  EXPECT_EQ(s.ack_url, "https://handoff.example/t/a.b");
  EXPECT_NE(SummaryText(s).find("Acknowledge: https://handoff.example/t/a.b\n"), std::string::npos);
  EXPECT_NE(SummaryHtml(s).find("<a href=\"https://handoff.example/t/a.b\">"), std::string::npos);
  // The intent is not repeated when the source already named the same service.
  inquiry_.service = "water-heater";
  const DeliverySummary same = Summarize(Context());
  EXPECT_EQ(std::count_if(same.facts.begin(), same.facts.end(),
                          [](const auto& f) { return f.first == "Intent"; }),
            0);
}

}  // namespace
}  // namespace handoff
