// The process's Prometheus metrics, served at /metrics (prometheus-cpp's registry and text
// serializer). Counters and latency histograms are observed by the parts as they work (the
// HTTP ingress, the stage work loops, the dispatcher); gauges — queue depths, handoffs waiting per
// destination, breaker states, open leaks, failing alert channels — are read fresh at each
// scrape and passed to Render.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "model/records.h"

namespace handoff {

// One gauge value read at scrape time: name (without the handoff_ prefix), help, labels, value.
struct GaugeSample {
  std::string name;
  std::string help;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// Thread-safe: every Observe* may be called from any thread.
class Metrics {
 public:
  // Label values are limited to what the config names (sources, destinations): a request for an
  // unknown source is counted as source "unknown", so URLs cannot grow the series without bound.
  explicit Metrics(const Config* config);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // A request to /in/{source}: its HTTP status and how long until the response was handed over.
  void ObserveIngress(std::string_view source, int http_status, double seconds);
  // A stage's work item committed, `seconds` after it became available.
  void ObserveStage(Stage stage, double seconds);
  // A delivery attempt's outcome ("confirmed", "retry", "dead") and its request latency; on
  // "confirmed", also the time since the handoff was created.
  void ObserveAttempt(const Handoff& handoff, std::string_view outcome, double latency_seconds,
                      double since_created_seconds);

  // The Prometheus text exposition (format 0.0.4) of everything observed plus `gauges`.
  std::string Render(const std::vector<GaugeSample>& gauges) const;

 private:
  std::string SourceLabel(std::string_view source) const;
  std::string DestinationLabel(std::string_view destination) const;

  const Config* config_;
  struct Families;  // prometheus-cpp's registry and families, kept out of this header
  std::unique_ptr<Families> f_;
};

}  // namespace handoff
