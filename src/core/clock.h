// Time as microseconds since the Unix epoch, and the Clock that tells it. Code that schedules
// anything takes a Clock so tests can use FakeClock instead of sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace handoff {

using Micros = int64_t;  // microseconds since 1970-01-01T00:00:00Z, or a duration

constexpr Micros kMicrosPerMilli = 1000;
constexpr Micros kMicrosPerSecond = 1000 * kMicrosPerMilli;
constexpr Micros kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr Micros kMicrosPerHour = 60 * kMicrosPerMinute;
constexpr Micros kMicrosPerDay = 24 * kMicrosPerHour;

// Tells the current wall-clock time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Micros Now() const = 0;
};

// The system's real-time clock.
class SystemClock final : public Clock {
 public:
  Micros Now() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // A process-wide instance; never destroyed.
  static const SystemClock* Get() {
    static const SystemClock* clock = new SystemClock();
    return clock;
  }
};

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Micros start) : now_(start) {}
  Micros Now() const override { return now_.load(); }
  void Set(Micros t) { now_.store(t); }
  void Advance(Micros d) { now_.fetch_add(d); }

 private:
  std::atomic<Micros> now_;
};

}  // namespace handoff
