#include "track/metrics.h"

#include <gtest/gtest.h>

namespace handoff {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

Config TwoSources() {
  Config c;
  SourceConfig web;
  web.name = "website";
  c.sources = {web};
  DestinationConfig crm;
  crm.name = "crm";
  c.destinations = {crm};
  return c;
}

TEST(Metrics, CountsAndHistogramsUseOnlyConfiguredNames) {
  const Config config = TwoSources();
  Metrics m(&config);
  m.ObserveIngress("website", 202, 0.0008);
  m.ObserveIngress("website", 401, 0.0002);
  m.ObserveIngress("website", 202, 0.003);
  m.ObserveIngress("../../etc/passwd", 404, 0.0001);  // an unknown source in the URL
  const std::string text = m.Render({});
  EXPECT_TRUE(Has(text, R"(handoff_ingress_requests_total{outcome="accepted",source="website"} 2)"))
      << text;
  EXPECT_TRUE(
      Has(text, R"(handoff_ingress_requests_total{outcome="rejected",source="website"} 1)"));
  EXPECT_TRUE(
      Has(text, R"(handoff_ingress_requests_total{outcome="rejected",source="unknown"} 1)"));
  EXPECT_FALSE(Has(text, "passwd"));
  // Cumulative buckets: 0.0002 and 0.0008 are under 1 ms, all three under 5 ms.
  EXPECT_TRUE(Has(text, R"(handoff_ingress_ack_seconds_bucket{source="website",le="0.001"} 2)"))
      << text;
  EXPECT_TRUE(Has(text, R"(handoff_ingress_ack_seconds_bucket{source="website",le="0.005"} 3)"));
  EXPECT_TRUE(Has(text, R"(handoff_ingress_ack_seconds_count{source="website"} 3)"));
  EXPECT_TRUE(Has(text, "# TYPE handoff_ingress_ack_seconds histogram"));
}

TEST(Metrics, DeliveriesAndStages) {
  const Config config = TwoSources();
  Metrics m(&config);
  Handoff h;
  h.destination = "crm";
  h.purpose = "deliver";
  m.ObserveAttempt(h, "retry", 0.2, 0);
  m.ObserveAttempt(h, "confirmed", 0.05, 42);
  m.ObserveStage(Stage::kEnrich, 0.004);
  const std::string text = m.Render({});
  EXPECT_TRUE(Has(
      text,
      R"(handoff_delivery_attempts_total{destination="crm",outcome="confirmed",purpose="deliver"} 1)"))
      << text;
  EXPECT_TRUE(Has(
      text,
      R"(handoff_delivery_attempts_total{destination="crm",outcome="retry",purpose="deliver"} 1)"));
  EXPECT_TRUE(Has(text, R"(handoff_time_to_confirmation_seconds_count{destination="crm"} 1)"));
  EXPECT_TRUE(Has(text, R"(handoff_time_to_confirmation_seconds_sum{destination="crm"} 42)"));
  EXPECT_TRUE(Has(text, R"(handoff_stage_seconds_count{stage="enrich"} 1)"));
}

TEST(Metrics, GaugesAreRenderedWithTheirLabels) {
  const Config config = TwoSources();
  Metrics m(&config);
  const std::string text = m.Render({{"queue_depth", "Items waiting", {{"queue", "enrich"}}, 3},
                                     {"queue_depth", "Items waiting", {{"queue", "transfer"}}, 0},
                                     {"leaks_open", "Open leaks", {{"kind", "overdue_task"}}, 2}});
  EXPECT_TRUE(Has(text, "# TYPE handoff_queue_depth gauge")) << text;
  EXPECT_TRUE(Has(text, R"(handoff_queue_depth{queue="enrich"} 3)"));
  EXPECT_TRUE(Has(text, R"(handoff_queue_depth{queue="transfer"} 0)"));
  EXPECT_TRUE(Has(text, R"(handoff_leaks_open{kind="overdue_task"} 2)"));
}

}  // namespace
}  // namespace handoff
