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

// A request's Authorization is the destination's static token or one the loopback token
// endpoint issued ("oauth-1", "oauth-2", … in order, see TokenResponse).
inline bool Authorized(const HttpRequest& r, std::string_view static_token) {
  auto auth = r.Header("authorization");
  if (!auth) return false;
  return *auth == "Bearer " + std::string(static_token) || auth->starts_with("Bearer oauth-");
}

// The token endpoint's answer to its `n`th request (RFC 6749 §5.1): "oauth-<n>". Salesforce
// adds the org's instance_url and sends no expires_in.
inline HttpResponse TokenResponse(int n, const std::string& instance_url = "") {
  nlohmann::json j = {{"access_token", "oauth-" + std::to_string(n)}, {"token_type", "Bearer"}};
  if (instance_url.empty()) {
    j["expires_in"] = 1800;
  } else {
    j["instance_url"] = instance_url;
    j["issued_at"] = "1767225600000";
  }
  HttpResponse r;
  r.status = 200;
  r.body = j.dump();
  return r;
}

// An oauth2 block with the refresh_token grant against a loopback `token_url`.
inline OAuth2Config RefreshTokenGrant(const std::string& token_url) {
  OAuth2Config o;
  o.grant = "refresh_token";
  o.token_url = token_url;
  o.client_id = "client-1";
  o.client_secret = "client-secret-1";
  o.refresh_token = "refresh-1";
  return o;
}

// The request body as JSON, or a discarded value.
inline nlohmann::json BodyOf(const HttpRequest& r) {
  return nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
}

}  // namespace handoff::crm_contract
