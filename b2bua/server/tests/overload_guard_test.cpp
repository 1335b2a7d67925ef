#include "sb/server/overload_guard.h"

#include <gtest/gtest.h>

namespace sb::server {
namespace {

using ms = Duration;

// Feeds ticks every 10 ms for `span`, the thread busy `busy` of the time, each tick `lag` late.
void run(OverloadGuard& g, ms& wall, ms& cpu, ms span, double busy, ms lag = ms{0}) {
    for (ms t{0}; t < span; t += ms{10}) {
        wall += ms{10};
        cpu += ms{static_cast<long>(10 * busy)};
        g.tick(wall, cpu, lag);
    }
}

TEST(OverloadGuard, BusyShardIsOverloadedAndRecoversWithHysteresis) {
    OverloadGuard g;
    ms wall{1000}, cpu{0};
    run(g, wall, cpu, ms{300}, 0.5);
    EXPECT_FALSE(g.overloaded());
    run(g, wall, cpu, ms{200}, 1.0);
    EXPECT_TRUE(g.overloaded());
    run(g, wall, cpu, ms{200}, 0.8);  // below 0.9 but not below 0.75: still overloaded
    EXPECT_TRUE(g.overloaded());
    run(g, wall, cpu, ms{200}, 0.6);
    EXPECT_FALSE(g.overloaded());
}

TEST(OverloadGuard, LateTicksOfABusyShardMeanOverload) {
    OverloadGuard g;
    ms wall{0}, cpu{0};
    run(g, wall, cpu, ms{200}, 0.6, ms{250});  // working, and starved of the CPU it needs
    EXPECT_TRUE(g.overloaded());
    run(g, wall, cpu, ms{200}, 0.6, ms{5});
    EXPECT_FALSE(g.overloaded());
}

TEST(OverloadGuard, LateTicksOfAnIdleShardAreNoise) {
    OverloadGuard g;
    ms wall{0}, cpu{0};
    run(g, wall, cpu, ms{300}, 0.05, ms{400});  // a stalled VM: no reason to refuse phones
    EXPECT_FALSE(g.overloaded());
}

TEST(OverloadGuard, DisabledNeverSheds) {
    OverloadGuard g(OverloadConfig{.enabled = false});
    ms wall{0}, cpu{0};
    run(g, wall, cpu, ms{500}, 1.0, ms{500});
    EXPECT_FALSE(g.overloaded());
}

}  // namespace
}  // namespace sb::server
