#include "transfer/connector.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <sstream>
#include <string_view>

#include "core/ascii.h"
#include "core/check.h"
#include "date/date.h"
#include "fmt/format.h"

namespace handoff {
namespace {

// Far beyond any schedule we run; keeps the arithmetic below from overflowing on hostile input.
constexpr Micros kMaxRetryAfter = 365 * kMicrosPerDay;

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
// g++ 12 reports a false maybe-uninitialized inside date.h's parser when it inlines it here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
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
#pragma GCC diagnostic pop

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

std::string DeliveryProgress::Get(const std::string& key) const {
  auto it = values.find(key);
  return it == values.end() ? "" : it->second;
}

DeliveryProgress DeliveryProgress::FromJson(const nlohmann::json& j) {
  DeliveryProgress p;
  if (!j.is_object()) return p;
  if (auto it = j.find("step"); it != j.end() && it->is_number_integer()) {
    p.step = std::max(0, it->get<int>());
  }
  if (auto it = j.find("values"); it != j.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (v.is_string()) p.values[k] = v.get<std::string>();
    }
  }
  return p;
}

nlohmann::json DeliveryProgress::ToJson() const {
  if (step == 0 && values.empty()) return nlohmann::json::object();
  return {{"step", step}, {"values", values}};
}

DeliveryOutcome Confirmed(std::string remote_id, std::string reason) {
  DeliveryOutcome o;
  o.kind = DeliveryOutcome::Kind::kConfirmed;
  o.remote_id = std::move(remote_id);
  o.reason = std::move(reason);
  return o;
}

DeliveryOutcome Retryable(std::string reason, std::optional<Micros> retry_after) {
  DeliveryOutcome o;
  o.kind = DeliveryOutcome::Kind::kRetryable;
  o.reason = std::move(reason);
  o.retry_after = retry_after;
  return o;
}

DeliveryOutcome Permanent(std::string reason) {
  DeliveryOutcome o;
  o.kind = DeliveryOutcome::Kind::kPermanent;
  o.reason = std::move(reason);
  return o;
}

DeliveryOutcome StepConfirmed(std::map<std::string, std::string> captured, std::string reason) {
  DeliveryOutcome o = Confirmed("", std::move(reason));
  o.more_steps = true;
  o.captured = std::move(captured);
  return o;
}

std::optional<std::string> FindHeader(
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreAsciiCase(k, name)) return v;
  }
  return std::nullopt;
}

DeliveryOutcome ClassifyHttpStatus(int http_status,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   Micros now) {
  if (http_status >= 200 && http_status < 300) {
    return Confirmed("", fmt::format("HTTP {}", http_status));
  }
  if (http_status == 408 || http_status == 429 || (http_status >= 500 && http_status < 600)) {
    std::optional<Micros> retry_after;
    if (auto value = FindHeader(headers, "retry-after")) retry_after = ParseRetryAfter(*value, now);
    return Retryable(fmt::format("HTTP {}", http_status), retry_after);
  }
  if (http_status >= 300 && http_status < 400) {
    // Redirects are never followed (an SSRF vector, and a signature names the URL's owner).
    // Retrying cannot help: the endpoint moved and the destination needs a config fix.
    return Permanent(
        fmt::format("redirect not followed (HTTP {}); update the destination url", http_status));
  }
  if (http_status == 410) return Permanent("destination gone (HTTP 410)");
  if (http_status >= 400 && http_status < 500) {
    // The request itself was refused (auth, validation, missing endpoint): the same bytes
    // would be refused again.
    return Permanent(fmt::format("HTTP {}", http_status));
  }
  return Retryable(fmt::format("unexpected HTTP status {}", http_status));
}

absl::StatusOr<std::string> Connector::DeliverLocally(const DeliveryContext& ctx,
                                                      WriteTx& tx) const {
  (void)ctx;
  (void)tx;
  return absl::UnimplementedError("this connector delivers over the network");
}

absl::StatusOr<std::string> RequiredSetting(const DestinationConfig& destination,
                                            std::string_view key) {
  auto it = destination.settings.find(std::string(key));
  if (it == destination.settings.end() || it->is_null()) {
    return absl::FailedPreconditionError(fmt::format("missing setting '{}'", key));
  }
  if (!it->is_string()) {
    return absl::FailedPreconditionError(fmt::format("'{}' must be text", key));
  }
  std::string value = it->get<std::string>();
  if (value.empty()) return absl::FailedPreconditionError(fmt::format("missing setting '{}'", key));
  return value;
}

std::string OptionalSetting(const DestinationConfig& destination, std::string_view key,
                            std::string fallback) {
  auto it = destination.settings.find(std::string(key));
  if (it == destination.settings.end() || !it->is_string()) return fallback;
  std::string value = it->get<std::string>();
  return value.empty() ? fallback : value;
}

std::optional<Micros> ParseRetryAfter(const std::string& value, Micros now) {
  std::string_view v = TrimOws(value);
  if (v.empty()) return std::nullopt;
  if (auto delta = ParseDeltaSeconds(v)) return delta;
  std::optional<Micros> at = ParseHttpDate(v);
  if (!at) return std::nullopt;
  // A date in the past means "now"; a date absurdly far ahead is clamped, not trusted.
  if (*at <= now) return Micros{0};
  if (*at - now > kMaxRetryAfter) return kMaxRetryAfter;
  return *at - now;
}

const TeamMember* PersonToNotify(const DeliveryContext& ctx) {
  if (ctx.recipient) return &*ctx.recipient;
  return ctx.owner ? &*ctx.owner : nullptr;
}

}  // namespace handoff
