#include "sb/media/offer_answer.h"

#include <gtest/gtest.h>

namespace sb::media {
namespace {

sdp::Session parse(std::string_view text) {
    auto s = sdp::parse(text);
    EXPECT_TRUE(s) << s.error().message;
    return s ? *s : sdp::Session{};
}

constexpr std::string_view kPhone =
    "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 18 8 0 101\r\n"
    "a=rtpmap:18 G729/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 "
    "0-15\r\na=ptime:20\r\n"
    "m=video 4002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";

LocalEndpoint us() {
    return LocalEndpoint{"198.51.100.1", 42, 7};
}

TEST(OfferAnswer, AcceptsCommonCodecsInTheOfferersOrderAndRejectsTheRest) {
    auto a = answer_offer(parse(kPhone), default_codecs(), us(),
                          [](std::size_t) { return std::uint16_t{30000}; });
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_EQ(a->media.size(), 2u);  // one m= line per offered stream (RFC 3264 6)
    const sdp::Media& audio = a->media[0];
    EXPECT_EQ(audio.port, 30000);
    EXPECT_EQ(audio.formats, (std::vector<std::string>{"8", "0", "101"}))
        << "no G.729; static types without rtpmap understood";
    EXPECT_EQ(a->connection->address, "198.51.100.1");
    EXPECT_EQ(a->origin.session_id, "42");
    EXPECT_EQ(a->media[1].port, 0) << "video rejected";
    EXPECT_EQ(a->media[1].formats, (std::vector<std::string>{"96"}));
    auto text = sdp::write(*a);
    EXPECT_NE(text.find("a=fmtp:101 0-15"), std::string::npos);
    EXPECT_TRUE(sdp::parse(text));
}

TEST(OfferAnswer, OpusIsAnsweredWithOurOwnParameters) {
    const std::string_view stereo_phone =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n"
        "a=fmtp:96 stereo=1;sprop-stereo=1\r\n";
    auto a = answer_offer(parse(stereo_phone), default_codecs(), us(),
                          [](std::size_t) { return std::uint16_t{30000}; });
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_EQ(a->media[0].fmtps.size(), 1u);
    EXPECT_EQ(a->media[0].fmtps[0], (std::pair<int, std::string>{96, "useinbandfec=1"}))
        << "we send mono with FEC: the offer's stereo parameters are not ours";
}

TEST(OfferAnswer, HoldIsAnsweredWithTheMirroredDirection) {
    sdp::Session offer = parse(kPhone);
    offer.media[0].direction = sdp::Direction::sendonly;  // RFC 3264 8.4: hold
    auto a = answer_offer(offer, default_codecs(), us(),
                          [](std::size_t) { return std::uint16_t{30000}; });
    ASSERT_TRUE(a);
    EXPECT_EQ(a->direction_of(a->media[0]), sdp::Direction::recvonly);
    offer.media[0].direction = sdp::Direction::inactive;
    a = answer_offer(offer, default_codecs(), us(),
                     [](std::size_t) { return std::uint16_t{30000}; });
    EXPECT_EQ(a->direction_of(a->media[0]), sdp::Direction::inactive);
}

TEST(OfferAnswer, NoCodecInCommonFails) {
    auto a = answer_offer(
        parse("v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
              "m=audio 4000 RTP/AVP 18 101\r\na=rtpmap:18 G729/8000\r\n"
              "a=rtpmap:101 telephone-event/8000\r\n"),
        default_codecs(), us(), [](std::size_t) { return std::uint16_t{30000}; });
    EXPECT_FALSE(a) << "telephone-event alone carries no voice";
}

// RFC 3264 6: each m= line is answered on its own. An audio stream we share no codec with is
// answered with port 0; a later one we can take is accepted (it used to be a 488).
constexpr std::string_view kUnknownThenPcmu =
    "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 foo/8000\r\n"
    "m=audio 4002 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

TEST(OfferAnswer, ALaterAudioStreamIsAnsweredWhenTheFirstSharesNoCodec) {
    const sdp::Session offer = parse(kUnknownThenPcmu);
    EXPECT_EQ(anchored_stream(offer, default_codecs()), 1u);
    auto a = answer_offer(offer, default_codecs(), us(),
                          [](std::size_t i) { return static_cast<std::uint16_t>(30000 + 2 * i); });
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_EQ(a->media.size(), 2u);
    EXPECT_EQ(a->media[0].port, 0) << "the stream we cannot take is rejected";
    EXPECT_EQ(a->media[0].formats, (std::vector<std::string>{"96"}));
    EXPECT_TRUE(a->media[0].rtpmaps.empty());
    EXPECT_EQ(a->media[1].port, 30002);
    EXPECT_EQ(a->media[1].formats, (std::vector<std::string>{"0", "101"}));
    // negotiated_codecs looks at the same stream, in the offer and in the answer.
    for (const sdp::Session* d : std::vector<const sdp::Session*>{&offer, &*a}) {
        auto codecs = negotiated_codecs(*d, default_codecs());
        ASSERT_EQ(codecs.size(), 2u);
        EXPECT_EQ(codecs[0].encoding, "PCMU");
        EXPECT_EQ(codecs[1].encoding, "telephone-event");
    }
}

TEST(OfferAnswer, TheAnchoredStreamIsTheFirstWithAVoiceCodecInCommon) {
    const std::string_view head =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n";
    // telephone-event alone, a disabled stream, secure audio, video: none of them; then PCMA,
    // then PCMU (not taken: one audio stream is anchored).
    const sdp::Session offer =
        parse(std::string(head) +
              "m=audio 4000 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n"
              "m=audio 0 RTP/AVP 0\r\n"
              "m=audio 4004 RTP/SAVP 0\r\n"
              "m=video 4006 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
              "m=audio 4008 RTP/AVP 8\r\n"
              "m=audio 4010 RTP/AVP 0\r\n");
    EXPECT_EQ(anchored_stream(offer, default_codecs()), 4u);
    auto a = answer_offer(offer, default_codecs(), us(),
                          [](std::size_t) { return std::uint16_t{30000}; });
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_EQ(a->media.size(), 6u);
    for (std::size_t i = 0; i < a->media.size(); ++i)
        EXPECT_EQ(a->media[i].port, i == 4 ? 30000 : 0) << i;
    EXPECT_TRUE(a->media[0].fmtps.empty()) << "a rejected stream carries no parameters";
    ASSERT_EQ(negotiated_codecs(offer, default_codecs()).size(), 1u);
    EXPECT_EQ(negotiated_codecs(offer, default_codecs())[0].encoding, "PCMA");

    const sdp::Session none = parse(std::string(head) +
                                    "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 foo/8000\r\n"
                                    "m=audio 4002 RTP/AVP 101\r\n"
                                    "a=rtpmap:101 telephone-event/8000\r\n");
    EXPECT_FALSE(anchored_stream(none, default_codecs()));
    EXPECT_TRUE(negotiated_codecs(none, default_codecs()).empty())
        << "not the telephone-event of a stream we cannot answer";
    EXPECT_FALSE(answer_offer(none, default_codecs(), us(),
                              [](std::size_t) { return std::uint16_t{30000}; }));
}

TEST(OfferAnswer, OurOfferAndWhatItNegotiates) {
    sdp::Session offer = make_offer(default_codecs(), us(), 31000, sdp::Direction::sendonly);
    auto text = sdp::write(offer);
    auto parsed = sdp::parse(text);
    ASSERT_TRUE(parsed) << parsed.error().message;
    const sdp::Media& m = parsed->media[0];
    EXPECT_EQ(m.formats, (std::vector<std::string>{"96", "9", "0", "8", "97"}));
    EXPECT_EQ(m.rtpmap(96)->encoding, "opus");
    EXPECT_EQ(m.rtpmap(96)->channels, 2);
    EXPECT_EQ(parsed->direction_of(m), sdp::Direction::sendonly);
    // The phone answers PCMA and telephone-event only.
    auto answer = parse(
        "v=0\r\no=- 1 2 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 8 97\r\na=rtpmap:97 telephone-event/8000\r\na=recvonly\r\n");
    auto codecs = negotiated_codecs(answer, default_codecs());
    ASSERT_EQ(codecs.size(), 2u);
    EXPECT_EQ(codecs[0].encoding, "PCMA");
    EXPECT_EQ(codecs[1].encoding, "telephone-event");
    EXPECT_EQ(codecs[1].static_payload_type, 97) << "the payload type this leg uses";
}

// A payload type listed again in the m= line is one codec: before, each repeat was answered
// (and offered on by negotiated_codecs) again with every a=fmtp of its type, so a 64 KB INVITE
// with "101" listed 400 times and 100 fmtp lines for it made an answer of 40,000 fmtp lines.
TEST(OfferAnswer, APayloadTypeListedAgainIsAnsweredOnce) {
    std::string offer =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0";
    for (int i = 0; i < 400; ++i) offer += " 101";
    offer += " 00\r\nc=IN IP4 192.0.2.10\r\na=rtpmap:101 telephone-event/8000\r\n";
    for (int i = 0; i < 100; ++i) offer += "a=fmtp:101 0-15\r\n";
    auto a = answer_offer(parse(offer), default_codecs(), us(),
                          [](std::size_t) { return std::uint16_t{30000}; });
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->media[0].formats, (std::vector<std::string>{"0", "101"}));
    EXPECT_EQ(a->media[0].rtpmaps.size(), 2u);
    EXPECT_EQ(a->media[0].fmtps.size(), 100u) << "each of the offer's lines once";
    EXPECT_EQ(negotiated_codecs(parse(offer), default_codecs()).size(), 2u);
}

TEST(OfferAnswer, AFormatWrittenWithALeadingZeroKeepsItsFmtp) {
    const std::string_view offer =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 0 0101\r\na=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-16\r\n";
    auto a = answer_offer(parse(offer), default_codecs(), us(),
                          [](std::size_t) { return std::uint16_t{30000}; });
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_EQ(a->media[0].fmtps.size(), 1u);
    EXPECT_EQ(a->media[0].fmtps[0], (std::pair<int, std::string>{101, "0-16"}));
}

}  // namespace
}  // namespace sb::media
