#include "sb/media/codec/codec.h"

#include <gtest/gtest.h>

#include "codec_test_util.h"

namespace sb::media::codec {
namespace {

using namespace testing;

TEST(CodecSdp, LooksUpEncodingNamesAndClockRates) {
    EXPECT_EQ(codec_from_sdp("PCMU", 8000), CodecId::pcmu);
    EXPECT_EQ(codec_from_sdp("pcmu", 8000), CodecId::pcmu);  // RFC 4855 3: case-insensitive
    EXPECT_EQ(codec_from_sdp("PCMA", 8000), CodecId::pcma);
    EXPECT_EQ(codec_from_sdp("G722", 8000), CodecId::g722);  // RFC 3551 4.5.2: clock 8000
    EXPECT_EQ(codec_from_sdp("g722", 16000), std::nullopt);
    EXPECT_EQ(codec_from_sdp("opus", 48000, 2), CodecId::opus);
    EXPECT_EQ(codec_from_sdp("OPUS", 48000, 2), CodecId::opus);
    EXPECT_EQ(codec_from_sdp("opus", 16000, 2), std::nullopt);  // RFC 7587 7: always 48000/2
    EXPECT_EQ(codec_from_sdp("PCMU", 8000, 2), std::nullopt);
    EXPECT_EQ(codec_from_sdp("PCMU", 16000), std::nullopt);
    EXPECT_EQ(codec_from_sdp("telephone-event", 8000), std::nullopt);
    EXPECT_EQ(codec_from_sdp("", 8000), std::nullopt);
}

TEST(CodecSdp, DescribesEachCodec) {
    EXPECT_EQ(to_string(CodecId::g722), "G722");
    EXPECT_EQ(to_string(CodecId::opus), "opus");
    for (const CodecId id : {CodecId::pcmu, CodecId::pcma, CodecId::g722, CodecId::opus})
        EXPECT_EQ(codec_from_sdp(to_string(id), rtp_clock_rate(id), id == CodecId::opus ? 2 : 1),
                  id);
    EXPECT_EQ(rtp_clock_rate(CodecId::g722), 8000);
    EXPECT_EQ(native_sample_rate(CodecId::g722), 16000);
    EXPECT_EQ(rtp_clock_rate(CodecId::opus), 48000);
    EXPECT_EQ(native_sample_rate(CodecId::pcmu), 8000);
    EXPECT_EQ(static_payload_type(CodecId::pcmu), 0);
    EXPECT_EQ(static_payload_type(CodecId::pcma), 8);
    EXPECT_EQ(static_payload_type(CodecId::g722), 9);
    EXPECT_EQ(static_payload_type(CodecId::opus), std::nullopt);
}

TEST(CodecOptions, AppliesTheRemoteOpusFmtp) {
    auto o = apply_opus_fmtp("minptime=10; useinbandfec=1; maxaveragebitrate=20000");
    ASSERT_TRUE(o) << o.error().message;
    EXPECT_EQ(o->bitrate, 20000);
    EXPECT_TRUE(o->inband_fec);
    EXPECT_FALSE(o->dtx);

    // maxaveragebitrate only lowers; the others as given, names case-insensitive.
    o = apply_opus_fmtp("maxaveragebitrate=64000;UseInbandFec=0;usedtx=1;maxplaybackrate=8000");
    ASSERT_TRUE(o) << o.error().message;
    EXPECT_EQ(o->bitrate, 32000);
    EXPECT_FALSE(o->inband_fec);
    EXPECT_TRUE(o->dtx);
    EXPECT_EQ(o->max_audio_rate, 8000);
    o = apply_opus_fmtp("maxplaybackrate=48000");  // lowers only
    ASSERT_TRUE(o) << o.error().message;
    EXPECT_EQ(o->max_audio_rate, 16000);

    // Absent parameters keep the base; unknown ones are skipped.
    EncoderOptions base;
    base.bitrate = 24000;
    o = apply_opus_fmtp("stereo=1; sprop-stereo=0; cbr=1;;", base);
    ASSERT_TRUE(o) << o.error().message;
    EXPECT_EQ(o->bitrate, 24000);
    EXPECT_TRUE(o->inband_fec);
    EXPECT_TRUE(apply_opus_fmtp(""));
}

TEST(CodecOptions, RejectsOpusFmtpValuesOutOfRange) {
    for (const char* bad :
         {"maxaveragebitrate=abc", "maxaveragebitrate=5999", "maxaveragebitrate=510001",
          "maxaveragebitrate=99999999999999", "maxaveragebitrate=-1", "maxaveragebitrate",
          "useinbandfec=2", "usedtx=", "maxplaybackrate=96000", "maxplaybackrate=7999",
          "useinbandfec=1x"}) {
        const auto o = apply_opus_fmtp(bad);
        ASSERT_FALSE(o) << bad;
        EXPECT_NE(o.error().message.find("Opus fmtp"), std::string::npos) << o.error().message;
    }
}

TEST(CodecOptions, FactoriesRejectSettingsOutOfRange) {
    auto with = [](auto change) {
        EncoderOptions o;
        change(o);
        return make_encoder(CodecId::opus, o).has_value();
    };
    EXPECT_TRUE(with([](EncoderOptions&) {}));
    EXPECT_FALSE(with([](EncoderOptions& o) { o.complexity = 11; }));
    EXPECT_FALSE(with([](EncoderOptions& o) { o.complexity = -1; }));
    EXPECT_FALSE(with([](EncoderOptions& o) { o.bitrate = 1000; }));
    EXPECT_FALSE(with([](EncoderOptions& o) { o.packet_loss_percent = 101; }));
    EXPECT_FALSE(with([](EncoderOptions& o) { o.max_audio_rate = 4000; }));
    EXPECT_FALSE(with([](EncoderOptions& o) { o.sample_rate = 44100; }));
    EXPECT_TRUE(with([](EncoderOptions& o) { o.sample_rate = 16000; }));

    EncoderOptions wideband;
    wideband.sample_rate = 16000;
    EXPECT_FALSE(make_encoder(CodecId::pcmu, wideband));
    EXPECT_FALSE(make_decoder(CodecId::pcma, 16000));
    EXPECT_FALSE(make_decoder(CodecId::g722, 48000));
    EXPECT_FALSE(make_decoder(CodecId::opus, 44100));
    auto narrow = make_decoder(CodecId::g722, 8000);
    ASSERT_TRUE(narrow);
    EXPECT_EQ((*narrow)->sample_rate(), 8000);
    EXPECT_EQ((*narrow)->rtp_clock_rate(), 8000);
}

// G.722 is a waveform coder (sub-band ADPCM), so the decoded audio follows the input sample by
// sample after the QMF filters' delay: correlation above 0.9 (at 64 kbit/s it is about 0.99;
// a wrong band split or bit order falls far below). The tone's frequency stays the strongest.
TEST(CodecG722, RoundTripKeepsTones) {
    constexpr int kRate = 16000;
    struct Case {
        Pcm in;
        std::vector<double> hz;
    };
    for (const Case& c :
         {Case{sine_1k(kRate, kRate), {1000}}, Case{two_tone(kRate, kRate), {697, 1209}}}) {
        auto enc = make_encoder(CodecId::g722);
        auto dec = make_decoder(CodecId::g722);
        ASSERT_TRUE(enc && dec);
        EXPECT_EQ((*enc)->sample_rate(), 16000);
        EXPECT_EQ((*enc)->rtp_clock_rate(), 8000);
        std::vector<int> sizes;
        const Pcm out = round_trip(**enc, **dec, c.in, 320, &sizes);
        ASSERT_EQ(out.size(), c.in.size());
        for (const int s : sizes) EXPECT_EQ(s, 160);  // 64 kbit/s: 160 octets per 20 ms
        const Alignment a = best_alignment(c.in, out, 100, 1600, 8000);
        EXPECT_GT(a.correlation, 0.9) << "lag " << a.lag;
        EXPECT_LT(a.lag, 40);  // the QMF pair's delay: 22 samples
        const std::span tail(out.begin() + 1600, out.end());
        expect_tones_kept(tail, kRate, c.hz);
        if (c.hz.size() == 1) {
            EXPECT_EQ(dominant_hz(tail, kRate), 1000);
        }
    }
}

// What G.711 cannot carry: a 5 kHz tone survives G.722 (its upper band covers 4-7 kHz).
TEST(CodecG722, CarriesWidebandAudio) {
    constexpr int kRate = 16000;
    const Pcm in = tones(kRate, kRate, {{5000, -10}});
    auto enc = make_encoder(CodecId::g722);
    auto dec = make_decoder(CodecId::g722);
    ASSERT_TRUE(enc && dec);
    const Pcm out = round_trip(**enc, **dec, in, 320);
    EXPECT_EQ(dominant_hz(std::span(out).subspan(1600), kRate), 5000);
    EXPECT_GT(best_alignment(in, out, 100, 1600, 8000).correlation, 0.9);
}

// SpanDSP's 8 kHz mode codes the lower band only, one octet per sample.
TEST(CodecG722, NarrowbandModeTakesEightKilohertz) {
    constexpr int kRate = 8000;
    EncoderOptions o;
    o.sample_rate = kRate;
    auto enc = make_encoder(CodecId::g722, o);
    auto dec = make_decoder(CodecId::g722, kRate);
    ASSERT_TRUE(enc && dec);
    const Pcm in = sine_1k(kRate, kRate);
    std::vector<int> sizes;
    const Pcm out = round_trip(**enc, **dec, in, 160, &sizes);
    ASSERT_EQ(out.size(), in.size());
    EXPECT_EQ(sizes.front(), 160);
    EXPECT_GT(best_alignment(in, out, 60, 800, 4000).correlation, 0.9);
    EXPECT_EQ(dominant_hz(std::span(out).subspan(800), kRate), 1000);
}

TEST(CodecG722, ConcealmentFades) {
    constexpr int kRate = 16000;
    const Pcm in = sine_1k(kRate, 320 * 5);
    auto enc = make_encoder(CodecId::g722);
    auto dec = make_decoder(CodecId::g722);
    ASSERT_TRUE(enc && dec);
    const Pcm decoded = round_trip(**enc, **dec, in, 320);
    Pcm out(320);
    std::vector<double> energies;
    for (int f = 0; f < 4; ++f) {
        ASSERT_EQ((*dec)->conceal(out, 320), 320);
        energies.push_back(energy(out));
    }
    EXPECT_GT(energies[0], 0.6 * energy(std::span(decoded).last(320)));
    EXPECT_LT(energies[1], 0.6 * energies[0]);
    EXPECT_LT(energies[2], 0.3 * energies[1]);
    EXPECT_EQ(energies[3], 0);
    (*dec)->reset();
    EXPECT_EQ((*dec)->decode_fec(std::array<std::uint8_t, 160>{}, out, 320), 320);
}

TEST(CodecG722, BadInputsGiveErrorsNotCrashes) {
    auto enc = make_encoder(CodecId::g722);
    auto dec = make_decoder(CodecId::g722);
    ASSERT_TRUE(enc && dec);
    Pcm pcm(4000);
    std::vector<std::uint8_t> bytes(2000);
    EXPECT_EQ((*enc)->encode({}, bytes), kErrorInvalidInput);
    EXPECT_EQ((*enc)->encode(std::span(pcm).first(319), bytes), kErrorInvalidInput);   // odd
    EXPECT_EQ((*enc)->encode(std::span(pcm).first(1922), bytes), kErrorInvalidInput);  // 120 ms+
    EXPECT_EQ((*enc)->encode(std::span(pcm).first(320), std::span(bytes).first(159)),
              kErrorOutputTooSmall);
    EXPECT_EQ((*dec)->decode({}, pcm), kErrorInvalidInput);
    EXPECT_EQ((*dec)->decode(std::span(bytes).first(961), pcm), kErrorInvalidInput);
    EXPECT_EQ((*dec)->decode(std::span(bytes).first(160), std::span(pcm).first(319)),
              kErrorOutputTooSmall);
    EXPECT_EQ((*dec)->samples_in(std::span(bytes).first(160)), 320);
    EXPECT_EQ((*dec)->conceal(pcm, -5), kErrorInvalidInput);
    EXPECT_EQ((*dec)->conceal(std::span(pcm).first(10), 320), kErrorOutputTooSmall);
}

}  // namespace
}  // namespace sb::media::codec
