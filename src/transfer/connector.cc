#include "transfer/connector.h"

#include <chrono>
#include <cstdint>
#include <sstream>
#include <string_view>

#include "core/check.h"
#include "date/date.h"

namespace handoff {
namespace {

// Far beyond any schedule we run; keeps the arithmetic below from overflowing on hostile input.
constexpr Micros kMaxRetryAfter = 365 * kMicrosPerDay;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<Micros> ParseDeltaSeconds(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t seconds = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = seconds * 10 + (c - '0');
    if (seconds > kMaxRetryAfter / kMicrosPerSecond) seconds = kMaxRetryAfter / kMicrosPerSecond;
  }
  return seconds * kMicrosPerSecond;
}

// RFC 9110 §5.6.7: senders use IMF-fixdate, but recipients must accept the two obsolete forms.
std::optional<Micros> ParseHttpDate(std::string_view s) {
  static constexpr const char* kFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
      "%A, %d-%b-%y %H:%M:%S GMT",  // RFC 850:     Sunday, 06-Nov-94 08:49:37 GMT
      "%a %b %d %H:%M:%S %Y",       // asctime:     Sun Nov  6 08:49:37 1994
  };
  for (const char* format : kFormats) {
    std::istringstream in{std::string(s)};
    date::sys_seconds t;
    in >> date::parse(format, t);
    if (in.fail()) continue;
    // Trailing garbage means this was not the format we tried.
    in >> std::ws;
    if (in.peek() != std::char_traits<char>::eof()) continue;
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  }
  return std::nullopt;
}

}  // namespace

void ConnectorRegistry::Register(ConnectorSpec spec) {
  // Registration is code, not input: a duplicate or a spec without a factory is a build bug.
  HANDOFF_CHECK(spec.make != nullptr, "connector spec without a factory");
  HANDOFF_CHECK(!entries_.contains(spec.name), "connector registered twice");
  std::unique_ptr<Connector> connector = spec.make();
  HANDOFF_CHECK(connector != nullptr, "connector factory returned null");
  std::string name = spec.name;
  entries_.emplace(std::move(name), Entry{std::move(spec), std::move(connector)});
}

const ConnectorSpec* ConnectorRegistry::FindSpec(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second.spec;
}

const Connector* ConnectorRegistry::Find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second.connector.get();
}

std::vector<std::string> ConnectorRegistry::Names() const {
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) names.push_back(name);
  return names;
}

std::optional<Micros> ParseRetryAfter(const std::string& value, Micros now) {
  std::string_view v = Trim(value);
  if (v.empty()) return std::nullopt;
  if (auto delta = ParseDeltaSeconds(v)) return delta;
  std::optional<Micros> at = ParseHttpDate(v);
  if (!at) return std::nullopt;
  // A date in the past means "now"; a date absurdly far ahead is clamped, not trusted.
  if (*at <= now) return Micros{0};
  if (*at - now > kMaxRetryAfter) return kMaxRetryAfter;
  return *at - now;
}

}  // namespace handoff
