#include "sb/media/sdp.h"

#include <gtest/gtest.h>

namespace sb::media::sdp {
namespace {

// What baresip 1.0 offers with PCMU, PCMA and telephone-event (trimmed).
constexpr std::string_view kBaresip =
    "v=0\r\n"
    "o=- 1795502781 3391549271 IN IP4 127.0.44.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.44.1\r\n"
    "t=0 0\r\n"
    "a=tool:baresip 1.0.0\r\n"
    "m=audio 10248 RTP/AVP 0 8 101\r\n"
    "b=AS:64\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=ptime:20\r\n"
    "a=sendrecv\r\n"
    "a=label:1\r\n";

TEST(Sdp, ParsesATypicalOffer) {
    auto s = parse(kBaresip);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->origin.session_version, "3391549271");
    EXPECT_EQ(s->origin.address, "127.0.44.1");
    ASSERT_TRUE(s->connection);
    EXPECT_EQ(s->connection->address, "127.0.44.1");
    ASSERT_EQ(s->media.size(), 1u);
    const Media& m = s->media[0];
    EXPECT_EQ(m.type, "audio");
    EXPECT_EQ(m.port, 10248);
    EXPECT_EQ(m.protocol, "RTP/AVP");
    EXPECT_EQ(m.formats, (std::vector<std::string>{"0", "8", "101"}));
    ASSERT_NE(m.rtpmap(101), nullptr);
    EXPECT_EQ(m.rtpmap(101)->encoding, "telephone-event");
    EXPECT_EQ(m.rtpmap(8)->clock_rate, 8000);
    ASSERT_EQ(m.fmtps.size(), 1u);
    EXPECT_EQ(m.fmtps[0], (std::pair<int, std::string>{101, "0-15"}));
    EXPECT_EQ(m.ptime, 20);
    EXPECT_EQ(s->direction_of(m), Direction::sendrecv);
    EXPECT_EQ(m.other, (std::vector<std::string>{"b=AS:64", "a=label:1"}));
    EXPECT_EQ(s->other, (std::vector<std::string>{"a=tool:baresip 1.0.0"}));
}

TEST(Sdp, WriteThenParseKeepsEverything) {
    auto s = parse(kBaresip);
    ASSERT_TRUE(s);
    std::string text = write(*s);
    auto again = parse(text);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(write(*again), text);
    EXPECT_NE(text.find("b=AS:64\r\na=rtpmap:0 PCMU/8000"), std::string::npos)
        << "b= right after m=/c=: " << text;
    EXPECT_NE(text.find("a=label:1\r\n"), std::string::npos);
}

// RFC 8866 5 fixes the order of the lines it defines and has no place for a type letter it does
// not (x=), nor for u= e= p= r= z= after m=. We accept them as senders write them; write() used
// to drop them, so what it wrote was not what was parsed. Now each is written back, last in its
// section, and writing again gives the same text.
TEST(Sdp, LinesTheOrderHasNoPlaceForAreWrittenBackLastInTheirSection) {
    auto s = parse(
        "v=0\r\n"
        "o=- 1 1 IN IP4 192.0.2.10\r\n"
        "x=before s\r\n"
        "s=-\r\n"
        "i=a call\r\n"
        "u=http://example.com/\r\n"
        "e=alice@example.com\r\n"
        "p=+1 555 0100\r\n"
        "c=IN IP4 192.0.2.10\r\n"
        "t=0 0\r\n"
        "y=after t\r\n"
        "a=tool:phone\r\n"
        "m=audio 4000 RTP/AVP 0\r\n"
        "i=voice\r\n"
        "u=http://example.com/voice\r\n"
        "x=in the stream\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "e=bob@example.com\r\n"
        "m=video 0 RTP/AVP 96\r\n"
        "p=+1 555 0101\r\n"
        "r=7d 1h 0 25h\r\n"
        "z=2882844526 -1h\r\n");
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->other, (std::vector<std::string>{"x=before s", "i=a call", "u=http://example.com/",
                                                  "e=alice@example.com", "p=+1 555 0100",
                                                  "y=after t", "a=tool:phone"}));
    const std::string text = write(*s);
    EXPECT_EQ(text,
              "v=0\r\n"
              "o=- 1 1 IN IP4 192.0.2.10\r\n"
              "s=-\r\n"
              "i=a call\r\n"
              "u=http://example.com/\r\n"
              "e=alice@example.com\r\n"
              "p=+1 555 0100\r\n"
              "c=IN IP4 192.0.2.10\r\n"
              "t=0 0\r\n"
              "a=tool:phone\r\n"
              "x=before s\r\n"
              "y=after t\r\n"
              "m=audio 4000 RTP/AVP 0\r\n"
              "i=voice\r\n"
              "a=rtpmap:0 PCMU/8000\r\n"
              "u=http://example.com/voice\r\n"
              "x=in the stream\r\n"
              "e=bob@example.com\r\n"
              "m=video 0 RTP/AVP 96\r\n"
              "p=+1 555 0101\r\n"
              "r=7d 1h 0 25h\r\n"
              "z=2882844526 -1h\r\n");
    auto again = parse(text);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(write(*again), text) << "written once, the text is stable";
    EXPECT_EQ(again->media[0].other, s->media[0].other) << "each line stays in its section";
    EXPECT_EQ(again->media[1].other, s->media[1].other);
}

TEST(Sdp, RewritingAddressPortAndDirection) {
    auto s = parse(kBaresip);
    ASSERT_TRUE(s);
    s->connection->address = "192.0.2.1";
    s->media[0].port = 40000;
    s->media[0].direction = Direction::sendonly;  // hold (RFC 3264 8.4)
    auto again = parse(write(*s));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->connection_of(again->media[0])->address, "192.0.2.1");
    EXPECT_EQ(again->media[0].port, 40000);
    EXPECT_EQ(again->direction_of(again->media[0]), Direction::sendonly);
    EXPECT_EQ(reverse(Direction::sendonly), Direction::recvonly);
    EXPECT_EQ(reverse(Direction::inactive), Direction::inactive);
}

TEST(Sdp, MediaLevelOverridesSession) {
    auto s = parse(
        "v=0\no=- 1 1 IN IP6 ::1\ns=x\nc=IN IP6 ::1\nt=0 0\na=inactive\n"
        "m=audio 5004 RTP/AVP 111\nc=IN IP6 2001:db8::5\na=rtpmap:111 opus/48000/2\n"
        "m=video 0 RTP/AVP 96\n");
    ASSERT_TRUE(s) << s.error().message;  // LF-only line ends are accepted
    ASSERT_EQ(s->media.size(), 2u);
    EXPECT_EQ(s->connection_of(s->media[0])->address, "2001:db8::5");
    EXPECT_EQ(s->connection_of(s->media[1])->address, "::1");
    EXPECT_EQ(s->direction_of(s->media[0]), Direction::inactive);
    EXPECT_EQ(s->media[0].rtpmap(111)->channels, 2);
    EXPECT_EQ(s->media[1].port, 0) << "a rejected stream";
    EXPECT_NE(write(*s).find("a=rtpmap:111 opus/48000/2\r\n"), std::string::npos);
}

TEST(Sdp, ErrorsNameTheLine) {
    EXPECT_FALSE(parse(""));
    EXPECT_FALSE(parse("o=- 1 1 IN IP4 1.2.3.4\r\n"));  // no v=
    auto e = parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio port RTP/AVP 0\r\n");
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().message, "SDP line 5: m= needs a port 0-65535");
    EXPECT_FALSE(
        parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0 300\r\n"));
    EXPECT_FALSE(
        parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n"));
    EXPECT_FALSE(parse("v=0\r\ns=-\r\nt=0 0\r\n"));  // no o=
    EXPECT_FALSE(parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4\r\n"));
    EXPECT_FALSE(
        parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n"));
    EXPECT_FALSE(parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nbogus\r\n"));
}

// Found by tests/fuzz/sdp_fuzz (regressions/cr-inside-sdp-line.sdp): a CR inside a line was kept
// in the value and written back out, where it ends the line early for a parser that splits on
// CR. RFC 8866 9 allows neither CR nor NUL inside a line.
TEST(Sdp, CrOrNulInsideALineIsAnError) {
    auto e = parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r/8000\r\n");
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().message, "SDP line 3: CR or NUL inside a line");
    EXPECT_FALSE(parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\na=fmtp:101 0-15\rc=IN IP4 6.6.6.6\r\n"));
    EXPECT_FALSE(parse(std::string_view("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=a\0b\r\n", 36)));
    EXPECT_TRUE(
        parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\r\n"));  // CRLF after trailing CR: trimmed
}

// Found by tests/fuzz/sdp_fuzz (regressions/tab-before-connection-ttl.sdp): whitespace before a
// multicast /ttl stayed in the address, so a written description did not write back the same.
TEST(Sdp, ConnectionAddressIsTrimmedBeforeItsTtl) {
    auto s = parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 224.2.1.1\t/127\r\n");
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->connection->address, "224.2.1.1");
    EXPECT_FALSE(parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 \t/127\r\n"));
}

TEST(Sdp, Limits) {
    std::string many = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n";
    for (std::size_t i = 0; i <= kMaxMedia; ++i) many += "m=audio 5000 RTP/AVP 0\r\n";
    EXPECT_FALSE(parse(many));
    std::string lines = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n";
    for (std::size_t i = 0; i < kMaxLines; ++i) lines += "a=x\r\n";
    EXPECT_FALSE(parse(lines));
    std::string longline =
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\na=" + std::string(kMaxLine, 'x') + "\r\n";
    EXPECT_FALSE(parse(longline));
}

}  // namespace
}  // namespace sb::media::sdp
