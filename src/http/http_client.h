// A small blocking HTTP client (libcurl easy) for the CLI, the demo and tests. The transfer
// stage does not use it: its dispatcher drives libcurl's multi interface itself.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"

namespace handoff {

struct HttpClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  std::string Header(const std::string& lowercase_name) const;  // "" when absent
};

struct HttpClientRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  Micros timeout = 10 * kMicrosPerSecond;
};

// Performs one request over http or https; no redirects are followed (a 3xx is returned as
// is). Unavailable on connection failures, DeadlineExceeded once `timeout` passes,
// InvalidArgument for a malformed or non-http(s) URL. Thread-safe (each call uses its own handle).
absl::StatusOr<HttpClientResponse> HttpFetch(const HttpClientRequest& request);

}  // namespace handoff
