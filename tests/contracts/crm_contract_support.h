// Shared pieces of the CRM connectors' contract tests (hubspot, pipedrive, salesforce): the
// destination each suite points at its loopback peer, and request counting per path. The suites
// run the real dispatcher and store (testing::DeliveryHarness) and check requests against
// ../shared/formats/README.md part B.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "http/http_types.h"
#include "nlohmann/json.hpp"

namespace handoff::crm_contract {

// Retry delays short enough to tell a destination's own wait (Retry-After, rate-limit
// headers) apart from the schedule: the dispatcher waits the longer of the two.
inline constexpr Micros kFirstRetry = 2 * kMicrosPerSecond;

// A destination of `connector` talking to `base_url` (a loopback peer) with `settings`.
inline DestinationConfig Destination(const std::string& connector, const std::string& base_url,
                                     nlohmann::json settings) {
  DestinationConfig d;
  d.name = "crm";
  d.connector = connector;
  d.retry = {kFirstRetry, 4 * kMicrosPerSecond};
  d.allow_private = true;
  d.timeout = 10 * kMicrosPerSecond;
  d.settings = std::move(settings);
  d.settings["base_url"] = base_url;
  return d;
}

// How many recorded requests had this method and path (query excluded).
inline int Count(const std::vector<HttpRequest>& requests, std::string_view method,
                 std::string_view path) {
  int n = 0;
  for (const HttpRequest& r : requests) n += r.method == method && r.path == path;
  return n;
}

// The request body as JSON, or a discarded value.
inline nlohmann::json BodyOf(const HttpRequest& r) {
  return nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
}

}  // namespace handoff::crm_contract
