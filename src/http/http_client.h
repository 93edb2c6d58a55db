// A small blocking HTTP client (libcurl easy) for the CLI, the demo and tests. The transfer
// stage does not use it: its dispatcher drives libcurl's multi interface itself.
#pragma once

#include <sys/socket.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
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
  // When set, called with each address the request is about to connect to (after name
  // resolution, so a name that resolves to a refused address is caught too); a non-OK status
  // refuses that connection and becomes HttpFetch's result. Unset = connect anywhere.
  std::function<absl::Status(const sockaddr* address, socklen_t length)> check_address;
};

// Performs one request over http or https; no redirects are followed (a 3xx is returned as
// is). Unavailable on connection failures, DeadlineExceeded once `timeout` passes,
// InvalidArgument for a malformed or non-http(s) URL, or `check_address`'s status when it
// refused the connection. Thread-safe (each call uses its own handle).
absl::StatusOr<HttpClientResponse> HttpFetch(const HttpClientRequest& request);

}  // namespace handoff
