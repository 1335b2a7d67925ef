#include "sb/media/rtp/outgoing_stream.h"

#include <gtest/gtest.h>

#include <array>

namespace sb::media::rtp {
namespace {

struct Packet {
    std::array<std::uint8_t, 172> bytes{};
    Packet(std::uint32_t ssrc, std::uint16_t seq, std::uint32_t ts) {
        bytes[0] = 0x80;
        store16(&bytes[2], seq);
        store32(&bytes[4], ts);
        store32(&bytes[8], ssrc);
    }
    RtpHeader header() { return RtpHeader(bytes.data(), bytes.size()); }
};

constexpr std::int64_t kMs = 1'000'000;

TEST(OutgoingStream, TheFirstRelayedSourcePassesUnchanged) {
    OutgoingStream out(0xabcdef01, 1000, 50000);
    for (int i = 0; i < 5; ++i) {
        Packet p(0x1111, static_cast<std::uint16_t>(65533 + i), 7000 + 160u * i);  // wraps
        RtpHeader h = p.header();
        out.rewrite(h, i * 20 * kMs);
        EXPECT_EQ(h.ssrc(), 0x1111u);
        EXPECT_EQ(h.sequence(), static_cast<std::uint16_t>(65533 + i));
        EXPECT_EQ(h.timestamp(), 7000u + 160u * i);
        EXPECT_FALSE(h.marker());
    }
    EXPECT_EQ(out.ssrc(), 0x1111u);
    EXPECT_EQ(out.packets(), 5u);
    EXPECT_EQ(out.octets(), 5u * 160);
}

TEST(OutgoingStream, NewSourceContinuesSequenceAndAdvancesTimestampByElapsedTime) {
    OutgoingStream out(42, 100, 1000);
    out.set_clock_rate(8000);
    for (int i = 0; i < 3; ++i) {
        Packet p(1, static_cast<std::uint16_t>(10 + i), 500 + 160u * i);
        RtpHeader h = p.header();
        out.rewrite(h, i * 20 * kMs);
    }
    // Last sent: source 1's seq 12, ts 820 at 40 ms. The new source starts 100 ms later.
    Packet q(2, 30000, 123456789);
    RtpHeader h = q.header();
    out.rewrite(h, 140 * kMs);
    EXPECT_EQ(h.ssrc(), 1u);  // the stream keeps its SSRC
    EXPECT_EQ(h.sequence(), 13);
    EXPECT_EQ(h.timestamp(), 820u + 800u);  // 100 ms at 8 kHz
    EXPECT_TRUE(h.marker());
    Packet r(2, 30001, 123456789 + 160);
    RtpHeader h2 = r.header();
    out.rewrite(h2, 160 * kMs);
    EXPECT_EQ(h2.ssrc(), 1u);
    EXPECT_EQ(h2.sequence(), 14);
    EXPECT_EQ(h2.timestamp(), 820u + 800u + 160u);
    EXPECT_FALSE(h2.marker());
}

TEST(OutgoingStream, ClockRateScalesTheGap) {
    OutgoingStream out(7, 0, 0);
    out.set_clock_rate(48000);
    Packet a(1, 5, 960);
    RtpHeader ha = a.header();
    out.rewrite(ha, 0);
    Packet b(9, 77, 5);
    RtpHeader hb = b.header();
    out.rewrite(hb, 20 * kMs);
    EXPECT_EQ(hb.timestamp() - ha.timestamp(), 960u);  // 20 ms at 48 kHz
}

TEST(OutgoingStream, ReorderedPacketKeepsItsPlaceAndDoesNotRewindTheStream) {
    OutgoingStream out(7, 500, 8000);
    auto send = [&](std::uint32_t ssrc, std::uint16_t seq, std::uint32_t ts, std::int64_t t) {
        Packet p(ssrc, seq, ts);
        RtpHeader h = p.header();
        out.rewrite(h, t);
        return std::pair{h.sequence(), h.timestamp()};
    };
    send(1, 10, 0, 0);
    send(1, 12, 320, 40 * kMs);
    auto late = send(1, 11, 160, 41 * kMs);  // arrives after 12
    EXPECT_EQ(late.first, 11);
    EXPECT_EQ(late.second, 160u);
    // The next source follows 12 (the newest), not the late 11.
    auto next = send(2, 9000, 0, 60 * kMs);
    EXPECT_EQ(next.first, 13);
    EXPECT_GT(next.second, 320u);
}

TEST(OutgoingStream, SameSourceReturningAfterAnotherIsRebased) {
    OutgoingStream out(7, 0, 0);
    std::uint16_t last = 0;
    for (std::uint32_t ssrc : {1u, 2u, 1u}) {
        for (int i = 0; i < 2; ++i) {
            Packet p(ssrc, static_cast<std::uint16_t>(ssrc * 1000 + i), 0);
            RtpHeader h = p.header();
            out.rewrite(h, 0);
            last = h.sequence();
        }
    }
    EXPECT_EQ(last, 1005);  // six packets numbered from source 1's 1000, no gap, no repeat
}

TEST(RtpHeader, ValidityChecks) {
    std::array<std::uint8_t, 20> b{};
    b[0] = 0x80;
    EXPECT_TRUE(RtpHeader(b.data(), 12).valid());
    EXPECT_FALSE(RtpHeader(b.data(), 11).valid());
    b[0] = 0x40;  // version 1
    EXPECT_FALSE(RtpHeader(b.data(), 12).valid());
    b[0] = 0x83;  // three CSRCs need 24 bytes
    EXPECT_FALSE(RtpHeader(b.data(), 20).valid());
    b[0] = 0x80;
    b[1] = 200;  // an RTCP sender report multiplexed on the RTP port (RFC 5761)
    EXPECT_FALSE(RtpHeader(b.data(), 12).valid());
    EXPECT_TRUE(RtpHeader(b.data(), 12).is_rtcp_mux());
}

}  // namespace
}  // namespace sb::media::rtp
