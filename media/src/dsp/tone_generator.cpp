#include "sb/media/dsp/tone_generator.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numbers>

namespace sb::media::dsp {

namespace {

std::int16_t to_pcm(double v) {
    return static_cast<std::int16_t>(std::clamp(std::lround(v), -32768L, 32767L));
}

// Raised cosine from 0 (k = 0) to 1 (k = n).
double rise(std::uint64_t k, std::uint64_t n) {
    return 0.5 - 0.5 * std::cos(std::numbers::pi * static_cast<double>(k) / static_cast<double>(n));
}

}  // namespace

ToneGenerator::ToneGenerator(const ToneSpec& spec, int sample_rate)
    : spec_(spec), rate_(sample_rate) {
    assert(validate(spec, sample_rate).has_value());
    ramp_ = samples(kRampMs);
    osc_count_ = std::min<std::size_t>(spec_.component_count, osc_.size());
    for (std::size_t i = 0; i < osc_count_; ++i) {
        const ToneComponent& c = spec_.component_storage[i];
        const double w = 2 * std::numbers::pi * c.hz / rate_;
        osc_[i].step_re = std::cos(w);
        osc_[i].step_im = std::sin(w);
        osc_[i].amplitude = dbm0_to_amplitude(c.level_dbm0);
    }
    reset();
}

std::uint64_t ToneGenerator::samples(std::uint32_t ms) const {
    return std::uint64_t{ms} * static_cast<std::uint64_t>(rate_) / 1000;
}

void ToneGenerator::reset() {
    for (Oscillator& o : osc_) {
        o.re = 1;
        o.im = 0;
    }
    played_ = 0;
    finished_ = false;
    fading_ = false;
    gain_ = 0;
    enter_segment(0);
}

void ToneGenerator::enter_segment(std::size_t index) {
    segment_ = index;
    pos_ = 0;
    len_ = spec_.continuous() ? 0 : samples(spec_.segment_storage[index].ms);
}

void ToneGenerator::stop() {
    if (finished_ || fading_) return;
    if (gain_ > 0) {
        fading_ = true;
        fade_gain_ = gain_;
        fade_pos_ = 0;
    } else {
        finished_ = true;
    }
}

double ToneGenerator::next_sample() {
    double s = 0;
    for (std::size_t i = 0; i < osc_count_; ++i) {
        Oscillator& o = osc_[i];
        s += o.amplitude * o.im;
        const double re = o.re * o.step_re - o.im * o.step_im;
        o.im = o.re * o.step_im + o.im * o.step_re;
        o.re = re;
    }
    return s;
}

void ToneGenerator::renormalise() {
    // One Newton step towards |z| = 1: the drift per call is ~1e-16, so this is exact enough
    // and needs no square root.
    for (std::size_t i = 0; i < osc_count_; ++i) {
        Oscillator& o = osc_[i];
        const double k = (3.0 - (o.re * o.re + o.im * o.im)) / 2.0;
        o.re *= k;
        o.im *= k;
    }
}

void ToneGenerator::sound(std::int16_t* out, std::uint64_t n, std::uint64_t pos,
                          std::uint64_t len) {
    // Ramps of at most half the burst, so a short burst still rises and falls.
    const std::uint64_t ramp = len == 0 ? 0 : std::min(ramp_, len / 2);
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::uint64_t k = pos + i;
        double g = 1.0;
        if (ramp != 0) {
            if (k < ramp)
                g = rise(k, ramp);
            else if (len - k <= ramp)
                g = rise(len - k - 1, ramp);  // reaches 0 on the burst's last sample
        }
        gain_ = g;
        out[i] = to_pcm(g * next_sample());
    }
}

void ToneGenerator::fade_out(std::int16_t* out, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
        const double g = fade_gain_ * rise(ramp_ - fade_pos_, ramp_);
        ++fade_pos_;
        gain_ = g;
        out[i] = to_pcm(g * next_sample());
    }
}

void ToneGenerator::generate(std::span<std::int16_t> out) {
    std::int16_t* p = out.data();
    std::uint64_t left = out.size();
    while (left > 0) {
        if (finished_) {
            std::fill_n(p, left, std::int16_t{0});
            gain_ = 0;
            break;
        }
        if (fading_) {
            const std::uint64_t n = std::min(left, ramp_ - fade_pos_);
            fade_out(p, n);
            p += n;
            left -= n;
            if (fade_pos_ >= ramp_) {
                fading_ = false;
                finished_ = true;
                gain_ = 0;
            }
            continue;
        }
        if (spec_.continuous()) {
            sound(p, left, pos_, 0);
            pos_ += left;
            break;
        }
        const CadenceSegment& seg = spec_.segment_storage[segment_];
        const std::uint64_t n = std::min(left, len_ - pos_);
        if (seg.on) {
            sound(p, n, pos_, len_);
        } else {
            std::fill_n(p, n, std::int16_t{0});
            gain_ = 0;
        }
        p += n;
        left -= n;
        pos_ += n;
        if (pos_ >= len_) {
            std::size_t next = segment_ + 1;
            if (next == spec_.segment_count) {
                next = 0;
                ++played_;
                if (spec_.plays != 0 && played_ >= spec_.plays) {
                    finished_ = true;
                    gain_ = 0;
                }
            }
            enter_segment(next);
        }
    }
    renormalise();
}

}  // namespace sb::media::dsp
