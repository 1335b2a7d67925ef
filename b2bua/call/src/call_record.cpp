#include "sb/call/call_record.h"

#include <fmt/format.h>

namespace sb::call {

namespace {

// "PCMU/8000 from 192.0.2.20:4000, first at 2.31 s, rx 512 lost 3 (0.6 %) jitter 1.2 ms, tx
// 510, rtt 4.1 ms, far end lost 0.0 % jitter 0.8 ms": "from A (SDP B)" when RTP came from
// elsewhere than the SDP said (NAT), "SDP B" alone when none came; "first at": its first RTP,
// counted from the caller's INVITE like the answer ("200 after 2.20 s").
std::string describe(const MediaRecord& m) {
    const std::uint64_t expected = m.packets_received + m.packets_lost;
    std::string out = m.codec.empty() ? "" : m.codec + " ";
    if (!m.source.empty()) {
        out += "from " + m.source;
        if (!m.declared.empty() && m.declared != m.source) out += " (SDP " + m.declared + ")";
        out += ", ";
    } else if (!m.declared.empty()) {
        out += "SDP " + m.declared + ", ";
    }
    if (m.first_rtp_ms >= 0) out += fmt::format("first at {:.2f} s, ", m.first_rtp_ms / 1000.0);
    out += fmt::format("rx {} lost {} ({:.1f} %) jitter {:.1f} ms, tx {}", m.packets_received,
                       m.packets_lost, expected ? 100.0 * m.packets_lost / expected : 0.0,
                       m.jitter_ms, m.packets_sent);
    if (m.rtt_ms) out += fmt::format(", rtt {:.1f} ms", *m.rtt_ms);
    if (m.remote_loss_fraction || m.remote_jitter_ms) {
        out += ", far end";
        if (m.remote_loss_fraction)
            out += fmt::format(" lost {:.1f} %", 100 * *m.remote_loss_fraction);
        if (m.remote_jitter_ms) out += fmt::format(" jitter {:.1f} ms", *m.remote_jitter_ms);
    }
    return out;
}

}  // namespace

std::string describe(const CallRecord& r) {
    std::string out = fmt::format("call {} {} -> {}: {}", r.id, r.caller, r.callee, r.a_status);
    if (r.answer_ms >= 0) out += fmt::format(" after {:.2f} s", r.answer_ms / 1000.0);
    if (r.answered_at)
        out += fmt::format(", talked {:.1f} s", (r.ended_at - r.answered_at) / 1000.0);
    out += ", ended: " + r.end_reason;
    if (!r.legs.empty()) {
        out += "; legs:";
        for (const LegRecord& l : r.legs)
            out += fmt::format(" {} {} {}{}", l.destination, l.status, l.reason,
                               &l == &r.legs.back() ? "" : ",");
    }
    if (r.direct_media) out += "; media: direct";
    // Per leg with RTP: "; rtp caller: rx ...; rtp 1002: rx ..."
    if (r.a_media) out += "; rtp caller: " + describe(*r.a_media);
    for (const LegRecord& l : r.legs)
        if (l.media) out += fmt::format("; rtp {}: {}", l.destination, describe(*l.media));
    if (!r.recording.empty()) out += "; recorded to " + r.recording;
    return out;
}

}  // namespace sb::call
