// The instant most unit tests start their clock at, the minute they step it by, and instants
// from their text: one home, so that test files compiled together (unity builds) share them.
#pragma once

#include <string_view>

#include "core/clock.h"
#include "core/time_format.h"
#include "gtest/gtest.h"

namespace handoff {

inline constexpr Micros kT0 = 1'764'000'000LL * kMicrosPerSecond;  // 2025-11-24T16:00:00Z
inline constexpr Micros kMin = kMicrosPerMinute;

// An instant written in RFC 3339 with its offset, e.g. "2026-03-09T07:30:00-07:00"; a test failure
// (and 0) when the text does not parse.
inline Micros At(std::string_view rfc3339) {
  absl::StatusOr<Micros> t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.value_or(0);
}

}  // namespace handoff
