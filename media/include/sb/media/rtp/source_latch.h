#pragma once
// Symmetric RTP (RFC 4961; what every PBX does for phones behind NAT): a leg's packets are sent
// back to where its packets really come from, which behind NAT (or from a host with several
// addresses) is not the address its SDP names. The guard against hijacking a call's media (the
// "RTP bleed" attack: a stranger guesses the port and sends first):
//   - a source on an expected IP (the SDP's or the leg's SIP signalling IP) latches at once, and
//     takes over from a source on an unexpected IP at once (the real phone always wins);
//   - a source on any other IP latches only after kRelatchPackets consecutive packets of one
//     stream, and only while nothing expected has been latched;
//   - once latched, another source takes over only after the latched one has been silent for
//     kSilenceNs (a NAT binding that changed) and it sent kRelatchPackets consecutive packets.
// A new SDP from the leg (set_expected) starts over.
#include <cstdint>

#include "sb/media/rtp/sock_addr.h"

namespace sb::media::rtp {

class SourceLatch {
  public:
    static constexpr std::int64_t kSilenceNs = 1'000'000'000;
    static constexpr int kRelatchPackets = 3;

    // `sdp` and `signalling` may be empty (unknown).
    void set_expected(const SockAddr& sdp, const SockAddr& signalling) {
        sdp_ = sdp;
        signalling_ = signalling;
        latched_ = SockAddr{};
        candidate_ = SockAddr{};
        candidate_count_ = 0;
    }

    // Whether a packet from `source` is accepted; latches as a side effect.
    bool accept(const SockAddr& source, std::uint32_t ssrc, std::uint16_t seq,
                std::int64_t now_ns) {
        if (!latched_.empty() && source == latched_) {
            last_ns_ = now_ns;
            return true;
        }
        const bool expected = source.same_ip(sdp_) || source.same_ip(signalling_);
        if (expected && (latched_.empty() || !latched_expected_)) {
            if (!latched_.empty()) ++relatches_;
            latch(source, now_ns, true);
            return true;
        }
        if (!latched_.empty() && now_ns - last_ns_ < kSilenceNs) return false;
        if (candidate_ == source && ssrc == candidate_ssrc_ &&
            seq == static_cast<std::uint16_t>(candidate_seq_ + 1)) {
            ++candidate_count_;
        } else {
            candidate_ = source;
            candidate_count_ = 1;
        }
        candidate_ssrc_ = ssrc;
        candidate_seq_ = seq;
        if (candidate_count_ < kRelatchPackets) return false;
        if (!latched_.empty()) ++relatches_;
        latch(source, now_ns, expected);
        return true;
    }

    // Where to send: the latched source; before anything latched, the SDP's address, but only
    // when it is on the signalling IP (or no signalling address is known). An SDP naming
    // another host is either a phone behind NAT (its private address: unreachable, so wait for
    // its first packet) or an attempt to make us send a stream at a third party (reflection):
    // in both cases nothing goes out until the leg's own packets show where it is.
    const SockAddr& destination() const {
        if (!latched_.empty()) return latched_;
        if (!signalling_.empty() && !sdp_.same_ip(signalling_)) return none_;
        return sdp_;
    }
    const SockAddr& latched() const { return latched_; }
    // Latched to a source on an expected IP (which no other source can take over while alive).
    bool latched_expected() const { return !latched_.empty() && latched_expected_; }
    // When the latched source last sent (0: never).
    std::int64_t last_ns() const { return last_ns_; }
    std::uint32_t relatches() const { return relatches_; }

  private:
    void latch(const SockAddr& s, std::int64_t now_ns, bool expected) {
        latched_ = s;
        latched_expected_ = expected;
        last_ns_ = now_ns;
        candidate_ = SockAddr{};
        candidate_count_ = 0;
    }

    SockAddr sdp_, signalling_, latched_, candidate_;
    SockAddr none_;
    std::int64_t last_ns_ = 0;
    std::uint32_t candidate_ssrc_ = 0;
    std::uint16_t candidate_seq_ = 0;
    int candidate_count_ = 0;
    bool latched_expected_ = false;
    std::uint32_t relatches_ = 0;
};

}  // namespace sb::media::rtp
