#include "sb/media/dsp/mixer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "sb/media/dsp/tones.h"

namespace sb::media::dsp {
namespace {

using Pcm = std::vector<std::int16_t>;

// Writes tick `tick` of a sine that runs on from tick to tick without a seam.
void write_sine(std::span<std::int16_t> frame, double hz, double amplitude, int rate,
                std::uint64_t tick) {
    const std::uint64_t first = tick * frame.size();
    for (std::size_t k = 0; k < frame.size(); ++k)
        frame[k] = static_cast<std::int16_t>(
            std::lround(amplitude * std::sin(2 * std::numbers::pi * hz *
                                             static_cast<double>(first + k) / rate)));
}

void append(Pcm& to, std::span<const std::int16_t> frame) {
    to.insert(to.end(), frame.begin(), frame.end());
}

// The amplitude of the component at `hz` in x[begin, end): Goertzel's recursion over the
// samples through a Hann window, so that the neighbouring tones leak little into the bin.
double amplitude_at(const Pcm& x, std::size_t begin, std::size_t end, double hz, int rate) {
    const std::size_t n = end - begin;
    const double coeff = 2 * std::cos(2 * std::numbers::pi * hz / rate);
    double s1 = 0, s2 = 0, weight = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double w = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * (i + 0.5) / n);
        const double s = w * x[begin + i] + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
        weight += w;
    }
    const double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    return 2 * std::sqrt(std::max(power, 0.0)) / weight;
}

double rms(const std::vector<double>& x) {
    double sum = 0;
    for (double v : x) sum += v * v;
    return std::sqrt(sum / static_cast<double>(x.size()));
}

bool all_zero(std::span<const std::int16_t> x) {
    return std::all_of(x.begin(), x.end(), [](std::int16_t v) { return v == 0; });
}

MixerConfig config(int rate, std::size_t max_speakers, std::size_t max_participants = 64) {
    MixerConfig c;
    c.sample_rate = rate;
    c.max_speakers = max_speakers;
    c.max_participants = max_participants;
    return c;
}

constexpr double kHz[] = {400, 700, 1100};
constexpr double kAmplitude = 8000;

// ---------------------------------------------------------------------------------------------
// Mix-minus

TEST(MixerMixMinus, EachHearsTheOthersButNotItself) {
    for (int rate : {8000, 16000, 48000})
        for (std::size_t k : {std::size_t{0}, std::size_t{3}}) {
            SCOPED_TRACE("rate " + std::to_string(rate) + ", max_speakers " + std::to_string(k));
            Mixer mixer(config(rate, k));
            std::vector<ParticipantId> ids;
            for (int i = 0; i < 3; ++i) ids.push_back(*mixer.join());
            std::vector<Pcm> heard(3);
            const std::size_t frame = mixer.frame_samples();
            for (std::uint64_t tick = 0; tick < 15; ++tick) {
                for (int i = 0; i < 3; ++i)
                    write_sine(mixer.input(ids[i]), kHz[i], kAmplitude, rate, tick);
                mixer.mix();
                EXPECT_EQ(mixer.stats().speakers, 3u);
                for (int i = 0; i < 3; ++i) {
                    const auto out = mixer.output(ids[i]);
                    ASSERT_EQ(out.size(), frame);
                    append(heard[i], out);
                    if (tick == 0) continue;  // the first tick fades everyone in
                    // Exactly the sum of the other two frames: no gain, no leftover of its own.
                    Pcm others(frame), a(frame), b(frame);
                    write_sine(a, kHz[(i + 1) % 3], kAmplitude, rate, tick);
                    write_sine(b, kHz[(i + 2) % 3], kAmplitude, rate, tick);
                    for (std::size_t s = 0; s < frame; ++s)
                        ASSERT_EQ(out[s], a[s] + b[s]) << "participant " << i << " sample " << s;
                }
            }
            for (int i = 0; i < 3; ++i) {
                const Pcm& x = heard[i];
                const double own = amplitude_at(x, frame, x.size(), kHz[i], rate);
                for (int j = 0; j < 3; ++j) {
                    if (j == i) continue;
                    const double other = amplitude_at(x, frame, x.size(), kHz[j], rate);
                    EXPECT_NEAR(20 * std::log10(other / kAmplitude), 0, 0.5) << i << " hears " << j;
                    // 40 dB lower in energy is 100 times in amplitude.
                    EXPECT_LT(own, other / 100) << i << " hears itself";
                }
            }
        }
}

TEST(MixerMixMinus, EnteringAndLeavingTheMixFadesWithoutAClick) {
    Mixer mixer(config(16000, 0));
    const ParticipantId a = *mixer.join();
    const ParticipantId b = *mixer.join();
    Pcm heard;
    for (std::uint64_t tick = 0; tick < 6; ++tick) {
        if (tick == 3) mixer.set_muted(a, true);
        write_sine(mixer.input(a), 1000, 20000, 16000, tick);
        mixer.mix();
        append(heard, mixer.output(b));
    }
    const std::size_t frame = mixer.frame_samples();
    // Tick 0 rises from nothing, ticks 1 and 2 are A itself, tick 3 falls to nothing, then
    // silence: never a step larger than the sine's own.
    EXPECT_LT(std::abs(heard[0]), 200);
    Pcm a_frame(frame);
    write_sine(a_frame, 1000, 20000, 16000, 1);
    EXPECT_TRUE(std::equal(a_frame.begin(), a_frame.end(), heard.begin() + frame));
    EXPECT_LT(std::abs(heard[4 * frame - 1]), 200);
    EXPECT_TRUE(all_zero(std::span(heard).subspan(4 * frame)));
    const double bound = 20000 * 2 * std::sin(std::numbers::pi * 1000 / 16000) + 2;
    for (std::size_t i = 1; i < heard.size(); ++i)
        ASSERT_LE(std::abs(heard[i] - heard[i - 1]), bound) << i;
}

// ---------------------------------------------------------------------------------------------
// Mute and silence

TEST(MixerMute, MutedIsHeardByNobodyButHearsTheOthers) {
    constexpr int kRate = 16000;
    Mixer mixer(config(kRate, 4));
    std::vector<ParticipantId> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(*mixer.join());
    mixer.set_muted(ids[1], true);
    EXPECT_TRUE(mixer.muted(ids[1]));
    std::vector<Pcm> heard(3);
    for (std::uint64_t tick = 0; tick < 15; ++tick) {
        for (int i = 0; i < 3; ++i)
            write_sine(mixer.input(ids[i]), kHz[i], kAmplitude, kRate, tick);
        mixer.mix();
        for (int i = 0; i < 3; ++i) append(heard[i], mixer.output(ids[i]));
    }
    EXPECT_FALSE(mixer.speaking(ids[1]));
    EXPECT_TRUE(mixer.speaking(ids[0]));
    EXPECT_EQ(mixer.stats().speakers, 2u);
    const std::size_t frame = mixer.frame_samples();
    const std::size_t end = heard[0].size();
    for (int i : {0, 2}) {
        EXPECT_LT(amplitude_at(heard[i], frame, end, kHz[1], kRate), 1.0) << i << " hears B";
        EXPECT_GT(amplitude_at(heard[i], frame, end, kHz[2 - i], kRate), 0.9 * kAmplitude);
    }
    // B hears A and C.
    EXPECT_GT(amplitude_at(heard[1], frame, end, kHz[0], kRate), 0.9 * kAmplitude);
    EXPECT_GT(amplitude_at(heard[1], frame, end, kHz[2], kRate), 0.9 * kAmplitude);

    // Unmuted, B is back.
    mixer.set_muted(ids[1], false);
    Pcm a_hears;
    for (std::uint64_t tick = 15; tick < 30; ++tick) {
        for (int i = 0; i < 3; ++i)
            write_sine(mixer.input(ids[i]), kHz[i], kAmplitude, kRate, tick);
        mixer.mix();
        append(a_hears, mixer.output(ids[0]));
    }
    EXPECT_GT(amplitude_at(a_hears, frame, a_hears.size(), kHz[1], kRate), 0.9 * kAmplitude);
}

TEST(MixerSilence, MissingOrMarkedSilentInputIsSilenceNotTheLastFrame) {
    constexpr int kRate = 8000;
    Mixer mixer(config(kRate, 4));
    const ParticipantId a = *mixer.join();
    const ParticipantId b = *mixer.join();
    for (std::uint64_t tick = 0; tick < 3; ++tick) {
        write_sine(mixer.input(a), 400, kAmplitude, kRate, tick);
        mixer.mix();
    }
    EXPECT_FALSE(all_zero(mixer.output(b)));
    // Tick 3: nothing from A. Its buffer still holds tick 2's frame, which must not replay.
    mixer.mix();
    EXPECT_TRUE(all_zero(mixer.output(b)));
    EXPECT_FALSE(mixer.speaking(a));
    EXPECT_EQ(mixer.stats().speakers, 0u);
    // Tick 4: A's frame taken, then given up.
    write_sine(mixer.input(a), 400, kAmplitude, kRate, 4);
    mixer.mark_silent(a);
    mixer.mix();
    EXPECT_TRUE(all_zero(mixer.output(b)));
    // Tick 5: back.
    write_sine(mixer.input(a), 400, kAmplitude, kRate, 5);
    mixer.mix();
    EXPECT_FALSE(all_zero(mixer.output(b)));
    // All zeros is silence too, and takes no speaker's place.
    auto in = mixer.input(a);
    std::fill(in.begin(), in.end(), std::int16_t{0});
    mixer.mix();
    EXPECT_EQ(mixer.stats().speakers, 0u);
}

// ---------------------------------------------------------------------------------------------
// Membership

TEST(MixerMembership, LeaveAndJoinMidStream) {
    constexpr int kRate = 16000;
    Mixer mixer(config(kRate, 4));
    const ParticipantId a = *mixer.join();
    const ParticipantId b = *mixer.join();
    const ParticipantId c = *mixer.join();
    EXPECT_EQ(mixer.stats().participants, 3u);
    auto run = [&](std::uint64_t from, std::uint64_t to, std::vector<ParticipantId> senders,
                   std::vector<double> hz, ParticipantId listener) {
        Pcm heard;
        for (std::uint64_t tick = from; tick < to; ++tick) {
            for (std::size_t i = 0; i < senders.size(); ++i)
                write_sine(mixer.input(senders[i]), hz[i], kAmplitude, kRate, tick);
            mixer.mix();
            append(heard, mixer.output(listener));
        }
        return heard;
    };
    const std::size_t frame = mixer.frame_samples();
    Pcm heard = run(0, 10, {a, b, c}, {400, 700, 1100}, a);
    EXPECT_GT(amplitude_at(heard, frame, heard.size(), 1100, kRate), 0.9 * kAmplitude);

    mixer.leave(c);
    mixer.leave(c);  // twice is harmless
    EXPECT_FALSE(mixer.contains(c));
    EXPECT_TRUE(mixer.input(c).empty());
    EXPECT_TRUE(mixer.output(c).empty());
    EXPECT_EQ(mixer.stats().participants, 2u);
    heard = run(10, 20, {a, b}, {400, 700}, a);
    EXPECT_LT(amplitude_at(heard, 0, heard.size(), 1100, kRate), 1.0);
    EXPECT_GT(amplitude_at(heard, 0, heard.size(), 700, kRate), 0.9 * kAmplitude);

    // D takes C's slot under a new id; C's id stays dead.
    const ParticipantId d = *mixer.join();
    EXPECT_NE(d, c);
    EXPECT_FALSE(mixer.contains(c));
    EXPECT_TRUE(mixer.contains(d));
    EXPECT_FALSE(mixer.contains(ParticipantId{}));
    EXPECT_TRUE(all_zero(mixer.output(d)));  // silence before its first tick
    heard = run(20, 30, {a, b, d}, {400, 700, 1500}, a);
    EXPECT_GT(amplitude_at(heard, frame, heard.size(), 1500, kRate), 0.9 * kAmplitude);
    EXPECT_LT(amplitude_at(heard, frame, heard.size(), 1100, kRate), 1.0);
    heard = run(30, 40, {a, b, d}, {400, 700, 1500}, d);
    EXPECT_GT(amplitude_at(heard, 0, heard.size(), 400, kRate), 0.9 * kAmplitude);
    EXPECT_LT(amplitude_at(heard, 0, heard.size(), 1500, kRate), 1.0);
}

TEST(MixerMembership, RoomIsBoundedAndJoinBeyondItFails) {
    Mixer mixer(config(16000, 4, 4));
    std::vector<ParticipantId> ids;
    for (int i = 0; i < 4; ++i) {
        auto id = mixer.join();
        ASSERT_TRUE(id);
        ids.push_back(*id);
    }
    auto full = mixer.join();
    ASSERT_FALSE(full);
    EXPECT_NE(full.error().message.find("full"), std::string::npos) << full.error().message;
    mixer.leave(ids[2]);
    EXPECT_TRUE(mixer.join());
    EXPECT_FALSE(mixer.join());
}

TEST(MixerConfig, ValidateRejectsWhatTheMixerCannotRun) {
    EXPECT_TRUE(validate(MixerConfig{}));
    EXPECT_EQ(MixerConfig{}.sample_rate, 16000);
    EXPECT_EQ(MixerConfig{}.frame_samples(), 320u);
    EXPECT_TRUE(validate(config(8000, 0)));
    EXPECT_TRUE(validate(config(48000, 8, MixerConfig::kMaxRoom)));
    EXPECT_FALSE(validate(config(44100, 4)));
    EXPECT_FALSE(validate(config(0, 4)));
    EXPECT_FALSE(validate(config(16000, 4, 0)));
    EXPECT_FALSE(validate(config(16000, 4, MixerConfig::kMaxRoom + 1)));
}

// ---------------------------------------------------------------------------------------------
// Active speakers

// 48 mics sending noise, 2 sending tones; returns what participant `listener` (a noisy one)
// heard less the two tones, from tick 5 on (past the fades).
std::vector<double> residual_noise(std::size_t max_speakers, Mixer** inspect = nullptr) {
    constexpr int kRate = 16000;
    constexpr double kTalkHz[] = {400, 1100};
    constexpr double kTalk = 6000;
    Mixer mixer(config(kRate, max_speakers));
    std::vector<ParticipantId> ids;
    for (int i = 0; i < 50; ++i) ids.push_back(*mixer.join());
    std::mt19937 rng(1);
    std::uniform_int_distribution<int> noise(-500, 500);
    const std::size_t frame = mixer.frame_samples();
    const ParticipantId listener = ids[10];
    std::vector<double> residual;
    Pcm t0(frame), t1(frame);
    for (std::uint64_t tick = 0; tick < 50; ++tick) {
        write_sine(mixer.input(ids[0]), kTalkHz[0], kTalk, kRate, tick);
        write_sine(mixer.input(ids[1]), kTalkHz[1], kTalk, kRate, tick);
        for (std::size_t i = 2; i < ids.size(); ++i)
            for (std::int16_t& v : mixer.input(ids[i])) v = static_cast<std::int16_t>(noise(rng));
        mixer.mix();
        EXPECT_EQ(mixer.stats().limited_outputs, 0u);
        if (tick < 5) continue;
        write_sine(t0, kTalkHz[0], kTalk, kRate, tick);
        write_sine(t1, kTalkHz[1], kTalk, kRate, tick);
        const auto out = mixer.output(listener);
        for (std::size_t k = 0; k < frame; ++k) residual.push_back(out[k] - t0[k] - t1[k]);
        if (max_speakers != 0) {
            EXPECT_TRUE(mixer.speaking(ids[0]));
            EXPECT_TRUE(mixer.speaking(ids[1]));
            EXPECT_EQ(mixer.stats().speakers, max_speakers);
        }
    }
    return residual;
}

TEST(MixerActiveSpeakers, FiftyNoisyMicsDoNotBuryTwoTalkers) {
    const double one_mic = 1000 / std::sqrt(12.0);  // uniform noise over [-500, 500]
    const double talkers = 6000;                    // the two tones' RMS together
    const double limited = rms(residual_noise(3));
    const double everyone = rms(residual_noise(0));
    // K = 3: the talkers and one noisy mic (two while slots change hands).
    EXPECT_LT(limited, 1.5 * one_mic);
    EXPECT_GT(20 * std::log10(talkers / limited), 20.0);
    // Everyone: 47 noisy mics (all but the listener), sqrt(47) = 6.9 times one.
    EXPECT_GT(everyone, 6 * one_mic);
    EXPECT_GT(everyone, 4 * limited);
}

TEST(MixerActiveSpeakers, TheLoudestAreChosenAndKeepTheirPlace) {
    Mixer mixer(config(16000, 2));
    std::vector<ParticipantId> ids;
    for (int i = 0; i < 4; ++i) ids.push_back(*mixer.join());
    const double level[] = {1000, 4000, 3000, 500};
    for (std::uint64_t tick = 0; tick < 5; ++tick) {
        for (int i = 0; i < 4; ++i)
            write_sine(mixer.input(ids[i]), kHz[i % 3], level[i], 16000, tick);
        mixer.mix();
    }
    EXPECT_FALSE(mixer.speaking(ids[0]));
    EXPECT_TRUE(mixer.speaking(ids[1]));
    EXPECT_TRUE(mixer.speaking(ids[2]));
    EXPECT_FALSE(mixer.speaking(ids[3]));
    // Slightly (2 dB) louder than a speaker is not enough to take its place...
    const double louder[] = {3800, 4000, 3000, 500};
    for (std::uint64_t tick = 5; tick < 10; ++tick) {
        for (int i = 0; i < 4; ++i)
            write_sine(mixer.input(ids[i]), kHz[i % 3], louder[i], 16000, tick);
        mixer.mix();
        EXPECT_TRUE(mixer.speaking(ids[2])) << tick;
    }
    // ...but clearly louder is.
    const double much_louder[] = {8000, 4000, 3000, 500};
    for (std::uint64_t tick = 10; tick < 12; ++tick) {
        for (int i = 0; i < 4; ++i)
            write_sine(mixer.input(ids[i]), kHz[i % 3], much_louder[i], 16000, tick);
        mixer.mix();
    }
    EXPECT_TRUE(mixer.speaking(ids[0]));
    EXPECT_TRUE(mixer.speaking(ids[1]));
    EXPECT_FALSE(mixer.speaking(ids[2]));
}

// ---------------------------------------------------------------------------------------------
// The limiter

TEST(MixerLimiter, EightAtFullScaleNeverWrapAndGainRecovers) {
    constexpr int kRate = 16000;
    constexpr double kHzLoud = 500;
    Mixer mixer(config(kRate, 0));
    std::vector<ParticipantId> ids;
    for (int i = 0; i < 8; ++i) ids.push_back(*mixer.join());
    const std::size_t frame = mixer.frame_samples();
    Pcm x(frame), heard;
    // Everyone sends the same full-scale sine in phase: seven of them add up to 7 * 32767.
    for (std::uint64_t tick = 0; tick < 20; ++tick) {
        write_sine(x, kHzLoud, 32767, kRate, tick);
        for (const ParticipantId& id : ids) std::ranges::copy(x, mixer.input(id).begin());
        mixer.mix();
        EXPECT_EQ(mixer.stats().limited_outputs, 8u);
        for (const ParticipantId& id : ids) {
            const auto out = mixer.output(id);
            for (std::size_t k = 0; k < frame; ++k)
                ASSERT_GE(out[k] * x[k], 0) << "sign flipped at tick " << tick << ", sample " << k;
        }
        append(heard, mixer.output(ids[3]));
    }
    // Past the first frame the output is the sine scaled to full scale, not a clipped square:
    // its third harmonic (where clipping puts most of its distortion) is 40 dB down.
    const double fundamental = amplitude_at(heard, 2 * frame, heard.size(), kHzLoud, kRate);
    EXPECT_NEAR(20 * std::log10(fundamental / 32767), 0, 0.5);
    EXPECT_LT(amplitude_at(heard, 2 * frame, heard.size(), 3 * kHzLoud, kRate), fundamental / 100);
    // Precisely: seven in-phase copies scaled by 1/7 are the sine itself, crests at 32767.
    Pcm sent;
    for (std::uint64_t tick = 2; tick < 20; ++tick) {
        write_sine(x, kHzLoud, 32767, kRate, tick);
        append(sent, x);
    }
    for (std::size_t k = 0; k < sent.size(); ++k)
        ASSERT_LE(std::abs(heard[2 * frame + k] - sent[k]), 1) << k;

    // Now only participant 0 talks, quietly: the gain climbs back to exactly 1.
    double last = 0;
    int recovered_at = -1;
    for (std::uint64_t tick = 20; tick < 60; ++tick) {
        write_sine(mixer.input(ids[0]), kHzLoud, 1000, kRate, tick);
        mixer.mix();
        write_sine(x, kHzLoud, 1000, kRate, tick);
        const auto out = mixer.output(ids[1]);
        const Pcm got(out.begin(), out.end());
        const double amplitude = amplitude_at(got, 0, frame, kHzLoud, kRate);
        EXPECT_GE(amplitude, last - 1) << tick;  // rising, never pumping back down
        last = amplitude;
        if (recovered_at < 0 && got == x) recovered_at = static_cast<int>(tick);
    }
    // From 1/7 (-16.9 dB) at 1.2 dB a frame: 15 frames, 300 ms.
    EXPECT_GE(recovered_at, 20 + 14);
    EXPECT_LE(recovered_at, 20 + 16);
    EXPECT_EQ(mixer.stats().limited_outputs, 0u);
}

TEST(MixerLimiter, OnsetOfAnOverloadNeverWraps) {
    // Silence, then seven full-scale squares at once: the worst onset. The first millisecond
    // may saturate, but nothing wraps around.
    Mixer mixer(config(48000, 0));
    std::vector<ParticipantId> ids;
    for (int i = 0; i < 8; ++i) ids.push_back(*mixer.join());
    for (std::uint64_t tick = 0; tick < 4; ++tick) {
        for (const ParticipantId& id : ids) {
            auto in = mixer.input(id);
            for (std::size_t k = 0; k < in.size(); ++k)
                in[k] = tick == 0 ? 0 : ((k / 24) % 2 == 0 ? 32767 : -32768);
        }
        mixer.mix();
        for (const ParticipantId& id : ids) {
            const auto out = mixer.output(id);
            for (std::size_t k = 0; k < out.size(); ++k) {
                const int expected_sign = tick == 0 ? 0 : ((k / 24) % 2 == 0 ? 1 : -1);
                ASSERT_GE(out[k] * expected_sign, 0) << tick << " " << k;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Chimes

TEST(MixerChime, IsATwoNoteAudioSourceAtEveryRate) {
    for (int rate : {8000, 16000, 48000})
        for (ChimeKind kind : {ChimeKind::join, ChimeKind::leave}) {
            SCOPED_TRACE(std::to_string(rate) + (kind == ChimeKind::join ? " join" : " leave"));
            Chime chime(kind, rate);
            const std::size_t frame = static_cast<std::size_t>(rate) / 50;
            Pcm x, f(frame);
            int frames = 0;
            while (chime.read(f, rate)) {
                append(x, f);
                ASSERT_LT(++frames, 100);
            }
            EXPECT_TRUE(all_zero(f));
            EXPECT_TRUE(chime.finished());
            EXPECT_EQ(frames, static_cast<int>(Chime::kLengthMs / 20));
            const auto ms = [&](std::uint32_t v) { return std::size_t{v} * rate / 1000; };
            const double first = kind == ChimeKind::join ? Chime::kLowHz : Chime::kHighHz;
            const double second = kind == ChimeKind::join ? Chime::kHighHz : Chime::kLowHz;
            const std::size_t split = ms(Chime::kFirstNoteMs);
            const double level = dbm0_to_amplitude(Chime::kLevelDbm0);
            EXPECT_NEAR(amplitude_at(x, ms(5), split - ms(5), first, rate), level, 0.12 * level);
            EXPECT_LT(amplitude_at(x, ms(5), split - ms(5), second, rate), 0.01 * level);
            EXPECT_NEAR(amplitude_at(x, split + ms(5), x.size() - ms(5), second, rate), level,
                        0.12 * level);
            EXPECT_LT(amplitude_at(x, split + ms(5), x.size() - ms(5), first, rate), 0.01 * level);
        }
}

TEST(MixerChime, ReachesEveryParticipantMutedOrNot) {
    constexpr int kRate = 16000;
    Mixer mixer(config(kRate, 4));
    const ParticipantId talker = *mixer.join();
    const ParticipantId muted = *mixer.join();
    const ParticipantId quiet = *mixer.join();
    mixer.set_muted(muted, true);
    mixer.play_to_all(ChimeKind::join);
    mixer.play_to_all(ChimeKind::leave);  // waits for the join chime
    const std::size_t frame = mixer.frame_samples();
    std::vector<Pcm> heard(3);
    const ParticipantId ids[] = {talker, muted, quiet};
    const std::uint64_t ticks = 2 * Chime::kLengthMs / 20 + 5;
    for (std::uint64_t tick = 0; tick < ticks; ++tick) {
        write_sine(mixer.input(talker), 400, kAmplitude, kRate, tick);
        write_sine(mixer.input(muted), 1100, kAmplitude, kRate, tick);
        mixer.mix();
        for (int i = 0; i < 3; ++i) append(heard[i], mixer.output(ids[i]));
    }
    const auto ms = [](std::uint32_t v) { return std::size_t{v} * kRate / 1000; };
    const double level = dbm0_to_amplitude(Chime::kLevelDbm0);
    for (int i = 0; i < 3; ++i) {
        SCOPED_TRACE(i);
        const Pcm& x = heard[i];
        // Join: low then high; then leave: high then low.
        const std::uint32_t notes[][2] = {
            {0, Chime::kFirstNoteMs},
            {Chime::kFirstNoteMs, Chime::kLengthMs},
            {Chime::kLengthMs, Chime::kLengthMs + Chime::kFirstNoteMs},
            {Chime::kLengthMs + Chime::kFirstNoteMs, 2 * Chime::kLengthMs}};
        const double expected[] = {Chime::kLowHz, Chime::kHighHz, Chime::kHighHz, Chime::kLowHz};
        for (int n = 0; n < 4; ++n) {
            const std::size_t b = ms(notes[n][0] + 5), e = ms(notes[n][1] - 5);
            EXPECT_NEAR(amplitude_at(x, b, e, expected[n], kRate), level, 0.12 * level) << n;
            const double other = expected[n] == Chime::kLowHz ? Chime::kHighHz : Chime::kLowHz;
            EXPECT_LT(amplitude_at(x, b, e, other, kRate), 0.02 * level) << n;
        }
        // After the chimes: only the room.
        const std::size_t after = ms(2 * Chime::kLengthMs);
        EXPECT_LT(amplitude_at(x, after, x.size(), Chime::kLowHz, kRate), 1.0);
    }
    // The quiet participant ends up hearing the talker alone, exactly.
    Pcm t(frame);
    write_sine(t, 400, kAmplitude, kRate, ticks - 1);
    const auto out = mixer.output(quiet);
    EXPECT_TRUE(std::equal(t.begin(), t.end(), out.begin()));
}

}  // namespace
}  // namespace sb::media::dsp
