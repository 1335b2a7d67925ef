#pragma once
// A hashed timing wheel for one single-threaded event loop (one per worker shard).
//
// Timers are intrusive: an sb::Timer node lives inside the object that owns it (a transaction, a
// registration), so scheduling, rescheduling and cancelling allocate nothing and cost O(1). The
// wheel keeps the absolute deadline of every node, so deadlines beyond one lap of the wheel need no
// overflow level: a node simply stays in its slot until the lap in which it is due (the "rounds"
// of a hashed wheel, implicit in the deadline).
//
// The event loop arms a single OS timer for the whole wheel:
//     if (auto t = wheel.next_deadline()) asio_timer.expires_at(*t) ... on expiry: wheel.advance(clock.now());
//
// Threading: none. A wheel and its timers belong to one thread; nothing here locks.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "sb/common/clock.h"

namespace sb {

class TimerWheel;

// An intrusive timer node. Embed it (or a MemberTimer) in the object that owns it. It must not move
// while scheduled (it is neither copyable nor movable). Destroying a scheduled timer cancels it, so
// an owner that dies takes its timers with it; cancelling a timer that already fired, or was never
// scheduled, does nothing.
class Timer {
public:
    Timer() = default;
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    bool scheduled() const { return state_ != State::idle; }
    // The deadline it was last scheduled for (meaningful while scheduled()).
    TimePoint deadline() const { return TimePoint(Duration(when_)); }

protected:
    ~Timer();
    // Called by TimerWheel::advance() once the deadline has passed. The timer is no longer
    // scheduled when this runs; the callback may reschedule it, schedule or cancel any other
    // timer, or destroy the object that owns this timer. It must not call advance().
    virtual void on_timer() = 0;

private:
    friend class TimerWheel;
    enum class State : std::uint8_t { idle, linked, firing };

    Timer* prev_ = nullptr;
    Timer* next_ = nullptr;
    TimerWheel* wheel_ = nullptr;
    std::int64_t when_ = 0;  // deadline, ms since the clock's epoch
    std::uint64_t seq_ = 0;  // schedule order: equal deadlines fire first-scheduled first
    std::uint32_t index_ = 0;  // slot while linked; position in the firing batch while firing
    State state_ = State::idle;
};

// A Timer that calls a member function of its owner: `MemberTimer<Txn, &Txn::on_retransmit> t{this};`
template <class Owner, void (Owner::*Fn)()>
class MemberTimer final : public Timer {
public:
    explicit MemberTimer(Owner* owner) : owner_(owner) {}

private:
    void on_timer() override { (owner_->*Fn)(); }
    Owner* owner_;
};

class TimerWheel {
public:
    struct Options {
        Duration tick{10};         // granularity of the slots (deadlines themselves stay exact)
        std::size_t slots = 4096;  // power of two, a multiple of 64; 4096 x 10 ms = 40.96 s a lap
    };

    // `start`: the current time; the first advance() fires what is due after it.
    explicit TimerWheel(TimePoint start) : TimerWheel(start, Options{}) {}
    TimerWheel(TimePoint start, Options options);
    // Timers still scheduled are unlinked (their owners may outlive the wheel).
    ~TimerWheel();
    TimerWheel(const TimerWheel&) = delete;
    TimerWheel& operator=(const TimerWheel&) = delete;

    // Schedules `t` to fire at `when` (re-scheduling it if it was scheduled). A deadline in the
    // past fires at the next advance(). O(1), no allocation.
    void schedule(Timer& t, TimePoint when);
    // Unschedules `t`; nothing if it is not scheduled (already fired, cancelled, never scheduled).
    void cancel(Timer& t) noexcept;

    // Fires every timer whose deadline is <= now, in order of deadline (ties: order of
    // scheduling). Timers scheduled by the callbacks for a time <= now fire at the next advance(),
    // so a callback that re-arms itself cannot starve the loop. Returns how many fired.
    std::size_t advance(TimePoint now);

    // When advance() should next be called: the earliest deadline, or nullopt if nothing is
    // scheduled. When every timer is more than a lap away, this is a time no later than the
    // earliest deadline (the end of the current lap) rather than the deadline itself, so that
    // the answer stays cheap; the loop just wakes up once more.
    std::optional<TimePoint> next_deadline() const;

    std::size_t size() const { return size_; }
    Duration tick() const { return Duration(tick_); }

private:
    friend class Timer;
    void link(Timer& t, std::int64_t slot_tick);
    void unlink(Timer& t) noexcept;
    std::int64_t tick_of(std::int64_t ms) const { return ms >= 0 ? ms / tick_ : -1; }
    // Next non-empty slot at or after `from` (cyclically), or npos.
    std::size_t next_nonempty(std::size_t from) const;
    void collect_due(std::size_t slot, std::int64_t now_ms);

    std::int64_t tick_;         // ms
    std::size_t mask_;          // slots - 1
    std::vector<Timer*> heads_;            // one list per slot
    std::vector<std::uint64_t> nonempty_;  // bit per slot
    std::vector<Timer*> due_;              // the batch being fired (capacity reused)
    std::int64_t cursor_;       // first tick not yet fully processed
    std::uint64_t seq_ = 0;
    std::size_t size_ = 0;
    bool advancing_ = false;
};

}  // namespace sb
