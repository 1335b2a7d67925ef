#pragma once
// DTMF in band (ITU-T Q.23 frequencies, Q.24 reception): DtmfDetector finds digits in a leg's
// decoded audio so the engine can send them on as RFC 4733 events (telephone_event.h);
// DtmfGenerator plays digits into a leg that did not negotiate telephone-event.
//
// Both take 16-bit linear PCM mono in frames of any size (the engine's are 20 ms). Hot path: no
// allocation, no locks, no exceptions; one thread at a time per object.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "sb/common/result.h"
#include "sb/media/dsp/tone_generator.h"

namespace sb::media::dsp {

// A digit's row (low group) and column (high group) frequencies, ITU-T Q.23.
struct DtmfPair {
    std::uint16_t low_hz = 0;
    std::uint16_t high_hz = 0;
};
// For '0'-'9', '*', '#' and 'A'-'D' (either case); nothing for anything else.
std::optional<DtmfPair> dtmf_pair(char digit);

// A change seen by DtmfDetector.
struct DtmfEvent {
    char digit = 0;    // '0'-'9', '*', '#', 'A'-'D'
    bool end = false;  // false: the digit began; true: it ended
    // end: how long the digit lasted, from its start event to its end event (both are late by
    // about the same detection delay, two of SpanDSP's 12.75 ms blocks, so it approximates the
    // tone's own length).
    int duration_ms = 0;
    // start: the pair's power as SpanDSP measured it, in dBm0 (tones.h's reference).
    int level_dbm0 = 0;
    // Where the change was confirmed: the number of samples given to process() since the
    // detector was made or reset, up to the end of the frame that confirmed it. The engine
    // turns it into an RTP timestamp; the digit itself began about 25 ms earlier.
    std::uint64_t at_sample = 0;
};

// Digits in 8 kHz audio, by SpanDSP's dtmf_rx (Goertzel filters in blocks of 102 samples; a
// digit needs two blocks in a row, so tones under ~25 ms are ignored, and it ends after two
// blocks without it). We use its real-time callback, which reports a digit's start and end as
// they are confirmed rather than once it has finished: the engine sends the RFC 4733 start
// packet while the caller still holds the key.
class DtmfDetector {
  public:
    static constexpr int kSampleRate = 8000;
    static constexpr std::size_t kMaxPending = 16;

    struct Options {
        // Notch out 350 and 440 Hz before detection, for digits dialled over a dial tone.
        bool filter_dial_tone = false;
    };

    // Fails only if SpanDSP cannot allocate its state.
    static Result<DtmfDetector> create(const Options& options);
    static Result<DtmfDetector> create() { return create(Options{}); }

    DtmfDetector(DtmfDetector&&) noexcept;
    DtmfDetector& operator=(DtmfDetector&&) noexcept;
    ~DtmfDetector();

    // Feeds a frame of 8 kHz audio. Events it confirms queue up for pop().
    void process(std::span<const std::int16_t> frame);
    // The oldest event not yet taken, if any. The queue holds kMaxPending; a digit at most
    // starts and ends within a 20 ms frame, so popping after each frame never loses one (if it
    // does, dropped() counts them).
    std::optional<DtmfEvent> pop();
    std::uint64_t dropped() const;

    // The digit being heard now (its start was reported, its end not yet), or 0.
    char current() const;

    // Forgets everything: the stream starts again at sample 0 with no digit.
    void reset();

  private:
    struct State;
    explicit DtmfDetector(std::unique_ptr<State> state);
    // Heap-held so that SpanDSP's callback pointer stays valid when the detector moves.
    std::unique_ptr<State> state_;
};

// Plays one digit at a time as its Q.23 tone pair, then silence.
//
// Levels: -11 dBm0 for the low group and -9 dBm0 for the high group by default, the usual
// nominal pair (a 2 dB "twist" towards the high group, which lines attenuate more); -4.9 dBm0
// together. Well within what Q.24's receivers accept: SpanDSP's takes 8 dB of normal and 4 dB
// of reverse twist and 26 dB of attenuation.
class DtmfGenerator {
  public:
    static constexpr float kLowLevelDbm0 = -11.0f;
    static constexpr float kHighLevelDbm0 = -9.0f;
    // Shorter digits are played this long: Q.24 receivers need 40 ms to accept a digit.
    static constexpr int kMinDurationMs = 40;
    // Upper bound for play(): one cadence segment (ToneSpec) holds 65535 ms.
    static constexpr int kMaxDurationMs = 65535;

    explicit DtmfGenerator(int sample_rate = 8000, float low_level_dbm0 = kLowLevelDbm0,
                           float high_level_dbm0 = kHighLevelDbm0);

    // Plays `digit` for `duration_ms` (at least kMinDurationMs), replacing whatever was
    // playing. An unknown digit is an error and changes nothing. Callers space digits: Q.24
    // wants at least 40 ms of silence between two.
    Status play(char digit, int duration_ms);
    // Plays `digit` until stop(): for relaying an RFC 4733 event whose end is not known yet.
    Status start(char digit);
    // Ends the digit now, with a short fade (no click).
    void stop();

    // Fills `out` with the digit's tone, or silence when there is none.
    void generate(std::span<std::int16_t> out);
    bool active() const { return tone_.has_value() && !tone_->finished(); }
    // The digit playing or last played, or 0.
    char digit() const { return digit_; }

  private:
    Status begin(char digit, int duration_ms);  // duration 0: until stop()

    int rate_;
    float low_dbm0_;
    float high_dbm0_;
    char digit_ = 0;
    std::optional<ToneGenerator> tone_;
};

}  // namespace sb::media::dsp
