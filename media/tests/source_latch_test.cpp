#include "sb/media/rtp/source_latch.h"

#include <gtest/gtest.h>

namespace sb::media::rtp {
namespace {

SockAddr at(const char* ip, std::uint16_t port) {
    return SockAddr::from(*Endpoint::from_ip(ip, port));
}
constexpr std::int64_t kMs = 1'000'000;

TEST(SourceLatch, SendsToTheSdpAddressUntilAPacketArrives) {
    SourceLatch l;
    l.set_expected(at("192.0.2.10", 4000), SockAddr{});
    EXPECT_EQ(l.destination(), at("192.0.2.10", 4000));
    EXPECT_TRUE(l.latched().empty());
    EXPECT_TRUE(l.accept(at("192.0.2.10", 4000), 1, 1, 0));
    EXPECT_EQ(l.latched(), at("192.0.2.10", 4000));
}

TEST(SourceLatch, NatLatchesToTheRealSourceOnTheSignallingAddress) {
    SourceLatch l;
    // The phone's SDP names its private address; its SIP and RTP come from the NAT's.
    l.set_expected(at("10.0.0.5", 4000), at("203.0.113.7", 5060));
    EXPECT_TRUE(l.destination().empty()) << "nothing to the private address before it sends";
    EXPECT_TRUE(l.accept(at("203.0.113.7", 61000), 1, 1, 0));
    EXPECT_EQ(l.destination(), at("203.0.113.7", 61000));
}

TEST(SourceLatch, AnUnexpectedSourceNeedsASteadyStreamAndLosesToThePhone) {
    SourceLatch l;
    l.set_expected(at("10.0.0.5", 4000), at("203.0.113.7", 5060));
    // One packet from elsewhere (a port scanner, a stray stream) latches nothing.
    EXPECT_FALSE(l.accept(at("198.51.100.66", 4000), 1, 1, 0));
    EXPECT_TRUE(l.latched().empty());
    EXPECT_TRUE(l.destination().empty());
    // A steady stream from another address of the phone's host (multi-homed) is learnt...
    EXPECT_FALSE(l.accept(at("198.51.100.66", 4000), 1, 2, 1));
    EXPECT_TRUE(l.accept(at("198.51.100.66", 4000), 1, 3, 2));
    EXPECT_EQ(l.destination(), at("198.51.100.66", 4000));
    // ...but the moment the phone's own address sends, it wins.
    EXPECT_TRUE(l.accept(at("203.0.113.7", 61000), 9, 1, 3));
    EXPECT_EQ(l.destination(), at("203.0.113.7", 61000));
    EXPECT_FALSE(l.accept(at("198.51.100.66", 4000), 1, 4, 4));
}

TEST(SourceLatch, NoHijackWhileTheLatchedSourceIsAlive) {
    SourceLatch l;
    l.set_expected(at("203.0.113.7", 4000), SockAddr{});
    ASSERT_TRUE(l.accept(at("203.0.113.7", 4000), 1, 1, 0));
    // Another port on the same IP (another phone behind the same NAT) floods a stream.
    for (int i = 0; i < 10; ++i) {
        EXPECT_TRUE(
            l.accept(at("203.0.113.7", 4000), 1, static_cast<std::uint16_t>(2 + i), i * 20 * kMs));
        EXPECT_FALSE(l.accept(at("203.0.113.7", 9999), 77, static_cast<std::uint16_t>(100 + i),
                              i * 20 * kMs + 1));
    }
    EXPECT_EQ(l.destination(), at("203.0.113.7", 4000));
}

TEST(SourceLatch, RelatchesAfterSilenceToASteadyNewStream) {
    SourceLatch l;
    l.set_expected(at("203.0.113.7", 4000), SockAddr{});
    ASSERT_TRUE(l.accept(at("203.0.113.7", 4000), 1, 1, 0));
    const std::int64_t later = 2000 * kMs;  // the NAT binding changed; old source silent
    EXPECT_FALSE(l.accept(at("203.0.113.7", 4100), 1, 50, later));
    EXPECT_FALSE(l.accept(at("203.0.113.7", 4100), 1, 51, later + 20 * kMs));
    EXPECT_TRUE(l.accept(at("203.0.113.7", 4100), 1, 52, later + 40 * kMs));
    EXPECT_EQ(l.destination(), at("203.0.113.7", 4100));
    EXPECT_EQ(l.relatches(), 1u);
}

TEST(SourceLatch, ANonSequentialCandidateStartsCountingAgain) {
    SourceLatch l;
    l.set_expected(at("203.0.113.7", 4000), SockAddr{});
    ASSERT_TRUE(l.accept(at("203.0.113.7", 4000), 1, 1, 0));
    const std::int64_t t = 5000 * kMs;
    EXPECT_FALSE(l.accept(at("203.0.113.7", 4100), 1, 50, t));
    EXPECT_FALSE(l.accept(at("203.0.113.7", 4100), 1, 60, t));  // a jump
    EXPECT_FALSE(l.accept(at("203.0.113.7", 4100), 1, 61, t));
    EXPECT_TRUE(l.accept(at("203.0.113.7", 4100), 1, 62, t));
}

TEST(SourceLatch, ANewSdpStartsOver) {
    SourceLatch l;
    l.set_expected(at("192.0.2.1", 4000), SockAddr{});
    ASSERT_TRUE(l.accept(at("192.0.2.1", 4000), 1, 1, 0));
    l.set_expected(at("192.0.2.2", 5000), SockAddr{});  // re-INVITE to a new address
    EXPECT_EQ(l.destination(), at("192.0.2.2", 5000));
    EXPECT_FALSE(l.accept(at("192.0.2.1", 4000), 1, 2, 1));
    EXPECT_TRUE(l.accept(at("192.0.2.2", 5000), 3, 1, 2));
}

TEST(SourceLatch, NoReflectionToAThirdPartyNamedInSdp) {
    SourceLatch l;
    // SIP from 203.0.113.7, SDP naming a victim's address: nothing is sent there.
    l.set_expected(at("198.51.100.99", 9), at("203.0.113.7", 5060));
    EXPECT_TRUE(l.destination().empty());
    // The SDP on the signalling IP: sent to at once (a phone not behind NAT).
    l.set_expected(at("203.0.113.7", 4000), at("203.0.113.7", 5060));
    EXPECT_EQ(l.destination(), at("203.0.113.7", 4000));
}

TEST(SourceLatch, Ipv6) {
    SourceLatch l;
    l.set_expected(at("2001:db8::1", 4000), SockAddr{});
    EXPECT_TRUE(l.accept(at("2001:db8::1", 4002), 1, 1, 0));
    EXPECT_FALSE(l.accept(at("2001:db8::2", 4000), 1, 1, 1));  // latched and alive
    EXPECT_EQ(l.destination(), at("2001:db8::1", 4002));
}

}  // namespace
}  // namespace sb::media::rtp
