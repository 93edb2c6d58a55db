// The SSRF guard: decides whether the dispatcher may open a connection to an address. It is
// applied to the address curl is about to connect to (after DNS), so a name that resolves, or
// re-resolves, to a private address is refused too (DNS rebinding).
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace handoff {

// The reserved range `addr` falls in ("loopback", "private", "link-local", "cgnat",
// "multicast", …), or nullopt when it is a public unicast address. IPv4-mapped (and NAT64 /
// 6to4-embedded) IPv6 addresses are judged by their IPv4 address. Anything that is not
// AF_INET/AF_INET6 (or is truncated) is refused as "not an IP address". Thread-safe.
std::optional<std::string_view> RefusedRange(const sockaddr* addr, socklen_t len);

// The same decision for an IP literal such as "10.0.0.1" or "::ffff:127.0.0.1".
// InvalidArgument when `ip` is not a numeric IPv4 or IPv6 address.
absl::StatusOr<std::optional<std::string_view>> RefusedRangeOfLiteral(const std::string& ip);

}  // namespace handoff
