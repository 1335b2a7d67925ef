#pragma once
// Time as a dependency: every class that waits takes a Clock, so tests drive time by hand.
#include <chrono>
#include <cstdint>

namespace sb {

using Duration = std::chrono::milliseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

class Clock {
  public:
    virtual ~Clock() = default;
    // Monotonic time, millisecond resolution (SIP timers need no finer).
    virtual TimePoint now() const = 0;
    // Wall-clock seconds since the Unix epoch, for expiry stored in the database and Date headers.
    virtual std::int64_t unix_seconds() const = 0;
    // Wall-clock milliseconds since the Unix epoch, for records people read (call records).
    virtual std::int64_t unix_ms() const = 0;
};

class SystemClock final : public Clock {
  public:
    TimePoint now() const override;
    std::int64_t unix_seconds() const override;
    std::int64_t unix_ms() const override;
    static SystemClock& instance();
};

// A clock that moves only when told to; for unit tests.
class FakeClock final : public Clock {
  public:
    explicit FakeClock(std::int64_t unix_start = 1'700'000'000) : unix_start_(unix_start) {}
    TimePoint now() const override { return TimePoint(elapsed_); }
    std::int64_t unix_seconds() const override {
        return unix_start_ + std::chrono::duration_cast<std::chrono::seconds>(elapsed_).count();
    }
    std::int64_t unix_ms() const override { return unix_start_ * 1000 + elapsed_.count(); }
    void advance(Duration d) { elapsed_ += d; }

  private:
    std::int64_t unix_start_;
    Duration elapsed_{0};
};

}  // namespace sb
