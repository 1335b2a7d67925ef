#include "sb/media/rtp/rtcp.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace sb::media::rtp {
namespace {

using Bytes = std::vector<std::uint8_t>;

// An SR with one report block and an SDES CNAME, as a phone sends it every few seconds,
// written out field by field.
const Bytes kSrSdes = {
    // SR: V=2 P=0 RC=1, PT=200, length 12 (13 words: header, SSRC, sender info, 1 block)
    0x81, 0xc8, 0x00, 0x0c, 0x12, 0x34, 0x56, 0x78,  // SSRC of the sender
    0xe8, 0xa1, 0xb2, 0xc3,                          // NTP seconds
    0x80, 0x00, 0x00, 0x00,                          // NTP fraction: .5 s
    0x00, 0x01, 0xe2, 0x40,                          // RTP timestamp 123456
    0x00, 0x00, 0x00, 0xfa,                          // sender's packet count 250
    0x00, 0x00, 0x9c, 0x40,                          // sender's octet count 40000
    // report block
    0xde, 0xad, 0xbe, 0xef,  // SSRC of the source reported on
    0x19, 0xff, 0xff, 0xfe,  // fraction lost 25, cumulative lost -2 (24-bit two's complement)
    0x00, 0x01, 0x13, 0x88,  // extended highest sequence number: 1 cycle, 5000
    0x00, 0x00, 0x00, 0x50,  // jitter 80
    0xb7, 0x05, 0x20, 0x00,  // LSR
    0x00, 0x05, 0x40, 0x00,  // DLSR
    // SDES: V=2 P=0 SC=1, PT=202, length 6 (7 words)
    0x81, 0xca, 0x00, 0x06, 0x12, 0x34, 0x56, 0x78,  // chunk 1: SSRC
    0x01, 0x10,                                      // CNAME, 16 octets
    'a', 'l', 'i', 'c', 'e', '@', '1', '9', '2', '.', '0', '.', '2', '.', '1', '0', 0x00,
    0x00,  // the null item ending the list, padded to 32 bits
};

Result<Report> parse(const Bytes& b) {
    return parse_compound(std::span(b));
}

std::string error_of(const Bytes& b) {
    auto r = parse(b);
    return r ? std::string("(parsed)") : r.error().message;
}

TEST(Rtcp, ParsesAnSrWithSdesFieldByField) {
    auto r = parse(kSrSdes);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->ssrc, 0x12345678u);
    ASSERT_TRUE(r->sender);
    EXPECT_EQ(r->sender->ntp_timestamp, 0xe8a1b2c380000000ull);
    EXPECT_EQ(r->sender->rtp_timestamp, 123456u);
    EXPECT_EQ(r->sender->packet_count, 250u);
    EXPECT_EQ(r->sender->octet_count, 40000u);
    ASSERT_EQ(r->report_blocks().size(), 1u);
    const ReportBlock& b = r->report_blocks()[0];
    EXPECT_EQ(b.ssrc, 0xdeadbeefu);
    EXPECT_EQ(b.fraction_lost, 25);
    EXPECT_EQ(b.cumulative_lost, -2);
    EXPECT_EQ(b.extended_highest_seq, 0x00011388u);
    EXPECT_EQ(b.jitter, 80u);
    EXPECT_EQ(b.lsr, 0xb7052000u);
    EXPECT_EQ(b.dlsr, 0x00054000u);
    EXPECT_EQ(r->cname, "alice@192.0.2.10");
    EXPECT_FALSE(r->bye);
}

TEST(Rtcp, WritesTheSameBytes) {
    auto r = parse(kSrSdes);
    ASSERT_TRUE(r);
    std::array<std::uint8_t, kMaxCompoundSize> out{};
    const std::size_t n = write_compound(out, *r, *r->cname);
    EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)), kSrSdes);
}

TEST(Rtcp, RrRoundTrip) {
    Report rr;
    rr.ssrc = 0xcafe0001;
    ReportBlock b{0x0badf00d, 128, -1, 0x0002ffff, 1234, 0xb7052000, 0x00054000};
    ASSERT_TRUE(rr.add_block(b));
    ReportBlock clamped{2, 0, 0x7fffffff, 7, 0, 0, 0};
    ASSERT_TRUE(rr.add_block(clamped));
    std::array<std::uint8_t, kMaxCompoundSize> out{};
    const std::size_t n = write_compound(out, rr, "relay");
    // RR 8 + 2 * 24, SDES 4 + (4 + 2 + 5 + 1 = 12)
    ASSERT_EQ(n, 56u + 16u);
    EXPECT_EQ(out[0], 0x82);
    EXPECT_EQ(out[1], 201);

    auto r = parse_compound(std::span(out.data(), n));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->ssrc, 0xcafe0001u);
    EXPECT_FALSE(r->sender);
    ASSERT_EQ(r->report_blocks().size(), 2u);
    EXPECT_EQ(r->report_blocks()[0], b);
    EXPECT_EQ(r->report_blocks()[1].cumulative_lost, 0x7fffff);  // 24 bits at most
    EXPECT_EQ(r->cname, "relay");
    EXPECT_FALSE(r->bye);
}

TEST(Rtcp, SrRoundTripWith31BlocksAndBye) {
    Report sr;
    sr.ssrc = 42;
    sr.sender = SenderInfo{ntp_from_unix_ns(1'700'000'000'123'456'789), 0xfffffff0, 7, 1120};
    for (std::uint32_t i = 0; i < kMaxReportBlocks; ++i)
        ASSERT_TRUE(sr.add_block({i, static_cast<std::uint8_t>(i), -0x800000 + static_cast<int>(i),
                                  i * 3, i * 5, i * 7, i * 11}));
    EXPECT_FALSE(sr.add_block({}));
    sr.bye = true;
    const std::string cname(kMaxCnameSize, 'x');
    std::array<std::uint8_t, kMaxCompoundSize> out{};
    const std::size_t n = write_compound(out, sr, cname);
    ASSERT_EQ(n, kMaxCompoundSize);
    EXPECT_EQ(out[n - 8], 0x81);  // BYE last
    EXPECT_EQ(out[n - 7], 203);

    auto r = parse_compound(std::span(out.data(), n));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->ssrc, 42u);
    ASSERT_TRUE(r->sender);
    EXPECT_EQ(*r->sender, *sr.sender);
    ASSERT_EQ(r->report_blocks().size(), kMaxReportBlocks);
    for (std::size_t i = 0; i < kMaxReportBlocks; ++i)
        EXPECT_EQ(r->report_blocks()[i], sr.blocks[i]) << i;
    EXPECT_EQ(r->cname, cname);
    EXPECT_TRUE(r->bye);
}

TEST(Rtcp, WriteNeedsRoomForEverything) {
    Report rr;
    rr.ssrc = 1;
    std::array<std::uint8_t, kMaxCompoundSize> out{};
    const std::size_t n = write_compound(out, rr, "abc");  // RR 8, SDES 4 + 12
    ASSERT_EQ(n, 24u);
    for (std::size_t size = 0; size < n; ++size)
        EXPECT_EQ(write_compound(std::span(out.data(), size), rr, "abc"), 0u) << size;
    EXPECT_EQ(write_compound(out, rr, std::string(kMaxCnameSize + 1, 'x')), 0u);
}

TEST(Rtcp, ACnameOfAMultipleOf4StillGetsItsNullOctets) {
    Report rr;
    std::array<std::uint8_t, 64> out{};
    // SSRC 4 + type and length 2 + 2 octets = 8: the null item needs a whole extra word.
    const std::size_t n = write_compound(out, rr, "ab");
    ASSERT_EQ(n, 8u + 4u + 12u);
    EXPECT_EQ(out[n - 4], 0);
    auto r = parse_compound(std::span(out.data(), n));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->cname, "ab");
}

TEST(Rtcp, SkipsPacketTypesItDoesNotRead) {
    const Bytes b = {
        0x80,
        0xc9,
        0x00,
        0x01,
        0x00,
        0x00,
        0x00,
        0x07,  // RR, no blocks, SSRC 7
        // SDES, 1 chunk: NAME "bob" before the CNAME "c@h"
        0x81,
        0xca,
        0x00,
        0x04,
        0x00,
        0x00,
        0x00,
        0x07,
        0x02,
        0x03,
        'b',
        'o',
        'b',
        0x01,
        0x03,
        'c',
        '@',
        'h',
        0x00,
        0x00,
        // APP, name "test", 4 octets of data
        0x80,
        0xcc,
        0x00,
        0x03,
        0x00,
        0x00,
        0x00,
        0x07,
        't',
        'e',
        's',
        't',
        1,
        2,
        3,
        4,
        // RTPFB generic NACK (RFC 4585 6.2.1): FMT 1, PT 205
        0x81,
        0xcd,
        0x00,
        0x03,
        0x00,
        0x00,
        0x00,
        0x07,
        0x00,
        0x00,
        0x00,
        0x09,
        0x00,
        0x10,
        0x00,
        0x00,
        // XR (RFC 3611), one empty block, then 4 octets of padding (P=1)
        0xa0,
        0xcf,
        0x00,
        0x03,
        0x00,
        0x00,
        0x00,
        0x07,
        0x04,
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0x04,
    };
    auto r = parse(b);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->ssrc, 7u);
    EXPECT_FALSE(r->sender);
    EXPECT_TRUE(r->report_blocks().empty());
    EXPECT_EQ(r->cname, "c@h");
}

TEST(Rtcp, ReadsBye) {
    const Bytes b = {
        0x80, 0xc9, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07,                         // RR
        0x81, 0xca, 0x00, 0x02, 0x00, 0x00, 0x00, 0x07, 0x01, 0x01, 'c', 0x00,  // SDES
        0x81, 0xcb, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07,                         // BYE
    };
    auto r = parse(b);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->bye);
    EXPECT_EQ(r->cname, "c");
}

TEST(Rtcp, AnRrAfterTheSrFromTheSameSourceContinuesItsBlocks) {
    Report first;
    first.ssrc = 9;
    first.sender = SenderInfo{};
    ASSERT_TRUE(first.add_block({100, 0, 0, 0, 0, 0, 0}));
    Report more;
    more.ssrc = 9;
    ASSERT_TRUE(more.add_block({101, 0, 0, 0, 0, 0, 0}));
    Report other;
    other.ssrc = 10;
    ASSERT_TRUE(other.add_block({102, 0, 0, 0, 0, 0, 0}));
    std::array<std::uint8_t, 256> out{};
    // Each compound is SR/RR then SDES; glue the report packets, SDES last.
    const std::size_t a = write_compound(out, first, "x");
    const std::size_t sr_size = 28 + 24;
    std::array<std::uint8_t, 256> tmp{};
    Bytes b(out.begin(), out.begin() + sr_size);
    for (const Report* r : {&more, &other}) {
        write_compound(tmp, *r, "x");
        b.insert(b.end(), tmp.begin(), tmp.begin() + 8 + 24);
    }
    b.insert(b.end(), out.begin() + sr_size, out.begin() + static_cast<std::ptrdiff_t>(a));
    auto r = parse(b);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->report_blocks().size(), 2u);
    EXPECT_EQ(r->report_blocks()[0].ssrc, 100u);
    EXPECT_EQ(r->report_blocks()[1].ssrc, 101u);
}

TEST(Rtcp, EveryTruncationIsAnErrorUnlessItEndsAtAPacket) {
    for (std::size_t size = 0; size < kSrSdes.size(); ++size) {
        const Bytes cut(kSrSdes.begin(), kSrSdes.begin() + static_cast<std::ptrdiff_t>(size));
        // A.2 validates lengths only: the SR alone is a valid compound.
        if (size == 52) {
            EXPECT_TRUE(parse(cut)) << size;
        } else {
            EXPECT_FALSE(parse(cut)) << size;
        }
    }
}

TEST(Rtcp, RejectsMalformedPackets) {
    EXPECT_EQ(error_of({}), "RTCP: empty packet");
    EXPECT_EQ(error_of({0x80, 0xc9}), "RTCP: 2 bytes after the last packet, too few for a header");

    Bytes v1 = kSrSdes;
    v1[0] = 0x41;
    EXPECT_EQ(error_of(v1), "RTCP: version 1, not 2");
    Bytes second_v0 = kSrSdes;
    second_v0[52] = 0x01;
    EXPECT_EQ(error_of(second_v0), "RTCP: version 0, not 2");

    EXPECT_EQ(error_of({0x80, 0xc9, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01}),
              "RTCP: length 7 words past the end of the packet");
    Bytes sdes_long = kSrSdes;
    sdes_long[55] = 0x07;
    EXPECT_EQ(error_of(sdes_long), "RTCP: length 7 words past the end of the packet");
    Bytes trailing = kSrSdes;  // lengths that do not add up to the datagram
    trailing.insert(trailing.end(), {0x80, 0xca});
    EXPECT_EQ(error_of(trailing), "RTCP: 2 bytes after the last packet, too few for a header");
    Bytes sdes_short = kSrSdes;  // the SDES ends inside its CNAME: the next "packet" is text
    sdes_short[55] = 0x05;
    EXPECT_EQ(error_of(sdes_short), "RTCP: SDES item past the end of the packet");

    const Bytes sdes_first(kSrSdes.begin() + 52, kSrSdes.end());
    EXPECT_EQ(error_of(sdes_first), "RTCP: the first packet is type 202, not SR or RR");
    const Bytes app_first = {0x80, 0xcc, 0x00, 0x02, 0, 0, 0, 1, 'a', 'b', 'c', 'd'};
    EXPECT_EQ(error_of(app_first), "RTCP: the first packet is type 204, not SR or RR");

    Bytes padded_first = kSrSdes;
    padded_first[0] |= 0x20;
    EXPECT_EQ(error_of(padded_first), "RTCP: padding on a packet that is not the last");

    Bytes too_many_blocks = kSrSdes;
    too_many_blocks[0] = 0x82;  // RC 2 in a packet with room for 1
    EXPECT_EQ(error_of(too_many_blocks), "RTCP: SR with 2 report blocks needs 76 bytes, has 52");
    EXPECT_EQ(error_of({0x80, 0xc9, 0x00, 0x00}),
              "RTCP: RR with 0 report blocks needs 8 bytes, has 4");

    Bytes cname_long = kSrSdes;
    cname_long[61] = 0x13;  // the CNAME claims 19 octets, the chunk has 18 after the length
    EXPECT_EQ(error_of(cname_long), "RTCP: SDES item past the end of the packet");
    Bytes no_null = kSrSdes;
    no_null[61] = 0x12;  // the CNAME swallows the null item
    no_null[60] = 0x02;  // (as a NAME, so that the walk goes on to the end)
    EXPECT_EQ(error_of(no_null), "RTCP: SDES chunk without its terminating null item");
}

TEST(Rtcp, ChecksThePaddingOfTheLastPacket) {
    Bytes b = {0xa0, 0xc9, 0x00, 0x02, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x04};
    auto r = parse(b);  // a lone RR padded to 12 bytes: the padding is on the last packet
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->ssrc, 7u);
    b.back() = 0;
    EXPECT_EQ(error_of(b), "RTCP: padding count 0 does not fit the packet");
    b.back() = 9;
    EXPECT_EQ(error_of(b), "RTCP: padding count 9 does not fit the packet");
    b.back() = 5;  // leaves 7 bytes: no room for the SSRC
    EXPECT_EQ(error_of(b), "RTCP: RR with 0 report blocks needs 8 bytes, has 7");
}

TEST(Rtcp, Middle32) {
    EXPECT_EQ(middle_32(0xe8a1b2c380004000ull), 0xb2c38000u);
    EXPECT_EQ(middle_32(0xe8a1b2c380000000ull), middle_32(0xe8a1b2c38000ffffull));
}

TEST(Rtcp, NtpFromUnixTime) {
    // RFC 5905 figure 4: 1970 is 2,208,988,800 s after 1900.
    EXPECT_EQ(ntp_from_unix_ns(0), 2208988800ull << 32);
    EXPECT_EQ(ntp_from_unix_ns(1'500'000'000), (2208988801ull << 32) | 0x80000000u);
    EXPECT_EQ(ntp_from_unix_ns(-250'000'000), (2208988799ull << 32) | 0xc0000000u);
    // 2036-02-07T06:28:16Z ends NTP era 0: the seconds start again from 0.
    EXPECT_EQ(ntp_from_unix_ns((4294967296ll - 2208988800ll) * 1'000'000'000 + 1), 4u);
}

TEST(Rtcp, RoundTripFromTheRfcsExample) {
    // RFC 3550 6.4.1, figure 2: A = 0xb710:8000 (46864.500 s), LSR = 0xb705:2000 (46853.125 s),
    // DLSR = 0x0005:4000 (5.250 s): RTT = 0x0006:2000, 6.125 s.
    ReportBlock b;
    b.lsr = 0xb7052000;
    b.dlsr = 0x00054000;
    auto rtt = round_trip_ms(0xb7108000, b);
    ASSERT_TRUE(rtt);
    EXPECT_DOUBLE_EQ(*rtt, 6125.0);
}

TEST(Rtcp, RoundTripEdges) {
    ReportBlock b;
    b.dlsr = 0x00010000;
    EXPECT_FALSE(round_trip_ms(0x12345678, b)) << "no SR received yet: LSR 0";
    b.lsr = 0xb7052000;
    EXPECT_FALSE(round_trip_ms(0xb7052000, b)) << "negative";
    EXPECT_DOUBLE_EQ(*round_trip_ms(0xb7062000, b), 0.0);
    // Across the wrap of the middle 32 bits (every 18.2 hours): 0.5 s after an SR at the end.
    b.lsr = 0xffff8000;
    b.dlsr = 0x00004000;  // 0.25 s
    EXPECT_DOUBLE_EQ(*round_trip_ms(0x00000000, b), 250.0);
}

}  // namespace
}  // namespace sb::media::rtp
