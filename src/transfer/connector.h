// The interface every destination connector implements, and the registry that names them.
// A connector only builds requests and classifies responses; it never sleeps or retries. The
// dispatcher owns attempts, backoff, timeouts, rate limits and dead-lettering.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "core/clock.h"
#include "model/records.h"

namespace handoff {

// Everything a connector may read to build one delivery.
struct DeliveryContext {
  const DestinationConfig& destination;
  const Handoff& handoff;
  const Inquiry& inquiry;
  const std::optional<Task>& task;
  const std::optional<Contact>& contact;
  Micros now;  // the attempt's time (e.g. for webhook-timestamp)
};

struct OutboundRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// What a destination's answer means.
struct DeliveryOutcome {
  enum class Kind { kConfirmed, kRetryable, kPermanent };
  Kind kind = Kind::kRetryable;
  std::string remote_id;              // the destination's record id, when confirmed
  std::optional<Micros> retry_after;  // a delay the destination asked for
  std::string reason;                 // short, no secrets or personal data
};

// Thread-safe and stateless; one instance serves every destination using it.
class Connector {
 public:
  virtual ~Connector() = default;
  // Builds the request for one attempt. An error here is a permanent failure (bad config).
  virtual absl::StatusOr<OutboundRequest> BuildRequest(const DeliveryContext& ctx) const = 0;
  // Classifies an HTTP answer. Transport failures (timeouts, resets) never reach a connector:
  // the dispatcher treats them as retryable.
  virtual DeliveryOutcome Classify(const DeliveryContext& ctx, int http_status,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   const std::string& body) const = 0;
};

struct ConnectorSettingSpec {
  std::string key;
  std::string doc;
};

struct ConnectorSpec {
  std::string name;
  std::string note;  // one line, e.g. "POSTs JSON signed per Standard Webhooks"
  std::vector<ConnectorSettingSpec> settings;
  std::function<std::unique_ptr<Connector>()> make;
};

// Names every connector. Filled once at start-up, read-only after.
class ConnectorRegistry {
 public:
  void Register(ConnectorSpec spec);
  const ConnectorSpec* FindSpec(const std::string& name) const;
  const Connector* Find(const std::string& name) const;
  std::vector<std::string> Names() const;

 private:
  struct Entry {
    ConnectorSpec spec;
    std::unique_ptr<Connector> connector;
  };
  std::map<std::string, Entry> entries_;
};

// Registers every connector that ships with handoff (transfer/builtin_connectors.cc).
void RegisterBuiltinConnectors(ConnectorRegistry& registry);

// Parses a Retry-After header value (delta-seconds or HTTP-date) relative to `now`.
std::optional<Micros> ParseRetryAfter(const std::string& value, Micros now);

}  // namespace handoff
