#pragma once
// Reception statistics of one RTP stream, for the receiver report blocks the relay sends
// (RFC 3550 6.4.1): sequence tracking (A.1), loss (A.3) and interarrival jitter (A.8).
// Called once per received packet on the relay's hot path: no allocation, no virtual calls.
//
// One source at a time: reset() when the stream's SSRC changes. Unlike A.1 there is no
// probation: the relay has already latched on the source (source_latch.h), so its first packet
// counts. A.1's guard against a source that jumps stays: a jump of kMaxDropout or more ahead (or
// kMaxMisorder or more behind) is not counted, and restarts the statistics only when the next
// packet follows it (the sender restarted, A.1 "two sequential packets").
#include <cstdint>

#include "sb/media/rtp/rtcp.h"

namespace sb::media::rtp {

class ReceiveStats {
  public:
    static constexpr std::uint16_t kMaxDropout = 3000;  // A.1's values, for 50 packets/s and up
    static constexpr std::uint16_t kMaxMisorder = 100;

    enum class Accept : std::uint8_t {
        in_order,   // the newest so far, possibly after a gap (the gap counts as lost)
        late,       // a duplicate, or reordered by less than kMaxMisorder: counted
        restarted,  // followed a rejected jump: the statistics start over with this packet
        rejected,   // a large jump: not counted unless the next packet follows it
    };
    static constexpr bool counts(Accept a) { return a != Accept::rejected; }

    // A new source whose first packet has sequence number `seq`; pass that packet to
    // on_packet() too.
    void reset(std::uint32_t ssrc, std::uint16_t seq) {
        ssrc_ = ssrc;
        jitter_q4_ = 0;
        restart(seq);
    }

    // `arrival` is the arrival time in the stream's timestamp units (the caller converts from
    // its clock with the codec's rate); only differences matter, so any origin will do.
    Accept on_packet(std::uint16_t seq, std::uint32_t rtp_timestamp, std::uint32_t arrival) {
        // A.1 update_seq: the distance ahead of the highest sequence number, modulo 2^16.
        const auto ahead = static_cast<std::uint16_t>(seq - max_seq_);
        Accept result = Accept::in_order;
        if (ahead < kMaxDropout) {
            if (seq < max_seq_) cycles_ += 1u << 16;  // wrapped
            max_seq_ = seq;
            if (ahead == 0 && received_ != 0) result = Accept::late;  // a duplicate of the newest
        } else if (ahead <= 65536 - kMaxMisorder) {
            if (seq != bad_seq_) {
                bad_seq_ = static_cast<std::uint32_t>(seq + 1) & 0xffff;
                return Accept::rejected;
            }
            restart(seq);
            result = Accept::restarted;
        } else {
            result = Accept::late;
        }
        ++received_;
        // A.8 on newer packets only: a reordered packet would count its displacement twice.
        // Packets sharing a timestamp (the RFC 4733 2.5.1.2 events of one DTMF digit) are one
        // sampling instant, so only the first is a sample.
        if (result != Accept::late) update_jitter(rtp_timestamp, arrival);
        return result;
    }

    std::uint32_t ssrc() const { return ssrc_; }
    // Packets counted since the source started (or restarted), duplicates included (A.3).
    std::uint32_t packets_received() const { return received_; }
    std::uint32_t extended_highest_seq() const { return cycles_ + max_seq_; }
    // Expected minus received (A.3); negative with duplicates. Unclamped.
    std::int64_t cumulative_lost() const { return expected() - std::int64_t{received_}; }
    // Interarrival jitter in timestamp units (A.8), rounded.
    std::uint32_t jitter() const { return static_cast<std::uint32_t>((jitter_q4_ + 8) >> 4); }

    // The report block for this source, and the start of the next report interval (A.3:
    // fraction lost counts from the previous call). `lsr` and `dlsr` as in ReportBlock.
    ReportBlock make_report_block(std::uint32_t lsr, std::uint32_t dlsr);

  private:
    // A.1 init_seq.
    void restart(std::uint16_t seq) {
        base_seq_ = seq;
        max_seq_ = seq;
        bad_seq_ = 1u << 16;  // matches no sequence number
        cycles_ = 0;
        received_ = 0;
        expected_prior_ = 0;
        received_prior_ = 0;
        have_transit_ = false;  // a restarted sender's timestamps start afresh too
    }

    void update_jitter(std::uint32_t rtp_timestamp, std::uint32_t arrival) {
        if (have_transit_ && rtp_timestamp == last_timestamp_) return;
        // Both clocks wrap modulo 2^32; so does the transit, and D is their signed difference.
        const std::uint32_t transit = arrival - rtp_timestamp;
        if (have_transit_) {
            const auto d = static_cast<std::int32_t>(transit - transit_);
            const std::uint32_t abs_d =
                d < 0 ? 0u - static_cast<std::uint32_t>(d) : static_cast<std::uint32_t>(d);
            // J += (|D| - J) / 16 in fixed point with 4 fraction bits (A.8's integer form); the
            // unsigned wrap of the subtraction cancels in the sum, which is never negative.
            jitter_q4_ += abs_d - ((jitter_q4_ + 8) >> 4);
        }
        transit_ = transit;
        last_timestamp_ = rtp_timestamp;
        have_transit_ = true;
    }

    std::int64_t expected() const {
        return std::int64_t{extended_highest_seq()} - std::int64_t{base_seq_} + 1;
    }

    std::uint32_t ssrc_ = 0;
    std::uint16_t max_seq_ = 0;
    std::uint16_t base_seq_ = 0;
    std::uint32_t bad_seq_ = 1u << 16;
    std::uint32_t cycles_ = 0;  // wraps counted, shifted left by 16
    std::uint32_t received_ = 0;
    std::int64_t expected_prior_ = 0;
    std::uint32_t received_prior_ = 0;
    std::uint32_t transit_ = 0;
    std::uint32_t last_timestamp_ = 0;
    bool have_transit_ = false;
    std::uint64_t jitter_q4_ = 0;  // jitter x16
};

}  // namespace sb::media::rtp
