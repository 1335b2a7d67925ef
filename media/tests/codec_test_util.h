#pragma once
// Signals and measurements shared by the codec and resampler tests: synthetic tones, a
// frame-by-frame round trip through an Encoder and a Decoder, correlation at the best lag (a
// codec delays its output by its look-ahead and filters) and Goertzel tone power.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>
#include <vector>

#include "sb/media/codec/codec.h"

namespace sb::media::codec::testing {

using Pcm = std::vector<std::int16_t>;

struct Tone {
    double hz;
    double dbfs;  // relative to a full-scale sine (amplitude 32767)
};

inline double amplitude(double dbfs) {
    return 32767.0 * std::pow(10.0, dbfs / 20.0);
}

inline Pcm tones(int rate, std::size_t samples, std::initializer_list<Tone> parts) {
    Pcm pcm(samples);
    for (std::size_t i = 0; i < samples; ++i) {
        double v = 0;
        for (const Tone& t : parts)
            v += amplitude(t.dbfs) * std::sin(2 * std::numbers::pi * t.hz * double(i) / rate);
        pcm[i] = static_cast<std::int16_t>(std::lround(v));
    }
    return pcm;
}

// The tests' 1 kHz tone at -10 dBFS, and two tones (DTMF '1', Q.23: 697 + 1209 Hz) at -16 dBFS
// each, which a transcoded call must carry for in-band digits to survive.
inline Pcm sine_1k(int rate, std::size_t samples) {
    return tones(rate, samples, {{1000, -10}});
}
inline Pcm two_tone(int rate, std::size_t samples) {
    return tones(rate, samples, {{697, -16}, {1209, -16}});
}

// A stand-in for voiced speech, which Opus's FEC (SILK's LBRR) is made for and a pure tone does
// not exercise (concealment continues a steady tone almost perfectly), and whose delay through
// a codec is unambiguous: ten harmonics of a pitch gliding between 100 and 220 Hz, in
// syllables of 250 ms.
inline Pcm speech_like(int rate, std::size_t samples) {
    Pcm pcm(samples);
    double phase = 0;
    for (std::size_t i = 0; i < samples; ++i) {
        const double t = double(i) / rate;
        const double f0 = 160 + 60 * std::sin(2 * std::numbers::pi * 0.7 * t);
        phase += 2 * std::numbers::pi * f0 / rate;
        const double envelope = 0.15 + 0.85 * std::abs(std::sin(2 * std::numbers::pi * 2 * t));
        double v = 0;
        for (int k = 1; k <= 10; ++k) v += std::sin(k * phase) / k;
        pcm[i] = static_cast<std::int16_t>(std::lround(6000 * envelope * v));
    }
    return pcm;
}

inline double energy(std::span<const std::int16_t> s) {
    double e = 0;
    for (const std::int16_t v : s) e += double(v) * v;
    return e;
}

// Encodes `in` in frames of `frame` samples, decodes every packet, and returns the audio.
inline Pcm round_trip(Encoder& enc, Decoder& dec, const Pcm& in, std::size_t frame,
                      std::vector<int>* packet_sizes = nullptr) {
    Pcm out;
    std::vector<std::uint8_t> packet(kMaxPayloadBytes);
    Pcm decoded(kMaxFrameSamples);
    for (std::size_t at = 0; at + frame <= in.size(); at += frame) {
        const int bytes = enc.encode(std::span(in).subspan(at, frame), packet);
        EXPECT_GT(bytes, 0) << error_name(bytes);
        if (bytes <= 0) break;
        if (packet_sizes) packet_sizes->push_back(bytes);
        const int n = dec.decode(std::span(packet).first(bytes), decoded);
        EXPECT_EQ(n, static_cast<int>(frame)) << error_name(n);
        if (n <= 0) break;
        out.insert(out.end(), decoded.begin(), decoded.begin() + n);
    }
    return out;
}

// Normalised correlation of in[i] with out[i + lag] over i in [from, to).
inline double correlation(const Pcm& in, const Pcm& out, int lag, std::size_t from,
                          std::size_t to) {
    double xy = 0, xx = 0, yy = 0;
    for (std::size_t i = from; i < to && i + lag < out.size(); ++i) {
        const double x = in[i], y = out[i + lag];
        xy += x * y;
        xx += x * x;
        yy += y * y;
    }
    return xx > 0 && yy > 0 ? xy / std::sqrt(xx * yy) : 0;
}

struct Alignment {
    int lag = 0;
    double correlation = -1;
};

// The delay (0..max_lag) at which `out` best matches `in`, skipping the first `skip` samples
// (the codec's start-up) and measuring over the next `window`.
inline Alignment best_alignment(const Pcm& in, const Pcm& out, int max_lag, std::size_t skip,
                                std::size_t window) {
    Alignment best;
    for (int lag = 0; lag <= max_lag; ++lag) {
        const double c = correlation(in, out, lag, skip, skip + window);
        if (c > best.correlation) best = {lag, c};
    }
    return best;
}

// Signal-to-noise ratio of `out` against `in` delayed by `lag`, in dB.
inline double snr_db(const Pcm& in, const Pcm& out, int lag, std::size_t from, std::size_t to) {
    double signal = 0, noise = 0;
    for (std::size_t i = from; i < to && i + lag < out.size(); ++i) {
        const double d = double(out[i + lag]) - in[i];
        signal += double(in[i]) * in[i];
        noise += d * d;
    }
    return 10 * std::log10(signal / std::max(noise, 1.0));
}

// The power of one frequency in `s` (the Goertzel algorithm), normalised by length.
inline double goertzel(std::span<const std::int16_t> s, int rate, double hz) {
    const double coeff = 2 * std::cos(2 * std::numbers::pi * hz / rate);
    double s1 = 0, s2 = 0;
    for (const std::int16_t v : s) {
        const double s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / double(s.size());
}

// The strongest frequency in `s` on a 25 Hz grid from 100 Hz to just below Nyquist.
inline double dominant_hz(std::span<const std::int16_t> s, int rate) {
    double best_hz = 0, best = -1;
    for (double hz = 100; hz < rate / 2.0 - 50; hz += 25) {
        const double p = goertzel(s, rate, hz);
        if (p > best) {
            best = p;
            best_hz = hz;
        }
    }
    return best_hz;
}

// Each of `hz` stands at least `margin_db` above every other frequency of the grid (100 Hz to
// Nyquist, 25 Hz apart, except within 60 Hz of a tone, where its own main lobe lies): the tones
// are what the signal carries.
inline void expect_tones_kept(std::span<const std::int16_t> s, int rate,
                              const std::vector<double>& hz, double margin_db = 20) {
    double weakest = 1e300;
    for (const double f : hz) weakest = std::min(weakest, goertzel(s, rate, f));
    double strongest_other = 0;
    for (double f = 100; f < rate / 2.0 - 50; f += 25) {
        bool near = false;
        for (const double t : hz) near = near || std::abs(f - t) < 60;
        if (!near) strongest_other = std::max(strongest_other, goertzel(s, rate, f));
    }
    EXPECT_GT(10 * std::log10(weakest / std::max(strongest_other, 1e-9)), margin_db);
}

}  // namespace sb::media::codec::testing
