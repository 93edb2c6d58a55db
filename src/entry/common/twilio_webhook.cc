#include "entry/common/twilio_webhook.h"

#include <array>

#include "core/ascii.h"
#include "entry/common/mapped_delivery.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

// Days from 1970-01-01 to the civil date (proleptic Gregorian), after H. Hinnant.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// A cursor over the date text.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  void SkipSpaces() {
    while (!s_.empty() && (s_.front() == ' ' || s_.front() == '\t')) s_.remove_prefix(1);
  }
  bool Done() const { return s_.empty(); }
  bool Consume(char c) {
    if (s_.empty() || s_.front() != c) return false;
    s_.remove_prefix(1);
    return true;
  }
  // Between `min` and `max` digits.
  std::optional<int> Number(size_t min, size_t max) {
    size_t n = 0;
    int value = 0;
    while (n < s_.size() && n < max && s_[n] >= '0' && s_[n] <= '9')
      value = value * 10 + (s_[n++] - '0');
    if (n < min) return std::nullopt;
    s_.remove_prefix(n);
    return value;
  }
  std::string_view Word() {
    size_t n = 0;
    while (n < s_.size() && ((s_[n] >= 'A' && s_[n] <= 'Z') || (s_[n] >= 'a' && s_[n] <= 'z'))) ++n;
    std::string_view w = s_.substr(0, n);
    s_.remove_prefix(n);
    return w;
  }
  char Peek() const { return s_.empty() ? '\0' : s_.front(); }

 private:
  std::string_view s_;
};

}  // namespace

const std::string& TwilioParam(const std::vector<FormField>& params, std::string_view name) {
  static const std::string kEmpty;
  for (const FormField& p : params) {
    if (p.name == name) return p.value;
  }
  return kEmpty;
}

absl::StatusOr<std::string> TwilioDedupeKey(const HttpRequest& request, std::string_view event_id) {
  const int tokens = request.HeaderCount("i-twilio-idempotency-token");
  if (tokens > 1) {
    return Reject(RejectReason::kInvalidField, "several I-Twilio-Idempotency-Token headers");
  }
  if (tokens == 1) {
    const std::string_view token = *request.Header("i-twilio-idempotency-token");
    if (token.size() > kMaxDedupeKeyBytes) {
      return Reject(
          RejectReason::kInvalidField,
          fmt::format("I-Twilio-Idempotency-Token is longer than {} bytes", kMaxDedupeKeyBytes));
    }
    if (!token.empty()) return fmt::format("idem:{}", token);
  }
  if (event_id.empty()) return std::string();
  if (event_id.size() > kMaxDedupeKeyBytes) {
    return Reject(RejectReason::kInvalidField,
                  fmt::format("the event id is longer than {} bytes", kMaxDedupeKeyBytes));
  }
  return fmt::format("event:{}", event_id);
}

HttpResponse TwimlResponse(std::string_view inner) {
  HttpResponse r;
  r.status = 200;
  r.content_type = "text/xml";
  r.body = R"(<?xml version="1.0" encoding="UTF-8"?>)";
  if (inner.empty()) {
    r.body += "<Response/>";
  } else {
    r.body += "<Response>";
    r.body += inner;
    r.body += "</Response>";
  }
  return r;
}

std::optional<Micros> ParseRfc2822(std::string_view text) {
  static constexpr std::array<const char*, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
  Scanner s(text);
  s.SkipSpaces();
  if (s.Peek() < '0' || s.Peek() > '9') {
    if (s.Word().size() != 3) return std::nullopt;  // the weekday (not checked against the date)
    if (!s.Consume(',')) return std::nullopt;
    s.SkipSpaces();
  }
  const auto day = s.Number(1, 2);
  s.SkipSpaces();
  const std::string_view month_name = s.Word();
  s.SkipSpaces();
  const auto year = s.Number(4, 4);
  s.SkipSpaces();
  const auto hour = s.Number(2, 2);
  if (!day || !year || !hour || !s.Consume(':')) return std::nullopt;
  const auto minute = s.Number(2, 2);
  if (!minute) return std::nullopt;
  int second = 0;
  if (s.Consume(':')) {
    const auto sec = s.Number(2, 2);
    if (!sec) return std::nullopt;
    second = *sec;
  }
  s.SkipSpaces();
  int offset_minutes = 0;
  if (s.Peek() == '+' || s.Peek() == '-') {
    const bool negative = s.Peek() == '-';
    s.Consume(s.Peek());
    const auto zone = s.Number(4, 4);
    if (!zone || *zone % 100 >= 60) return std::nullopt;
    offset_minutes = (*zone / 100) * 60 + *zone % 100;
    if (negative) offset_minutes = -offset_minutes;
  } else {
    const std::string_view zone = s.Word();
    if (!EqualsIgnoreAsciiCase(zone, "GMT") && !EqualsIgnoreAsciiCase(zone, "UT") &&
        !EqualsIgnoreAsciiCase(zone, "UTC")) {
      return std::nullopt;
    }
  }
  s.SkipSpaces();
  if (!s.Done()) return std::nullopt;
  unsigned month = 0;
  for (unsigned i = 0; i < kMonths.size(); ++i) {
    if (EqualsIgnoreAsciiCase(month_name, kMonths[i])) month = i + 1;
  }
  static constexpr std::array<int, 12> kDays = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 0 || *day < 1 || *day > kDays[month - 1] || *hour > 23 || *minute > 59 ||
      second > 60) {
    return std::nullopt;
  }
  const bool leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
  if (month == 2 && *day == 29 && !leap) return std::nullopt;
  const int64_t days = DaysFromCivil(*year, month, static_cast<unsigned>(*day));
  const int64_t seconds =
      days * 86400 + *hour * 3600 + *minute * 60 + second - int64_t{offset_minutes} * 60;
  return seconds * kMicrosPerSecond;
}

bool BoolSetting(const SourceConfig& source, const char* key, bool fallback) {
  if (!source.settings.is_object()) return fallback;
  auto it = source.settings.find(key);
  return it != source.settings.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

std::string StringSetting(const SourceConfig& source, const char* key, std::string fallback) {
  if (!source.settings.is_object()) return fallback;
  auto it = source.settings.find(key);
  return it != source.settings.end() && it->is_string() ? it->get<std::string>() : fallback;
}

int64_t IntSetting(const SourceConfig& source, const char* key, int64_t fallback) {
  if (!source.settings.is_object()) return fallback;
  auto it = source.settings.find(key);
  return it != source.settings.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

}  // namespace handoff
