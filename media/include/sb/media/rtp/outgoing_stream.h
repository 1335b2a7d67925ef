#pragma once
// The stream a port sends: one SSRC, with sequence numbers and timestamps that stay continuous
// whatever feeds it (RFC 3550 5.1, 8.2). The far end sees one stream across a change of source
// (a transfer, early media then the answer, a re-INVITE to another phone), so its jitter buffer
// and RTCP keep working. The first source relayed passes unchanged (its SSRC becomes the
// stream's, as a plain relay would forward it); every later source is shifted by constant
// offsets chosen when it starts, so relayed packets keep their own spacing.
#include <cstdint>

#include "sb/media/rtp/rtp_header.h"

namespace sb::media::rtp {

class OutgoingStream {
  public:
    // `ssrc`, `first_sequence` and `first_timestamp` random (RFC 3550 5.1, 8.1): used when we
    // originate the stream (tones, prompts) before anything is relayed.
    OutgoingStream(std::uint32_t ssrc, std::uint16_t first_sequence, std::uint32_t first_timestamp)
        : ssrc_(ssrc), next_sequence_(first_sequence), last_timestamp_(first_timestamp - 160) {}

    // The clock rate of the codec sent: converts the time between sources into timestamp units.
    void set_clock_rate(int hz) { clock_rate_ = hz > 0 ? hz : 8000; }

    // Rewrites a relayed packet in place. `now_ns` is a monotonic time.
    void rewrite(RtpHeader& h, std::int64_t now_ns) {
        const std::uint32_t source = h.ssrc();
        if (!started_ || source != source_ssrc_) start_source(h, now_ns);
        const auto seq = static_cast<std::uint16_t>(h.sequence() + sequence_offset_);
        const std::uint32_t ts = h.timestamp() + timestamp_offset_;
        // Only a packet newer than any sent moves the end of the stream: a reordered one keeps
        // its place (its offset is the same), and the next source starts after the newest.
        if (static_cast<std::int16_t>(seq - next_sequence_) >= 0) {
            next_sequence_ = static_cast<std::uint16_t>(seq + 1);
            last_timestamp_ = ts;
            last_sent_ns_ = now_ns;
        }
        h.set_ssrc(ssrc_);
        h.set_sequence(seq);
        h.set_timestamp(ts);
        ++packets_;
        octets_ += h.size() - kRtpHeaderSize;
    }

    std::uint32_t ssrc() const { return ssrc_; }
    std::uint64_t packets() const { return packets_; }
    std::uint64_t octets() const { return octets_; }
    // The RTP timestamp that corresponds to `now_ns` (for a sender report, RFC 3550 6.4.1).
    std::uint32_t timestamp_at(std::int64_t now_ns) const {
        if (!started_) return last_timestamp_;
        return last_timestamp_ + units_since(now_ns);
    }

  private:
    std::uint32_t units_since(std::int64_t now_ns) const {
        const std::int64_t elapsed = now_ns - last_sent_ns_;
        return elapsed <= 0 ? 0u
                            : static_cast<std::uint32_t>(elapsed * clock_rate_ / 1'000'000'000);
    }

    void start_source(RtpHeader& h, std::int64_t now_ns) {
        // The new source's first packet follows our last one: the next sequence number, and a
        // timestamp advanced by the time that passed (at least one unit, so it never repeats).
        if (!started_) {
            ssrc_ = h.ssrc();
            next_sequence_ = h.sequence();
            last_timestamp_ = h.timestamp() - 160;
        }
        std::uint32_t advance = started_ ? units_since(now_ns) : 160;
        if (advance == 0) advance = 1;
        sequence_offset_ = static_cast<std::uint16_t>(next_sequence_ - h.sequence());
        timestamp_offset_ = last_timestamp_ + advance - h.timestamp();
        source_ssrc_ = h.ssrc();
        // RFC 3551 4.1: the marker flags a discontinuity the receiver should not smooth over.
        if (started_) h.set_marker();
        started_ = true;
    }

    std::uint32_t ssrc_;
    std::uint16_t next_sequence_;
    std::uint32_t last_timestamp_;
    std::int64_t last_sent_ns_ = 0;
    int clock_rate_ = 8000;
    bool started_ = false;
    std::uint32_t source_ssrc_ = 0;
    std::uint16_t sequence_offset_ = 0;
    std::uint32_t timestamp_offset_ = 0;
    std::uint64_t packets_ = 0;
    std::uint64_t octets_ = 0;
};

}  // namespace sb::media::rtp
