#include "sb/media/dsp/dtmf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "sb/media/dsp/telephone_event.h"
#include "sb/media/dsp/tone_generator.h"
#include "sb/media/dsp/tones.h"

namespace sb::media::dsp {
namespace {

using Pcm = std::vector<std::int16_t>;
constexpr std::size_t kFrame = 160;  // 20 ms at 8 kHz
constexpr char kAllDigits[] = "0123456789*#ABCD";

// Feeds `audio` to a detector in 20 ms frames (the last one possibly shorter), popping after
// each frame as the engine does.
std::vector<DtmfEvent> detect(const Pcm& audio) {
    auto detector = DtmfDetector::create();
    EXPECT_TRUE(detector);
    std::vector<DtmfEvent> events;
    for (std::size_t at = 0; at < audio.size(); at += kFrame) {
        detector->process(std::span(audio).subspan(at, std::min(kFrame, audio.size() - at)));
        while (auto e = detector->pop()) events.push_back(*e);
    }
    EXPECT_EQ(detector->dropped(), 0u);
    return events;
}

// `ms` of the generator's output, in 20 ms frames.
void append(DtmfGenerator& gen, Pcm& out, int ms) {
    for (int i = 0; i < ms / 20; ++i) {
        Pcm frame(kFrame);
        gen.generate(frame);
        out.insert(out.end(), frame.begin(), frame.end());
    }
}

std::string describe(const std::vector<DtmfEvent>& events) {
    std::string s;
    for (const DtmfEvent& e : events) s += std::string(1, e.digit) + (e.end ? "/ " : "+ ");
    return s;
}

double amplitude_at(const Pcm& x, double hz, int rate) {
    std::complex<double> sum = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
        sum += static_cast<double>(x[i]) * std::polar(1.0, -2 * std::numbers::pi * hz * i / rate);
    return 2 * std::abs(sum) / x.size();
}

// ---------------------------------------------------------------------------------------------
// Digits and frequencies

TEST(DtmfPairs, FollowQ23) {
    const std::vector<std::pair<char, DtmfPair>> table = {
        {'1', {697, 1209}}, {'2', {697, 1336}}, {'3', {697, 1477}}, {'A', {697, 1633}},
        {'4', {770, 1209}}, {'5', {770, 1336}}, {'6', {770, 1477}}, {'B', {770, 1633}},
        {'7', {852, 1209}}, {'8', {852, 1336}}, {'9', {852, 1477}}, {'C', {852, 1633}},
        {'*', {941, 1209}}, {'0', {941, 1336}}, {'#', {941, 1477}}, {'D', {941, 1633}},
    };
    for (const auto& [digit, pair] : table) {
        auto p = dtmf_pair(digit);
        ASSERT_TRUE(p) << digit;
        EXPECT_EQ(p->low_hz, pair.low_hz) << digit;
        EXPECT_EQ(p->high_hz, pair.high_hz) << digit;
    }
    EXPECT_EQ(dtmf_pair('a')->high_hz, 1633);
    EXPECT_FALSE(dtmf_pair('E'));
    EXPECT_FALSE(dtmf_pair('x'));
    EXPECT_FALSE(dtmf_pair('\0'));
}

// ---------------------------------------------------------------------------------------------
// Generator into detector

TEST(DtmfRoundTrip, EachOfTheSixteenDigitsIsDetectedWithStartAndEnd) {
    for (char digit : std::string(kAllDigits)) {
        DtmfGenerator gen;
        Pcm audio;
        append(gen, audio, 40);  // silence first
        ASSERT_TRUE(gen.play(digit, 100));
        append(gen, audio, 300);
        const auto events = detect(audio);
        ASSERT_EQ(events.size(), 2u) << digit << ": " << describe(events);
        EXPECT_EQ(events[0].digit, digit);
        EXPECT_FALSE(events[0].end);
        EXPECT_EQ(events[1].digit, digit);
        EXPECT_TRUE(events[1].end);
        // Started within the tone's first 40 ms, ended within 40 ms of its end.
        EXPECT_GE(events[0].at_sample, 320u);
        EXPECT_LE(events[0].at_sample, 320u + 320u);
        EXPECT_GE(events[1].at_sample, 1120u);
        EXPECT_LE(events[1].at_sample, 1120u + 320u);
        EXPECT_NEAR(events[1].duration_ms, 100, 25) << digit;
        // -11 and -9 dBm0 together are -4.9 dBm0.
        EXPECT_NEAR(events[0].level_dbm0, -5, 3) << digit;
    }
}

TEST(DtmfRoundTrip, SequenceWithSixtyMsGaps) {
    DtmfGenerator gen;
    Pcm audio;
    append(gen, audio, 60);
    for (char digit : std::string("123#")) {
        ASSERT_TRUE(gen.play(digit, 80));
        append(gen, audio, 80);
        append(gen, audio, 60);
    }
    append(gen, audio, 100);
    const auto events = detect(audio);
    EXPECT_EQ(describe(events), "1+ 1/ 2+ 2/ 3+ 3/ #+ #/ ");
    for (std::size_t i = 1; i < events.size(); ++i)
        EXPECT_LT(events[i - 1].at_sample, events[i].at_sample);
}

TEST(DtmfRoundTrip, StartUntilStopForARelayedEvent) {
    DtmfGenerator gen;
    Pcm audio;
    ASSERT_TRUE(gen.start('9'));
    EXPECT_TRUE(gen.active());
    EXPECT_EQ(gen.digit(), '9');
    append(gen, audio, 200);
    gen.stop();
    append(gen, audio, 100);
    EXPECT_FALSE(gen.active());
    const auto events = detect(audio);
    EXPECT_EQ(describe(events), "9+ 9/ ");
    ASSERT_EQ(events.size(), 2u);
    EXPECT_NEAR(events[1].duration_ms, 200, 25);
}

TEST(DtmfRoundTrip, DetectorSaysWhichDigitIsHeldAndResets) {
    auto detector = DtmfDetector::create();
    ASSERT_TRUE(detector);
    DtmfGenerator gen;
    ASSERT_TRUE(gen.start('5'));
    Pcm frame(kFrame);
    for (int i = 0; i < 5; ++i) {
        gen.generate(frame);
        detector->process(frame);
    }
    EXPECT_EQ(detector->current(), '5');
    ASSERT_TRUE(detector->pop());
    detector->reset();
    EXPECT_EQ(detector->current(), 0);
    EXPECT_FALSE(detector->pop());
    gen.stop();
    Pcm silence(kFrame, 0);
    for (int i = 0; i < 5; ++i) detector->process(silence);
    EXPECT_FALSE(detector->pop());  // the digit was forgotten: no end for it
}

TEST(DtmfRoundTrip, DialToneFilterStillDetectsDigitsOverDialTone) {
    auto detector = DtmfDetector::create({.filter_dial_tone = true});
    ASSERT_TRUE(detector);
    ToneGenerator dial(*find_tone("US", Tone::dial), 8000);
    DtmfGenerator gen;
    ASSERT_TRUE(gen.play('7', 100));
    std::vector<DtmfEvent> events;
    for (int i = 0; i < 15; ++i) {
        Pcm a(kFrame), b(kFrame);
        dial.generate(a);
        gen.generate(b);
        for (std::size_t k = 0; k < kFrame; ++k) a[k] = static_cast<std::int16_t>(a[k] + b[k]);
        detector->process(a);
        while (auto e = detector->pop()) events.push_back(*e);
    }
    EXPECT_EQ(describe(events), "7+ 7/ ");
}

// ---------------------------------------------------------------------------------------------
// What must not be taken for a digit

TEST(DtmfFalseDetection, NoneInWhiteNoise) {
    std::mt19937 rng(4733);
    for (double rms_dbm0 : {-30.0, -20.0, -10.0}) {
        std::normal_distribution<double> noise(0.0, dbm0_to_amplitude(rms_dbm0) / std::sqrt(2.0));
        Pcm audio(8000 * 5);
        for (auto& s : audio)
            s = static_cast<std::int16_t>(std::clamp(noise(rng), -32768.0, 32767.0));
        EXPECT_EQ(describe(detect(audio)), "") << rms_dbm0 << " dBm0";
    }
}

TEST(DtmfFalseDetection, NoneInAnyCountrysCallProgressTones) {
    // US ringback (440+480 Hz) and the rest: dual tones close to DTMF's low group.
    for (const TonePlan& plan : tone_plans())
        for (Tone t : kAllTones) {
            ToneGenerator gen(plan.get(t), 8000);
            Pcm audio(8000 * 4);
            gen.generate(audio);
            EXPECT_EQ(describe(detect(audio)), "") << plan.country << " " << to_string(t);
        }
}

TEST(DtmfFalseDetection, NoneForATooShortTone) {
    // Under 20 ms: a key bounce or a clipped tone, not a digit. Tried at every alignment with
    // the detector's 102-sample blocks.
    // The same pair for 40 ms (Q.24's shortest digit) is detected at every alignment: the test
    // sees what it should.
    for (int ms : {10, 15, 19, 40}) {
        for (std::size_t offset = 0; offset < 102; offset += 17) {
            const auto on = static_cast<std::uint16_t>(ms);
            ToneGenerator tone(ToneSpec{}.add(697, -11).add(1209, -9).on(on).repeat(1), 8000);
            Pcm audio(offset, 0);
            Pcm body(8000 / 2);
            tone.generate(body);
            audio.insert(audio.end(), body.begin(), body.end());
            EXPECT_EQ(describe(detect(audio)), ms < 20 ? "" : "1+ 1/ ")
                << ms << " ms at offset " << offset;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The generator alone

TEST(DtmfGenerator, UnknownDigitIsAnErrorAndChangesNothing) {
    DtmfGenerator gen;
    ASSERT_TRUE(gen.play('1', 100));
    auto bad = gen.play('E', 100);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("'E'"), std::string::npos);
    EXPECT_EQ(gen.digit(), '1');
    EXPECT_TRUE(gen.active());
    EXPECT_FALSE(gen.start('?'));
}

TEST(DtmfGenerator, PlaysTheDurationThenSilence) {
    DtmfGenerator gen;
    ASSERT_TRUE(gen.play('0', 60));
    Pcm audio;
    append(gen, audio, 200);
    EXPECT_FALSE(gen.active());
    std::size_t last = 0;
    for (std::size_t i = 0; i < audio.size(); ++i)
        if (audio[i] != 0) last = i;
    EXPECT_NEAR(static_cast<double>(last), 480.0, 2.0);  // 60 ms at 8 kHz
    // A digit too short for Q.24 receivers plays for 40 ms.
    ASSERT_TRUE(gen.play('0', 10));
    Pcm shortened;
    append(gen, shortened, 100);
    last = 0;
    for (std::size_t i = 0; i < shortened.size(); ++i)
        if (shortened[i] != 0) last = i;
    EXPECT_NEAR(static_cast<double>(last), 320.0, 2.0);
}

TEST(DtmfGenerator, LevelsAndFrequenciesAtWidebandRates) {
    for (int rate : {8000, 16000, 48000}) {
        DtmfGenerator gen(rate);
        ASSERT_TRUE(gen.play('#', 1000));
        Pcm skip(static_cast<std::size_t>(rate) / 100);  // the fade-in
        gen.generate(skip);
        Pcm x(static_cast<std::size_t>(rate) / 2);  // 500 ms: whole cycles of both tones
        gen.generate(x);
        EXPECT_NEAR(20 * std::log10(amplitude_at(x, 941, rate) / dbm0_to_amplitude(-11)), 0, 0.2)
            << rate;
        EXPECT_NEAR(20 * std::log10(amplitude_at(x, 1477, rate) / dbm0_to_amplitude(-9)), 0, 0.2)
            << rate;
        EXPECT_LT(amplitude_at(x, 1336, rate), 0.01 * dbm0_to_amplitude(-11)) << rate;
        EXPECT_LT(amplitude_at(x, 852, rate), 0.01 * dbm0_to_amplitude(-11)) << rate;
    }
}

// ---------------------------------------------------------------------------------------------
// RFC 4733 payloads

TEST(TelephoneEventPayload, WireExampleDigitFiveEndAtMinusTenDbm0) {
    // 2.3's layout: event 5, E=1, R=0, volume 10, duration 800 (100 ms at 8 kHz).
    const std::array<std::uint8_t, 4> wire = {0x05, 0x8a, 0x03, 0x20};
    auto e = parse_telephone_event(wire);
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_EQ(e->event, 5);
    EXPECT_TRUE(e->end);
    EXPECT_EQ(e->volume, 10);
    EXPECT_EQ(e->duration, 800);
    EXPECT_EQ(write_telephone_event(*e), wire);
}

TEST(TelephoneEventPayload, RoundTrip) {
    for (TelephoneEvent e : {TelephoneEvent{0, false, 0, 0}, TelephoneEvent{11, true, 63, 0xffff},
                             TelephoneEvent{15, false, 36, 160}, TelephoneEvent{255, true, 1, 1}}) {
        const auto bytes = write_telephone_event(e);
        auto back = parse_telephone_event(bytes);
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, e);
    }
}

TEST(TelephoneEventPayload, ReservedBitIgnoredVolumeClamped) {
    const std::array<std::uint8_t, 4> with_r = {0x0b, 0x4a, 0x00, 0xa0};  // R=1, volume 10
    auto e = parse_telephone_event(with_r);
    ASSERT_TRUE(e);
    EXPECT_FALSE(e->end);
    EXPECT_EQ(e->volume, 10);
    EXPECT_EQ(e->duration, 160);
    const auto written = write_telephone_event(TelephoneEvent{1, false, 200, 0});
    EXPECT_EQ(written[1], 63);  // R written 0, volume at most 63
}

TEST(TelephoneEventPayload, ShortPayloadIsAnError) {
    const std::array<std::uint8_t, 4> wire = {0x05, 0x8a, 0x03, 0x20};
    for (std::size_t n = 0; n < 4; ++n) {
        auto e = parse_telephone_event(std::span(wire).first(n));
        ASSERT_FALSE(e) << n;
        EXPECT_NE(e.error().message.find("needs 4"), std::string::npos);
    }
    // Longer: several events in one packet (2.5.1.5); the first is read.
    const std::array<std::uint8_t, 8> two = {0x01, 0x8a, 0x03, 0x20, 0x02, 0x0a, 0x00, 0xa0};
    auto first = parse_telephone_event(two);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->event, 1);
}

TEST(TelephoneEventPayload, DigitsMapToEventCodes) {
    const std::string digits = kAllDigits;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        EXPECT_EQ(event_for_digit(digits[i]), static_cast<std::uint8_t>(i)) << digits[i];
        EXPECT_EQ(digit_for_event(static_cast<std::uint8_t>(i)), digits[i]);
    }
    EXPECT_EQ(event_for_digit('*'), 10);
    EXPECT_EQ(event_for_digit('#'), 11);
    EXPECT_EQ(event_for_digit('d'), 15);
    EXPECT_FALSE(event_for_digit('E'));
    EXPECT_FALSE(event_for_digit(' '));
    EXPECT_FALSE(digit_for_event(16));  // 16 was hook flash in RFC 2833, not a digit
    EXPECT_FALSE(digit_for_event(255));
}

// ---------------------------------------------------------------------------------------------
// RFC 4733 2.5.1: the sender's packets

TEST(TelephoneEventSender, PacketsOfAHundredMsDigit) {
    TelephoneEventSender sender;  // 8 kHz, 20 ms
    EXPECT_EQ(sender.step(), 160u);
    EXPECT_FALSE(sender.active());
    std::vector<TelephoneEventPacket> packets;
    packets.push_back(sender.start(*event_for_digit('5'), 12345));
    EXPECT_TRUE(sender.active());
    for (int i = 0; i < 4; ++i) packets.push_back(sender.tick());
    for (const auto& p : sender.end()) packets.push_back(p);
    EXPECT_FALSE(sender.active());

    ASSERT_EQ(packets.size(), 8u);
    const std::uint16_t durations[] = {160, 320, 480, 640, 800, 800, 800, 800};
    for (std::size_t i = 0; i < packets.size(); ++i) {
        const auto& p = packets[i];
        EXPECT_EQ(p.marker, i == 0) << i;     // 2.5.1.2: the first packet only
        EXPECT_EQ(p.timestamp, 12345u) << i;  // the event's start throughout
        EXPECT_EQ(p.event.event, 5) << i;
        EXPECT_EQ(p.event.volume, 10) << i;
        EXPECT_EQ(p.event.duration, durations[i]) << i;
        EXPECT_EQ(p.event.end, i >= 5) << i;  // 2.5.1.4: the end, three times
        EXPECT_EQ(parse_telephone_event(p.payload).value(), p.event) << i;
    }
    EXPECT_EQ(packets[7].payload, (std::array<std::uint8_t, 4>{0x05, 0x8a, 0x03, 0x20}));
}

TEST(TelephoneEventSender, NextEventIsMarkedAgain) {
    TelephoneEventSender sender;
    (void)sender.start(1, 1000);
    (void)sender.end();
    const auto p = sender.start(2, 3000, 20);
    EXPECT_TRUE(p.marker);
    EXPECT_EQ(p.timestamp, 3000u);
    EXPECT_EQ(p.event.duration, 160);
    EXPECT_EQ(p.event.volume, 20);
    EXPECT_FALSE(p.event.end);
}

TEST(TelephoneEventSender, LongEventContinuesInSegments) {
    // 2.5.1.3: past 65535 timestamp units, a new segment starts where the last one ends.
    TelephoneEventSender sender;
    const std::uint32_t start = 0xffffff00u;  // and the RTP timestamp wraps meanwhile
    (void)sender.start(0, start);
    TelephoneEventPacket p;
    int ticks = 0;
    do {
        p = sender.tick();
        ++ticks;
    } while (p.timestamp == start);
    EXPECT_EQ(ticks, 409);  // 409 * 160 = 65440, the last multiple of 160 that fits
    EXPECT_FALSE(p.marker);
    EXPECT_EQ(p.timestamp, start + 65440u);
    EXPECT_EQ(p.event.duration, 160);
    const auto end = sender.end();
    EXPECT_EQ(end[0].timestamp, start + 65440u);
    EXPECT_TRUE(end[2].event.end);
}

TEST(TelephoneEventSender, OtherClockRatesAndIntervals) {
    TelephoneEventSender wide(16000, 30);
    EXPECT_EQ(wide.step(), 480u);
    EXPECT_EQ(wide.start(11, 0).event.duration, 480);
    EXPECT_EQ(wide.tick().event.duration, 960);
}

}  // namespace
}  // namespace sb::media::dsp
