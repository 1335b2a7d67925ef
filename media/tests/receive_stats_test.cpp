#include "sb/media/rtp/receive_stats.h"

#include <gtest/gtest.h>

#include <vector>

namespace sb::media::rtp {
namespace {

using Accept = ReceiveStats::Accept;

constexpr std::uint32_t kSsrc = 0x5eed1234;

// A 20 ms audio stream at 8 kHz whose every packet takes the same time to arrive, so the jitter
// stays 0 whatever the order of sequence numbers.
struct Stream {
    ReceiveStats stats;
    explicit Stream(std::uint16_t first) { stats.reset(kSsrc, first); }
    // Sequence number `seq` sent at timestamp 160 * n (n counts from the first packet).
    Accept send(std::uint16_t seq, std::uint32_t n) {
        return stats.on_packet(seq, 1000 + 160 * n, 5000 + 160 * n);
    }
};

TEST(ReceiveStats, TheFirstPacketCounts) {
    Stream s(1000);
    EXPECT_EQ(s.send(1000, 0), Accept::in_order);
    EXPECT_EQ(s.stats.ssrc(), kSsrc);
    EXPECT_EQ(s.stats.packets_received(), 1u);
    EXPECT_EQ(s.stats.extended_highest_seq(), 1000u);
    EXPECT_EQ(s.stats.cumulative_lost(), 0);
}

TEST(ReceiveStats, CountsCyclesAcrossTheWrapAt65535) {
    Stream s(65530);
    for (std::uint32_t n = 0; n < 16; ++n)
        EXPECT_EQ(s.send(static_cast<std::uint16_t>(65530 + n), n), Accept::in_order) << n;
    EXPECT_EQ(s.stats.extended_highest_seq(), 0x10009u);  // one cycle, then 9
    EXPECT_EQ(s.stats.packets_received(), 16u);
    EXPECT_EQ(s.stats.cumulative_lost(), 0);
}

TEST(ReceiveStats, AFirstPacketAtZeroIsNotAWrap) {
    Stream s(0);
    EXPECT_EQ(s.send(0, 0), Accept::in_order);
    EXPECT_EQ(s.send(1, 1), Accept::in_order);
    EXPECT_EQ(s.stats.extended_highest_seq(), 1u);
    EXPECT_EQ(s.stats.cumulative_lost(), 0);
}

TEST(ReceiveStats, AReorderedPacketCountsWithoutMovingTheHighest) {
    Stream s(1);
    EXPECT_EQ(s.send(1, 0), Accept::in_order);
    EXPECT_EQ(s.send(2, 1), Accept::in_order);
    EXPECT_EQ(s.send(4, 3), Accept::in_order);
    EXPECT_EQ(s.stats.cumulative_lost(), 1);  // 3 missing so far
    EXPECT_EQ(s.send(3, 2), Accept::late);
    EXPECT_EQ(s.send(5, 4), Accept::in_order);
    EXPECT_EQ(s.stats.extended_highest_seq(), 5u);
    EXPECT_EQ(s.stats.packets_received(), 5u);
    EXPECT_EQ(s.stats.cumulative_lost(), 0);
}

TEST(ReceiveStats, AReorderedPacketAcrossTheWrapDoesNotCountACycleTwice) {
    Stream s(65534);
    EXPECT_EQ(s.send(65534, 0), Accept::in_order);
    EXPECT_EQ(s.send(0, 2), Accept::in_order);
    EXPECT_EQ(s.send(65535, 1), Accept::late);
    EXPECT_EQ(s.send(1, 3), Accept::in_order);
    EXPECT_EQ(s.stats.extended_highest_seq(), 0x10001u);
    EXPECT_EQ(s.stats.packets_received(), 4u);
    EXPECT_EQ(s.stats.cumulative_lost(), 0);
}

TEST(ReceiveStats, DuplicatesCountAndMakeTheLossNegative) {
    // RFC 3550 A.3: received counts duplicates, so the loss can go below zero.
    Stream s(10);
    EXPECT_EQ(s.send(10, 0), Accept::in_order);
    EXPECT_EQ(s.send(11, 1), Accept::in_order);
    EXPECT_EQ(s.send(11, 1), Accept::late);
    EXPECT_EQ(s.send(10, 0), Accept::late);
    EXPECT_EQ(s.send(12, 2), Accept::in_order);
    EXPECT_EQ(s.stats.packets_received(), 5u);
    EXPECT_EQ(s.stats.cumulative_lost(), -2);
    ReportBlock b = s.stats.make_report_block(0, 0);
    EXPECT_EQ(b.cumulative_lost, -2);
    EXPECT_EQ(b.fraction_lost, 0);  // negative interval loss reports 0 (6.4.1)
}

TEST(ReceiveStats, AGapBelowMaxDropoutIsLoss) {
    Stream s(1);
    EXPECT_EQ(s.send(1, 0), Accept::in_order);
    EXPECT_EQ(s.send(1 + 2999, 2999), Accept::in_order);
    EXPECT_EQ(s.stats.cumulative_lost(), 2998);
}

TEST(ReceiveStats, ALargeJumpThenASecondSequentialPacketRestarts) {
    Stream s(100);
    for (std::uint32_t n = 0; n < 10; ++n) s.send(static_cast<std::uint16_t>(100 + n), n);
    // kMaxDropout ahead: the sender may have restarted, or this is a stray packet.
    EXPECT_EQ(s.send(109 + 3000, 10), Accept::rejected);
    EXPECT_EQ(s.stats.packets_received(), 10u);
    EXPECT_EQ(s.stats.extended_highest_seq(), 109u);
    // The next one follows it: a restart. The statistics describe the new sequence.
    EXPECT_EQ(s.send(109 + 3001, 11), Accept::restarted);
    EXPECT_EQ(s.stats.packets_received(), 1u);
    EXPECT_EQ(s.stats.extended_highest_seq(), 109u + 3001);
    EXPECT_EQ(s.send(109 + 3002, 12), Accept::in_order);
    EXPECT_EQ(s.stats.packets_received(), 2u);
    EXPECT_EQ(s.stats.cumulative_lost(), 0);
}

TEST(ReceiveStats, AStrayJumpIsIgnoredWhenTheStreamGoesOn) {
    Stream s(100);
    for (std::uint32_t n = 0; n < 10; ++n) s.send(static_cast<std::uint16_t>(100 + n), n);
    EXPECT_EQ(s.send(40000, 10), Accept::rejected);
    EXPECT_EQ(s.send(110, 10), Accept::in_order);
    EXPECT_EQ(s.send(40000, 11), Accept::rejected);  // not 40000 + 1: no restart
    EXPECT_EQ(s.send(111, 11), Accept::in_order);
    EXPECT_EQ(s.stats.packets_received(), 12u);
    EXPECT_EQ(s.stats.extended_highest_seq(), 111u);
}

TEST(ReceiveStats, AJumpBackBeyondMaxMisorderIsAJumpToo) {
    Stream s(1000);
    for (std::uint32_t n = 0; n < 10; ++n) s.send(static_cast<std::uint16_t>(1000 + n), n);
    EXPECT_EQ(s.send(1009 - 99, 10), Accept::late);       // within kMaxMisorder: reordered
    EXPECT_EQ(s.send(1009 - 100, 11), Accept::rejected);  // kMaxMisorder behind: a jump
    EXPECT_EQ(s.send(800, 12), Accept::rejected);
    EXPECT_EQ(s.send(801, 13), Accept::restarted);
    EXPECT_EQ(s.stats.extended_highest_seq(), 801u);
    EXPECT_EQ(s.stats.packets_received(), 1u);
}

TEST(ReceiveStats, FractionLostPerReportInterval) {
    Stream s(0);
    // Interval 1: 0..99 with every tenth (5, 15, ... 95) missing: 100 expected, 90 received.
    for (std::uint32_t n = 0; n < 100; ++n)
        if (n % 10 != 5) s.send(static_cast<std::uint16_t>(n), n);
    ReportBlock first = s.stats.make_report_block(0x11112222, 0x00010000);
    EXPECT_EQ(first.ssrc, kSsrc);
    EXPECT_EQ(first.fraction_lost, 25);  // 10 / 100 * 256 = 25.6, rounded down
    EXPECT_EQ(first.cumulative_lost, 10);
    EXPECT_EQ(first.extended_highest_seq, 99u);
    EXPECT_EQ(first.lsr, 0x11112222u);
    EXPECT_EQ(first.dlsr, 0x00010000u);
    // Interval 2: 100..199 complete. The fraction is about this interval only.
    for (std::uint32_t n = 100; n < 200; ++n) s.send(static_cast<std::uint16_t>(n), n);
    ReportBlock second = s.stats.make_report_block(0, 0);
    EXPECT_EQ(second.fraction_lost, 0);
    EXPECT_EQ(second.cumulative_lost, 10);
    // Interval 3: 200..299, every other one lost: 50 of 100.
    for (std::uint32_t n = 200; n < 300; ++n)
        if (n % 2 == 1) s.send(static_cast<std::uint16_t>(n), n);
    ReportBlock third = s.stats.make_report_block(0, 0);
    EXPECT_EQ(third.fraction_lost, 128);
    EXPECT_EQ(third.cumulative_lost, 60);
    EXPECT_EQ(third.extended_highest_seq, 299u);
    // Nothing since: nothing expected, nothing lost.
    EXPECT_EQ(s.stats.make_report_block(0, 0).fraction_lost, 0);
}

TEST(ReceiveStats, CumulativeLostIsClampedTo24BitsInTheBlock) {
    Stream s(0);
    std::uint16_t seq = 0;
    s.send(seq, 0);
    for (std::uint32_t n = 1; n <= 2800; ++n) {
        seq = static_cast<std::uint16_t>(seq + 2999);  // 2998 lost each time
        ASSERT_EQ(s.send(seq, n), Accept::in_order);
    }
    EXPECT_EQ(s.stats.cumulative_lost(), 2998 * 2800);
    EXPECT_EQ(s.stats.make_report_block(0, 0).cumulative_lost, 0x7fffff);
}

TEST(ReceiveStats, JitterIsZeroForAConstantTransit) {
    ReceiveStats stats;
    stats.reset(kSsrc, 0);
    for (std::uint32_t n = 0; n < 50; ++n) {
        // The RTP clock starts near the 32-bit wrap; the arrival clock elsewhere.
        stats.on_packet(static_cast<std::uint16_t>(n), 0xffffff00 + 160 * n, 777 + 160 * n);
        EXPECT_EQ(stats.jitter(), 0u) << n;
    }
}

TEST(ReceiveStats, JitterFollowsA16thOfEachDifference) {
    // Transit alternating between two values 80 units apart: |D| = 80 on every packet
    // (RFC 3550 6.4.1), and J += (|D| - J) / 16 converges to 80.
    ReceiveStats stats;
    stats.reset(kSsrc, 0);
    std::vector<std::uint32_t> seen;
    for (std::uint32_t n = 0; n < 300; ++n) {
        const std::uint32_t ts = 160 * n;
        stats.on_packet(static_cast<std::uint16_t>(n), ts, ts + 4000 + (n % 2 == 1 ? 80 : 0));
        seen.push_back(stats.jitter());
    }
    EXPECT_EQ(seen[0], 0u);
    EXPECT_EQ(seen[1], 5u);   // 80 / 16
    EXPECT_EQ(seen[2], 10u);  // 5 + 75 / 16 = 9.69
    EXPECT_EQ(seen.back(), 80u);
    EXPECT_EQ(stats.make_report_block(0, 0).jitter, 80u);

    // Back to a constant transit: it decays to 0.
    for (std::uint32_t n = 300; n < 600; ++n) {
        const std::uint32_t ts = 160 * n;
        stats.on_packet(static_cast<std::uint16_t>(n), ts, ts + 4000);
    }
    EXPECT_EQ(stats.jitter(), 0u);
}

TEST(ReceiveStats, PacketsSharingATimestampAreOneJitterSample) {
    // An RFC 4733 event: its packets keep the timestamp of the digit's start while they arrive
    // every 20 ms. They are not transit changes.
    ReceiveStats stats;
    stats.reset(kSsrc, 0);
    std::uint16_t seq = 0;
    for (std::uint32_t n = 0; n < 5; ++n) stats.on_packet(seq++, 160 * n, 160 * n + 9);
    for (std::uint32_t n = 5; n < 10; ++n) stats.on_packet(seq++, 160 * 5, 160 * n + 9);
    for (std::uint32_t n = 10; n < 15; ++n) stats.on_packet(seq++, 160 * n, 160 * n + 9);
    EXPECT_EQ(stats.jitter(), 0u);
    EXPECT_EQ(stats.packets_received(), 15u);
}

TEST(ReceiveStats, ReorderedPacketsAreNotJitterSamples) {
    ReceiveStats stats;
    stats.reset(kSsrc, 0);
    for (std::uint32_t n : {0u, 1u, 3u, 2u, 4u, 5u})  // 2 arrives after 3, 20 ms late
        stats.on_packet(static_cast<std::uint16_t>(n), 160 * n, 160 * (n == 2 ? 4 : n));
    EXPECT_EQ(stats.jitter(), 0u);
}

TEST(ReceiveStats, ARestartStartsTheTransitAfresh) {
    ReceiveStats stats;
    stats.reset(kSsrc, 0);
    for (std::uint32_t n = 0; n < 10; ++n)
        stats.on_packet(static_cast<std::uint16_t>(n), 160 * n, 160 * n);
    // The sender restarts with new random sequence numbers and timestamps.
    EXPECT_EQ(stats.on_packet(30000, 0x80000000, 1600), Accept::rejected);
    EXPECT_EQ(stats.on_packet(30001, 0x80000000 + 160, 1760), Accept::restarted);
    EXPECT_EQ(stats.on_packet(30002, 0x80000000 + 320, 1920), Accept::in_order);
    EXPECT_EQ(stats.jitter(), 0u);
}

TEST(ReceiveStats, ResetForANewSourceStartsOver) {
    Stream s(500);
    for (std::uint32_t n = 0; n < 10; ++n)
        if (n != 4) s.send(static_cast<std::uint16_t>(500 + n), n);
    EXPECT_EQ(s.stats.cumulative_lost(), 1);
    s.stats.reset(0xabcdef, 7);
    EXPECT_EQ(s.stats.on_packet(7, 0, 0), Accept::in_order);
    EXPECT_EQ(s.stats.ssrc(), 0xabcdefu);
    EXPECT_EQ(s.stats.packets_received(), 1u);
    EXPECT_EQ(s.stats.extended_highest_seq(), 7u);
    EXPECT_EQ(s.stats.cumulative_lost(), 0);
    EXPECT_EQ(s.stats.make_report_block(0, 0).fraction_lost, 0);
}

}  // namespace
}  // namespace sb::media::rtp
