// Banning addresses that fail authentication repeatedly; time driven by a FakeClock.
#include "sb/auth/ban_list.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

namespace sb::auth {
namespace {

using namespace std::chrono_literals;

TEST(BanList, BansAfterMaxFailuresWithinTheWindow) {
    FakeClock clock;
    BanList bans(clock);  // 5 failures in 60 s -> 600 s
    for (int i = 0; i < 4; ++i) {
        EXPECT_FALSE(bans.record_failure("192.0.2.1"));
        clock.advance(10s);
    }
    EXPECT_FALSE(bans.is_banned("192.0.2.1"));
    EXPECT_TRUE(bans.record_failure("192.0.2.1"));  // the 5th, 40 s after the 1st: log this once
    EXPECT_TRUE(bans.is_banned("192.0.2.1"));
    EXPECT_FALSE(bans.record_failure("192.0.2.1"));  // already banned: nothing new to log
    EXPECT_FALSE(bans.is_banned("192.0.2.2"));
}

TEST(BanList, FailuresSpreadOverMoreThanTheWindowDoNotBan) {
    FakeClock clock;
    BanList bans(clock);
    for (int i = 0; i < 50; ++i) {
        EXPECT_FALSE(bans.record_failure("192.0.2.1")) << i;  // one every 15 s: 4 per 60 s window
        clock.advance(15s);
    }
    EXPECT_FALSE(bans.is_banned("192.0.2.1"));
    // Exactly the window apart: the first has left it when the fifth arrives.
    BanList edge(clock, BanConfig{.max_failures = 2, .window = 60s});
    EXPECT_FALSE(edge.record_failure("a"));
    clock.advance(60s);
    EXPECT_FALSE(edge.record_failure("a"));
    clock.advance(59s);
    EXPECT_TRUE(edge.record_failure("a"));
}

TEST(BanList, BanExpiresAfterBanTime) {
    FakeClock clock;
    BanList bans(clock, BanConfig{.max_failures = 1, .ban_time = 600s});
    EXPECT_TRUE(bans.record_failure("2001:db8::1"));
    clock.advance(599s);
    EXPECT_TRUE(bans.is_banned("2001:db8::1"));
    auto list = bans.banned_list();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].address, "2001:db8::1");
    EXPECT_EQ(list[0].remaining, 1s);
    clock.advance(1s);
    EXPECT_FALSE(bans.is_banned("2001:db8::1"));
    EXPECT_TRUE(bans.banned_list().empty());
    EXPECT_EQ(bans.tracked(), 0u);
    EXPECT_TRUE(bans.record_failure("2001:db8::1"));  // a new ban after the old one ended
}

TEST(BanList, SuccessResetsTheCount) {
    FakeClock clock;
    BanList bans(clock);
    for (int i = 0; i < 4; ++i) EXPECT_FALSE(bans.record_failure("198.51.100.7"));
    bans.record_success("198.51.100.7");
    EXPECT_EQ(bans.tracked(), 0u);
    for (int i = 0; i < 4; ++i) EXPECT_FALSE(bans.record_failure("198.51.100.7"));
    EXPECT_FALSE(bans.is_banned("198.51.100.7"));
    EXPECT_TRUE(bans.record_failure("198.51.100.7"));
    bans.record_success("198.51.100.7");  // does not lift an active ban
    EXPECT_TRUE(bans.is_banned("198.51.100.7"));
}

TEST(BanList, ManualBanAndUnban) {
    FakeClock clock;
    BanList bans(clock);
    EXPECT_TRUE(bans.ban("203.0.113.9"));
    EXPECT_FALSE(bans.ban("203.0.113.9"));
    EXPECT_TRUE(bans.is_banned("203.0.113.9"));
    EXPECT_TRUE(bans.unban("203.0.113.9"));
    EXPECT_FALSE(bans.unban("203.0.113.9"));
    EXPECT_FALSE(bans.is_banned("203.0.113.9"));
    EXPECT_FALSE(bans.unban("never-seen"));
}

TEST(BanList, BannedListShowsEveryCurrentBan) {
    FakeClock clock;
    BanList bans(clock, BanConfig{.max_failures = 1});
    for (int i = 0; i < 100; ++i) bans.record_failure("10.0.0." + std::to_string(i));
    auto list = bans.banned_list();
    EXPECT_EQ(list.size(), 100u);
    EXPECT_TRUE(std::all_of(list.begin(), list.end(), [](const BannedAddress& b) { return b.remaining == 600s; }));
}

TEST(BanList, BoundedUnderAMillionDistinctAddresses) {
    FakeClock clock;
    BanList bans(clock);  // max_tracked_addresses 65536
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(bans.ban("banned-" + std::to_string(i)));
    char addr[32];
    for (std::uint32_t i = 0; i < 1'000'000; ++i) {
        std::snprintf(addr, sizeof addr, "10.%u.%u.%u", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
        bans.record_failure(addr);
    }
    EXPECT_LE(bans.tracked(), 65536u);
    // Watched entries were evicted first; the bans survived the flood.
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(bans.is_banned("banned-" + std::to_string(i))) << i;
}

TEST(BanList, WhenOnlyBansRemainTheSoonestToEndIsEvicted) {
    FakeClock clock;
    BanList bans(clock, BanConfig{.max_tracked_addresses = 2, .shards = 1});
    bans.ban("a");
    clock.advance(1s);
    bans.ban("b");
    bans.ban("c");
    EXPECT_EQ(bans.tracked(), 2u);
    EXPECT_FALSE(bans.is_banned("a"));
    EXPECT_TRUE(bans.is_banned("b"));
    EXPECT_TRUE(bans.is_banned("c"));
}

TEST(BanList, LongKeysAreTruncated) {
    FakeClock clock;
    BanList bans(clock);
    std::string long_key(200, 'k');
    EXPECT_TRUE(bans.ban(long_key));
    EXPECT_TRUE(bans.is_banned(long_key.substr(0, BanList::kMaxKeyBytes)));
    EXPECT_EQ(bans.banned_list()[0].address.size(), BanList::kMaxKeyBytes);
}

TEST(BanList, ThreadsBanEachAddressOnce) {
    FakeClock clock;
    BanList bans(clock);
    std::atomic<int> newly_banned{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 20000; ++i) {
                if (bans.record_failure("addr-" + std::to_string(i % 1000))) newly_banned.fetch_add(1);
                (void)bans.is_banned("addr-" + std::to_string(i % 7));
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(newly_banned.load(), 1000);  // 80 failures each, one ban each, logged once
    EXPECT_EQ(bans.banned_list().size(), 1000u);
}

}  // namespace
}  // namespace sb::auth
