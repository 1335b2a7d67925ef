#include "sb/media/dsp/mixer.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

namespace sb::media::dsp {

namespace {

constexpr std::int32_t kFullScale = 32767;
// Limiter recovery: +1.2 dB a 20 ms frame (10^(1.2/20)), 60 dB/s. Slow enough not to pump on
// every syllable, fast enough that the room's level is back within half a second of a burst.
constexpr float kRelease = 1.1482f;
// Speaker ranking, on mean absolute amplitudes: the held level falls by 1.5 dB a frame
// (10^(-1.5/20)), and a participant already mixed counts 3 dB (10^(3/20)) louder.
constexpr float kLevelDecay = 0.8414f;
constexpr float kIncumbentBias = 1.4125f;
constexpr std::int32_t kQ15 = 32768;

constexpr std::uint32_t kSlotBits = 16;
constexpr std::uint32_t kSlotMask = (1u << kSlotBits) - 1;

ToneSpec note(float hz, std::uint16_t delay_ms, std::uint16_t ms) {
    ToneSpec s;
    s.add(hz, Chime::kLevelDbm0);
    if (delay_ms > 0) s.off(delay_ms);
    return s.on(ms).repeat(1);
}

float first_hz(ChimeKind k) {
    return k == ChimeKind::join ? Chime::kLowHz : Chime::kHighHz;
}
float second_hz(ChimeKind k) {
    return k == ChimeKind::join ? Chime::kHighHz : Chime::kLowHz;
}

// The sample loops, the whole cost of a tick, written so that GCC's -O2 vectorizes them: its
// cost model takes only loops that need no scalar remainder, so each says that n is a whole
// number of 16-sample blocks (frames are 160, 320 or 960 samples); and it gives up on them once
// they are inlined into the loop over participants, hence noinline (a call per frame is noise).
constexpr std::size_t kBlock = 16;
std::size_t whole(std::size_t n) {
    return n & ~(kBlock - 1);
}

// The sum of |x|: below 2^31 for up to 65536 samples.
[[gnu::noinline]] std::int32_t sum_abs(const std::int16_t* x, std::size_t n) {
    n = whole(n);
    std::int32_t s = 0;
    for (std::size_t k = 0; k < n; ++k) s += x[k] < 0 ? -x[k] : x[k];
    return s;
}

// total += x * w / 32768 (w == nullptr: w = 32768).
[[gnu::noinline]] void add(std::int32_t* __restrict total, const std::int16_t* x,
                           const std::int32_t* w, std::size_t n) {
    n = whole(n);
    if (w == nullptr)
        for (std::size_t k = 0; k < n; ++k) total[k] += x[k];
    else
        for (std::size_t k = 0; k < n; ++k) total[k] += (x[k] * w[k]) >> 15;
}

// m = total - x * w / 32768, exactly what add() put in; out = m narrowed, right whenever the
// returned peak fits: the common case of an output that needs no limiting is done here.
[[gnu::noinline]] std::int32_t subtract(const std::int32_t* total, const std::int16_t* x,
                                        const std::int32_t* w, std::int32_t* __restrict m,
                                        std::int16_t* __restrict out, std::size_t n) {
    n = whole(n);
    if (w == nullptr)
        for (std::size_t k = 0; k < n; ++k) m[k] = total[k] - x[k];
    else
        for (std::size_t k = 0; k < n; ++k) m[k] = total[k] - ((x[k] * w[k]) >> 15);
    std::int32_t hi = 0, lo = 0;
    for (std::size_t k = 0; k < n; ++k) {
        out[k] = static_cast<std::int16_t>(m[k]);
        hi = std::max(hi, m[k]);
        lo = std::min(lo, m[k]);
    }
    return std::max(hi, -lo);
}

[[gnu::noinline]] std::int32_t peak_of(const std::int32_t* x, std::size_t n) {
    n = whole(n);
    std::int32_t hi = 0, lo = 0;
    for (std::size_t k = 0; k < n; ++k) {
        hi = std::max(hi, x[k]);
        lo = std::min(lo, x[k]);
    }
    return std::max(hi, -lo);
}

[[gnu::noinline]] void narrow(const std::int32_t* x, std::int16_t* __restrict out, std::size_t n) {
    n = whole(n);
    for (std::size_t k = 0; k < n; ++k) out[k] = static_cast<std::int16_t>(x[k]);
}

// out[k] = m[k] * (g + step * (k + 1)), rounded and saturated. Branch-free, so it vectorizes.
[[gnu::noinline]] void scale(const std::int32_t* m, std::int16_t* __restrict out, std::size_t n,
                             float g, float step) {
    n = whole(n);
    for (std::size_t k = 0; k < n; ++k) {
        const float v =
            static_cast<float>(m[k]) * (g + step * static_cast<float>(static_cast<int>(k) + 1));
        const auto r = static_cast<std::int32_t>(v + std::copysign(0.5f, v));
        out[k] = static_cast<std::int16_t>(std::clamp(r, -32768, 32767));
    }
}

// Renders `mix` into `out` through the limiter whose gain was `gain` at the end of the last
// frame; returns its gain at the end of this one. `attack` is a whole number of blocks. See
// mixer.h for the policy.
float limit(const std::int32_t* mix, std::size_t n, std::int32_t peak, float gain,
            std::size_t attack, std::int16_t* out) {
    const float target =
        peak > kFullScale ? static_cast<float>(kFullScale) / static_cast<float>(peak) : 1.0f;
    if (target < gain) {
        scale(mix, out, attack, gain, (target - gain) / static_cast<float>(attack));
        scale(mix + attack, out + attack, n - attack, target, 0);
        return target;
    }
    const float next = std::min(target, gain * kRelease);
    if (gain == 1.0f && next == 1.0f)
        narrow(mix, out, n);  // every sample fits: peak <= 32767
    else
        scale(mix, out, n, gain, (next - gain) / static_cast<float>(n));
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
      // 1 ms, or at 8 kHz 2 ms: whole blocks.
      attack_(std::max(kBlock, static_cast<std::size_t>(config.sample_rate) / 1000)),
      slots_(config.max_participants),
      inputs_(config.max_participants * frame_),
      outputs_(config.max_participants * frame_),
      total_(frame_),
      minus_(frame_),
      ramp_up_(frame_),
      ramp_down_(frame_),
      chime_frame_(frame_) {
    assert(validate(config).has_value());
    assert(whole(frame_) == frame_ && whole(attack_) == attack_);
    for (std::size_t i = 0; i < frame_; ++i) {
        ramp_up_[i] = static_cast<std::int32_t>((i + 1) * kQ15 / frame_);  // ends at 1
        ramp_down_[i] = kQ15 - ramp_up_[i];                                // ends at 0
    }
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

bool Mixer::contains(ParticipantId id) const {
    return find(id) != nullptr;
}

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
        float mean_abs = 0;
        if (s.present) {
            const std::int32_t sum = sum_abs(in(i), frame_);
            s.audible = sum > 0;
            mean_abs = static_cast<float>(sum) / static_cast<float>(frame_);
        }
        s.level = std::max(s.muted ? 0.0f : mean_abs, s.level * kLevelDecay);
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

const std::int32_t* Mixer::weights(Weight w) const {
    return w == Weight::fade_in    ? ramp_up_.data()
           : w == Weight::fade_out ? ramp_down_.data()
                                   : nullptr;
}

void Mixer::sum() {
    std::fill(total_.begin(), total_.end(), 0);
    if (chime_) {
        chime_->read(chime_frame_, config_.sample_rate);
        add(total_.data(), chime_frame_.data(), nullptr, frame_);
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
        if (s.weight != Weight::none) add(total_.data(), in(i), weights(s.weight), frame_);
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
            // In the sum: the sum less the same contribution, taken the same way.
            const std::int32_t peak =
                subtract(total_.data(), in(i), weights(s.weight), minus_.data(), out(i), frame_);
            if (peak > kFullScale || s.gain != 1.0f)
                s.gain = limit(minus_.data(), frame_, peak, s.gain, attack_, out(i));
        }
        if (s.gain < 1.0f) ++stats_.limited_outputs;
        s.mixed = s.selected;
        s.present = false;
    }
    ++stats_.ticks;
}

}  // namespace sb::media::dsp
