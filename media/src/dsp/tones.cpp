#include "sb/media/dsp/tones.h"

#include <cmath>
#include <string>

namespace sb::media::dsp {

namespace {

// A sine at +3.14 dBm0 is full scale (ITU-T G.711, A-law's theoretical maximum load).
constexpr double kFullScaleDbm0 = 3.14;

// E.180 Supplement 2, as Asterisk transcribes it, gives frequencies and cadences but no levels.
// Where we have no national figure, every component plays at -13 dBm0: North America's dial
// tone level, inside the range PBX and ATA vendors ship (about -10 to -24 dBm0), loud enough to
// hear over a quiet line and far from clipping when two components add.
constexpr float kLevel = -13.0f;

// Asterisk's modulation depth for "f1*f2" tones (indications.conf: "fixed at 90%").
constexpr float kDepth = 0.9f;

ToneSpec single(float hz, float level = kLevel) {
    return ToneSpec{}.add(hz, level);
}
ToneSpec dual(float hz1, float hz2, float level = kLevel) {
    return ToneSpec{}.add(hz1, level).add(hz2, level);
}

std::array<TonePlan, 6> make_plans() {
    std::array<TonePlan, 6> plans;
    // Ordered by country code: tone_plans() promises it and the error message lists them so.

    // China. E.180 Supplement 2 (Asterisk [cn]): 450 Hz throughout.
    plans[0] = TonePlan{
        "CN",
        "China",
        single(450),
        single(450).on(1000).off(4000),
        single(450).on(350).off(350),
        single(450).on(700).off(700),
        single(450).on(400).off(4000),
    };

    // Germany. E.180 Supplement 2 (Asterisk [de]): 425 Hz, the harmonised European frequency.
    // Call waiting is two 200 ms beeps every 5.6 s; Asterisk stops after five pairs, so do we.
    plans[1] = TonePlan{
        "DE",
        "Germany",
        single(425),
        single(425).on(1000).off(4000),
        single(425).on(480).off(480),
        single(425).on(240).off(240),
        single(425).on(200).off(200).on(200).off(5000).repeat(5),
    };

    // France. E.180 Supplement 2 (Asterisk [fr]): 440 Hz. Congestion is not in Supplement 2;
    // Asterisk's fast 250/250 it is.
    plans[2] = TonePlan{
        "FR",
        "France",
        single(440),
        single(440).on(1500).off(3500),
        single(440).on(500).off(500),
        single(440).on(250).off(250),
        single(440).on(300).off(10000),
    };

    // United Kingdom. BT SIN 350 (Asterisk [uk]): North American dial tone; the 400+450 Hz
    // double ring; "beep-bip" congestion.
    plans[3] = TonePlan{
        "GB",
        "United Kingdom",
        dual(350, 440),
        dual(400, 450).on(400).off(200).on(400).off(2000),
        single(400).on(375).off(375),
        single(400).on(400).off(350).on(225).off(525),
        single(400).on(100).off(4000),
    };

    // Japan. E.180 Supplement 2 and NTT (Asterisk [jp]): 400 Hz; ringback and call waiting are
    // 400 Hz modulated by 16 Hz (Asterisk writes "400+15" and "400+16", a sum with an inaudible
    // 15-16 Hz line, which a phone's high-pass filter removes: we play the real modulation).
    // Busy and congestion share one cadence in Asterisk's table, so they do here.
    plans[4] = TonePlan{
        "JP",
        "Japan",
        single(400),
        modulated(400, 16, kDepth, kLevel).on(1000).off(2000),
        single(400).on(500).off(500),
        single(400).on(500).off(500),
        modulated(400, 16, kDepth, kLevel).on(500).off(8000),
    };

    // United States / North America. The Precise Tone Plan (ITU-T E.300 Supplement 3), whose
    // levels are per frequency: dial and call waiting -13 dBm0, ringback -19, busy and reorder
    // -24. Call waiting as Asterisk plays it: Telcordia's 300 ms 440 Hz burst, again every 10 s.
    plans[5] = TonePlan{
        "US",
        "United States",
        dual(350, 440, -13),
        dual(440, 480, -19).on(2000).off(4000),
        dual(480, 620, -24).on(500).off(500),
        dual(480, 620, -24).on(250).off(250),
        single(440, -13).on(300).off(10000),
    };
    return plans;
}

const std::array<TonePlan, 6>& plans() {
    static const std::array<TonePlan, 6> table = make_plans();
    return table;
}

char upper(char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

std::string known_countries() {
    std::string out;
    for (const TonePlan& p : plans()) {
        if (!out.empty()) out += ", ";
        out += p.country;
        if (p.country == "GB") out += " (or UK)";
    }
    return out;
}

}  // namespace

std::string_view to_string(Tone t) {
    switch (t) {
        case Tone::dial:
            return "dial";
        case Tone::ringback:
            return "ringback";
        case Tone::busy:
            return "busy";
        case Tone::congestion:
            return "congestion";
        case Tone::call_waiting:
            return "call_waiting";
    }
    return "?";
}

ToneSpec modulated(float hz, float mod_hz, float depth, float level_dbm0) {
    const float sideband = level_dbm0 + 20.0f * std::log10(depth / 2.0f);
    return ToneSpec{}.add(hz - mod_hz, sideband).add(hz, level_dbm0).add(hz + mod_hz, sideband);
}

double dbm0_to_amplitude(double level_dbm0) {
    return 32767.0 * std::pow(10.0, (level_dbm0 - kFullScaleDbm0) / 20.0);
}

const ToneSpec& TonePlan::get(Tone t) const {
    switch (t) {
        case Tone::dial:
            return dial;
        case Tone::ringback:
            return ringback;
        case Tone::busy:
            return busy;
        case Tone::congestion:
            return congestion;
        case Tone::call_waiting:
            return call_waiting;
    }
    return dial;
}

std::span<const TonePlan> tone_plans() {
    return plans();
}

Result<const TonePlan*> find_tone_plan(std::string_view country) {
    if (country.size() == 2) {
        char code[2] = {upper(country[0]), upper(country[1])};
        std::string_view wanted(code, 2);
        if (wanted == "UK") wanted = "GB";
        for (const TonePlan& p : plans())
            if (p.country == wanted) return &p;
    }
    return fail("no tone plan for country '" + std::string(country) +
                "' (known: " + known_countries() + ")");
}

Result<ToneSpec> find_tone(std::string_view country, Tone tone) {
    auto plan = find_tone_plan(country);
    if (!plan) return unexpected(plan.error());
    return (*plan)->get(tone);
}

Status validate(const ToneSpec& spec, int sample_rate) {
    if (sample_rate <= 0) return fail("tone: sample rate must be positive");
    if (spec.component_count == 0 || spec.component_count > ToneSpec::kMaxComponents)
        return fail("tone: needs 1 to 3 frequencies");
    double peak = 0;
    for (const ToneComponent& c : spec.components()) {
        if (!(c.hz > 0) || !(c.hz < sample_rate / 2.0))
            return fail("tone: frequency " + std::to_string(c.hz) + " Hz is outside (0, " +
                        std::to_string(sample_rate / 2) + ") Hz");
        peak += dbm0_to_amplitude(c.level_dbm0);
    }
    if (!(peak <= 32767.0)) return fail("tone: the components' levels add up above full scale");
    if (spec.segment_count > ToneSpec::kMaxSegments) return fail("tone: too many segments");
    if (!spec.continuous()) {
        bool sounds = false;
        for (const CadenceSegment& s : spec.cadence()) sounds = sounds || (s.on && s.ms > 0);
        if (!sounds) return fail("tone: the cadence has no tone in it");
    }
    return {};
}

}  // namespace sb::media::dsp
