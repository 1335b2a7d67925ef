#include "sb/common/timer_wheel.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <random>
#include <vector>

namespace sb {
namespace {

using namespace std::chrono_literals;

// A test timer that records when it fired and runs an optional action.
struct Probe final : Timer {
    std::vector<std::int64_t>* log = nullptr;
    int id = 0;
    int fired = 0;
    std::function<void()> action;
    void on_timer() override {
        ++fired;
        if (log) log->push_back(id);
        if (action) action();
    }
};

TimePoint at(std::int64_t ms) { return TimePoint(Duration(ms)); }

class TimerWheelTest : public ::testing::Test {
protected:
    FakeClock clock;
    TimerWheel wheel{clock.now()};
    std::vector<std::int64_t> log;

    void run_until(std::int64_t ms) {
        clock.advance(Duration(ms) - clock.now().time_since_epoch());
        wheel.advance(clock.now());
    }
};

TEST_F(TimerWheelTest, FiresExactlyAtDeadlineNotBefore) {
    Probe p;
    wheel.schedule(p, at(505));
    EXPECT_TRUE(p.scheduled());
    EXPECT_EQ(wheel.size(), 1u);
    run_until(504);
    EXPECT_EQ(p.fired, 0);
    run_until(505);
    EXPECT_EQ(p.fired, 1);
    EXPECT_FALSE(p.scheduled());
    EXPECT_EQ(wheel.size(), 0u);
    run_until(10'000);
    EXPECT_EQ(p.fired, 1);
}

TEST_F(TimerWheelTest, FiresInDeadlineOrderAcrossAndWithinTicks) {
    std::vector<std::unique_ptr<Probe>> ps;
    std::int64_t deadlines[] = {30, 7, 9, 7, 1200, 15, 3};
    for (int i = 0; i < 7; ++i) {
        auto p = std::make_unique<Probe>();
        p->log = &log;
        p->id = static_cast<int>(deadlines[i]) * 10 + i;
        wheel.schedule(*p, at(deadlines[i]));
        ps.push_back(std::move(p));
    }
    run_until(5000);  // one big jump: order still by deadline, ties by schedule order
    EXPECT_EQ(log, (std::vector<std::int64_t>{36, 71, 73, 92, 155, 300, 12004}));
}

TEST_F(TimerWheelTest, CancelIsSafeBeforeAfterAndTwice) {
    Probe a, b;
    wheel.schedule(a, at(100));
    wheel.schedule(b, at(100));
    wheel.cancel(a);
    wheel.cancel(a);
    EXPECT_EQ(wheel.size(), 1u);
    run_until(200);
    EXPECT_EQ(a.fired, 0);
    EXPECT_EQ(b.fired, 1);
    wheel.cancel(b);  // after it fired: nothing
    EXPECT_EQ(wheel.size(), 0u);
    Probe never;
    wheel.cancel(never);
}

TEST_F(TimerWheelTest, RescheduleMovesTheDeadline) {
    Probe p;
    wheel.schedule(p, at(100));
    wheel.schedule(p, at(3000));
    EXPECT_EQ(wheel.size(), 1u);
    run_until(2999);
    EXPECT_EQ(p.fired, 0);
    run_until(3000);
    EXPECT_EQ(p.fired, 1);
}

TEST_F(TimerWheelTest, DestroyingAScheduledTimerCancelsIt) {
    {
        Probe p;
        wheel.schedule(p, at(50));
    }
    EXPECT_EQ(wheel.size(), 0u);
    run_until(100);
}

TEST_F(TimerWheelTest, DeadlinesBeyondOneLapWaitForTheirLap) {
    TimerWheel small(clock.now(), TimerWheel::Options{Duration(10), 64});  // lap = 640 ms
    Probe p, q;
    small.schedule(p, at(2005));  // three laps and a bit
    small.schedule(q, at(645));
    for (std::int64_t t = 0; t <= 2100; t += 5) {
        clock.advance(clock.now().time_since_epoch() < Duration(t) ? Duration(t) - clock.now().time_since_epoch()
                                                                   : Duration(0));
        small.advance(clock.now());
        if (t < 2005) { EXPECT_EQ(p.fired, 0) << t; }
        if (t < 645) { EXPECT_EQ(q.fired, 0) << t; }
    }
    EXPECT_EQ(p.fired, 1);
    EXPECT_EQ(q.fired, 1);
}

TEST_F(TimerWheelTest, PastDeadlineFiresAtNextAdvance) {
    run_until(1000);
    Probe p;
    wheel.schedule(p, at(10));
    EXPECT_EQ(wheel.next_deadline(), at(10));
    wheel.advance(clock.now());
    EXPECT_EQ(p.fired, 1);
}

TEST_F(TimerWheelTest, CallbackCanRescheduleItselfWithoutStarving) {
    Probe p;
    p.action = [&] { wheel.schedule(p, clock.now()); };  // due "now" again
    wheel.schedule(p, at(10));
    run_until(10);
    EXPECT_EQ(p.fired, 1);  // the re-armed timer waits for the next advance()
    wheel.advance(clock.now());
    EXPECT_EQ(p.fired, 2);
    wheel.cancel(p);
}

TEST_F(TimerWheelTest, CallbackCanCancelOrDestroyOtherDueTimers) {
    auto victim = std::make_unique<Probe>();
    Probe killer, canceller, other;
    killer.action = [&] { victim.reset(); };
    canceller.action = [&] { wheel.cancel(other); };
    wheel.schedule(killer, at(10));
    wheel.schedule(*victim, at(20));  // due in the same advance, destroyed before it fires
    wheel.schedule(canceller, at(21));
    wheel.schedule(other, at(22));
    run_until(100);
    EXPECT_EQ(killer.fired, 1);
    EXPECT_EQ(canceller.fired, 1);
    EXPECT_EQ(other.fired, 0);
    EXPECT_EQ(wheel.size(), 0u);
}

TEST_F(TimerWheelTest, CallbackMayDestroyItsOwnTimer) {
    struct SelfDestruct final : Timer {
        std::unique_ptr<SelfDestruct>* holder = nullptr;
        void on_timer() override { holder->reset(); }
    };
    auto s = std::make_unique<SelfDestruct>();
    s->holder = &s;
    wheel.schedule(*s, at(10));
    run_until(10);
    EXPECT_EQ(s, nullptr);
}

TEST_F(TimerWheelTest, NextDeadline) {
    EXPECT_EQ(wheel.next_deadline(), std::nullopt);
    Probe a, b, far;
    wheel.schedule(far, at(3'600'000));  // an hour: beyond the lap
    auto lower = wheel.next_deadline();
    ASSERT_TRUE(lower.has_value());
    EXPECT_LE(*lower, at(3'600'000));
    EXPECT_GT(*lower, at(0));
    wheel.schedule(a, at(1234));
    wheel.schedule(b, at(1237));
    EXPECT_EQ(wheel.next_deadline(), at(1234));
    wheel.cancel(a);
    EXPECT_EQ(wheel.next_deadline(), at(1237));
    run_until(1237);
    lower = wheel.next_deadline();
    EXPECT_LE(*lower, at(3'600'000));
    EXPECT_GT(*lower, at(1237));
    // Driving the loop by next_deadline() alone reaches the far timer exactly.
    int wakeups = 0;
    while (far.fired == 0) {
        auto next = wheel.next_deadline();
        ASSERT_TRUE(next.has_value());
        run_until(next->time_since_epoch().count());
        ++wakeups;
    }
    EXPECT_EQ(clock.now(), at(3'600'000));
    EXPECT_LT(wakeups, 100);
}

TEST_F(TimerWheelTest, NextDeadlineSeesATimerLaterInTheCurrentTick) {
    run_until(1001);
    Probe p;
    wheel.schedule(p, at(1008));  // same 10 ms tick as now
    EXPECT_EQ(wheel.next_deadline(), at(1008));
    run_until(1007);
    EXPECT_EQ(p.fired, 0);
    run_until(1008);
    EXPECT_EQ(p.fired, 1);
}

TEST_F(TimerWheelTest, WheelDestroyedBeforeItsTimers) {
    Probe p;
    {
        TimerWheel w(clock.now());
        w.schedule(p, at(100));
    }
    EXPECT_FALSE(p.scheduled());
}  // p's destructor must not touch the dead wheel

// Against a simple model: random schedules, cancels and advances fire exactly the due timers,
// each once, in deadline order.
TEST_F(TimerWheelTest, RandomizedAgainstModel) {
    constexpr int kTimers = 2000;
    std::vector<Probe> probes(kTimers);
    std::vector<std::int64_t> deadline(kTimers, -1);  // -1: not scheduled
    std::mt19937 rng(42);
    std::vector<std::int64_t> fired_at(kTimers, -1);
    std::int64_t last_fired_deadline = -1;
    std::int64_t now = 0;
    for (int i = 0; i < kTimers; ++i) {
        probes[i].id = i;
        probes[i].action = [&, i] {
            EXPECT_LE(deadline[i], now);
            EXPECT_GE(deadline[i], last_fired_deadline);  // order within one advance
            last_fired_deadline = deadline[i];
            fired_at[i] = now;
            deadline[i] = -1;
        };
    }
    for (int step = 0; step < 20000; ++step) {
        int i = static_cast<int>(rng() % kTimers);
        switch (rng() % 4) {
            case 0:
            case 1:
                deadline[i] = now + static_cast<std::int64_t>(rng() % 70'000);  // up to ~1.7 laps
                wheel.schedule(probes[i], at(deadline[i]));
                break;
            case 2:
                wheel.cancel(probes[i]);
                deadline[i] = -1;
                break;
            default: {
                now += static_cast<std::int64_t>(rng() % 300);
                last_fired_deadline = -1;
                wheel.advance(at(now));
                for (int k = 0; k < kTimers; ++k) {
                    ASSERT_TRUE(deadline[k] == -1 || deadline[k] > now) << k;
                    ASSERT_EQ(probes[k].scheduled(), deadline[k] != -1);
                }
                auto next = wheel.next_deadline();
                std::int64_t min = -1;
                for (auto d : deadline)
                    if (d != -1 && (min == -1 || d < min)) min = d;
                if (min == -1) ASSERT_FALSE(next.has_value());
                else ASSERT_LE(next->time_since_epoch().count(), min);
                break;
            }
        }
    }
}

}  // namespace
}  // namespace sb
