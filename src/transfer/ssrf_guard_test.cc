#include "transfer/ssrf_guard.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>

namespace handoff {
namespace {

struct Case {
  const char* ip;
  const char* range;  // nullptr = allowed
};

// RELIABILITY.md T10's address cases, plus the rest of the reserved ranges.
constexpr Case kCases[] = {
    {"127.0.0.1", "loopback"},
    {"127.255.255.254", "loopback"},
    {"::1", "loopback"},
    {"0.0.0.0", "this-network"},
    {"0.1.2.3", "this-network"},
    {"::", "unspecified"},
    {"169.254.169.254", "link-local"},
    {"10.0.0.1", "private"},
    {"10.255.255.255", "private"},
    {"172.16.0.1", "private"},
    {"172.31.255.255", "private"},
    {"192.168.1.1", "private"},
    {"100.64.0.1", "cgnat"},
    {"100.127.255.255", "cgnat"},
    {"fc00::1", "unique-local"},
    {"fd12:3456::1", "unique-local"},
    {"fe80::1", "link-local"},
    {"febf::1", "link-local"},
    {"::ffff:127.0.0.1", "loopback"},
    {"::ffff:10.0.0.1", "private"},
    {"::ffff:169.254.169.254", "link-local"},
    {"64:ff9b::7f00:1", "loopback"},
    {"2002:7f00:1::", "loopback"},
    {"224.0.0.1", "multicast"},
    {"239.255.255.250", "multicast"},
    {"ff02::1", "multicast"},
    {"255.255.255.255", "broadcast"},
    {"240.0.0.1", "reserved"},
    {"198.18.0.1", "benchmarking"},
    {"198.19.255.255", "benchmarking"},
    {"192.0.2.1", "documentation"},
    {"198.51.100.7", "documentation"},
    {"203.0.113.9", "documentation"},
    {"2001:db8::1", "documentation"},
    // Allowed: public unicast, including neighbours of the refused ranges.
    {"93.184.216.34", nullptr},
    {"2606:4700::1111", nullptr},
    {"8.8.8.8", nullptr},
    {"172.15.255.255", nullptr},
    {"172.32.0.1", nullptr},
    {"100.63.255.255", nullptr},
    {"100.128.0.1", nullptr},
    {"198.20.0.1", nullptr},
    {"11.0.0.1", nullptr},
    {"::ffff:93.184.216.34", nullptr},
    {"2001:4860:4860::8888", nullptr},
    {"2002:5db8:d822::", nullptr},
};

TEST(SsrfGuard, ClassifiesAddressLiterals) {
  for (const Case& c : kCases) {
    auto r = RefusedRangeOfLiteral(c.ip);
    ASSERT_TRUE(r.ok()) << c.ip;
    if (c.range == nullptr) {
      EXPECT_FALSE(r->has_value()) << c.ip << " refused as " << **r;
    } else {
      ASSERT_TRUE(r->has_value()) << c.ip << " allowed";
      EXPECT_EQ(**r, c.range) << c.ip;
    }
  }
}

TEST(SsrfGuard, SockaddrFormsAgreeWithLiterals) {
  for (const Case& c : kCases) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (std::strchr(c.ip, ':') != nullptr) {
      sockaddr_in6 in6{};
      in6.sin6_family = AF_INET6;
      ASSERT_EQ(inet_pton(AF_INET6, c.ip, &in6.sin6_addr), 1) << c.ip;
      std::memcpy(&ss, &in6, sizeof(in6));
      len = sizeof(in6);
    } else {
      sockaddr_in in{};
      in.sin_family = AF_INET;
      ASSERT_EQ(inet_pton(AF_INET, c.ip, &in.sin_addr), 1) << c.ip;
      std::memcpy(&ss, &in, sizeof(in));
      len = sizeof(in);
    }
    auto r = RefusedRange(reinterpret_cast<const sockaddr*>(&ss), len);
    EXPECT_EQ(r.has_value(), c.range != nullptr) << c.ip;
  }
}

TEST(SsrfGuard, NonIpSocketsAndTruncatedAddressesAreRefused) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  EXPECT_TRUE(RefusedRange(reinterpret_cast<const sockaddr*>(&un), sizeof(un)).has_value());
  sockaddr_in in{};
  in.sin_family = AF_INET;
  inet_pton(AF_INET, "93.184.216.34", &in.sin_addr);
  EXPECT_TRUE(RefusedRange(reinterpret_cast<const sockaddr*>(&in), 4).has_value());
  EXPECT_TRUE(RefusedRange(nullptr, 0).has_value());
}

TEST(SsrfGuard, NonNumericLiteralsAreErrors) {
  // Odd spellings of loopback must never be mistaken for a public literal; URLs carrying them
  // are resolved by curl and judged at connect time instead.
  for (const char* s : {"localhost", "2130706433", "0177.0.0.1", "0x7f.1", "", "1.2.3"}) {
    EXPECT_FALSE(RefusedRangeOfLiteral(s).ok()) << s;
  }
}

}  // namespace
}  // namespace handoff
