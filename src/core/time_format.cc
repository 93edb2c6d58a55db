#include "core/time_format.h"

#include <date/date.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <sstream>

#include "fmt/format.h"

namespace handoff {
namespace {

bool ReadDigits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  pos += n;
  return true;
}

bool Expect(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || (s[pos] != c && !(c == 'T' && (s[pos] == 't' || s[pos] == ' ')))) {
    return false;
  }
  ++pos;
  return true;
}

}  // namespace

std::string FormatRfc3339(Micros t) {
  // Fixed-width digits written in place rather than through date::format (an ostringstream)
  // or a runtime format string: this runs for every event and every delivery.
  Micros days = t >= 0 ? t / kMicrosPerDay : (t - kMicrosPerDay + 1) / kMicrosPerDay;
  Micros rest = t - days * kMicrosPerDay;
  date::year_month_day ymd{date::sys_days{date::days{days}}};
  const int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {
    // Outside what four digits hold (RFC 3339 has no room for it either): kept readable.
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", year,
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                       rest / kMicrosPerHour, rest % kMicrosPerHour / kMicrosPerMinute,
                       rest % kMicrosPerMinute / kMicrosPerSecond,
                       rest % kMicrosPerSecond / kMicrosPerMilli);
  }
  std::string out = "0000-00-00T00:00:00.000Z";
  auto put = [&out](size_t at, size_t width, int64_t value) {
    for (size_t i = at + width; i > at; --i, value /= 10)
      out[i - 1] = static_cast<char>('0' + value % 10);
  };
  put(0, 4, year);
  put(5, 2, static_cast<unsigned>(ymd.month()));
  put(8, 2, static_cast<unsigned>(ymd.day()));
  put(11, 2, rest / kMicrosPerHour);
  put(14, 2, rest % kMicrosPerHour / kMicrosPerMinute);
  put(17, 2, rest % kMicrosPerMinute / kMicrosPerSecond);
  put(20, 3, rest % kMicrosPerSecond / kMicrosPerMilli);
  return out;
}

absl::StatusOr<Micros> ParseRfc3339(std::string_view s) {
  auto bad = [&] {
    return absl::InvalidArgumentError(fmt::format("not an RFC 3339 time: '{}'", s));
  };
  size_t pos = 0;
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (!ReadDigits(s, pos, 4, y) || !Expect(s, pos, '-') || !ReadDigits(s, pos, 2, mo) ||
      !Expect(s, pos, '-') || !ReadDigits(s, pos, 2, d)) {
    return bad();
  }
  date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                           date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return bad();
  Micros frac = 0;
  Micros offset = 0;
  if (pos < s.size()) {
    if (!Expect(s, pos, 'T') || !ReadDigits(s, pos, 2, h) || !Expect(s, pos, ':') ||
        !ReadDigits(s, pos, 2, mi) || !Expect(s, pos, ':') || !ReadDigits(s, pos, 2, sec)) {
      return bad();
    }
    if (h > 23 || mi > 59 || sec > 60) return bad();
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      Micros scale = 100000;
      size_t start = pos;
      while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
        frac += (s[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) return bad();
    }
    if (pos >= s.size()) return bad();
    if (s[pos] == 'Z' || s[pos] == 'z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int sign = s[pos] == '+' ? 1 : -1;
      ++pos;
      int oh, om;
      if (!ReadDigits(s, pos, 2, oh) || !Expect(s, pos, ':') || !ReadDigits(s, pos, 2, om)) {
        return bad();
      }
      offset = sign * (oh * kMicrosPerHour + om * kMicrosPerMinute);
    } else {
      return bad();
    }
    if (pos != s.size()) return bad();
  }
  auto days = date::sys_days{ymd}.time_since_epoch().count();
  return days * kMicrosPerDay + h * kMicrosPerHour + mi * kMicrosPerMinute +
         sec * kMicrosPerSecond + frac - offset;
}

absl::StatusOr<Micros> ParseDuration(std::string_view s) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        fmt::format("not a duration: '{}' (expected e.g. 500ms, 30s, 5m, 2h, 1d)", s));
  };
  if (s.empty()) return bad();
  Micros total = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t start = pos;
    Micros n = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      n = n * 10 + (s[pos] - '0');
      if (n > 1000000000) return bad();
      ++pos;
    }
    if (pos == start) return bad();
    std::string_view unit;
    size_t ustart = pos;
    while (pos < s.size() && std::isalpha(static_cast<unsigned char>(s[pos]))) ++pos;
    unit = s.substr(ustart, pos - ustart);
    Micros mult;
    if (unit == "ms") {
      mult = kMicrosPerMilli;
    } else if (unit == "s") {
      mult = kMicrosPerSecond;
    } else if (unit == "m") {
      mult = kMicrosPerMinute;
    } else if (unit == "h") {
      mult = kMicrosPerHour;
    } else if (unit == "d") {
      mult = kMicrosPerDay;
    } else {
      return bad();
    }
    total += n * mult;
  }
  return total;
}

std::string FormatDuration(Micros d) {
  if (d < kMicrosPerMilli) return fmt::format("{}us", d);
  if (d < kMicrosPerSecond) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fms", static_cast<double>(d) / kMicrosPerMilli);
    return buf;
  }
  if (d < kMicrosPerMinute) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(d) / kMicrosPerSecond);
    return buf;
  }
  Micros h = d / kMicrosPerHour;
  Micros m = (d % kMicrosPerHour) / kMicrosPerMinute;
  Micros sec = (d % kMicrosPerMinute) / kMicrosPerSecond;
  std::string out;
  if (h) out += fmt::format("{}h", h);
  if (m) out += fmt::format("{}m", m);
  if (sec && !h) out += fmt::format("{}s", sec);
  return out;
}

}  // namespace handoff
