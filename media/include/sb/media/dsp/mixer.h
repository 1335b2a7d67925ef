#pragma once
// A conference room's audio: every 20 ms tick the relay hands in one frame per participant
// (16-bit PCM at the room's rate, decoded from whatever codec the participant uses), calls
// mix(), and takes back per participant the "mix-minus": everyone but the participant itself,
// which it then resamples and encodes for that participant's codec.
//
// Cost. The frames of the mixed participants are summed once into 32 bits; a participant in
// that sum hears the sum less its own frame, everyone else hears the sum as it is. So a tick is
// O(N * frame), not O(N^2); and the listeners that share a limiter state (usually all of them)
// share one rendered frame, copied.
//
// Active speakers. With max_speakers = K > 0 only the K loudest participants are mixed: a mic
// that nobody is talking into still sends room noise, comfort noise and codec hiss, and the
// noise of 50 such mics summed is 17 dB above one of them, loud enough to bury the two people
// actually talking. FreeSWITCH's conference (energy-level), Asterisk ConfBridge
// (dsp_drop_silence) and Jitsi Videobridge (audio last-N: the N loudest) keep the quiet ones out
// in the same spirit. Loudness is the frame's mean absolute amplitude (FreeSWITCH's measure
// too), held with a decay of 1.5 dB a frame so that a talker keeps its slot through the gaps
// between words, and counted 3 dB louder for a participant already mixed so that two similar
// levels do not swap slots every tick. A participant entering or leaving the mix (selected,
// dropped, muted, unmuted) fades in or out over the frame instead of cutting in at an
// arbitrary point of its waveform, which would click.
//
// Limiter. Each output has its own gain, 1 at rest. When a frame's peak would exceed full scale
// the gain drops to exactly full scale / peak, reached 1 ms into the frame (2 ms at 8 kHz);
// afterwards it recovers by 1.2 dB a frame (60 dB/s) without exceeding what the frame allows. A
// gain change thus scales the whole waveform smoothly instead of flattening its peaks, which is
// what makes hard clipping (int16 saturation) sound harsh when several people talk at once. Only
// the samples of that first millisecond of an overload can still reach the final saturation, which
// is always there: nothing ever wraps around. (No look-ahead: it would delay the room by a frame.)
//
// Announcements. play_to_all() adds a Chime (a two-note sound for joins and leaves) to every
// output, muted participants' included, for its length.
//
// Threading and memory: one thread at a time (a relay worker). Everything is allocated by the
// constructor; join, leave and mix() allocate nothing.
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "sb/common/result.h"
#include "sb/media/dsp/audio_source.h"
#include "sb/media/dsp/tone_generator.h"

namespace sb::media::dsp {

struct MixerConfig {
    static constexpr std::size_t kMaxRoom = 1024;  // the largest max_participants accepted

    int sample_rate = 16000;  // 8000, 16000 or 48000 (wideband by default)
    std::size_t max_participants = 64;
    // Mix only the K loudest participants (see above); 0 mixes everyone who sends sound.
    std::size_t max_speakers = 4;

    std::size_t frame_samples() const { return static_cast<std::size_t>(sample_rate) / 50; }
};

// What Mixer needs of a configuration: a rate above, and 1 to kMaxRoom participants.
Status validate(const MixerConfig& config);

// Names a participant for as long as it is in the room; a left participant's id stays invalid
// even when its slot is taken again (up to 65535 rejoins of one slot).
struct ParticipantId {
    std::uint32_t value = 0;  // 0 never names anyone
    auto operator<=>(const ParticipantId&) const = default;
};

struct MixerStats {
    std::size_t participants = 0;
    std::size_t speakers = 0;         // in the mix at the last tick (at most max_speakers)
    std::size_t limited_outputs = 0;  // outputs whose limiter gain was below 1 at the last tick
    std::uint64_t ticks = 0;
};

enum class ChimeKind : std::uint8_t { join, leave };

// A short two-note chime: rising (E5, A5) when someone joins, falling (A5, E5) when someone
// leaves, as most conference bridges signal it. Each note is a ToneGenerator burst (an exact
// phasor with 2 ms raised-cosine edges), so it sounds the same at 8, 16 and 48 kHz.
class Chime final : public AudioSource {
  public:
    static constexpr std::uint16_t kFirstNoteMs = 120;
    static constexpr std::uint16_t kSecondNoteMs = 180;
    static constexpr std::uint32_t kLengthMs = kFirstNoteMs + kSecondNoteMs;
    static constexpr float kLevelDbm0 = -16;  // below call progress tones (-13): a hint, not a ring
    static constexpr float kLowHz = 659.25f;  // E5
    static constexpr float kHighHz = 880.0f;  // A5

    // `sample_rate` must be above 2 * kHighHz.
    Chime(ChimeKind kind, int sample_rate);

    // Plays on; if `rate` differs from the last call's, the chime starts over at `rate`.
    bool read(std::span<std::int16_t> out, int rate) override;
    bool finished() const { return first_.finished() && second_.finished(); }
    ChimeKind kind() const { return kind_; }

  private:
    ChimeKind kind_;
    ToneGenerator first_;
    ToneGenerator second_;  // starts with kFirstNoteMs of silence
};

class Mixer {
  public:
    // `config` must pass validate(config).
    explicit Mixer(const MixerConfig& config);

    // A new participant, muted off, silent until its first frame. Fails when the room holds
    // max_participants already.
    Result<ParticipantId> join();
    // Frees the participant's slot; an unknown id is ignored (leaving twice is harmless).
    void leave(ParticipantId id);
    bool contains(ParticipantId id) const;

    // A muted participant is heard by nobody but still hears the others.
    void set_muted(ParticipantId id, bool muted);
    bool muted(ParticipantId id) const;

    // Where the relay writes the participant's frame for the coming tick (frame_samples()
    // samples). Taking it counts the participant as sending this tick: write the whole frame.
    // A participant whose input() was not taken since the last mix() is silent for the tick, so
    // a lost frame is never heard twice. Empty for an unknown id.
    std::span<std::int16_t> input(ParticipantId id);
    // Makes the participant silent for this tick even though input() was taken (say, decoding
    // failed after it).
    void mark_silent(ParticipantId id);

    // Adds a chime to every output from the next tick on. If one is playing, the new one
    // follows it (only the latest waits: a burst of joins chimes twice, not ten times).
    void play_to_all(ChimeKind kind);

    // One tick: computes every participant's output from the frames given since the last tick.
    void mix();
    // The participant's frame of the last tick, valid until the next mix() or leave(); silence
    // before its first tick; empty for an unknown id.
    std::span<const std::int16_t> output(ParticipantId id) const;
    // Whether the participant was in the mix at the last tick (an active speaker).
    bool speaking(ParticipantId id) const;

    const MixerStats& stats() const { return stats_; }
    const MixerConfig& config() const { return config_; }
    std::size_t frame_samples() const { return frame_; }

  private:
    // How a participant's frame enters this tick's sum.
    enum class Weight : std::uint8_t { none, full, fade_in, fade_out };

    struct Slot {
        std::uint16_t generation = 0;  // of the current or last occupant; in the id
        bool used = false;
        bool muted = false;
        bool present = false;   // input() taken since the last tick
        bool audible = false;   // present, and not all zeros
        bool selected = false;  // in the mix this tick
        bool mixed = false;     // in the mix at the last tick
        Weight weight = Weight::none;
        float level = 0;  // held mean square, for the speaker ranking
        float gain = 1;   // the limiter's, at the end of the last frame
    };

    Slot* find(ParticipantId id);
    const Slot* find(ParticipantId id) const;
    std::int16_t* in(std::size_t slot) { return inputs_.data() + slot * frame_; }
    std::int16_t* out(std::size_t slot) { return outputs_.data() + slot * frame_; }

    void select_speakers();
    void sum();
    const std::int32_t* weights(Weight w) const;  // Q15 per sample; nullptr for full

    MixerConfig config_;
    std::size_t frame_;
    std::size_t attack_;  // samples over which the limiter's gain falls (whole blocks of 16)

    std::vector<Slot> slots_;
    std::vector<std::int16_t> inputs_;     // max_participants frames
    std::vector<std::int16_t> outputs_;    // max_participants frames
    std::vector<std::int32_t> total_;      // the tick's sum
    std::vector<std::int32_t> minus_;      // the sum less one participant
    std::vector<std::int32_t> ramp_up_;    // the fade-in weights, Q15 (32768 is 1)
    std::vector<std::int32_t> ramp_down_;  // the fade-out weights
    std::vector<std::int16_t> chime_frame_;
    std::vector<std::uint32_t> candidates_;  // scratch of select_speakers(), reserved

    std::optional<Chime> chime_;
    std::optional<ChimeKind> next_chime_;
    MixerStats stats_;
};

}  // namespace sb::media::dsp
