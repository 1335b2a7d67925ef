// The call record keeps what the relay saw of each leg's media (RTP counts, loss, jitter, and
// the round-trip time and far-end loss from RTCP), taken before the leg's media is released.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "fixture.h"

namespace sb::call::testing {
namespace {

media::LegMedia stats(std::uint64_t received, std::uint64_t lost, double jitter_ms) {
    media::LegMedia m;
    m.stats.packets_received = received;
    m.stats.packets_lost = lost;
    m.stats.packets_sent = received > 2 ? received - 2 : 0;
    m.stats.jitter_ms = jitter_ms;
    return m;
}

TEST(CallRecordTest, DescribeSaysEachLegsRtpAndWhatRtcpReported) {
    CallRecord r;
    r.id = 7;
    r.caller = "1001";
    r.callee = "2000";
    r.a_status = 200;
    r.end_reason = "caller hung up";
    r.a_media = MediaRecord{.packets_received = 495,
                            .packets_lost = 5,
                            .packets_sent = 498,
                            .jitter_ms = 2.54,
                            .rtt_ms = 12.34,
                            .remote_loss_fraction = 0.004,
                            .remote_jitter_ms = 1.5};
    MediaRecord callee;
    callee.declared = "192.0.2.20:4000";  // nothing latched: "SDP ..." alone
    callee.packets_received = 498;
    callee.packets_sent = 495;
    r.legs.push_back(LegRecord{"1002", "sip:1002@192.0.2.20", 200, "OK", callee});
    r.legs.push_back(LegRecord{"1003", "sip:1003@192.0.2.30", 487, "cancelled: answered elsewhere",
                               std::nullopt});
    const std::string line = describe(r);
    EXPECT_NE(line.find("; rtp caller: rx 495 lost 5 (1.0 %) jitter 2.5 ms, tx 498, rtt 12.3 ms, "
                        "far end lost 0.4 % jitter 1.5 ms"),
              std::string::npos)
        << line;
    EXPECT_NE(
        line.find("; rtp 1002: SDP 192.0.2.20:4000, rx 498 lost 0 (0.0 %) jitter 0.0 ms, tx 495"),
        std::string::npos)
        << line;
    EXPECT_EQ(line.find("1002: rx 498 lost 0 (0.0 %) jitter 0.0 ms, tx 495,"), std::string::npos)
        << "no RTCP figures for a leg whose far end sent no reports: " << line;
    EXPECT_EQ(line.find("rtp 1003"), std::string::npos) << "no RTP, no media part: " << line;
}

TEST_F(CallTest, RecordKeepsEachLegsMediaTakenBeforeItsRelease) {
    auto a_stats = stats(500, 3, 1.25);
    a_stats.stats.rtt_ms = 8.5;
    a_stats.stats.remote_loss_fraction = 0.01;
    a_stats.codec = "PCMU/8000";
    a_stats.declared = Endpoint::from_ip("10.0.0.5", 4000);  // behind NAT
    a_stats.stats.latched = Endpoint::from_ip("203.0.113.9", 61000);
    a_stats.stats.first_packet_ms = clock.now().time_since_epoch().count() + 150;
    media.stats[0] = a_stats;
    auto b_stats = stats(480, 0, 0.5);
    b_stats.codec = "G722/8000";
    b_stats.declared = Endpoint::from_ip("192.0.2.20", 4002);
    b_stats.stats.latched = b_stats.declared;
    media.stats[1] = b_stats;
    caller_invites();
    clock.advance(std::chrono::milliseconds(2500));  // 1002 answers 2.5 s after the INVITE
    phone_answers(p1002, 180);
    phone_answers(p1002, 200, kSdpB);
    caller_acks();
    caller_byes();
    phone_answers_request(p1002, "BYE", 200);
    turn();
    ASSERT_TRUE(media.saw("release 1")) << "the callee's media was released";
    ASSERT_EQ(records.records.size(), 1u);
    const CallRecord& r = records.records[0];
    ASSERT_TRUE(r.a_media.has_value());
    EXPECT_EQ(r.a_media->packets_received, 500u);
    EXPECT_EQ(r.a_media->packets_lost, 3u);
    EXPECT_EQ(r.a_media->packets_sent, 498u);
    EXPECT_DOUBLE_EQ(r.a_media->jitter_ms, 1.25);
    EXPECT_EQ(r.a_media->rtt_ms, std::optional<double>(8.5));
    EXPECT_EQ(r.a_media->remote_loss_fraction, std::optional<double>(0.01));
    EXPECT_FALSE(r.a_media->remote_jitter_ms.has_value());
    ASSERT_EQ(r.legs.size(), 1u);
    ASSERT_TRUE(r.legs[0].media.has_value()) << "taken before release_leg, which ends the port";
    EXPECT_EQ(r.legs[0].media->packets_received, 480u);
    EXPECT_FALSE(r.legs[0].media->rtt_ms.has_value());
    EXPECT_EQ(r.a_media->codec, "PCMU/8000");
    EXPECT_EQ(r.a_media->declared, "10.0.0.5:4000");
    EXPECT_EQ(r.a_media->source, "203.0.113.9:61000");
    EXPECT_EQ(r.answer_ms, 2500);
    EXPECT_EQ(r.a_media->first_rtp_ms, 150) << "the caller's first RTP, 150 ms after its INVITE";
    EXPECT_EQ(r.legs[0].media->first_rtp_ms, -1) << "none counted";
    const std::string line = describe(r);
    EXPECT_NE(line.find("1001 -> 1002: 200 after 2.50 s"), std::string::npos) << line;
    EXPECT_NE(line.find("; rtp caller: PCMU/8000 from 203.0.113.9:61000 (SDP 10.0.0.5:4000), "
                        "first at 0.15 s, rx 500"),
              std::string::npos)
        << "where RTP came from, beside where the SDP said (NAT): " << line;
    EXPECT_NE(line.find("; rtp 1002: G722/8000 from 192.0.2.20:4002, rx 480"), std::string::npos)
        << line;
}

TEST_F(CallTest, RecordKeepsALosingForksEarlyMediaAndNoneForALegWithoutRtp) {
    script.bridges = {{"1003"}};
    caller_invites();
    ASSERT_NE(invite_to(p1003a), nullptr);
    ASSERT_NE(invite_to(p1003b), nullptr);
    media.stats[1] = stats(40, 0, 0.25);  // early media from one fork
    media.stats[2] = stats(0, 0, 0);      // nothing from the other, before it answers
    phone_answers(p1003a, 180);
    phone_answers(p1003b, 180);
    phone_answers(p1003b, 200, kSdpB);
    phone_answers_request(p1003a, "CANCEL", 200);
    phone_answers(p1003a, 487);
    caller_acks();
    caller_byes();
    phone_answers_request(p1003b, "BYE", 200);
    turn();
    ASSERT_EQ(records.records.size(), 1u);
    const CallRecord& r = records.records[0];
    ASSERT_EQ(r.legs.size(), 2u);
    const auto with_media =
        std::count_if(r.legs.begin(), r.legs.end(), [](const LegRecord& l) { return l.media; });
    ASSERT_EQ(with_media, 1) << describe(r);
    const auto& leg = *std::find_if(r.legs.begin(), r.legs.end(),
                                    [](const LegRecord& l) { return l.media.has_value(); });
    EXPECT_EQ(leg.media->packets_received, 40u);
    EXPECT_FALSE(r.a_media.has_value()) << "the caller's leg had no stats";
}

}  // namespace
}  // namespace sb::call::testing
