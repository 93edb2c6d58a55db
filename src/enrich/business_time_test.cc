#include "enrich/business_time.h"

#include <limits>

#include "core/time_format.h"
#include "date/date.h"
#include "gtest/gtest.h"
#include "tests/support/test_clock.h"

namespace handoff {
namespace {

int32_t Day(const char* ymd) { return static_cast<int32_t>(At(ymd) / kMicrosPerDay); }

DateRange Dates(const char* first, const char* last) { return {Day(first), Day(last)}; }

OpenWindow Window(int start_hour, int start_min, int end_hour, int end_min) {
  return {start_hour * 60 + start_min, end_hour * 60 + end_min};
}

// Harbor Plumbing's hours: mon-fri 07:30-18:00, sat 09:00-13:00, in Los Angeles; closed on
// Christmas Day and from New Year's Eve through New Year's Day.
WeeklyHours HarborHours() {
  WeeklyHours h;
  for (int d = 0; d < 5; ++d) h.days[d] = {Window(7, 30, 18, 0)};
  h.days[5] = {Window(9, 0, 13, 0)};
  return h;
}

BusinessCalendar Harbor() {
  auto c = BusinessCalendar::Create(
      "America/Los_Angeles", HarborHours(),
      {Dates("2026-12-25", "2026-12-25"), Dates("2026-12-31", "2027-01-01")});
  EXPECT_TRUE(c.ok()) << c.status();
  return *std::move(c);
}

// Every Sunday with the given windows, in Los Angeles: the DST changes of 2026 fall on Sundays.
BusinessCalendar Sundays(std::vector<OpenWindow> windows) {
  WeeklyHours h;
  h.days[6] = std::move(windows);
  auto c = BusinessCalendar::Create("America/Los_Angeles", h, {});
  EXPECT_TRUE(c.ok()) << c.status();
  return *std::move(c);
}

struct OpenCase {
  const char* at;
  bool open;
  const char* why;
};

TEST(BusinessCalendar, IsOpenFollowsWeeklyHoursHolidaysAndLocalTime) {
  BusinessCalendar c = Harbor();
  const OpenCase cases[] = {
      {"2026-03-02T07:29:59-08:00", false, "Monday before opening"},
      {"2026-03-02T07:30:00-08:00", true, "Monday at opening"},
      {"2026-03-02T17:59:59-08:00", true, "Monday just before closing"},
      {"2026-03-02T18:00:00-08:00", false, "closing time is closed"},
      {"2026-03-03T02:00:00Z", false, "Monday 18:00 in LA is Tuesday in UTC"},
      {"2026-03-07T10:00:00-08:00", true, "Saturday morning"},
      {"2026-03-07T13:00:00-08:00", false, "Saturday afternoon"},
      {"2026-03-08T10:00:00-07:00", false, "Sunday"},
      {"2026-03-09T07:29:00-07:00", false, "Monday after spring-forward, before opening"},
      {"2026-03-09T07:30:00-07:00", true, "Monday after spring-forward, opening in PDT"},
      {"2026-11-02T07:30:00-08:00", true, "Monday after fall-back, opening in PST"},
      {"2026-11-02T07:00:00-08:00", false, "07:30 PDT is 06:30 PST: not yet open"},
      {"2026-12-24T10:00:00-08:00", true, "Christmas Eve is a working day"},
      {"2026-12-25T10:00:00-08:00", false, "Christmas Day is a holiday"},
      {"2026-12-26T10:00:00-08:00", true, "the Saturday after"},
      {"2026-12-31T10:00:00-08:00", false, "first day of a holiday range"},
      {"2027-01-01T10:00:00-08:00", false, "last day of a holiday range"},
      {"2027-01-02T10:00:00-08:00", true, "the day after the range"},
  };
  for (const OpenCase& k : cases) EXPECT_EQ(c.IsOpen(At(k.at)), k.open) << k.at << ": " << k.why;
}

TEST(BusinessCalendar, WindowsWithALunchBreak) {
  WeeklyHours h;
  h.days[0] = {Window(9, 0, 12, 0), Window(13, 0, 17, 0)};
  auto c = BusinessCalendar::Create("Europe/Berlin", h, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->IsOpen(At("2026-03-02T11:59:00+01:00")));
  EXPECT_FALSE(c->IsOpen(At("2026-03-02T12:30:00+01:00")));
  EXPECT_EQ(*c->NextOpen(At("2026-03-02T12:30:00+01:00")), At("2026-03-02T13:00:00+01:00"));
  EXPECT_EQ(*c->NextOpening(At("2026-03-02T10:00:00+01:00")), At("2026-03-02T13:00:00+01:00"));
  EXPECT_EQ(*c->AddBusinessTime(At("2026-03-02T11:50:00+01:00"), 20 * kMicrosPerMinute),
            At("2026-03-02T13:10:00+01:00"));
}

struct AddCase {
  const char* from;
  Micros duration;
  const char* due;
  const char* why;
};

TEST(BusinessCalendar, AddBusinessTimeCountsOnlyOpenTime) {
  BusinessCalendar c = Harbor();
  constexpr Micros kMin = kMicrosPerMinute;
  constexpr Micros kHour = kMicrosPerHour;
  const AddCase cases[] = {
      {"2026-03-03T10:00:00-08:00", 5 * kMin, "2026-03-03T10:05:00-08:00", "within hours"},
      {"2026-03-03T17:58:00-08:00", 5 * kMin, "2026-03-04T07:33:00-08:00",
       "2 minutes today, 3 after the next opening"},
      {"2026-03-03T17:58:00-08:00", 2 * kMin, "2026-03-03T18:00:00-08:00",
       "ends exactly at closing time"},
      {"2026-03-03T20:00:00-08:00", 15 * kMin, "2026-03-04T07:45:00-08:00", "across the night"},
      {"2026-03-06T17:30:00-08:00", kHour, "2026-03-07T09:30:00-08:00", "Friday into Saturday"},
      {"2026-03-07T12:50:00-08:00", 20 * kMin, "2026-03-09T07:40:00-07:00",
       "across the weekend and the spring-forward night"},
      {"2026-03-06T08:00:00-08:00", 12 * kHour, "2026-03-07T11:00:00-08:00",
       "10 hours on Friday, 2 on Saturday"},
      {"2026-10-31T12:30:00-07:00", kHour, "2026-11-02T08:00:00-08:00",
       "across the weekend and the fall-back night"},
      {"2026-12-24T17:50:00-08:00", 30 * kMin, "2026-12-26T09:20:00-08:00",
       "skips the Christmas holiday"},
      {"2026-12-30T17:00:00-08:00", 2 * kHour, "2027-01-02T10:00:00-08:00",
       "skips a two-day holiday range"},
      {"2026-03-08T10:00:00-07:00", 0, "2026-03-08T10:00:00-07:00", "nothing to add"},
  };
  for (const AddCase& k : cases) {
    absl::StatusOr<Micros> due = c.AddBusinessTime(At(k.from), k.duration);
    ASSERT_TRUE(due.ok()) << k.from << ": " << due.status();
    EXPECT_EQ(c.FormatLocal(*due), c.FormatLocal(At(k.due))) << k.from << ": " << k.why;
    EXPECT_EQ(*due, At(k.due)) << k.from << ": " << k.why;
  }
}

TEST(BusinessCalendar, NextOpenAndNextOpening) {
  BusinessCalendar c = Harbor();
  EXPECT_EQ(*c.NextOpen(At("2026-03-03T10:00:00-08:00")), At("2026-03-03T10:00:00-08:00"))
      << "already open";
  EXPECT_EQ(*c.NextOpen(At("2026-03-03T19:00:00-08:00")), At("2026-03-04T07:30:00-08:00"));
  EXPECT_EQ(*c.NextOpen(At("2026-03-07T14:00:00-08:00")), At("2026-03-09T07:30:00-07:00"))
      << "Monday's opening is in PDT";
  EXPECT_EQ(*c.NextOpening(At("2026-03-03T10:00:00-08:00")), At("2026-03-04T07:30:00-08:00"))
      << "during hours the next opening is tomorrow's";
  EXPECT_EQ(*c.NextOpening(At("2026-03-04T07:30:00-08:00")), At("2026-03-04T07:30:00-08:00"));
  EXPECT_EQ(*c.NextOpen(At("2026-12-24T18:30:00-08:00")), At("2026-12-26T09:00:00-08:00"));
}

TEST(BusinessCalendar, OpeningPlusGivesTheNextBusinessMorning) {
  BusinessCalendar c = Harbor();
  // "7:45 the next business morning": the opening plus 15 minutes.
  EXPECT_EQ(*c.OpeningPlus(At("2026-03-03T20:00:00-08:00"), 15 * kMicrosPerMinute),
            At("2026-03-04T07:45:00-08:00"));
  EXPECT_EQ(*c.OpeningPlus(At("2026-03-07T20:00:00-08:00"), 15 * kMicrosPerMinute),
            At("2026-03-09T07:45:00-07:00"))
      << "Saturday night: Monday morning, after the clocks changed";
  EXPECT_EQ(*c.OpeningPlus(At("2026-12-24T19:00:00-08:00"), 15 * kMicrosPerMinute),
            At("2026-12-26T09:15:00-08:00"))
      << "Christmas Eve evening: the first opening after the holiday";
}

TEST(BusinessCalendar, SpringForwardShortensAWindowAcrossTheSkippedHour) {
  // 01:30-03:00 on 2026-03-08: the clock jumps from 01:59:59 PST to 03:00 PDT, so the window
  // lasts 30 minutes.
  BusinessCalendar c = Sundays({Window(1, 30, 3, 0)});
  EXPECT_TRUE(c.IsOpen(At("2026-03-08T01:30:00-08:00")));
  EXPECT_TRUE(c.IsOpen(At("2026-03-08T01:59:59-08:00")));
  EXPECT_FALSE(c.IsOpen(At("2026-03-08T03:00:00-07:00")));
  EXPECT_EQ(*c.AddBusinessTime(At("2026-03-08T01:30:00-08:00"), 30 * kMicrosPerMinute),
            At("2026-03-08T03:00:00-07:00"));
  EXPECT_EQ(*c.AddBusinessTime(At("2026-03-08T01:30:00-08:00"), 31 * kMicrosPerMinute),
            At("2026-03-15T01:31:00-07:00"))
      << "the 31st minute is in next Sunday's window";
}

TEST(BusinessCalendar, AWindowInsideTheSkippedHourNeverOpens) {
  BusinessCalendar c = Sundays({Window(2, 0, 2, 30)});
  EXPECT_FALSE(c.IsOpen(At("2026-03-08T10:15:00Z")));  // 03:15 PDT, 02:15 never happened
  EXPECT_EQ(*c.NextOpen(At("2026-03-08T00:00:00-08:00")), At("2026-03-15T02:00:00-07:00"));
}

TEST(BusinessCalendar, FallBackOpensAWindowForBothPassesOfTheRepeatedHour) {
  // 01:30-03:00 on 2026-11-01: 01:30-01:59 PDT, then the clock goes back to 01:00 PST (closed:
  // before 01:30) and reaches 01:30 again: open from 01:30 to 03:00 PST.
  BusinessCalendar c = Sundays({Window(1, 30, 3, 0)});
  EXPECT_TRUE(c.IsOpen(At("2026-11-01T01:45:00-07:00")));
  EXPECT_FALSE(c.IsOpen(At("2026-11-01T01:15:00-08:00")));
  EXPECT_TRUE(c.IsOpen(At("2026-11-01T01:45:00-08:00")));
  EXPECT_FALSE(c.IsOpen(At("2026-11-01T03:00:00-08:00")));
  EXPECT_EQ(*c.AddBusinessTime(At("2026-11-01T01:30:00-07:00"), kMicrosPerHour),
            At("2026-11-01T02:00:00-08:00"))
      << "30 minutes in PDT, then 30 after 01:30 PST";
  EXPECT_EQ(*c.NextOpening(At("2026-11-01T01:40:00-07:00")), At("2026-11-01T01:30:00-08:00"))
      << "the second pass reopens";

  // 01:00-02:00 runs through both passes without a break: two real hours.
  BusinessCalendar whole = Sundays({Window(1, 0, 2, 0)});
  EXPECT_EQ(*whole.AddBusinessTime(At("2026-11-01T01:00:00-07:00"), 90 * kMicrosPerMinute),
            At("2026-11-01T01:30:00-08:00"));
  EXPECT_EQ(*whole.AddBusinessTime(At("2026-11-01T01:00:00-07:00"), 2 * kMicrosPerHour),
            At("2026-11-01T02:00:00-08:00"));
}

TEST(BusinessCalendar, AlwaysOpenCountsRealTimeAcrossDst) {
  auto c = BusinessCalendar::Create("America/Los_Angeles", WeeklyHours::AlwaysOpen(), {});
  ASSERT_TRUE(c.ok());
  // The spring-forward day has 23 hours: 24 hours later the clock reads an hour more.
  EXPECT_EQ(*c->AddBusinessTime(At("2026-03-07T12:00:00-08:00"), 24 * kMicrosPerHour),
            At("2026-03-08T13:00:00-07:00"));
  EXPECT_EQ(*c->AddBusinessTime(At("2026-10-31T12:00:00-07:00"), 24 * kMicrosPerHour),
            At("2026-11-01T11:00:00-08:00"));
  EXPECT_TRUE(c->IsOpen(At("2026-03-08T02:30:00-07:00")));
}

TEST(BusinessCalendar, AWindowEndingAtMidnightContinuesIntoTheNextDay) {
  WeeklyHours h;
  h.days[0] = {Window(22, 0, 24, 0)};
  h.days[1] = {Window(0, 0, 6, 0)};
  auto c = BusinessCalendar::Create("UTC", h, {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c->AddBusinessTime(At("2026-03-02T23:30:00Z"), kMicrosPerHour),
            At("2026-03-03T00:30:00Z"));
  EXPECT_EQ(*c->NextOpening(At("2026-03-02T23:00:00Z")), At("2026-03-09T22:00:00Z"))
      << "Tuesday 00:00 continues Monday's night shift; it is not an opening";
}

TEST(BusinessCalendar, NoOpeningHoursIsAnErrorNotALoop) {
  auto c = BusinessCalendar::Create("America/Los_Angeles", WeeklyHours{}, {});
  ASSERT_TRUE(c.ok());
  const Micros t = At("2026-03-03T10:00:00-08:00");
  EXPECT_FALSE(c->IsOpen(t));
  for (const absl::Status& s : {c->NextOpen(t).status(), c->NextOpening(t).status(),
                                c->AddBusinessTime(t, kMicrosPerMinute).status(),
                                c->OpeningPlus(t, kMicrosPerMinute).status()}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(s.message(), "the calendar has no opening hours on any day");
  }
}

TEST(BusinessCalendar, ClosedBeyondTheSearchHorizonIsAnError) {
  auto c = BusinessCalendar::Create("America/Los_Angeles", HarborHours(),
                                    {Dates("2026-01-01", "2030-12-31")});
  ASSERT_TRUE(c.ok());
  absl::StatusOr<Micros> due = c->AddBusinessTime(At("2026-03-03T10:00:00-08:00"), 1);
  EXPECT_EQ(due.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(due.status().message(),
            "the calendar is not open for 1098 days after 2026-03-03 10:00 PST");
}

TEST(BusinessCalendar, LongClosedRangesAreSkipped) {
  auto c = BusinessCalendar::Create(
      "America/Los_Angeles", HarborHours(),
      {Dates("2026-06-01", "2027-03-31"), Dates("2026-01-01", "2026-06-30")});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c->NextOpen(At("2026-03-03T10:00:00-08:00")), At("2027-04-01T07:30:00-07:00"))
      << "overlapping ranges merge into one closed spell";
}

TEST(BusinessCalendar, RejectsNegativeDurationsAndUnknownZones) {
  EXPECT_EQ(Harbor().AddBusinessTime(0, -1).status().code(), absl::StatusCode::kInvalidArgument);
  auto c = BusinessCalendar::Create("Mars/Olympus_Mons", HarborHours(), {});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("unknown time zone 'Mars/Olympus_Mons'"),
            std::string_view::npos)
      << c.status();
}

TEST(BusinessCalendar, InstantsFarOutOfRangeAreRefusedNotOverflowed) {
  BusinessCalendar c = Harbor();
  for (Micros t : {std::numeric_limits<Micros>::min(), std::numeric_limits<Micros>::max()}) {
    EXPECT_FALSE(c.IsOpen(t));
    EXPECT_EQ(c.NextOpen(t).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(c.AddBusinessTime(t, kMicrosPerMinute).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_FALSE(c.FormatLocal(t).empty());
  }
  EXPECT_EQ(*c.AddBusinessTime(At("2026-03-03T10:00:00-08:00"), 0),
            At("2026-03-03T10:00:00-08:00"));
}

TEST(BusinessCalendar, FormatsLocalTimeWithTheZoneAbbreviation) {
  BusinessCalendar c = Harbor();
  EXPECT_EQ(c.FormatLocal(At("2026-03-09T14:30:00Z")), "2026-03-09 07:30 PDT");
  EXPECT_EQ(c.FormatLocal(At("2026-01-01T07:59:00Z")), "2025-12-31 23:59 PST");
}

Config TeamConfig() {
  Config config;
  config.business.timezone = "America/Los_Angeles";
  config.business.hours = HarborHours();
  config.business.holidays = {Dates("2026-12-25", "2026-12-25")};
  TeamMember ben;
  ben.id = "ben";
  ben.hours = WeeklyHours{};
  for (int d = 0; d < 4; ++d) ben.hours->days[d] = {Window(8, 0, 16, 0)};
  ben.out_of_office = {Dates("2026-12-20", "2026-12-31")};
  TeamMember maria;
  maria.id = "maria";
  maria.on_call = true;
  TeamMember ana;
  ana.id = "ana";
  ana.out_of_office = {Dates("2026-03-03", "2026-03-03")};
  config.team = {ben, maria, ana};
  return config;
}

struct AvailableCase {
  const char* member;
  const char* at;
  bool available;
  const char* why;
};

TEST(BusinessTime, IsAvailableUsesOwnHoursHolidaysAndOutOfOffice) {
  absl::StatusOr<BusinessTime> bt = BusinessTime::FromConfig(TeamConfig());
  ASSERT_TRUE(bt.ok()) << bt.status();
  const AvailableCase cases[] = {
      {"ben", "2026-03-02T09:00:00-08:00", true, "Monday in his hours"},
      {"ben", "2026-03-02T07:45:00-08:00", false, "the business is open, he starts at 8"},
      {"ben", "2026-03-06T09:00:00-08:00", false, "he does not work Fridays"},
      {"ben", "2026-12-21T10:00:00-08:00", false, "out of office"},
      {"ben", "2027-01-04T10:00:00-08:00", true, "back after time off"},
      {"maria", "2026-03-07T10:00:00-08:00", true, "the business's hours: Saturday morning"},
      {"maria", "2026-03-02T19:00:00-08:00", false, "on call, but out of hours"},
      {"maria", "2026-12-25T10:00:00-08:00", false, "business holiday"},
      {"ana", "2026-03-03T10:00:00-08:00", false, "one day out of office"},
      {"ana", "2026-03-04T10:00:00-08:00", true, "the day after"},
      {"zed", "2026-03-02T09:00:00-08:00", false, "not on the team"},
  };
  for (const AvailableCase& k : cases) {
    EXPECT_EQ(bt->IsAvailable(k.member, At(k.at)), k.available)
        << k.member << " at " << k.at << ": " << k.why;
  }
  EXPECT_TRUE(bt->business().IsOpen(At("2026-03-06T09:00:00-08:00")));
  ASSERT_NE(bt->member("ben"), nullptr);
  EXPECT_EQ(*bt->member("ben")->NextOpen(At("2026-12-20T10:00:00-08:00")),
            At("2027-01-04T08:00:00-08:00"));
  EXPECT_EQ(bt->member("zed"), nullptr);
}

TEST(BusinessTime, IsAwayOnlyOnOutOfOfficeDatesWhateverTheHours) {
  absl::StatusOr<BusinessTime> bt = BusinessTime::FromConfig(TeamConfig());
  ASSERT_TRUE(bt.ok()) << bt.status();
  EXPECT_TRUE(bt->IsAway("ben", At("2026-12-21T23:30:00-08:00")));     // away, late at night
  EXPECT_FALSE(bt->IsAway("ben", At("2026-03-06T23:30:00-08:00")));    // off shift, not away
  EXPECT_FALSE(bt->IsAway("maria", At("2026-03-02T19:00:00-08:00")));  // on call out of hours
  EXPECT_FALSE(bt->IsAway("maria", At("2026-12-25T10:00:00-08:00")));  // a holiday is not hers
  EXPECT_FALSE(bt->IsAway("zed", At("2026-03-02T09:00:00-08:00")));
}

TEST(BusinessTime, UnknownTimeZoneIsAnError) {
  Config config;
  config.business.timezone = "Nowhere/City";
  EXPECT_EQ(BusinessTime::FromConfig(config).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace handoff
