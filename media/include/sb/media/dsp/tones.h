#pragma once
// Call progress tones per country: what a caller hears while we set up the call (dial tone,
// ringback, busy, congestion) and the call waiting beep. The plans follow ITU-T E.180
// Supplement 2 ("Various tones used in national networks") and the countries' own specs, as
// Asterisk's indications.conf transcribes them, since that is what callers behind the major PBXs
// hear today; tones.cpp cites each one. Played by ToneGenerator (tone_generator.h).
//
// Levels are in dBm0 per frequency component, with G.711's reference: a full-scale sine
// (peak 32767) is +3.14 dBm0 (A-law's theoretical load; mu-law's +3.17 differs by 0.03 dB), so
// a sine of L dBm0 has the peak 32767 * 10^((L - 3.14) / 20). In dBFS of a full-scale sine that
// is L - 3.14.
//
// A tone modulated by a low frequency (Japan's 400 Hz by 16 Hz ringback, 400*25 elsewhere) is
// written exactly as its three spectral lines: the carrier f and the sidebands f - m and f + m,
// each at depth/2 of the carrier (see modulated()). So a spec holds up to three components.
//
// All of this is plain data: constexpr, no allocation, cheap to copy.
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "sb/common/result.h"

namespace sb::media::dsp {

enum class Tone : std::uint8_t { dial, ringback, busy, congestion, call_waiting };
inline constexpr std::array kAllTones = {Tone::dial, Tone::ringback, Tone::busy, Tone::congestion,
                                         Tone::call_waiting};
std::string_view to_string(Tone t);

struct ToneComponent {
    float hz = 0;
    float level_dbm0 = 0;
};

// One stretch of a cadence: the tone for `ms`, or silence for `ms`.
struct CadenceSegment {
    bool on = false;
    std::uint16_t ms = 0;
};

struct ToneSpec {
    static constexpr std::size_t kMaxComponents = 3;
    static constexpr std::size_t kMaxSegments = 8;

    std::array<ToneComponent, kMaxComponents> component_storage{};
    std::uint8_t component_count = 0;
    // Empty: the tone is continuous. Otherwise the segments play in order, then again from the
    // first; `plays` times in all (0: without end), after which the generator stays silent.
    std::array<CadenceSegment, kMaxSegments> segment_storage{};
    std::uint8_t segment_count = 0;
    std::uint8_t plays = 0;

    constexpr std::span<const ToneComponent> components() const {
        return {component_storage.data(), component_count};
    }
    constexpr std::span<const CadenceSegment> cadence() const {
        return {segment_storage.data(), segment_count};
    }
    constexpr bool continuous() const { return segment_count == 0; }
    // The length of one pass through the cadence, in ms (0 when continuous).
    constexpr std::uint32_t period_ms() const {
        std::uint32_t total = 0;
        for (const CadenceSegment& s : cadence()) total += s.ms;
        return total;
    }

    // Builders, for the table and for callers that make their own tones.
    constexpr ToneSpec& add(float hz, float level_dbm0) {
        if (component_count < kMaxComponents)
            component_storage[component_count++] = ToneComponent{hz, level_dbm0};
        return *this;
    }
    constexpr ToneSpec& on(std::uint16_t ms) { return segment(true, ms); }
    constexpr ToneSpec& off(std::uint16_t ms) { return segment(false, ms); }
    constexpr ToneSpec& repeat(std::uint8_t times) {
        plays = times;
        return *this;
    }

  private:
    constexpr ToneSpec& segment(bool is_on, std::uint16_t ms) {
        if (segment_count < kMaxSegments) segment_storage[segment_count++] = {is_on, ms};
        return *this;
    }
};

// A carrier `hz` amplitude-modulated by `mod_hz` with depth `depth` (0..1], at `level_dbm0` for
// the carrier: (1 + depth*cos(2 pi m t)) * sin(2 pi f t) is exactly the carrier plus two sidebands
// of depth/2, 20*log10(depth/2) dB below it.
ToneSpec modulated(float hz, float mod_hz, float depth, float level_dbm0);

// The peak amplitude of a sine of `level_dbm0` in 16-bit linear PCM (see the top of this file).
double dbm0_to_amplitude(double level_dbm0);

// A country's tones.
struct TonePlan {
    std::string_view country;  // ISO 3166-1 alpha-2, upper case
    std::string_view name;     // in English
    ToneSpec dial;
    ToneSpec ringback;
    ToneSpec busy;
    ToneSpec congestion;  // reorder, "fast busy"
    ToneSpec call_waiting;

    const ToneSpec& get(Tone t) const;
};

// Every plan we know, ordered by country code.
std::span<const TonePlan> tone_plans();

// The plan of `country`, an ISO 3166-1 alpha-2 code in any case ("UK" is taken for GB, as
// ISO reserves it). An unknown code is an error that lists the known ones.
Result<const TonePlan*> find_tone_plan(std::string_view country);
Result<ToneSpec> find_tone(std::string_view country, Tone tone);

// What ToneGenerator needs of a spec that comes from configuration: 1 to 3 components, each
// above 0 Hz and below half of `sample_rate`, whose peaks add up to at most full scale; and, if
// it has a cadence, some tone in it (an "on" segment of non-zero length).
Status validate(const ToneSpec& spec, int sample_rate);

}  // namespace sb::media::dsp
