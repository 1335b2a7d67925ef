// TimerWheel at the scale of a busy shard: 100,000 live timers (RFC 3261 transactions each hold
// one or two). Reference: the same operations on a std::multimap keyed by deadline, the usual
// "ordered container of timers" a naive event loop uses.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "sb/common/timer_wheel.h"

namespace {

using sb::Duration;
using sb::TimePoint;

constexpr std::size_t kLive = 100'000;
constexpr std::int64_t kSpreadMs = 32'000;  // SIP timers run up to 64*T1 = 32 s

TimePoint at(std::int64_t ms) { return TimePoint(Duration(ms)); }

struct Node final : sb::Timer {
    sb::TimerWheel* wheel = nullptr;
    std::int64_t* now = nullptr;
    std::uint32_t delay = 0;  // re-arm delay when it fires (steady state)
    std::uint64_t* fired = nullptr;
    void on_timer() override {
        ++*fired;
        wheel->schedule(*this, at(*now + delay));
    }
};

std::vector<std::uint32_t> random_delays(std::size_t n) {
    std::mt19937 rng(7);
    std::vector<std::uint32_t> d(n);
    for (auto& x : d) x = 1 + static_cast<std::uint32_t>(rng() % kSpreadMs);
    return d;
}

// Schedule then cancel one timer while 100,000 others are live.
void BM_Wheel_ScheduleCancel(benchmark::State& state) {
    sb::TimerWheel wheel(at(0));
    std::int64_t now = 0;
    std::uint64_t fired = 0;
    auto delays = random_delays(kLive + 1024);
    std::vector<Node> live(kLive);
    for (std::size_t i = 0; i < kLive; ++i) {
        live[i].wheel = &wheel;
        live[i].now = &now;
        live[i].fired = &fired;
        wheel.schedule(live[i], at(delays[i]));
    }
    std::vector<Node> extra(1024);
    std::size_t i = 0;
    for (auto _ : state) {
        Node& n = extra[i & 1023];
        wheel.schedule(n, at(delays[kLive + (i & 1023)]));
        wheel.cancel(n);
        ++i;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Wheel_ScheduleCancel);

// Reschedule a live timer (the common case for a retransmission timer) among 100,000.
void BM_Wheel_Reschedule(benchmark::State& state) {
    sb::TimerWheel wheel(at(0));
    std::int64_t now = 0;
    std::uint64_t fired = 0;
    auto delays = random_delays(kLive);
    std::vector<Node> live(kLive);
    for (std::size_t i = 0; i < kLive; ++i) {
        live[i].wheel = &wheel;
        live[i].now = &now;
        live[i].fired = &fired;
        wheel.schedule(live[i], at(delays[i]));
    }
    std::size_t i = 0;
    for (auto _ : state) {
        std::size_t k = (i * 7919) % kLive;
        wheel.schedule(live[k], at(delays[(k + 1) % kLive]));
        ++i;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Wheel_Reschedule);

// advance() by one 10 ms tick with 100,000 live timers that re-arm themselves when they fire
// (about 31 fire per tick). Items = timers fired.
void BM_Wheel_Advance(benchmark::State& state) {
    sb::TimerWheel wheel(at(0));
    std::int64_t now = 0;
    std::uint64_t fired = 0;
    auto delays = random_delays(kLive);
    std::vector<Node> live(kLive);
    for (std::size_t i = 0; i < kLive; ++i) {
        live[i].wheel = &wheel;
        live[i].now = &now;
        live[i].fired = &fired;
        live[i].delay = delays[i];
        wheel.schedule(live[i], at(delays[i]));
    }
    for (auto _ : state) {
        now += 10;
        wheel.advance(at(now));
        benchmark::DoNotOptimize(wheel.next_deadline());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(fired));
    state.counters["live"] = static_cast<double>(wheel.size());
}
BENCHMARK(BM_Wheel_Advance);

// Reference: std::multimap keyed by deadline (allocation per timer, O(log n)).
void BM_Multimap_ScheduleCancel(benchmark::State& state) {
    std::multimap<std::int64_t, std::uint32_t> timers;
    auto delays = random_delays(kLive + 1024);
    for (std::size_t i = 0; i < kLive; ++i) timers.emplace(delays[i], static_cast<std::uint32_t>(i));
    std::size_t i = 0;
    for (auto _ : state) {
        auto it = timers.emplace(delays[kLive + (i & 1023)], 0u);
        timers.erase(it);
        ++i;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Multimap_ScheduleCancel);

void BM_Multimap_Advance(benchmark::State& state) {
    std::multimap<std::int64_t, std::uint32_t> timers;
    auto delays = random_delays(kLive);
    for (std::size_t i = 0; i < kLive; ++i) timers.emplace(delays[i], static_cast<std::uint32_t>(i));
    std::int64_t now = 0;
    std::uint64_t fired = 0;
    for (auto _ : state) {
        now += 10;
        while (!timers.empty() && timers.begin()->first <= now) {
            auto node = timers.extract(timers.begin());
            ++fired;
            node.key() = now + delays[node.mapped()];
            timers.insert(std::move(node));
        }
        benchmark::DoNotOptimize(timers.begin()->first);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(fired));
}
BENCHMARK(BM_Multimap_Advance);

}  // namespace
