// Business time: when the business (or one person) is open, in the business's own time zone,
// and durations counted only while it is open ("reply within 15 minutes in hours").
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "core/clock.h"

namespace date {
class time_zone;
}

namespace handoff {

// One weekly schedule in one time zone, minus closed dates (holidays, time off). Tells whether
// it is open at an instant, when it next opens, and where a duration counted only in open time
// ends. Windows and dates are local: a window 09:00-17:00 is open while the local clock reads
// 09:00 to 16:59, however long that lasts on a DST day (a window inside the skipped spring-forward
// hour is never open; one across the repeated fall-back hour is open for both passes).
// Searches stop after kSearchDays local days, so a calendar that never opens answers with an
// error instead of looping. Immutable; thread-safe.
class BusinessCalendar {
 public:
  // How far ahead any search looks, in days: three years.
  static constexpr int kSearchDays = 3 * 366;

  // InvalidArgument when `timezone` is not in the tz database. `closed` may overlap and be in
  // any order.
  static absl::StatusOr<BusinessCalendar> Create(const std::string& timezone, WeeklyHours hours,
                                                 std::vector<DateRange> closed);

  // True when `t` falls in an opening window of a local date that is not closed.
  bool IsOpen(Micros t) const;

  // The first open instant at or after `t` (`t` itself when open). FailedPrecondition when it
  // does not open within kSearchDays (or has no hours at all).
  absl::StatusOr<Micros> NextOpen(Micros t) const;

  // The first opening (a switch from closed to open) at or after `t`. During open hours this is
  // the start of a later window, not `t`; a window that continues one ending at the same instant
  // (24:00 then 00:00) is not an opening. Errors as NextOpen.
  absl::StatusOr<Micros> NextOpening(Micros t) const;

  // The instant at which `d` of open time has passed since `t`: at 17:58 with hours until 18:00,
  // 5 minutes end 3 minutes after the next opening. A result may be a closing time (2 minutes
  // end at 18:00). `d` = 0 gives `t`. InvalidArgument for a negative `d`; errors as NextOpen
  // when the open time runs out within kSearchDays.
  absl::StatusOr<Micros> AddBusinessTime(Micros t, Micros d) const;

  // `offset` of open time after NextOpening(t): "9:15 the next business morning" is
  // OpeningPlus(t, 15m) for a business opening at 9:00. Errors as AddBusinessTime.
  absl::StatusOr<Micros> OpeningPlus(Micros t, Micros offset) const;

  // `t` as local date and time with the zone's abbreviation, e.g. "2026-03-09 09:15 PDT".
  std::string FormatLocal(Micros t) const;

  const WeeklyHours& hours() const { return hours_; }

 private:
  struct Interval {
    Micros start;
    Micros end;  // exclusive
  };

  BusinessCalendar(const date::time_zone* zone, WeeklyHours hours, std::vector<DateRange> closed)
      : zone_(zone), hours_(std::move(hours)), closed_(std::move(closed)) {}

  // The local date (days since 1970-01-01) at instant `t`.
  int32_t LocalDay(Micros t) const;
  // The last day of the closed range holding `day`, if any.
  std::optional<int32_t> ClosedThrough(int32_t day) const;
  // The instants of local date `day` that are open, sorted and disjoint.
  std::vector<Interval> OpenOn(int32_t day) const;
  // Calls visit(interval, is_opening) for each open interval that ends after `from`, in time
  // order, until it returns true. FailedPrecondition when kSearchDays pass first.
  template <typename Visit>
  absl::Status Scan(Micros from, Visit visit) const;

  const date::time_zone* zone_;  // owned by the tz database, which lives as long as the process
  WeeklyHours hours_;
  std::vector<DateRange> closed_;  // sorted by first day, disjoint and not touching
};

// The business's calendar and each team member's, built once from the config. A member works
// their own `hours` (the business's when they have none), never on a business holiday and
// never while out of office. Immutable; thread-safe.
class BusinessTime {
 public:
  // InvalidArgument when the business's time zone is unknown (the config loader rejects that
  // already, so this fails only for configs built in code).
  static absl::StatusOr<BusinessTime> FromConfig(const Config& config);
  // FromConfig for a config LoadConfig accepted (it checks the time zone against the same tz
  // database); aborts on an unknown zone, which only a config built wrongly in code can have.
  static BusinessTime FromLoadedConfig(const Config& config);

  const BusinessCalendar& business() const { return business_; }

  // The calendar of team member `id`; nullptr when `id` is not on the team.
  const BusinessCalendar* member(std::string_view id) const;

  // Whether team member `id` works at `t`. False for an id not on the team.
  bool IsAvailable(std::string_view id, Micros t) const;

  // Whether team member `id` is out of office on the local date of `t` (whatever their hours):
  // an on-call person answers out of hours, but not from their holiday. False for an unknown id.
  bool IsAway(std::string_view id, Micros t) const;

 private:
  explicit BusinessTime(BusinessCalendar business) : business_(std::move(business)) {}

  BusinessCalendar business_;
  std::map<std::string, BusinessCalendar, std::less<>> members_;
  // Per member: open every hour except their out-of-office dates.
  std::map<std::string, BusinessCalendar, std::less<>> presence_;
};

}  // namespace handoff
