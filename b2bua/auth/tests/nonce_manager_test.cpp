// Nonce lifecycle, driven by a FakeClock (RFC 7616 3.3 and 5.4-5.5: nonce lifetime, nonce-count).
#include "sb/auth/nonce_manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace sb::auth {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";

// A different base64url character at position i (the same length, still in the alphabet).
std::string flip(std::string s, std::size_t i) {
    s[i] = s[i] == 'A' ? 'B' : 'A';
    return s;
}

TEST(NonceManager, IssuesDistinctUrlSafeNonces) {
    FakeClock clock;
    NonceManager nm(clock, kSecret);
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        std::string n = nm.issue();
        ASSERT_EQ(n.size(), 43u);
        for (char c : n) {
            ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << n;
        }
        EXPECT_TRUE(seen.insert(n).second);
    }
    EXPECT_EQ(nm.tracked(), 0u);  // issuing stores nothing: a flood of challenges costs no memory
}

TEST(NonceManager, ReuseWithIncreasingNcAndReplayDetection) {
    FakeClock clock;
    NonceManager nm(clock, kSecret);
    std::string n = nm.issue();
    EXPECT_EQ(nm.check(n, 1), NonceVerdict::valid);
    EXPECT_EQ(nm.check(n, 1), NonceVerdict::valid);  // check() records nothing
    EXPECT_EQ(nm.check_and_accept(n, 1), NonceVerdict::valid);
    EXPECT_EQ(nm.check(n, 1), NonceVerdict::replayed);
    EXPECT_EQ(nm.check_and_accept(n, 1), NonceVerdict::replayed);  // same nc
    clock.advance(10s);
    EXPECT_EQ(nm.check_and_accept(n, 2), NonceVerdict::valid);     // nc + 1
    EXPECT_EQ(nm.check_and_accept(n, 1), NonceVerdict::replayed);  // lower nc
    EXPECT_EQ(nm.check_and_accept(n, 7), NonceVerdict::valid);     // gaps are fine
    EXPECT_EQ(nm.check_and_accept(n, 5), NonceVerdict::replayed);
    EXPECT_EQ(nm.check_and_accept(n, 0), NonceVerdict::replayed);
    // Other nonces are independent.
    std::string other = nm.issue();
    EXPECT_EQ(nm.check_and_accept(other, 1), NonceVerdict::valid);
}

TEST(NonceManager, ExpiredNonceIsStale) {
    FakeClock clock;
    NonceManager nm(clock, kSecret, NonceConfig{.lifetime = 300s});
    clock.advance(1s);  // nonces are stamped after the start-up second (see issue())
    std::string n = nm.issue();
    ASSERT_EQ(nm.check_and_accept(n, 1), NonceVerdict::valid);
    clock.advance(299s);
    EXPECT_EQ(nm.check_and_accept(n, 2), NonceVerdict::valid);
    clock.advance(1s);
    EXPECT_EQ(nm.check(n, 3), NonceVerdict::stale);
    EXPECT_EQ(nm.check_and_accept(n, 3), NonceVerdict::stale);
    // Staleness wins over replay: the client just needs a fresh nonce.
    EXPECT_EQ(nm.check_and_accept(n, 1), NonceVerdict::stale);
}

TEST(NonceManager, ForgedAndGarbledNoncesAreInvalid) {
    FakeClock clock;
    NonceManager nm(clock, kSecret);
    std::string n = nm.issue();
    EXPECT_EQ(nm.check(std::string(43, 'A'), 1), NonceVerdict::invalid);
    EXPECT_EQ(nm.check("", 1), NonceVerdict::invalid);
    EXPECT_EQ(nm.check("dcd98b7102dd2f0e8b11d0f600bfb0c093", 1), NonceVerdict::invalid);
    EXPECT_EQ(nm.check(n + "A", 1), NonceVerdict::invalid);
    EXPECT_EQ(nm.check(n.substr(0, 42), 1), NonceVerdict::invalid);
    std::string bad_char = n;
    bad_char[20] = '/';
    EXPECT_EQ(nm.check(bad_char, 1), NonceVerdict::invalid);
    EXPECT_EQ(nm.check(flip(n, 30), 1), NonceVerdict::invalid);  // inside the MAC
    EXPECT_EQ(nm.check(flip(n, 12), 1), NonceVerdict::invalid);  // inside the salt
    // Non-canonical last character (non-zero padding bits) decodes to the same bytes: refused.
    std::string noncanon = n;
    noncanon[42] = noncanon[42] == 'B' ? 'C' : 'B';
    EXPECT_EQ(nm.check(noncanon, 1), NonceVerdict::invalid);
    EXPECT_EQ(nm.check_and_accept(n, 1), NonceVerdict::valid);  // the real one still works
}

TEST(NonceManager, TamperedTimeIsInvalid) {
    FakeClock clock;
    NonceManager nm(clock, kSecret, NonceConfig{.lifetime = 300s});
    std::string n = nm.issue();
    clock.advance(400s);
    ASSERT_EQ(nm.check(n, 1), NonceVerdict::stale);
    // Characters 0-9 carry the issue time only: moving it cannot keep the MAC valid.
    for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(nm.check(flip(n, i), 1), NonceVerdict::invalid) << i;
}

TEST(NonceManager, AnotherSecretIsInvalidAndARestartIsStale) {
    FakeClock clock;
    NonceManager a(clock, kSecret);
    NonceManager other_secret(clock, "another secret, another server!!");
    NonceManager random_secret(clock, "");
    std::string n = a.issue();
    EXPECT_EQ(other_secret.check(n, 1), NonceVerdict::invalid);
    EXPECT_EQ(random_secret.check(n, 1), NonceVerdict::invalid);
    // Same secret, empty table (a restart, or another node): authentic but unknown nc history.
    clock.advance(2s);
    NonceManager restarted(clock, kSecret);
    EXPECT_EQ(restarted.check_and_accept(n, 1), NonceVerdict::stale);
}

TEST(NonceManager, NonceFromTheFutureIsStale) {
    FakeClock issuer_clock(1'700'000'100);
    FakeClock behind(1'700'000'000);  // our wall clock stepped back 100 s
    NonceManager issuer(issuer_clock, kSecret);
    NonceManager nm(behind, kSecret);
    EXPECT_EQ(nm.check(issuer.issue(), 1), NonceVerdict::stale);
}

TEST(NonceManager, EvictsOldestWhenFullAndEvictedNoncesNeverValidateAgain) {
    FakeClock clock;
    NonceManager nm(clock, kSecret, NonceConfig{.lifetime = 300s, .max_tracked = 3, .shards = 1});
    clock.advance(1s);
    std::string n1 = nm.issue();
    clock.advance(1s);
    std::string n2 = nm.issue();
    std::string n3 = nm.issue();
    std::string n4 = nm.issue();
    std::string unused = nm.issue();
    ASSERT_EQ(nm.check_and_accept(n1, 1), NonceVerdict::valid);
    ASSERT_EQ(nm.check_and_accept(n2, 1), NonceVerdict::valid);
    ASSERT_EQ(nm.check_and_accept(n3, 1), NonceVerdict::valid);
    EXPECT_EQ(nm.tracked(), 3u);
    ASSERT_EQ(nm.check_and_accept(n4, 1), NonceVerdict::valid);  // table full: n1, the oldest, goes
    EXPECT_EQ(nm.tracked(), 3u);
    EXPECT_EQ(nm.check_and_accept(n1, 2), NonceVerdict::stale);
    EXPECT_EQ(nm.check_and_accept(n1, 1), NonceVerdict::stale);  // no replay through eviction
    EXPECT_EQ(nm.check_and_accept(n2, 1), NonceVerdict::replayed);  // still tracked
    EXPECT_EQ(nm.check_and_accept(n2, 2), NonceVerdict::valid);
    EXPECT_EQ(nm.check(unused, 1), NonceVerdict::valid);  // issued after n1: never used
}

TEST(NonceManager, EvictionForgetsEveryNonceIssuedNoLaterThanTheEvictedOne) {
    FakeClock clock;
    NonceManager nm(clock, kSecret, NonceConfig{.lifetime = 300s, .max_tracked = 1, .shards = 1});
    clock.advance(1s);
    std::string early_unused = nm.issue();
    std::string first = nm.issue();
    clock.advance(5s);
    std::string later = nm.issue();
    ASSERT_EQ(nm.check_and_accept(first, 1), NonceVerdict::valid);
    ASSERT_EQ(nm.check_and_accept(later, 1), NonceVerdict::valid);  // evicts `first`
    // `early_unused` was issued in the same second as `first`: it might have been used and
    // forgotten as far as the table can tell, so it is stale rather than valid.
    EXPECT_EQ(nm.check(early_unused, 1), NonceVerdict::stale);
    EXPECT_EQ(nm.check(first, 2), NonceVerdict::stale);
}

TEST(NonceManager, ExpiredNoncesAreEvictedFirst) {
    FakeClock clock;
    NonceManager nm(clock, kSecret, NonceConfig{.lifetime = 300s, .max_tracked = 3, .shards = 1});
    clock.advance(1s);
    ASSERT_EQ(nm.check_and_accept(nm.issue(), 1), NonceVerdict::valid);
    ASSERT_EQ(nm.check_and_accept(nm.issue(), 1), NonceVerdict::valid);
    clock.advance(200s);
    std::string live = nm.issue();
    ASSERT_EQ(nm.check_and_accept(live, 1), NonceVerdict::valid);
    clock.advance(150s);  // the first two are expired now
    std::string fresh = nm.issue();
    ASSERT_EQ(nm.check_and_accept(fresh, 1), NonceVerdict::valid);
    EXPECT_EQ(nm.tracked(), 2u);
    EXPECT_EQ(nm.check(live, 2), NonceVerdict::valid);
    EXPECT_EQ(nm.check(fresh, 2), NonceVerdict::valid);
}

TEST(NonceManager, TableStaysBoundedAcrossStripes) {
    FakeClock clock;
    NonceManager nm(clock, kSecret, NonceConfig{.max_tracked = 1000, .shards = 16});
    clock.advance(1s);
    std::vector<std::string> all;
    for (int i = 0; i < 20000; ++i) {
        all.push_back(nm.issue());
        ASSERT_NE(nm.check_and_accept(all.back(), 1), NonceVerdict::invalid);
    }
    EXPECT_LE(nm.tracked(), 1000u);
    EXPECT_GT(nm.tracked(), 900u);
    int tracked = 0;
    for (const auto& n : all) {
        NonceVerdict v = nm.check(n, 1);
        ASSERT_TRUE(v == NonceVerdict::replayed || v == NonceVerdict::stale);
        tracked += v == NonceVerdict::replayed;
    }
    EXPECT_EQ(static_cast<std::size_t>(tracked), nm.tracked());
}

// The race the API exists to close: the same (nonce, nc) presented by several threads at once
// is accepted exactly once.
TEST(NonceManager, CheckAndAcceptIsAtomicAcrossThreads) {
    FakeClock clock;
    NonceManager nm(clock, kSecret);
    const std::string n = nm.issue();
    constexpr int kThreads = 8;
    constexpr std::uint32_t kRounds = 300;
    std::vector<std::atomic<int>> accepted(kRounds + 1);
    std::barrier sync(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (std::uint32_t nc = 1; nc <= kRounds; ++nc) {
                sync.arrive_and_wait();  // everyone presents this nc together
                if (nm.check_and_accept(n, nc) == NonceVerdict::valid) accepted[nc].fetch_add(1);
                if (t % 2 == 0) nm.issue();  // other stripes busy at the same time
            }
        });
    }
    for (auto& th : threads) th.join();
    for (std::uint32_t nc = 1; nc <= kRounds; ++nc) EXPECT_EQ(accepted[nc].load(), 1) << "nc " << nc;
}

// Unsynchronised threads racing up the nc sequence: no nc is ever accepted twice.
TEST(NonceManager, NoNcAcceptedTwiceUnderContention) {
    FakeClock clock;
    NonceManager nm(clock, kSecret);
    const std::string n = nm.issue();
    constexpr std::uint32_t kMax = 20000;
    std::vector<std::atomic<int>> accepted(kMax + 1);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (std::uint32_t nc = 1; nc <= kMax; ++nc) {
                if (nm.check_and_accept(n, nc) == NonceVerdict::valid) accepted[nc].fetch_add(1);
            }
        });
    }
    for (auto& th : threads) th.join();
    int total = 0;
    for (std::uint32_t nc = 1; nc <= kMax; ++nc) {
        ASSERT_LE(accepted[nc].load(), 1) << "nc " << nc;
        total += accepted[nc].load();
    }
    EXPECT_GE(total, 1);
    EXPECT_EQ(accepted[kMax].load(), 1);  // the highest is always taken by someone
}

}  // namespace
}  // namespace sb::auth
