#include "sb/server/overload_guard.h"

#include <gtest/gtest.h>

namespace sb::server {
namespace {

using ms = Duration;

// Ticks every 10 ms for `span`, each reporting a queueing delay of `delay`.
void run(OverloadGuard& g, ms& wall, ms span, ms delay) {
    for (ms t{0}; t < span; t += ms{10}) {
        wall += ms{10};
        g.tick(wall, delay);
    }
}

int admitted_of(OverloadGuard& g, int n) {
    int a = 0;
    for (int i = 0; i < n; ++i) a += g.admit();
    return a;
}

TEST(OverloadGuard, ShortQueueAdmitsEverything) {
    OverloadGuard g;
    ms wall{0};
    g.tick(wall, ms{0});  // windows close at 100, 200, ... ms
    run(g, wall, ms{5000}, ms{20});
    EXPECT_FALSE(g.overloaded());
    EXPECT_EQ(admitted_of(g, 1000), 1000);
    run(g, wall, ms{5000}, ms{150});  // long, but well under T1: phones do not retransmit yet
    EXPECT_FALSE(g.overloaded());
}

TEST(OverloadGuard, SustainedQueueingDelayShedsAShareThatGrowsWithIt) {
    OverloadGuard g;
    ms wall{0};
    g.tick(wall, ms{0});             // windows close at 100, 200, ... ms
    run(g, wall, ms{200}, ms{250});  // two windows: a burst, not yet overload
    EXPECT_FALSE(g.overloaded());
    run(g, wall, ms{100}, ms{250});
    ASSERT_TRUE(g.overloaded());
    EXPECT_NEAR(admitted_of(g, 1000), 700, 1);  // refusals spread evenly
    run(g, wall, ms{1000}, ms{300});
    EXPECT_LT(g.admit_fraction(), 0.05 + 1e-9);  // the floor
    EXPECT_GT(admitted_of(g, 1000), 0) << "never refuses everything";
}

TEST(OverloadGuard, ABurstIsNotOverload) {
    OverloadGuard g;
    ms wall{0};
    g.tick(wall, ms{0});  // windows close at 100, 200, ... ms
    for (int i = 0; i < 10; ++i) {
        run(g, wall, ms{100}, ms{400});  // two windows at most
        run(g, wall, ms{300}, ms{5});
        EXPECT_FALSE(g.overloaded());
    }
}

TEST(OverloadGuard, RecoversStepByStepWhenTheQueueIsShort) {
    OverloadGuard g;
    ms wall{0};
    g.tick(wall, ms{0});  // windows close at 100, 200, ... ms
    run(g, wall, ms{400}, ms{500});
    ASSERT_TRUE(g.overloaded());
    double low = g.admit_fraction();
    run(g, wall, ms{300}, ms{150});  // under the bound, not under half of it: hold
    EXPECT_DOUBLE_EQ(g.admit_fraction(), low);
    run(g, wall, ms{2000}, ms{10});
    EXPECT_FALSE(g.overloaded());
}

TEST(OverloadGuard, DisabledNeverSheds) {
    OverloadGuard g(OverloadConfig{.enabled = false});
    ms wall{0};
    run(g, wall, ms{2000}, ms{5000});
    EXPECT_FALSE(g.overloaded());
    EXPECT_EQ(admitted_of(g, 100), 100);
}

}  // namespace
}  // namespace sb::server
