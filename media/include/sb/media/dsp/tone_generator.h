#pragma once
// Plays a ToneSpec (tones.h) as 16-bit linear PCM, frame after frame: phase and cadence carry
// over from one generate() to the next, so frames join without a seam whatever their size.
//
// The oscillator is ours rather than SpanDSP's tone_gen: a rotating phasor per component
// (z <- z * e^(j 2 pi f / rate), the sample is Im z) in double precision, renormalised to |z| = 1
// after every call. It is exact at any frequency and rate (8, 16 and 48 kHz alike), costs two
// multiply-adds per component and sample, and has no table to quantise the phase; the error of
// the step's own rounding (~1e-16 rad a sample) stays below a millionth of a radian after days.
// tone_gen instead steps a DDS through a sine table (quantised phase) and its cadence holds
// only four steps (on, off, on, off).
//
// Each burst fades in and out over kRampMs (raised cosine) inside its "on" time: cutting a sine
// at an arbitrary phase would click. During silence the phasors hold, so the next burst resumes
// where the last one left off.
//
// Hot path: no allocation, no locks, no virtual calls. One thread at a time.
#include <array>
#include <cstdint>
#include <span>

#include "sb/media/dsp/tones.h"

namespace sb::media::dsp {

class ToneGenerator {
  public:
    static constexpr int kRampMs = 2;

    // `spec` must pass validate(spec, sample_rate) (tones.h): the table's plans all do.
    ToneGenerator(const ToneSpec& spec, int sample_rate);

    // Fills `out`, continuing where the previous call stopped.
    void generate(std::span<std::int16_t> out);
    // Back to the start of the cadence and of each oscillator's phase.
    void reset();
    // Ends the tone now: a fade of kRampMs if a burst is sounding, then silence for good.
    void stop();
    // True once the cadence has played `plays` times, or after stop() has faded out.
    bool finished() const { return finished_; }

    int sample_rate() const { return rate_; }
    const ToneSpec& spec() const { return spec_; }

  private:
    struct Oscillator {
        double re = 1, im = 0;            // the phasor; the sample is im
        double step_re = 1, step_im = 0;  // e^(j 2 pi f / rate)
        double amplitude = 0;             // peak, in PCM units
    };

    // Writes `n` samples of the burst, at offsets [pos, pos + n) of a burst `len` samples long
    // (len == 0: a continuous tone, no ramps at the ends).
    void sound(std::int16_t* out, std::uint64_t n, std::uint64_t pos, std::uint64_t len);
    void fade_out(std::int16_t* out, std::uint64_t n);
    double next_sample();
    void renormalise();
    void enter_segment(std::size_t index);
    std::uint64_t samples(std::uint32_t ms) const;

    ToneSpec spec_;
    int rate_;
    std::uint64_t ramp_;  // samples
    std::array<Oscillator, ToneSpec::kMaxComponents> osc_{};
    std::size_t osc_count_ = 0;

    // Cadence position.
    std::size_t segment_ = 0;
    std::uint64_t pos_ = 0;  // within the segment (or the continuous tone)
    std::uint64_t len_ = 0;  // of the segment, in samples
    std::uint32_t played_ = 0;
    bool finished_ = false;

    // stop(): fading from `fade_gain_` over `ramp_` samples.
    bool fading_ = false;
    double fade_gain_ = 0;
    std::uint64_t fade_pos_ = 0;
    double gain_ = 0;  // the envelope of the last sample written
};

}  // namespace sb::media::dsp
