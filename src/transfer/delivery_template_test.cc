#include "transfer/delivery_template.h"

#include <gtest/gtest.h>

#include "transfer/connectors/common/connector_test_fixture.h"

namespace handoff {
namespace {

class DeliveryTemplateTest : public testing::ConnectorTestBase {};

TEST_F(DeliveryTemplateTest, OneSetOfValuesForEveryChannel) {
  inquiry_.fields = {{"intent", "water-heater"},
                     {"urgency", "emergency"},
                     {"history", {{"text", "returning: 1 earlier inquiry"}}}};
  task_->missing = {"contact.email"};
  handoff_.purpose = "escalate";
  inquiry_.route = "emergencies";
  DeliveryContext ctx = Ctx();
  TeamMember maria;
  maria.id = "maria";
  maria.name = "Maria Lopez";
  ctx.recipient = maria;
  ctx.ack_url = "https://handoff.example.com/t/a.b";
  auto out = RenderDeliveryTemplate(
      "{{recipient.name}}: {{intent.urgency}} {{intent.service}} for {{contact.name}} "
      "({{contact.phone}}), {{history.text}}; ask for {{task.missing}}; {{task.title}} by "
      "{{task.due_at}} ({{owner.name}}); {{purpose}} on {{route}} {{ack_url}}",
      ctx);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out,
            "Maria Lopez: emergency water-heater for Dana Roe (+14155550142), returning: 1 "
            "earlier inquiry; ask for contact.email; Call back Dana Roe by "
            "2026-01-01T00:05:00.000Z (Ana Lima); escalate on emergencies "
            "https://handoff.example.com/t/a.b");
}

TEST_F(DeliveryTemplateTest, NothingIsEscapedAndABrokenTemplateIsNamed) {
  inquiry_.normalized.name = "<b>Dana</b> & co";
  EXPECT_EQ(*RenderDeliveryTemplate("{{contact.name}}", Ctx()), "<b>Dana</b> & co");
  auto bad = RenderDeliveryTemplate("Call {{#open", Ctx());
  EXPECT_TRUE(absl::IsFailedPrecondition(bad.status()));
  EXPECT_NE(bad.status().message().find("template 'Call {{#open' does not parse"),
            std::string::npos)
      << bad.status();
}

}  // namespace
}  // namespace handoff
