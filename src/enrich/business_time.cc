#include "enrich/business_time.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <limits>

#include "core/check.h"
#include "fmt/format.h"

namespace handoff {
namespace {

constexpr Micros kNone = std::numeric_limits<Micros>::min();

// Instants further than about 10,000 years from 1970 are refused: the local-time arithmetic
// below adds days and offsets to them and must not overflow. Inquiry times come from sources.
constexpr Micros kFarthest = Micros{10000} * 366 * kMicrosPerDay;

bool InRange(Micros t) { return t >= -kFarthest && t <= kFarthest; }

// Floor division, so instants and local times before 1970 land on the right day.
Micros FloorDiv(Micros a, Micros b) { return a / b - (a % b < 0 ? 1 : 0); }

date::sys_seconds ToSys(Micros t) {
  return date::sys_seconds{std::chrono::seconds{FloorDiv(t, kMicrosPerSecond)}};
}

// The tz database marks "no further transition" with instants around year ±32767, which still
// fit in Micros (about ±1e18); the clamp only guards that assumption.
Micros FromSys(date::sys_seconds s) {
  constexpr int64_t kLimit = std::numeric_limits<Micros>::max() / kMicrosPerSecond - 1;
  int64_t seconds = std::clamp<int64_t>(s.time_since_epoch().count(), -kLimit, kLimit);
  return seconds * kMicrosPerSecond;
}

// Monday = 0, as WeeklyHours counts; 1970-01-01 was a Thursday.
int Weekday(int32_t day) { return static_cast<int>(((day % 7) + 7 + 3) % 7); }

}  // namespace

absl::StatusOr<BusinessCalendar> BusinessCalendar::Create(const std::string& timezone,
                                                          WeeklyHours hours,
                                                          std::vector<DateRange> closed) {
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(timezone);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        fmt::format("unknown time zone '{}': {}", timezone, e.what()));
  }
  // Sorted and merged so one binary search answers "is this date closed, and until when".
  std::sort(closed.begin(), closed.end(),
            [](const DateRange& a, const DateRange& b) { return a.first < b.first; });
  std::vector<DateRange> merged;
  for (const DateRange& r : closed) {
    if (!merged.empty() && r.first <= merged.back().last + 1) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  return BusinessCalendar(zone, std::move(hours), std::move(merged));
}

int32_t BusinessCalendar::LocalDay(Micros t) const {
  date::sys_info info = zone_->get_info(ToSys(t));
  Micros local = t + info.offset.count() * kMicrosPerSecond;
  return static_cast<int32_t>(FloorDiv(local, kMicrosPerDay));
}

std::optional<int32_t> BusinessCalendar::ClosedThrough(int32_t day) const {
  auto after = std::upper_bound(closed_.begin(), closed_.end(), day,
                                [](int32_t d, const DateRange& r) { return d < r.first; });
  if (after == closed_.begin()) return std::nullopt;
  const DateRange& r = *std::prev(after);
  if (day > r.last) return std::nullopt;
  return r.last;
}

std::vector<BusinessCalendar::Interval> BusinessCalendar::OpenOn(int32_t day) const {
  std::vector<Interval> out;
  const std::vector<OpenWindow>& windows = hours_.days[Weekday(day)];
  if (windows.empty() || ClosedThrough(day)) return out;
  const Micros midnight = Micros{day} * kMicrosPerDay;  // local clock reading
  // UTC offsets stay within ±26 hours, so every instant whose local date is `day` lies between
  // these two. Each offset period in between maps the windows' local readings to instants; the
  // period's own bounds cut away readings that the clock skips or that belong to the other pass
  // of a repeated hour.
  const Micros lo = midnight - 26 * kMicrosPerHour;
  const Micros hi = midnight + 50 * kMicrosPerHour;
  date::sys_info info = zone_->get_info(ToSys(lo));
  while (true) {
    const Micros begin = FromSys(info.begin);
    const Micros end = FromSys(info.end);
    const Micros offset = info.offset.count() * kMicrosPerSecond;
    for (const OpenWindow& w : windows) {
      Micros s = std::max(midnight + w.start_minute * kMicrosPerMinute - offset, begin);
      Micros e = std::min(midnight + w.end_minute * kMicrosPerMinute - offset, end);
      if (s < e) out.push_back({s, e});
    }
    if (end >= hi) break;
    info = zone_->get_info(info.end);
  }
  std::sort(out.begin(), out.end(),
            [](const Interval& a, const Interval& b) { return a.start < b.start; });
  // Two periods with the same offset (an abbreviation change) split one window in two pieces
  // that touch: join them so the day's windows read as the user wrote them.
  std::vector<Interval> merged;
  for (const Interval& i : out) {
    if (!merged.empty() && i.start <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, i.end);
    } else {
      merged.push_back(i);
    }
  }
  return merged;
}

bool BusinessCalendar::IsOpen(Micros t) const {
  if (!InRange(t)) return false;
  // OpenOn(day) holds exactly the open instants whose local date is `day`.
  for (const Interval& i : OpenOn(LocalDay(t))) {
    if (i.start <= t && t < i.end) return true;
  }
  return false;
}

template <typename Visit>
absl::Status BusinessCalendar::Scan(Micros from, Visit visit) const {
  if (!InRange(from)) {
    return absl::InvalidArgumentError(fmt::format("instant {} µs is out of range", from));
  }
  if (hours_.empty()) {
    return absl::FailedPreconditionError("the calendar has no opening hours on any day");
  }
  // Starts a day early so a window that ends at midnight is seen before one that continues it
  // at 00:00, and the latter is not taken for an opening.
  const int32_t first = LocalDay(from) - 1;
  const int32_t last = first + kSearchDays;
  Micros previous_end = kNone;
  for (int32_t day = first; day <= last; ++day) {
    if (std::optional<int32_t> through = ClosedThrough(day)) {
      // Whole closed ranges (a month out of office) are skipped in one step.
      day = *through;
      previous_end = kNone;
      continue;
    }
    for (const Interval& i : OpenOn(day)) {
      const bool opening = i.start != previous_end;
      previous_end = i.end;
      if (i.end <= from) continue;
      if (visit(i, opening)) return absl::OkStatus();
    }
  }
  return absl::FailedPreconditionError(
      fmt::format("the calendar is not open for {} days after {}", kSearchDays, FormatLocal(from)));
}

absl::StatusOr<Micros> BusinessCalendar::NextOpen(Micros t) const {
  Micros found = 0;
  absl::Status s = Scan(t, [&](const Interval& i, bool) {
    found = std::max(i.start, t);
    return true;
  });
  if (!s.ok()) return s;
  return found;
}

absl::StatusOr<Micros> BusinessCalendar::NextOpening(Micros t) const {
  Micros found = 0;
  absl::Status s = Scan(t, [&](const Interval& i, bool opening) {
    if (!opening || i.start < t) return false;
    found = i.start;
    return true;
  });
  if (!s.ok()) return s;
  return found;
}

absl::StatusOr<Micros> BusinessCalendar::AddBusinessTime(Micros t, Micros d) const {
  if (d < 0) {
    return absl::InvalidArgumentError(fmt::format("business time cannot go backwards ({} µs)", d));
  }
  if (d == 0) return t;
  Micros remaining = d;
  Micros found = 0;
  absl::Status s = Scan(t, [&](const Interval& i, bool) {
    const Micros start = std::max(i.start, t);
    if (i.end - start >= remaining) {
      found = start + remaining;
      return true;
    }
    remaining -= i.end - start;
    return false;
  });
  if (!s.ok()) return s;
  return found;
}

absl::StatusOr<Micros> BusinessCalendar::OpeningPlus(Micros t, Micros offset) const {
  absl::StatusOr<Micros> opening = NextOpening(t);
  if (!opening.ok()) return opening.status();
  return AddBusinessTime(*opening, offset);
}

std::string BusinessCalendar::FormatLocal(Micros t) const {
  t = std::clamp(t, -kFarthest, kFarthest);
  date::sys_info info = zone_->get_info(ToSys(t));
  const Micros local = t + info.offset.count() * kMicrosPerSecond;
  const Micros day = FloorDiv(local, kMicrosPerDay);
  const Micros minute = (local - day * kMicrosPerDay) / kMicrosPerMinute;
  date::year_month_day ymd{date::sys_days{date::days{day}}};
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02} {}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     minute / 60, minute % 60, info.abbrev);
}

absl::StatusOr<BusinessTime> BusinessTime::FromConfig(const Config& config) {
  const BusinessConfig& b = config.business;
  absl::StatusOr<BusinessCalendar> business =
      BusinessCalendar::Create(b.timezone, b.hours, b.holidays);
  if (!business.ok()) return business.status();
  BusinessTime out(std::move(*business));
  for (const TeamMember& m : config.team) {
    std::vector<DateRange> closed = b.holidays;
    closed.insert(closed.end(), m.out_of_office.begin(), m.out_of_office.end());
    absl::StatusOr<BusinessCalendar> own =
        BusinessCalendar::Create(b.timezone, m.hours.value_or(b.hours), std::move(closed));
    if (!own.ok()) return own.status();
    out.members_.emplace(m.id, std::move(*own));
    absl::StatusOr<BusinessCalendar> presence =
        BusinessCalendar::Create(b.timezone, WeeklyHours::AlwaysOpen(), m.out_of_office);
    if (!presence.ok()) return presence.status();
    out.presence_.emplace(m.id, std::move(*presence));
  }
  return out;
}

BusinessTime BusinessTime::FromLoadedConfig(const Config& config) {
  absl::StatusOr<BusinessTime> bt = FromConfig(config);
  HANDOFF_CHECK(bt.ok(), std::string(bt.status().message()).c_str());
  return *std::move(bt);
}

const BusinessCalendar* BusinessTime::member(std::string_view id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

bool BusinessTime::IsAvailable(std::string_view id, Micros t) const {
  const BusinessCalendar* calendar = member(id);
  return calendar != nullptr && calendar->IsOpen(t);
}

bool BusinessTime::IsAway(std::string_view id, Micros t) const {
  auto it = presence_.find(id);
  return it != presence_.end() && !it->second.IsOpen(t);
}

}  // namespace handoff
