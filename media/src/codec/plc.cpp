#include "plc.h"

#include <algorithm>
#include <cstring>

namespace sb::media::codec {

namespace {
// ITU-T G.711 Appendix I's constants, in milliseconds (it says samples at 8 kHz).
constexpr int kMinPitchMs = 5;      // 40 samples: 200 Hz
constexpr int kMaxPitchMs = 15;     // 120 samples: 66 Hz
constexpr int kCorrelationMs = 20;  // the window matched against its past
constexpr int kFullLevelMs = 10;    // I.2.4: no attenuation in the first 10 ms
constexpr int kSilentAtMs = 60;     // then 20 % per 10 ms: silent after 60 ms
// Enough for the window at the longest lag plus a quarter period before the repeated one.
constexpr int kHistoryMs = kCorrelationMs + kMaxPitchMs + kMaxPitchMs / 4 + 1;
}  // namespace

RepeatFadePlc::RepeatFadePlc(int sample_rate)
    : ms_(sample_rate / 1000),
      history_(static_cast<std::size_t>(kHistoryMs * ms_)),
      period_(static_cast<std::size_t>(kMaxPitchMs * ms_)) {}

void RepeatFadePlc::reset() {
    std::fill(history_.begin(), history_.end(), 0);
    pitch_ = 0;
    position_ = 0;
    concealed_ = 0;
}

void RepeatFadePlc::remember(std::span<const std::int16_t> frame) {
    const std::size_t n = std::min(frame.size(), history_.size());
    const std::size_t keep = history_.size() - n;
    std::memmove(history_.data(), history_.data() + n, keep * sizeof(std::int16_t));
    std::memcpy(history_.data() + keep, frame.data() + (frame.size() - n),
                n * sizeof(std::int16_t));
}

void RepeatFadePlc::start_loss() {
    // I.2.2: the lag whose past best matches the last 20 ms (normalised cross-correlation).
    const int h = static_cast<int>(history_.size());
    const int window = kCorrelationMs * ms_;
    const std::int16_t* x = history_.data() + (h - window);
    double best_score = -1;
    int best = kMaxPitchMs * ms_;
    for (int lag = kMinPitchMs * ms_; lag <= kMaxPitchMs * ms_; ++lag) {
        std::int64_t correlation = 0;
        std::int64_t energy = 0;
        for (int i = 0; i < window; ++i) {
            correlation += std::int64_t{x[i]} * x[i - lag];
            energy += std::int64_t{x[i - lag]} * x[i - lag];
        }
        if (correlation <= 0 || energy == 0) continue;
        const double score = static_cast<double>(correlation) * static_cast<double>(correlation) /
                             static_cast<double>(energy);
        if (score > best_score) {
            best_score = score;
            best = lag;
        }
    }
    pitch_ = best;
    // The last period, its last quarter blended into the quarter before it (I.2.3), so that its
    // end flows into its start when it repeats.
    const std::int16_t* last = history_.data() + (h - pitch_);
    std::copy(last, last + pitch_, period_.begin());
    const int quarter = pitch_ / 4;
    for (int i = 0; i < quarter; ++i) {
        const float w = static_cast<float>(i + 1) / static_cast<float>(quarter + 1);
        const int k = pitch_ - quarter + i;
        period_[k] = static_cast<std::int16_t>(static_cast<float>(last[k]) * (1 - w) +
                                               static_cast<float>(last[k - pitch_]) * w);
    }
    position_ = 0;
}

float RepeatFadePlc::gain_at(int concealed) const {
    const int full = kFullLevelMs * ms_;
    if (concealed < full) return 1.0f;
    const int fade = (kSilentAtMs - kFullLevelMs) * ms_;
    return std::max(0.0f, 1.0f - static_cast<float>(concealed - full) / static_cast<float>(fade));
}

std::int16_t RepeatFadePlc::next_sample() {
    const float v = static_cast<float>(period_[position_]) * gain_at(concealed_);
    if (++position_ == pitch_) position_ = 0;
    ++concealed_;
    return static_cast<std::int16_t>(v);
}

void RepeatFadePlc::conceal(std::span<std::int16_t> out) {
    if (concealed_ == 0) start_loss();
    const int silent = kSilentAtMs * ms_;
    for (auto& s : out) {
        if (concealed_ >= silent) {
            s = 0;
            ++concealed_;
        } else {
            s = next_sample();
        }
    }
    // Keep counting beyond the silence without overflowing in a loss of hours.
    concealed_ = std::min(concealed_, silent + kHistoryMs * ms_);
    remember(out);
}

void RepeatFadePlc::on_decoded(std::span<std::int16_t> frame) {
    if (concealed_ > 0) {
        // I.2.5: 4 ms of crossfade, plus 4 ms for each further 10 ms lost, at most 10 ms.
        const int lost_10ms = (concealed_ + 10 * ms_ - 1) / (10 * ms_);
        const int length = std::min<int>(
            {static_cast<int>(frame.size()), std::min(4 + 4 * (lost_10ms - 1), 10) * ms_});
        for (int i = 0; i < length; ++i) {
            const float w = static_cast<float>(i + 1) / static_cast<float>(length + 1);
            const float synthetic = static_cast<float>(next_sample());
            frame[i] =
                static_cast<std::int16_t>(synthetic * (1 - w) + static_cast<float>(frame[i]) * w);
        }
        concealed_ = 0;
    }
    remember(frame);
}

}  // namespace sb::media::codec
