#include "transfer/ssrf_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace handoff {
namespace {

struct V4Range {
  uint32_t network;
  int prefix;
  std::string_view name;
};

constexpr uint32_t V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return (uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d;
}

// IANA IPv4 special-purpose registry entries that must never be a webhook target.
// 255.255.255.255 comes before 240/4 so the reason names it.
constexpr std::array<V4Range, 16> kV4Refused{{
    {V4(255, 255, 255, 255), 32, "broadcast"},
    {V4(0, 0, 0, 0), 8, "this-network"},
    {V4(10, 0, 0, 0), 8, "private"},
    {V4(100, 64, 0, 0), 10, "cgnat"},
    {V4(127, 0, 0, 0), 8, "loopback"},
    {V4(169, 254, 0, 0), 16, "link-local"},
    {V4(172, 16, 0, 0), 12, "private"},
    {V4(192, 0, 0, 0), 24, "ietf-protocol"},
    {V4(192, 0, 2, 0), 24, "documentation"},
    {V4(192, 88, 99, 0), 24, "6to4-relay"},
    {V4(192, 168, 0, 0), 16, "private"},
    {V4(198, 18, 0, 0), 15, "benchmarking"},
    {V4(198, 51, 100, 0), 24, "documentation"},
    {V4(203, 0, 113, 0), 24, "documentation"},
    {V4(224, 0, 0, 0), 4, "multicast"},
    {V4(240, 0, 0, 0), 4, "reserved"},
}};

std::optional<std::string_view> RefusedV4(uint32_t host_order) {
  for (const V4Range& r : kV4Refused) {
    const uint32_t mask = r.prefix == 0 ? 0 : ~uint32_t{0} << (32 - r.prefix);
    if ((host_order & mask) == r.network) return r.name;
  }
  return std::nullopt;
}

uint32_t V4At(const uint8_t* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

bool HasPrefix(const uint8_t* addr, std::initializer_list<uint8_t> bytes, int bits) {
  uint8_t want[16] = {};
  size_t i = 0;
  for (uint8_t b : bytes) want[i++] = b;
  for (int bit = 0; bit < bits; ++bit) {
    const int byte = bit / 8;
    const uint8_t m = static_cast<uint8_t>(0x80 >> (bit % 8));
    if ((addr[byte] & m) != (want[byte] & m)) return false;
  }
  return true;
}

std::optional<std::string_view> RefusedV6(const uint8_t* a) {
  static constexpr uint8_t kZero[16] = {};
  if (std::memcmp(a, kZero, 16) == 0) return "unspecified";
  if (std::memcmp(a, kZero, 15) == 0 && a[15] == 1) return "loopback";
  // Addresses that carry an IPv4 address are judged by it, so ::ffff:127.0.0.1 is loopback.
  if (HasPrefix(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96)) return RefusedV4(V4At(a + 12));
  if (HasPrefix(a, {0x00, 0x64, 0xff, 0x9b}, 96)) return RefusedV4(V4At(a + 12));  // NAT64
  if (HasPrefix(a, {0x20, 0x02}, 16)) return RefusedV4(V4At(a + 2));               // 6to4
  if (HasPrefix(a, {}, 96)) return "ipv4-compatible";  // deprecated ::a.b.c.d
  if (HasPrefix(a, {0x01, 0x00}, 64)) return "discard-only";
  if (HasPrefix(a, {0x20, 0x01, 0x0d, 0xb8}, 32)) return "documentation";
  if (HasPrefix(a, {0x20, 0x01, 0x00, 0x00}, 23)) return "ietf-protocol";  // incl. Teredo
  if (HasPrefix(a, {0xfc}, 7)) return "unique-local";
  if (HasPrefix(a, {0xfe, 0x80}, 10)) return "link-local";
  if (HasPrefix(a, {0xfe, 0xc0}, 10)) return "site-local";
  if (HasPrefix(a, {0xff}, 8)) return "multicast";
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> RefusedRange(const sockaddr* addr, socklen_t len) {
  if (addr == nullptr) return "not an IP address";
  if (addr->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in in;
    std::memcpy(&in, addr, sizeof(in));
    return RefusedV4(ntohl(in.sin_addr.s_addr));
  }
  if (addr->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 in6;
    std::memcpy(&in6, addr, sizeof(in6));
    return RefusedV6(in6.sin6_addr.s6_addr);
  }
  return "not an IP address";
}

absl::StatusOr<std::optional<std::string_view>> RefusedRangeOfLiteral(const std::string& ip) {
  in_addr v4;
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) return RefusedV4(ntohl(v4.s_addr));
  in6_addr v6;
  if (inet_pton(AF_INET6, ip.c_str(), &v6) == 1) return RefusedV6(v6.s6_addr);
  return absl::InvalidArgumentError("not an IPv4 or IPv6 literal");
}

}  // namespace handoff
