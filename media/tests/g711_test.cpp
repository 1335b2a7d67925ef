#include "sb/media/codec/g711.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>

#include "codec_test_util.h"
#include "sb/media/codec/codec.h"

namespace sb::media::codec {
namespace {

using namespace testing;

constexpr int kRate = 8000;
constexpr std::size_t kFrame = 160;  // 20 ms

// Values of ITU-T G.711 Table 2a (mu-law) and Table 1a (A-law), times 4 and 8 for 16 bits.
TEST(CodecG711, KnownValuesFromTheItuTables) {
    EXPECT_EQ(ulaw_to_linear(0xff), 0);
    EXPECT_EQ(ulaw_to_linear(0x7f), 0);  // "negative zero"
    EXPECT_EQ(ulaw_to_linear(0x80), 32124);
    EXPECT_EQ(ulaw_to_linear(0x00), -32124);
    EXPECT_EQ(ulaw_to_linear(0xfe), 8);  // the smallest step: 2 in 14 bits
    EXPECT_EQ(linear_to_ulaw(0), 0xff);
    EXPECT_EQ(linear_to_ulaw(32124), 0x80);
    EXPECT_EQ(linear_to_ulaw(32767), 0x80);  // clipped to the last segment
    EXPECT_EQ(linear_to_ulaw(-32768), 0x00);
    EXPECT_EQ(linear_to_ulaw(-32124), 0x00);

    EXPECT_EQ(alaw_to_linear(0xd5), 8);
    EXPECT_EQ(alaw_to_linear(0x55), -8);
    EXPECT_EQ(alaw_to_linear(0xaa), 32256);
    EXPECT_EQ(alaw_to_linear(0x2a), -32256);
    EXPECT_EQ(linear_to_alaw(8), 0xd5);
    EXPECT_EQ(linear_to_alaw(0), 0xd5);
    EXPECT_EQ(linear_to_alaw(-1), 0x55);
    EXPECT_EQ(linear_to_alaw(32767), 0xaa);
    EXPECT_EQ(linear_to_alaw(-32768), 0x2a);
}

// Decoding a code and encoding the value gives the code back: the encoder's decision intervals
// contain their own reconstruction values.
TEST(CodecG711, EveryCodeSurvivesDecodeAndEncode) {
    for (int c = 0; c < 256; ++c) {
        const auto code = static_cast<std::uint8_t>(c);
        if (code != 0x7f) {
            EXPECT_EQ(linear_to_ulaw(ulaw_to_linear(code)), code) << c;
        }
        EXPECT_EQ(linear_to_alaw(alaw_to_linear(code)), code) << c;
    }
}

// Every 16-bit value comes back within half a step of its segment (G.711's decision values lie
// half-way between levels, except at segment boundaries, which are decision values themselves),
// give or take the input bits G.711 ignores (2 for mu-law, 4 for A-law in G.191's form); and
// larger inputs never decode smaller.
TEST(CodecG711, EveryValueComesBackWithinHalfAStep) {
    int previous_ulaw = -32768, previous_alaw = -32768;
    for (int x = -32768; x <= 32767; ++x) {
        const auto s = static_cast<std::int16_t>(x);
        const std::uint8_t u = linear_to_ulaw(s);
        const std::uint8_t a = linear_to_alaw(s);
        const int u_step = 8 << ((~u >> 4) & 7);  // 2 << exponent in 14 bits
        const int a_segment = ((a ^ 0x55) >> 4) & 7;
        const int a_step = a_segment == 0 ? 16 : 8 << a_segment;
        const int u_value = ulaw_to_linear(u);
        const int a_value = alaw_to_linear(a);
        if (x > -32124 && x < 32124) {  // beyond, mu-law clips
            ASSERT_LE(std::abs(u_value - x), u_step / 2 + 4) << x;
        }
        ASSERT_LE(std::abs(a_value - x), a_step / 2 + 16) << x;
        ASSERT_GE(u_value, previous_ulaw) << x;
        ASSERT_GE(a_value, previous_alaw) << x;
        previous_ulaw = u_value;
        previous_alaw = a_value;
    }
}

// A log quantiser with 8 bits gives about 38 dB over a wide range of levels (G.711's design
// point; G.712 asks 35 dB of a channel at -10 dBm0 with its filters): 30 dB leaves margin and
// still fails on any wrong segment or mantissa.
TEST(CodecG711, RoundTripKeepsTonesAbove30dBSnr) {
    for (const CodecId id : {CodecId::pcmu, CodecId::pcma}) {
        for (const Pcm& in : {sine_1k(kRate, kRate), two_tone(kRate, kRate)}) {
            auto enc = make_encoder(id);
            auto dec = make_decoder(id);
            ASSERT_TRUE(enc && dec);
            std::vector<int> sizes;
            const Pcm out = round_trip(**enc, **dec, in, kFrame, &sizes);
            ASSERT_EQ(out.size(), in.size());
            for (const int s : sizes) EXPECT_EQ(s, 160);  // one octet per sample
            const Alignment a = best_alignment(in, out, 40, 0, in.size() - 40);
            EXPECT_EQ(a.lag, 0);  // no look-ahead
            const double snr = snr_db(in, out, 0, 0, in.size());
            EXPECT_GT(snr, 30) << to_string(id);
            EXPECT_LT(snr, 45) << to_string(id);  // a quantiser, not a copy
        }
    }
}

TEST(CodecG711, DescribesItself) {
    auto enc = make_encoder(CodecId::pcma);
    auto dec = make_decoder(CodecId::pcma);
    ASSERT_TRUE(enc && dec);
    EXPECT_EQ((*enc)->id(), CodecId::pcma);
    EXPECT_EQ((*enc)->sample_rate(), 8000);
    EXPECT_EQ((*enc)->rtp_clock_rate(), 8000);
    EXPECT_EQ((*dec)->sample_rate(), 8000);
    const std::array<std::uint8_t, 160> payload{};
    EXPECT_EQ((*dec)->samples_in(payload), 160);
}

// Concealment repeats the tone (it continues the waveform) for 10 ms, then fades to silence
// by 60 ms: the third concealed frame is quieter than the first, the fourth silent.
TEST(CodecG711, ConcealmentContinuesThenFades) {
    const Pcm in = sine_1k(kRate, kFrame * 10);
    auto enc = make_encoder(CodecId::pcmu);
    auto dec = make_decoder(CodecId::pcmu);
    ASSERT_TRUE(enc && dec);
    std::array<std::uint8_t, kFrame> packet{};
    Pcm out(kFrame);
    for (std::size_t f = 0; f < 5; ++f) {
        ASSERT_EQ((*enc)->encode(std::span(in).subspan(f * kFrame, kFrame), packet), 160);
        ASSERT_EQ((*dec)->decode(packet, out), 160);
    }
    const double frame_energy = energy(std::span(in).subspan(4 * kFrame, kFrame));
    std::vector<double> energies;
    for (std::size_t f = 5; f < 9; ++f) {
        ASSERT_EQ((*dec)->conceal(out, kFrame), 160);
        energies.push_back(energy(out));
        if (f == 5) {  // the lost frame's own tone, continued in phase
            const Pcm expected(in.begin() + f * kFrame, in.begin() + (f + 1) * kFrame);
            EXPECT_GT(correlation(expected, out, 0, 0, kFrame), 0.95);
        }
    }
    EXPECT_GT(energies[0], 0.6 * frame_energy);  // full level for 10 ms, then fading
    EXPECT_LT(energies[1], 0.6 * energies[0]);
    EXPECT_LT(energies[2], 0.3 * energies[1]);
    EXPECT_EQ(energies[3], 0);

    // The next frame decoded fades in from the concealment's silence rather than jumping.
    ASSERT_EQ((*enc)->encode(std::span(in).subspan(9 * kFrame, kFrame), packet), 160);
    ASSERT_EQ((*dec)->decode(packet, out), 160);
    EXPECT_LT(std::abs(out[0]), 2000);
    EXPECT_GT(energy(std::span(out).subspan(80)), 0.4 * frame_energy / 2);
}

TEST(CodecG711, BadInputsGiveErrorsNotCrashes) {
    auto enc = make_encoder(CodecId::pcmu);
    auto dec = make_decoder(CodecId::pcmu);
    ASSERT_TRUE(enc && dec);
    Pcm pcm(2000);
    std::vector<std::uint8_t> bytes(2000);
    EXPECT_EQ((*enc)->encode({}, bytes), kErrorInvalidInput);
    EXPECT_EQ((*enc)->encode(std::span(pcm).first(961), bytes), kErrorInvalidInput);  // > 120 ms
    EXPECT_EQ((*enc)->encode(std::span(pcm).first(160), std::span(bytes).first(159)),
              kErrorOutputTooSmall);
    EXPECT_EQ((*dec)->decode({}, pcm), kErrorInvalidInput);
    EXPECT_EQ((*dec)->samples_in({}), kErrorInvalidInput);
    EXPECT_EQ((*dec)->decode(std::span(bytes).first(961), pcm), kErrorInvalidInput);
    EXPECT_EQ((*dec)->decode(std::span(bytes).first(160), std::span(pcm).first(100)),
              kErrorOutputTooSmall);
    EXPECT_EQ((*dec)->conceal(pcm, 0), kErrorInvalidInput);
    EXPECT_EQ((*dec)->conceal(pcm, 961), kErrorInvalidInput);
    EXPECT_EQ((*dec)->conceal(std::span(pcm).first(100), 160), kErrorOutputTooSmall);
    EXPECT_EQ((*dec)->decode_fec(std::span(bytes).first(160), pcm, 160), 160);  // conceals
    EXPECT_EQ(error_name(kErrorOutputTooSmall), "output too small");
}

}  // namespace
}  // namespace sb::media::codec
