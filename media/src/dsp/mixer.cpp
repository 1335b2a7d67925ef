#include "sb/media/dsp/mixer.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <string>

namespace sb::media::dsp {

namespace {

constexpr std::int32_t kFullScale = 32767;
// Limiter recovery: +1.2 dB a 20 ms frame (10^(1.2/20)), 60 dB/s. Slow enough not to pump on
// every syllable, fast enough that the room's level is back within half a second of a burst.
constexpr float kRelease = 1.1482f;
constexpr int kAttackMs = 1;
// Speaker ranking: the held level falls by 1.5 dB a frame (10^(-1.5/10) in energy), and a
// participant already mixed counts 3 dB louder.
constexpr float kLevelDecay = 0.7079f;
constexpr float kIncumbentBias = 2.0f;
constexpr std::int32_t kQ15 = 32768;

constexpr std::uint32_t kSlotBits = 16;
constexpr std::uint32_t kSlotMask = (1u << kSlotBits) - 1;

ToneSpec note(float hz, std::uint16_t delay_ms, std::uint16_t ms) {
    ToneSpec s;
    s.add(hz, Chime::kLevelDbm0);
    if (delay_ms > 0) s.off(delay_ms);
    return s.on(ms).repeat(1);
}

float first_hz(ChimeKind k) { return k == ChimeKind::join ? Chime::kLowHz : Chime::kHighHz; }
float second_hz(ChimeKind k) { return k == ChimeKind::join ? Chime::kHighHz : Chime::kLowHz; }

std::int16_t saturate(float v) {
    v = std::clamp(v, -32768.0f, 32767.0f);
    return static_cast<std::int16_t>(v < 0 ? v - 0.5f : v + 0.5f);
}

std::int32_t peak_of(const std::int32_t* x, std::size_t n) {
    std::int32_t hi = 0, lo = 0;
    for (std::size_t i = 0; i < n; ++i) {
        hi = std::max(hi, x[i]);
        lo = std::min(lo, x[i]);
    }
    return std::max(hi, -lo);
}

// Renders `mix` into `out` through the limiter whose gain was `gain` at the end of the last
// frame; returns its gain at the end of this one. See mixer.h for the policy.
float limit(const std::int32_t* mix, std::size_t n, std::int32_t peak, float gain,
            std::size_t attack, std::int16_t* out) {
    const float target =
        peak > kFullScale ? static_cast<float>(kFullScale) / static_cast<float>(peak) : 1.0f;
    float next;
    std::size_t ramp;
    if (target < gain) {
        next = target;
        ramp = attack;
    } else {
        next = std::min(target, gain * kRelease);
        ramp = n;
    }
    if (gain == 1.0f && next == 1.0f) {
        // The common case: no overload now or lately, and every sample fits (peak <= 32767).
        for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::int16_t>(mix[i]);
        return next;
    }
    const float step = (next - gain) / static_cast<float>(ramp);
    for (std::size_t i = 0; i < n; ++i) {
        const float g = i < ramp ? gain + step * static_cast<float>(i + 1) : next;
        out[i] = saturate(static_cast<float>(mix[i]) * g);
    }
    return next;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Chime

Chime::Chime(ChimeKind kind, int sample_rate)
    : kind_(kind),
      first_(note(first_hz(kind), 0, kFirstNoteMs), sample_rate),
      second_(note(second_hz(kind), kFirstNoteMs, kSecondNoteMs), sample_rate) {}

bool Chime::read(std::span<std::int16_t> out, int rate) {
    if (rate != first_.sample_rate()) {
        if (!validate(note(kHighHz, 0, kFirstNoteMs), rate)) {
            std::fill(out.begin(), out.end(), std::int16_t{0});
            return false;
        }
        *this = Chime(kind_, rate);
    }
    if (finished()) {
        std::fill(out.begin(), out.end(), std::int16_t{0});
        return false;
    }
    // The notes never overlap (the second waits for the first), so their sum is either one.
    std::array<std::int16_t, 240> tmp;
    for (std::size_t at = 0; at < out.size(); at += tmp.size()) {
        const std::size_t n = std::min(tmp.size(), out.size() - at);
        const std::span<std::int16_t> part = out.subspan(at, n);
        first_.generate(part);
        second_.generate(std::span(tmp).first(n));
        for (std::size_t i = 0; i < n; ++i)
            part[i] = static_cast<std::int16_t>(std::clamp(part[i] + tmp[i], -32768, 32767));
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// Mixer

Status validate(const MixerConfig& config) {
    if (config.sample_rate != 8000 && config.sample_rate != 16000 && config.sample_rate != 48000)
        return fail("mixer: sample rate " + std::to_string(config.sample_rate) +
                    " Hz is not 8000, 16000 or 48000");
    if (config.max_participants == 0 || config.max_participants > MixerConfig::kMaxRoom)
        return fail("mixer: max participants must be 1 to " +
                    std::to_string(MixerConfig::kMaxRoom));
    return {};
}

Mixer::Mixer(const MixerConfig& config)
    : config_(config),
      frame_(config.frame_samples()),
      attack_(static_cast<std::size_t>(config.sample_rate) * kAttackMs / 1000),
      slots_(config.max_participants),
      inputs_(config.max_participants * frame_),
      outputs_(config.max_participants * frame_),
      total_(frame_),
      minus_(frame_),
      ramp_up_(frame_),
      chime_frame_(frame_) {
    assert(validate(config).has_value());
    for (std::size_t i = 0; i < frame_; ++i)
        ramp_up_[i] = static_cast<std::int32_t>((i + 1) * kQ15 / frame_);  // ends at 1
    candidates_.reserve(slots_.size());
}

Mixer::Slot* Mixer::find(ParticipantId id) {
    return const_cast<Slot*>(std::as_const(*this).find(id));
}

const Mixer::Slot* Mixer::find(ParticipantId id) const {
    const std::size_t index = id.value & kSlotMask;
    if (index >= slots_.size()) return nullptr;
    const Slot& s = slots_[index];
    if (!s.used || s.generation != (id.value >> kSlotBits)) return nullptr;
    return &s;
}

Result<ParticipantId> Mixer::join() {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        Slot& s = slots_[i];
        if (s.used) continue;
        const std::uint16_t generation = static_cast<std::uint16_t>(s.generation + 1);
        s = Slot{};
        s.generation = generation == 0 ? 1 : generation;  // 0 would let ParticipantId{} match
        s.used = true;
        std::fill_n(out(i), frame_, std::int16_t{0});
        ++stats_.participants;
        return ParticipantId{(std::uint32_t{s.generation} << kSlotBits) |
                             static_cast<std::uint32_t>(i)};
    }
    return fail("mixer: the room is full (" + std::to_string(slots_.size()) + " participants)");
}

void Mixer::leave(ParticipantId id) {
    Slot* s = find(id);
    if (s == nullptr) return;
    s->used = false;
    --stats_.participants;
}

bool Mixer::contains(ParticipantId id) const { return find(id) != nullptr; }

void Mixer::set_muted(ParticipantId id, bool muted) {
    if (Slot* s = find(id)) s->muted = muted;
}

bool Mixer::muted(ParticipantId id) const {
    const Slot* s = find(id);
    return s != nullptr && s->muted;
}

std::span<std::int16_t> Mixer::input(ParticipantId id) {
    Slot* s = find(id);
    if (s == nullptr) return {};
    s->present = true;
    return {in(static_cast<std::size_t>(s - slots_.data())), frame_};
}

void Mixer::mark_silent(ParticipantId id) {
    if (Slot* s = find(id)) s->present = false;
}

std::span<const std::int16_t> Mixer::output(ParticipantId id) const {
    const Slot* s = find(id);
    if (s == nullptr) return {};
    return {outputs_.data() + static_cast<std::size_t>(s - slots_.data()) * frame_, frame_};
}

bool Mixer::speaking(ParticipantId id) const {
    const Slot* s = find(id);
    return s != nullptr && s->mixed;
}

void Mixer::play_to_all(ChimeKind kind) {
    if (chime_ && !chime_->finished())
        next_chime_ = kind;
    else
        chime_.emplace(kind, config_.sample_rate);
}

void Mixer::select_speakers() {
    candidates_.clear();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        Slot& s = slots_[i];
        s.selected = false;
        s.audible = false;
        if (!s.used) continue;
        float mean_square = 0;
        if (s.present) {
            const std::int16_t* x = in(i);
            std::int64_t energy = 0;
            for (std::size_t k = 0; k < frame_; ++k) energy += std::int32_t{x[k]} * x[k];
            s.audible = energy > 0;
            mean_square = static_cast<float>(energy) / static_cast<float>(frame_);
        }
        s.level = std::max(s.muted ? 0.0f : mean_square, s.level * kLevelDecay);
        // Digital silence (all zeros) would add nothing: it never takes a speaker's place.
        if (s.audible && !s.muted) candidates_.push_back(static_cast<std::uint32_t>(i));
    }
    const std::size_t k = config_.max_speakers;
    if (k != 0 && candidates_.size() > k) {
        auto score = [this](std::uint32_t i) {
            return slots_[i].level * (slots_[i].mixed ? kIncumbentBias : 1.0f);
        };
        std::nth_element(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(k),
                         candidates_.end(), [&](std::uint32_t a, std::uint32_t b) {
                             const float sa = score(a), sb = score(b);
                             return sa > sb || (sa == sb && a < b);
                         });
        candidates_.resize(k);
    }
    for (std::uint32_t i : candidates_) slots_[i].selected = true;
    stats_.speakers = candidates_.size();
}

void Mixer::sum() {
    std::fill(total_.begin(), total_.end(), 0);
    if (chime_) {
        chime_->read(chime_frame_, config_.sample_rate);
        for (std::size_t k = 0; k < frame_; ++k) total_[k] += chime_frame_[k];
        if (chime_->finished()) {
            chime_.reset();
            if (next_chime_) chime_.emplace(*next_chime_, config_.sample_rate);
            next_chime_.reset();
        }
    }
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        Slot& s = slots_[i];
        s.weight = Weight::none;
        if (!s.used) continue;
        if (s.selected)
            s.weight = s.mixed ? Weight::full : Weight::fade_in;
        else if (s.mixed && s.audible)
            s.weight = Weight::fade_out;  // dropped or muted: its frame fades rather than stops
        const std::int16_t* x = in(i);
        const std::int32_t* w = ramp_up_.data();
        switch (s.weight) {
            case Weight::none:
                break;
            case Weight::full:
                for (std::size_t k = 0; k < frame_; ++k) total_[k] += x[k];
                break;
            case Weight::fade_in:
                for (std::size_t k = 0; k < frame_; ++k) total_[k] += (x[k] * w[k]) >> 15;
                break;
            case Weight::fade_out:
                for (std::size_t k = 0; k < frame_; ++k) total_[k] += (x[k] * (kQ15 - w[k])) >> 15;
                break;
        }
    }
}

void Mixer::mix() {
    select_speakers();
    sum();

    // Those outside the sum hear it as it is; those whose limiters agree get the same frame.
    std::int32_t total_peak = -1;
    const std::int16_t* shared = nullptr;
    float shared_gain_in = 0, shared_gain_out = 0;
    stats_.limited_outputs = 0;

    for (std::size_t i = 0; i < slots_.size(); ++i) {
        Slot& s = slots_[i];
        if (!s.used) continue;
        if (s.weight == Weight::none) {
            if (shared != nullptr && s.gain == shared_gain_in) {
                std::memcpy(out(i), shared, frame_ * sizeof(std::int16_t));
                s.gain = shared_gain_out;
            } else {
                if (total_peak < 0) total_peak = peak_of(total_.data(), frame_);
                shared = out(i);
                shared_gain_in = s.gain;
                s.gain = limit(total_.data(), frame_, total_peak, s.gain, attack_, out(i));
                shared_gain_out = s.gain;
            }
        } else {
            // In the sum: the sum less the same contribution, computed the same way.
            const std::int16_t* x = in(i);
            const std::int32_t* w = ramp_up_.data();
            std::int32_t* m = minus_.data();
            switch (s.weight) {
                case Weight::full:
                    for (std::size_t k = 0; k < frame_; ++k) m[k] = total_[k] - x[k];
                    break;
                case Weight::fade_in:
                    for (std::size_t k = 0; k < frame_; ++k)
                        m[k] = total_[k] - ((x[k] * w[k]) >> 15);
                    break;
                case Weight::fade_out:
                    for (std::size_t k = 0; k < frame_; ++k)
                        m[k] = total_[k] - ((x[k] * (kQ15 - w[k])) >> 15);
                    break;
                case Weight::none:
                    break;
            }
            s.gain = limit(m, frame_, peak_of(m, frame_), s.gain, attack_, out(i));
        }
        if (s.gain < 1.0f) ++stats_.limited_outputs;
        s.mixed = s.selected;
        s.present = false;
    }
    ++stats_.ticks;
}

}  // namespace sb::media::dsp
