#include "track/metrics.h"

#include <map>

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace handoff {
namespace {

// Bucket bounds in seconds, per what is measured: an acknowledgement takes milliseconds, a
// stage up to seconds under load, a delivery request up to its timeout, a confirmation through
// retries up to a day.
const prometheus::Histogram::BucketBoundaries kAckBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
const prometheus::Histogram::BucketBoundaries kStageBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
const prometheus::Histogram::BucketBoundaries kRequestBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                                 1,    2.5,   5,    10,  30};
const prometheus::Histogram::BucketBoundaries kConfirmationBuckets = {
    0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600};

std::string StatusClass(int status) {
  if (status >= 200 && status < 300) return "accepted";
  if (status >= 400 && status < 500) return "rejected";
  return "error";
}

}  // namespace

struct Metrics::Families {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Counter>* ingress_requests = nullptr;
  prometheus::Family<prometheus::Histogram>* ingress_seconds = nullptr;
  prometheus::Family<prometheus::Histogram>* stage_seconds = nullptr;
  prometheus::Family<prometheus::Counter>* attempts = nullptr;
  prometheus::Family<prometheus::Histogram>* attempt_seconds = nullptr;
  prometheus::Family<prometheus::Histogram>* confirmation_seconds = nullptr;
};

Metrics::Metrics(const Config* config) : config_(config), f_(std::make_unique<Families>()) {
  f_->ingress_requests = &prometheus::BuildCounter()
                              .Name("handoff_ingress_requests_total")
                              .Help(
                                  "Requests to /in/{source} by source and outcome "
                                  "(accepted 2xx, rejected 4xx, error 5xx)")
                              .Register(f_->registry);
  f_->ingress_seconds = &prometheus::BuildHistogram()
                             .Name("handoff_ingress_ack_seconds")
                             .Help(
                                 "Time from request to response at /in/{source}; a 2xx is sent "
                                 "only after the inquiry is durably committed")
                             .Register(f_->registry);
  f_->stage_seconds = &prometheus::BuildHistogram()
                           .Name("handoff_stage_seconds")
                           .Help(
                               "Time from an inquiry's arrival in a stage's queue to the commit of "
                               "that stage's work")
                           .Register(f_->registry);
  f_->attempts = &prometheus::BuildCounter()
                      .Name("handoff_delivery_attempts_total")
                      .Help("Delivery attempts by destination, purpose and outcome")
                      .Register(f_->registry);
  f_->attempt_seconds = &prometheus::BuildHistogram()
                             .Name("handoff_delivery_request_seconds")
                             .Help("Latency of each delivery request by destination")
                             .Register(f_->registry);
  f_->confirmation_seconds = &prometheus::BuildHistogram()
                                  .Name("handoff_time_to_confirmation_seconds")
                                  .Help(
                                      "Time from a handoff's creation to the destination's "
                                      "confirmation, retries included")
                                  .Register(f_->registry);
}

Metrics::~Metrics() = default;

std::string Metrics::SourceLabel(std::string_view source) const {
  for (const SourceConfig& s : config_->sources) {
    if (s.name == source) return s.name;
  }
  return "unknown";
}

std::string Metrics::DestinationLabel(std::string_view destination) const {
  for (const DestinationConfig& d : config_->destinations) {
    if (d.name == destination) return d.name;
  }
  return "unknown";
}

void Metrics::ObserveIngress(std::string_view source, int http_status, double seconds) {
  const std::string name = SourceLabel(source);
  f_->ingress_requests->Add({{"source", name}, {"outcome", StatusClass(http_status)}}).Increment();
  f_->ingress_seconds->Add({{"source", name}}, kAckBuckets).Observe(seconds);
}

void Metrics::ObserveStage(Stage stage, double seconds) {
  f_->stage_seconds->Add({{"stage", std::string(StageName(stage))}}, kStageBuckets)
      .Observe(seconds);
}

void Metrics::ObserveAttempt(const Handoff& handoff, std::string_view outcome,
                             double latency_seconds, double since_created_seconds) {
  const std::string dest = DestinationLabel(handoff.destination);
  f_->attempts
      ->Add(
          {{"destination", dest}, {"purpose", handoff.purpose}, {"outcome", std::string(outcome)}})
      .Increment();
  f_->attempt_seconds->Add({{"destination", dest}}, kRequestBuckets).Observe(latency_seconds);
  if (outcome == "confirmed") {
    f_->confirmation_seconds->Add({{"destination", dest}}, kConfirmationBuckets)
        .Observe(since_created_seconds);
  }
}

std::string Metrics::Render(const std::vector<GaugeSample>& gauges) const {
  std::vector<prometheus::MetricFamily> families = f_->registry.Collect();
  // Gauges are read fresh for each scrape, so they live in a registry of their own.
  prometheus::Registry scrape;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> by_name;
  for (const GaugeSample& g : gauges) {
    auto& family = by_name[g.name];
    if (family == nullptr) {
      family = &prometheus::BuildGauge().Name("handoff_" + g.name).Help(g.help).Register(scrape);
    }
    std::map<std::string, std::string> labels(g.labels.begin(), g.labels.end());
    family->Add(labels).Set(g.value);
  }
  for (prometheus::MetricFamily& f : scrape.Collect()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace handoff
