#include "sb/media/codec/resampler.h"

#include <gtest/gtest.h>

#include "codec_test_util.h"
#include "sb/media/codec/codec.h"

namespace sb::media::codec {
namespace {

using namespace testing;

Resampler make(int from, int to, int quality = Resampler::kDefaultQuality) {
    auto r = Resampler::create(from, to, quality);
    EXPECT_TRUE(r) << r.error().message;
    return std::move(*r);
}

// Streams `in` through `r` in frames of `frame` samples, checking every frame's output count.
Pcm stream(Resampler& r, const Pcm& in, std::size_t frame, int expected_per_frame) {
    Pcm out;
    Pcm buffer(kMaxFrameSamples);
    for (std::size_t at = 0; at + frame <= in.size(); at += frame) {
        const int n = r.process(std::span(in).subspan(at, frame), buffer);
        EXPECT_EQ(n, expected_per_frame) << error_name(n);
        if (n <= 0) break;
        out.insert(out.end(), buffer.begin(), buffer.begin() + n);
    }
    return out;
}

// 8 kHz (G.711) up to 48 kHz (Opus) and back, 20 ms at a time: 160 -> 960 -> 160 samples, and
// the tone comes back intact, only delayed by the two filters.
TEST(Resampler, EightToFortyEightAndBackKeepsATone) {
    Resampler up = make(8000, 48000);
    Resampler down = make(48000, 8000);
    EXPECT_EQ(up.output_size(160), 960);
    EXPECT_EQ(down.output_size(960), 160);
    const Pcm in = sine_1k(8000, 8000);
    const Pcm high = stream(up, in, 160, 960);
    ASSERT_EQ(high.size(), 48000u);
    EXPECT_EQ(dominant_hz(std::span(high).subspan(4800), 48000), 1000);
    const Pcm back = stream(down, high, 960, 160);
    ASSERT_EQ(back.size(), in.size());
    const Alignment a = best_alignment(in, back, 100, 800, 6000);
    EXPECT_GT(a.correlation, 0.99) << "lag " << a.lag;
    EXPECT_GT(snr_db(in, back, a.lag, 800, 7000), 30);
    EXPECT_EQ(dominant_hz(std::span(back).subspan(800), 8000), 1000);
}

// The delay is the filters' and nothing else: a signal with no period to hide a wrong lag comes
// back delay() later.
TEST(Resampler, DelayIsTheFiltersLatency) {
    Resampler up = make(8000, 48000);
    Resampler down = make(48000, 8000);
    const Pcm in = speech_like(8000, 8000);
    const Pcm back = stream(down, stream(up, in, 160, 960), 960, 160);
    const Alignment a = best_alignment(in, back, 200, 800, 6000);
    EXPECT_GT(a.correlation, 0.99);
    EXPECT_NEAR(a.lag, up.delay() / 6 + down.delay(), 1) << up.delay() << " " << down.delay();
}

TEST(Resampler, CountsSamplesForEveryPairOfRates) {
    const int rates[] = {8000, 12000, 16000, 24000, 48000};
    for (const int from : rates) {
        for (const int to : rates) {
            Resampler r = make(from, to);
            const Pcm in = sine_1k(from, std::size_t(from) / 5);  // 200 ms
            const Pcm out = stream(r, in, std::size_t(from) / 50, to / 50);
            EXPECT_EQ(out.size(), std::size_t(to) / 5) << from << " -> " << to;
        }
    }
}

TEST(Resampler, EqualRatesCopy) {
    Resampler r = make(16000, 16000);
    EXPECT_EQ(r.delay(), 0);
    const Pcm in = two_tone(16000, 320);
    Pcm out(320);
    ASSERT_EQ(r.process(in, out), 320);
    EXPECT_EQ(out, in);
}

// Down to 8 kHz the filter removes what 8 kHz cannot carry instead of folding it back: a 6 kHz
// tone would alias to 2 kHz.
TEST(Resampler, DownsamplingFiltersAliases) {
    Resampler r = make(48000, 8000);
    const Pcm in = tones(48000, 48000, {{6000, -10}});
    const Pcm out = stream(r, in, 960, 160);
    const double in_level = energy(in) / double(in.size());
    const double alias = energy(std::span(out).subspan(800)) / double(out.size() - 800);
    EXPECT_LT(10 * std::log10(alias / in_level), -30);
}

TEST(Resampler, QualityIsConfigurable) {
    for (const int quality : {0, 10}) {
        Resampler r = make(16000, 8000, quality);
        const Pcm out = stream(r, sine_1k(16000, 16000), 320, 160);
        EXPECT_EQ(dominant_hz(std::span(out).subspan(800), 8000), 1000) << quality;
    }
}

TEST(Resampler, BadArgumentsGiveErrorsNotCrashes) {
    EXPECT_FALSE(Resampler::create(8000, 48000, 11));
    EXPECT_FALSE(Resampler::create(8000, 48000, -1));
    EXPECT_FALSE(Resampler::create(0, 48000));
    EXPECT_FALSE(Resampler::create(8000, -8000));
    EXPECT_FALSE(Resampler::create(8000, 1000000));

    Resampler r = make(8000, 48000);
    Pcm in(kMaxFrameSamples + 1);
    Pcm out(6 * in.size());
    EXPECT_EQ(r.process(std::span(in).first(160), std::span(out).first(959)), kErrorOutputTooSmall);
    EXPECT_EQ(r.process(in, out), kErrorInvalidInput);
    EXPECT_EQ(r.process({}, out), 0);
    EXPECT_EQ(r.process(std::span(in).first(160), out), 960);  // still usable
    r.reset();
    EXPECT_EQ(r.process(std::span(in).first(160), out), 960);
}

}  // namespace
}  // namespace sb::media::codec
