#pragma once
// The adaptive jitter buffer of a decoded leg (transcoding, conference, in-band DTMF, recording):
// packets go in as they arrive, and the decoder takes one frame per tick, in order, with the
// holes marked so it can conceal them (or decode the next packet's Opus FEC, RFC 6716 2.1.7).
// Relayed legs bypass it.
//
// Runs on the media worker once per packet and once per tick, for thousands of legs: the slots are
// allocated once at construction (capacity x kMaxPayload bytes), nothing allocates afterwards, and
// every call does bounded work (bit masks over the window, a fixed-size delay histogram; after a
// burst, one pop() drops at most `capacity` packets). One thread: no locks. Time is given by the
// caller (arrival_ms, now_ms: one monotonic clock), so tests drive it.
//
// The model. Packets are keyed by sequence number (their order) in a window of `capacity` slots
// starting at the next one to play; the RTP timestamp, unwrapped, places each on the stream's
// timeline. Playout follows that timeline: each pop() plays the frame due at the playout point,
// or reports a hole there.
//
// Delay. A packet's offset is arrival time minus timeline position; the smallest offset over the
// last 2-4 s is the network's base delay, and a packet's relative delay is its offset above that
// (WebRTC NetEQ, delay_manager.cc: relative arrival delay over a 2 s history). The buffer's delay
// is how long after that fastest arrival it plays a frame. The target is the 97th percentile of
// the relative delays in a histogram that forgets (NetEQ again: quantile 0.97, forget factor
// 0.983, uniform weights at the start), clamped to [min, max]: a packet arriving within the target
// is in time, so about 3 % at most could be late, fewer in practice (see Adaptation).
//
// Adaptation (after Ramjee, Kurose, Towsley, Schulzrinne, "Adaptive playout mechanisms for
// packetized audio applications in wide-area networks", INFOCOM 1994: adjust where it costs least,
// in the silence between talkspurts; and NetEQ's expand / accelerate for continuous streams):
// - grow lazily: when the frame due is missing and the delay is below target, report it lost
//   without moving the playout point (the decoder conceals that frame anyway, and the packet still
//   plays if it turns up); in a silence gap, or before a talkspurt's first packet (the marker bit,
//   RFC 3551 4.1), hold a silence frame instead (free); and a packet that arrives after its frame
//   was concealed in a dry buffer is still played, the delay growing by its lateness, unless that
//   exceeds max;
// - shrink with hysteresis, from target + one frame: a silence gap is cut at once (inaudible);
//   in continuous audio one frame is dropped after the excess has lasted kShrinkHoldMs, and only
//   when the next packet is there (never skip into a hole);
// - beyond max (a burst after a stall), frames are dropped at once down to the target.
//
// Discontinuities: a timestamp that jumps by more than max delay relative to the arrival gap
// (|jump| > max; a talkspurt start whose timestamp gap matches the silence is not one) is moved
// onto the timeline where its arrival puts it, and playout carries on without holes. A sequence
// number far off (RFC 3550 A.1's dropout / misorder bounds) is a restart only once the next
// packet follows it (A.1). The caller calls reset() when the SSRC changes.
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace sb::media::rtp {

struct JitterConfig {
    int clock_rate = 8000;            // Hz; not positive: 8000
    std::uint32_t frame_units = 160;  // the first guess; follows the packets' spacing
    int min_delay_ms = 20;
    int max_delay_ms = 200;     // clamped to [min_delay_ms, 2000]
    std::size_t capacity = 32;  // packets, 2 to JitterBuffer::kMaxCapacity
};

enum class PushResult : std::uint8_t {
    stored,
    overflow,   // stored, and the oldest packets were evicted to make room (see push())
    duplicate,  // already received: dropped
    too_late,   // its frame was already played or concealed: dropped
    too_large,  // larger than kMaxPayload: dropped
    stray,      // sequence number far off the stream (A.1): dropped, unless the next follows it
};

struct Frame {
    enum class Kind : std::uint8_t {
        audio,  // decode `payload`
        lost,   // conceal one frame; if `next` is not empty, it may carry this frame's FEC
        empty,  // nothing to play: buffering, a silence gap, or the stream stopped (play silence
                // or comfort noise)
    };
    Kind kind = Kind::empty;
    // Views into the buffer, valid until the next push(), pop() or reset().
    std::span<const std::uint8_t> payload;  // audio
    std::span<const std::uint8_t> next;     // lost: the packet right after the hole, if present
    std::uint32_t timestamp = 0;            // audio, lost: the frame's RTP timestamp
    std::uint32_t duration = 0;             // timestamp units
    std::uint16_t sequence = 0;             // audio: the packet's sequence number
    bool marker = false;                    // audio: the packet's marker bit
};

// For the call record. received counts every push(); each packet ends in exactly one of
// played, late, duplicates, too_large, stray, overflow, skipped, flushed, or is still buffered.
struct JitterStats {
    std::uint64_t received = 0;
    std::uint64_t played = 0;  // audio frames returned
    std::uint64_t late = 0;    // too_late
    std::uint64_t duplicates = 0;
    std::uint64_t too_large = 0;
    std::uint64_t stray = 0;
    std::uint64_t overflow = 0;   // evicted to make room
    std::uint64_t skipped = 0;    // dropped to shrink the delay
    std::uint64_t flushed = 0;    // dropped by a sequence restart or reset()
    std::uint64_t lost = 0;       // sequence numbers never played because they had not arrived
    std::uint64_t concealed = 0;  // lost frames returned: holes, and frames inserted to grow
    std::uint64_t resyncs = 0;    // discontinuities followed (timestamp jumps, restarts)
    int delay_ms = 0;  // at the last pop(): how long after the fastest arrival frames play
    int target_ms = 0;
};

class JitterBuffer {
  public:
    static constexpr std::size_t kMaxCapacity = 64;     // the window is one 64-bit mask
    static constexpr std::size_t kMaxPayload = 512;     // 20 ms of voice: G.711 160, Opus < 200
    static constexpr std::uint16_t kMaxDropout = 3000;  // RFC 3550 A.1's bounds
    static constexpr std::uint16_t kMaxMisorder = 100;
    // Concealment while nothing arrives lasts at most this long, then the frames are empty:
    // G.711 Appendix I's concealment has faded to silence by 60 ms, and a talkspurt's end (which
    // the RTP header does not mark) should not read as a burst of losses.
    static constexpr int kDryConcealMs = 60;
    // How long the delay must stay a frame above target before a frame of audio is dropped.
    static constexpr int kShrinkHoldMs = 500;
    // Packets in a row that arrive too late to play (beyond the maximum delay after their frame
    // was concealed) before the buffer takes the stream as moved later for good and follows it.
    static constexpr int kLateRunResync = 5;

    explicit JitterBuffer(const JitterConfig& config);

    // Stores a packet arriving at `arrival_ms`. The payload is copied.
    // When the window is full (a burst after a stall), the oldest packets are evicted and this
    // one is kept: they are the nearest to being too late and the delay is already excessive, so
    // keeping them would only prolong it; the newest audio is worth more in a conversation.
    PushResult push(std::uint16_t seq, std::uint32_t rtp_timestamp,
                    std::span<const std::uint8_t> payload, bool marker, std::int64_t arrival_ms);

    // The next frame, called once per frame duration (when the decoder has used up the previous
    // frame: see Frame::duration and frame_duration()).
    Frame pop(std::int64_t now_ms);

    // A new source (SSRC change): the buffer, the timeline and the base delay start over. The
    // delay histogram is kept: the network path to the far end rarely changes with the source,
    // and a wrong estimate fades within seconds. Statistics are kept for the call record.
    void reset();

    std::uint32_t frame_duration() const { return frame_; }
    std::size_t buffered() const { return static_cast<std::size_t>(std::popcount(present_)); }
    const JitterStats& stats() const { return stats_; }

  private:
    struct Slot {
        std::int64_t pos = 0;  // timeline position, timestamp units
        std::uint32_t timestamp = 0;
        std::uint16_t sequence = 0;
        std::uint16_t size = 0;
        bool marker = false;
        std::array<std::uint8_t, kMaxPayload> payload{};
    };
    static constexpr int kBuckets = 50;

    std::int64_t units(std::int64_t ms) const { return ms * clock_rate_ / 1000; }
    int to_ms(std::int64_t u) const { return static_cast<int>(u * 1000 / clock_rate_); }
    Slot& slot(std::int64_t ext_seq) {
        return slots_[static_cast<std::size_t>(ext_seq) % capacity_];
    }
    std::int64_t base_offset() const { return prev_min_ < cur_min_ ? prev_min_ : cur_min_; }
    std::int64_t delay_at(std::int64_t now_u) const { return now_u - play_pos_ - base_offset(); }
    std::uint32_t timestamp_at(std::int64_t pos) const {
        return highest_ts_ + static_cast<std::uint32_t>(pos - highest_pos_);
    }

    void start(std::uint16_t seq, std::uint32_t ts, std::int64_t pos, std::int64_t arrival_u);
    void observe_delay(std::int64_t offset, std::int64_t arrival_u);
    void advance(std::int64_t n);
    bool drop_due(bool across_holes);
    Frame play(std::int64_t now_u);
    Frame hole(std::int64_t d);

    // Configuration.
    int clock_rate_;
    std::size_t capacity_;
    std::int64_t min_u_;
    std::int64_t max_u_;
    std::uint32_t frame_;
    std::uint32_t frame_candidate_ = 0;
    std::unique_ptr<Slot[]> slots_;

    // The window: bit k of present_ is packet play_seq_ + k (extended sequence numbers).
    bool started_ = false;
    bool playing_ = false;
    std::int64_t play_seq_ = 0;
    std::uint64_t present_ = 0;
    std::int64_t play_pos_ = 0;  // where the next frame starts on the timeline
    // The newest packet: anchors sequence and timestamp unwrapping. Bit k of seen_ is
    // highest_seq_ - k, received (for duplicates).
    std::int64_t highest_seq_ = 0;
    std::int64_t highest_pos_ = 0;
    std::uint32_t highest_ts_ = 0;
    std::int64_t highest_arrival_u_ = 0;
    std::uint64_t seen_ = 0;
    std::uint32_t bad_seq_ = 1u << 16;  // A.1: matches no sequence number

    // Base delay: the smallest offset in the current and the previous 2 s window.
    std::int64_t cur_min_ = 0;
    std::int64_t prev_min_ = 0;
    int late_run_ = 0;  // packets in a row too late to play (see push())
    std::int64_t window_start_u_ = 0;
    bool have_offset_ = false;
    // Relative delays, ms buckets of bucket_ms_; the last holds everything beyond.
    std::array<double, kBuckets> histogram_{};
    std::uint32_t samples_ = 0;
    int bucket_ms_;
    std::int64_t target_u_;

    std::int64_t dry_u_ = 0;             // time concealed since the buffer ran dry
    std::int64_t excess_since_ms_ = -1;  // when the delay went a frame above target
    JitterStats stats_;
};

}  // namespace sb::media::rtp
