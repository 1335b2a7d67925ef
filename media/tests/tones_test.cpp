#include "sb/media/dsp/tones.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdlib>
#include <numbers>
#include <string>
#include <tuple>
#include <vector>

#include "sb/media/dsp/tone_generator.h"

namespace sb::media::dsp {
namespace {

using Pcm = std::vector<std::int16_t>;

// Renders `ms` of `spec` frame by frame, as the engine would.
Pcm render(const ToneSpec& spec, int rate, std::uint32_t ms, std::size_t frame = 0) {
    if (frame == 0) frame = static_cast<std::size_t>(rate) / 50;  // 20 ms
    ToneGenerator gen(spec, rate);
    Pcm out(static_cast<std::size_t>(std::uint64_t{ms} * rate / 1000));
    for (std::size_t at = 0; at < out.size(); at += frame)
        gen.generate(std::span(out).subspan(at, std::min(frame, out.size() - at)));
    return out;
}

// The amplitude of the component at `hz` in x[begin, end): a single-bin DFT at exactly `hz`
// (what Goertzel's recursion computes) through a Hann window, so that neighbouring components
// leak little into it.
double amplitude_at(const Pcm& x, std::size_t begin, std::size_t end, double hz, int rate) {
    std::complex<double> sum = 0;
    double weight = 0;
    const std::size_t n = end - begin;
    for (std::size_t i = 0; i < n; ++i) {
        const double w = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * (i + 0.5) / n);
        sum += w * x[begin + i] * std::polar(1.0, -2 * std::numbers::pi * hz * i / rate);
        weight += w;
    }
    return 2 * std::abs(sum) / weight;
}

// On/off runs of the audio in 1 ms blocks, as (on, ms).
std::vector<std::pair<bool, int>> runs(const Pcm& x, int rate, double threshold) {
    const std::size_t block = static_cast<std::size_t>(rate) / 1000;
    std::vector<std::pair<bool, int>> out;
    for (std::size_t at = 0; at + block <= x.size(); at += block) {
        bool on = false;
        for (std::size_t i = at; i < at + block; ++i) on = on || std::abs(x[i]) > threshold;
        if (!out.empty() && out.back().first == on)
            ++out.back().second;
        else
            out.emplace_back(on, 1);
    }
    return out;
}

// The cadence as runs: adjacent segments of the same state merged, zero-length ones dropped.
std::vector<std::pair<bool, int>> expected_runs(const ToneSpec& spec, int cycles) {
    std::vector<std::pair<bool, int>> out;
    for (int c = 0; c < cycles; ++c)
        for (const CadenceSegment& s : spec.cadence()) {
            if (s.ms == 0) continue;
            if (!out.empty() && out.back().first == s.on)
                out.back().second += s.ms;
            else
                out.emplace_back(s.on, s.ms);
        }
    return out;
}

double min_amplitude(const ToneSpec& spec) {
    double a = 1e9;
    for (const ToneComponent& c : spec.components())
        a = std::min(a, dbm0_to_amplitude(c.level_dbm0));
    return a;
}

// The "on" stretches of one cycle as [begin, end) sample ranges, or the first second of a
// continuous tone.
std::vector<std::pair<std::size_t, std::size_t>> bursts(const ToneSpec& spec, int rate) {
    std::vector<std::pair<std::size_t, std::size_t>> out;
    if (spec.continuous()) return {{0, static_cast<std::size_t>(rate)}};
    std::size_t at = 0;
    for (const CadenceSegment& s : spec.cadence()) {
        const std::size_t n = std::size_t{s.ms} * rate / 1000;
        if (s.on && n > 0) out.emplace_back(at, at + n);
        at += n;
    }
    return out;
}

// Tone frequencies of the plans, and 1000/1400 Hz: what another country's tone or a test
// signal would put energy at.
constexpr double kProbes[] = {350, 400, 425, 440, 450, 480, 620, 1000, 1400};

// ---------------------------------------------------------------------------------------------
// The plans

TEST(TonesPlans, KnowsTheRequiredCountriesInOrder) {
    std::vector<std::string> codes;
    for (const TonePlan& p : tone_plans()) codes.emplace_back(p.country);
    EXPECT_EQ(codes, (std::vector<std::string>{"CN", "DE", "FR", "GB", "JP", "US"}));
    for (const TonePlan& p : tone_plans())
        for (Tone t : kAllTones)
            EXPECT_TRUE(validate(p.get(t), 8000)) << p.country << " " << to_string(t);
}

TEST(TonesPlans, LookupIgnoresCaseAndTakesUkForGb) {
    for (const char* code : {"us", "Us", "US", "de", "fr", "cn", "jp", "gb"}) {
        auto plan = find_tone_plan(code);
        ASSERT_TRUE(plan) << code;
    }
    auto uk = find_tone_plan("uk");
    ASSERT_TRUE(uk);
    EXPECT_EQ((*uk)->country, "GB");
    auto ringback = find_tone("UK", Tone::ringback);
    ASSERT_TRUE(ringback);
    ASSERT_EQ(ringback->components().size(), 2u);
    EXPECT_EQ(ringback->components()[0].hz, 400);
    EXPECT_EQ(ringback->components()[1].hz, 450);
}

TEST(TonesPlans, UnknownCountryIsAnErrorListingTheKnownOnes) {
    for (const char* code : {"XX", "", "U", "USA", "1"}) {
        auto plan = find_tone_plan(code);
        ASSERT_FALSE(plan) << code;
        EXPECT_NE(plan.error().message.find("CN, DE, FR, GB (or UK), JP, US"), std::string::npos)
            << plan.error().message;
    }
    EXPECT_FALSE(find_tone("zz", Tone::busy));
}

TEST(TonesPlans, SpotChecksAgainstTheSources) {
    // Precise Tone Plan: ringback 440+480 Hz at -19 dBm0, 2 s on 4 s off.
    const ToneSpec us = *find_tone("US", Tone::ringback);
    ASSERT_EQ(us.components().size(), 2u);
    EXPECT_EQ(us.components()[0].hz, 440);
    EXPECT_EQ(us.components()[1].hz, 480);
    EXPECT_EQ(us.components()[0].level_dbm0, -19);
    EXPECT_EQ(expected_runs(us, 1),
              (std::vector<std::pair<bool, int>>{{true, 2000}, {false, 4000}}));
    // BT SIN 350: double ring 400 on 200 off 400 on 2000 off.
    EXPECT_EQ(
        expected_runs(*find_tone("GB", Tone::ringback), 1),
        (std::vector<std::pair<bool, int>>{{true, 400}, {false, 200}, {true, 400}, {false, 2000}}));
    // E.180 Supplement 2, Germany: busy 480 on 480 off at 425 Hz.
    const ToneSpec de = *find_tone("DE", Tone::busy);
    EXPECT_EQ(de.components()[0].hz, 425);
    EXPECT_EQ(expected_runs(de, 1), (std::vector<std::pair<bool, int>>{{true, 480}, {false, 480}}));
    // Japan's ringback: 400 Hz modulated by 16 Hz, as its three lines.
    const ToneSpec jp = *find_tone("JP", Tone::ringback);
    ASSERT_EQ(jp.components().size(), 3u);
    EXPECT_EQ(jp.components()[0].hz, 384);
    EXPECT_EQ(jp.components()[1].hz, 400);
    EXPECT_EQ(jp.components()[2].hz, 416);
    EXPECT_NEAR(jp.components()[0].level_dbm0 - jp.components()[1].level_dbm0,
                20 * std::log10(0.45), 1e-4);
    EXPECT_TRUE(find_tone("US", Tone::dial)->continuous());
}

TEST(TonesLevels, Dbm0FollowsG711FullScale) {
    EXPECT_NEAR(dbm0_to_amplitude(3.14), 32767, 1e-6);
    EXPECT_NEAR(dbm0_to_amplitude(-20), 32767 * std::pow(10, -23.14 / 20), 1e-6);
    EXPECT_NEAR(dbm0_to_amplitude(-13), 5110.2, 0.5);  // 32767 * 10^(-16.14 / 20)
}

TEST(TonesValidate, RejectsWhatAGeneratorCannotPlay) {
    EXPECT_TRUE(validate(ToneSpec{}.add(425, -13), 8000));
    EXPECT_FALSE(validate(ToneSpec{}, 8000));                 // no frequency
    EXPECT_FALSE(validate(ToneSpec{}.add(4000, -13), 8000));  // at Nyquist
    EXPECT_TRUE(validate(ToneSpec{}.add(4000, -13), 16000));
    EXPECT_FALSE(validate(ToneSpec{}.add(0, -13), 8000));
    EXPECT_FALSE(validate(ToneSpec{}.add(400, 3).add(450, 3), 8000));  // clips
    EXPECT_FALSE(validate(ToneSpec{}.add(400, -13).off(100), 8000));   // never sounds
    EXPECT_FALSE(validate(ToneSpec{}.add(400, -13).on(0).off(100), 8000));
    EXPECT_FALSE(validate(ToneSpec{}.add(400, -13), 0));
}

// ---------------------------------------------------------------------------------------------
// Every country's every tone, at every rate the engine uses

using PlanCase = std::tuple<std::string, Tone, int>;

class TonesEveryPlan : public testing::TestWithParam<PlanCase> {
  protected:
    ToneSpec spec() const { return *find_tone(std::get<0>(GetParam()), std::get<1>(GetParam())); }
    int rate() const { return std::get<2>(GetParam()); }
    // Two cycles of the cadence, or two seconds of a continuous tone.
    std::uint32_t two_cycles_ms() const {
        return spec().continuous() ? 2000 : 2 * spec().period_ms();
    }
};

TEST_P(TonesEveryPlan, EnergyIsAtTheSpecFrequenciesOnly) {
    const ToneSpec s = spec();
    const Pcm x = render(s, rate(), two_cycles_ms());
    const std::size_t margin = static_cast<std::size_t>(rate()) * 5 / 1000;  // past the ramps
    for (auto [begin, end] : bursts(s, rate())) {
        begin += margin;
        end -= margin;
        double weakest = 1e9;
        for (const ToneComponent& c : s.components())
            weakest = std::min(weakest, amplitude_at(x, begin, end, c.hz, rate()));
        for (double probe : kProbes) {
            const bool near_spec =
                std::any_of(s.components().begin(), s.components().end(),
                            [&](const ToneComponent& c) { return std::abs(c.hz - probe) < 30; });
            if (near_spec) continue;
            // 20 dB in amplitude is 40 dB in energy: far more than ">>".
            EXPECT_GT(weakest, 10 * amplitude_at(x, begin, end, probe, rate()))
                << probe << " Hz in the burst at sample " << begin;
        }
    }
}

TEST_P(TonesEveryPlan, LevelIsTheSpecsWithinOneDb) {
    const ToneSpec s = spec();
    const Pcm x = render(s, rate(), two_cycles_ms());
    const std::size_t margin = static_cast<std::size_t>(rate()) * 5 / 1000;
    for (auto [begin, end] : bursts(s, rate()))
        for (const ToneComponent& c : s.components()) {
            const double measured = amplitude_at(x, begin + margin, end - margin, c.hz, rate());
            const double db = 20 * std::log10(measured / dbm0_to_amplitude(c.level_dbm0));
            EXPECT_NEAR(db, 0.0, 1.0) << c.hz << " Hz, burst at sample " << begin;
        }
}

TEST_P(TonesEveryPlan, CadenceOverTwoCyclesIsTheSpecsWithin20Ms) {
    const ToneSpec s = spec();
    const Pcm x = render(s, rate(), two_cycles_ms());
    const auto measured = runs(x, rate(), 0.01 * min_amplitude(s));
    if (s.continuous()) {
        ASSERT_EQ(measured.size(), 1u);
        EXPECT_TRUE(measured[0].first);
        return;
    }
    const auto expected = expected_runs(s, 2);
    ASSERT_EQ(measured.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(measured[i].first, expected[i].first) << "run " << i;
        EXPECT_NEAR(measured[i].second, expected[i].second, 20) << "run " << i;
    }
}

TEST_P(TonesEveryPlan, FramesJoinWithoutClicks) {
    const ToneSpec s = spec();
    // The same audio whatever the frame size: phase and cadence carry over exactly.
    const Pcm whole = render(s, rate(), two_cycles_ms(), std::size_t{1} << 30);
    const Pcm framed = render(s, rate(), two_cycles_ms());
    const Pcm odd = render(s, rate(), two_cycles_ms(), 37);
    ASSERT_EQ(whole, framed);
    ASSERT_EQ(whole, odd);
    // No sample-to-sample step beyond what the sines and their 2 ms ramps allow.
    const double ramp = static_cast<double>(rate()) * ToneGenerator::kRampMs / 1000;
    double bound = 2;  // rounding
    for (const ToneComponent& c : s.components())
        bound += dbm0_to_amplitude(c.level_dbm0) *
                 (2 * std::sin(std::numbers::pi * c.hz / rate()) + std::numbers::pi / (2 * ramp));
    int worst = 0;
    for (std::size_t i = 1; i < framed.size(); ++i)
        worst = std::max(worst, std::abs(framed[i] - framed[i - 1]));
    EXPECT_LE(worst, bound);
}

std::vector<PlanCase> all_cases() {
    std::vector<PlanCase> out;
    for (const TonePlan& p : tone_plans())
        for (Tone t : kAllTones)
            for (int rate : {8000, 16000, 48000}) out.emplace_back(std::string(p.country), t, rate);
    return out;
}

INSTANTIATE_TEST_SUITE_P(Tones, TonesEveryPlan, testing::ValuesIn(all_cases()),
                         [](const testing::TestParamInfo<PlanCase>& info) {
                             return std::get<0>(info.param) + "_" +
                                    std::string(to_string(std::get<1>(info.param))) + "_" +
                                    std::to_string(std::get<2>(info.param));
                         });

// ---------------------------------------------------------------------------------------------
// The generator's own behaviour

TEST(TonesGenerator, LimitedPlaysEndInSilence) {
    // Germany's call waiting: five double beeps, then nothing.
    const ToneSpec s = *find_tone("DE", Tone::call_waiting);
    ASSERT_EQ(s.plays, 5);
    ToneGenerator gen(s, 8000);
    Pcm x(std::size_t{s.period_ms()} * 8 * 5);
    gen.generate(x);
    EXPECT_TRUE(gen.finished());
    const auto measured = runs(x, 8000, 0.01 * min_amplitude(s));
    EXPECT_EQ(std::count_if(measured.begin(), measured.end(), [](auto r) { return r.first; }), 10);
    Pcm after(8000, 1);
    gen.generate(after);
    EXPECT_TRUE(std::all_of(after.begin(), after.end(), [](std::int16_t v) { return v == 0; }));
}

TEST(TonesGenerator, ResetStartsOver) {
    const ToneSpec s = *find_tone("GB", Tone::ringback);
    ToneGenerator gen(s, 8000);
    Pcm first(4000), again(4000);
    gen.generate(first);
    gen.reset();
    gen.generate(again);
    EXPECT_EQ(first, again);
}

TEST(TonesGenerator, BurstEdgesFadeWhereverThePhaseIs) {
    // The national cadences mostly hold whole half-cycles, so their bursts start and stop near
    // zero anyway; this one stops at an arbitrary phase and must still not click.
    const ToneSpec s = ToneSpec{}.add(1010, -3).on(103).off(51);
    const Pcm x = render(s, 8000, 5 * s.period_ms());
    const double a = dbm0_to_amplitude(-3);
    const double ramp = 8.0 * ToneGenerator::kRampMs;
    const double bound =
        a * (2 * std::sin(std::numbers::pi * 1010 / 8000) + std::numbers::pi / (2 * ramp)) + 2;
    int worst = 0;
    for (std::size_t i = 1; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - x[i - 1]));
    EXPECT_LE(worst, bound);
    // Each burst ends on silence: its last sample is 0, and so is the first of the gap.
    for (int c = 0; c < 5; ++c) {
        const std::size_t end = (c * s.period_ms() + 103) * 8;
        EXPECT_EQ(x[end - 1], 0) << c;
        EXPECT_EQ(x[end], 0) << c;
        EXPECT_EQ(x[c * s.period_ms() * 8], 0) << c;  // and starts from it
    }
}

TEST(TonesGenerator, StopFadesOutWithinTheRamp) {
    ToneGenerator gen(*find_tone("US", Tone::dial), 8000);
    Pcm x(160);
    gen.generate(x);
    gen.stop();
    Pcm tail(160);
    gen.generate(tail);
    EXPECT_TRUE(gen.finished());
    const std::size_t ramp = 8 * ToneGenerator::kRampMs;
    EXPECT_NE(tail[0], 0);
    for (std::size_t i = ramp; i < tail.size(); ++i) EXPECT_EQ(tail[i], 0) << i;
    int worst = 0;
    for (std::size_t i = 1; i < tail.size(); ++i)
        worst = std::max(worst, std::abs(tail[i] - tail[i - 1]));
    EXPECT_LT(worst, 0.5 * 2 * dbm0_to_amplitude(-13));  // a fade, not a cut
}

TEST(TonesGenerator, StopDuringSilenceEndsAtOnce) {
    ToneGenerator gen(*find_tone("US", Tone::busy), 8000);
    Pcm x(8 * 600);  // into the first 500 ms off
    gen.generate(x);
    gen.stop();
    EXPECT_TRUE(gen.finished());
}

TEST(TonesGenerator, PhaseStaysExactOverAnHour) {
    // One hour of a 1 kHz tone at 8 kHz: the phasor must still be where the clock says, with
    // unit length (renormalised), so sample n is A*sin(2*pi*1000*n/8000) to within rounding.
    ToneGenerator gen(ToneSpec{}.add(1000, -3), 8000);
    Pcm frame(160);
    for (int i = 0; i < 3600 * 50; ++i) gen.generate(frame);
    const double a = dbm0_to_amplitude(-3);
    for (std::size_t i = 0; i < frame.size(); ++i)
        EXPECT_NEAR(frame[i], a * std::sin(2 * std::numbers::pi * 1000 * i / 8000), 1.0) << i;
}

}  // namespace
}  // namespace sb::media::dsp
