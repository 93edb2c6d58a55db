// Text forms of time: RFC 3339 timestamps and human durations ("5m", "2h", "1d", "250ms").
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/clock.h"

namespace handoff {

// Formats `t` as RFC 3339 UTC with millisecond precision, e.g. "2026-11-29T10:00:00.123Z".
std::string FormatRfc3339(Micros t);

// Parses an RFC 3339 timestamp with a 'Z' or ±hh:mm offset, fractional seconds optional.
// Also accepts a plain date "2026-11-29" (midnight UTC). InvalidArgument on anything else.
absl::StatusOr<Micros> ParseRfc3339(std::string_view s);

// Parses a duration such as "250ms", "30s", "5m", "2h", "1d" or a combination "1h30m".
// InvalidArgument on anything else, including negative or empty values.
absl::StatusOr<Micros> ParseDuration(std::string_view s);

// Formats a duration compactly: "1.5s", "250ms", "5m", "2h3m".
std::string FormatDuration(Micros d);

}  // namespace handoff
