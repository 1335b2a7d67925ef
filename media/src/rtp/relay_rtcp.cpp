// RTCP in the relay, terminated per leg (RFC 3550 6; RFC 7667 3.2.1.2 "media translator" view):
// each leg's far end gets our own sender and receiver reports about the stream we send it and
// the stream we receive from it, and its reports are read for round-trip time and the loss it
// sees. Reports are never forwarded: the two legs are separate RTP sessions, and what one phone
// reports about its reception says nothing about the other leg. A leg in a conference hears the
// room's stream (conference_room.h), sent from another SSRC, maybe by another worker: its
// reports then speak for that stream, as room_stream.h describes it.
#include <sys/socket.h>

#include <array>
#include <ctime>
#include <optional>
#include <string>

#include "relay_worker.h"
#include "sb/media/rtp/rtcp.h"

namespace sb::media::rtp {

namespace {

std::int64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// A time difference in units of 1/65536 s (DLSR, RFC 3550 6.4.1).
std::uint32_t to_q16(std::int64_t ns) {
    return ns <= 0 ? 0u : static_cast<std::uint32_t>((ns << 16) / 1'000'000'000);
}

}  // namespace

void RelayWorker::count_received(PortState& p, const RtpHeader& h) {
    if (!p.receiving || h.ssrc() != p.rx.ssrc()) {
        p.rx.reset(h.ssrc(), h.sequence());
        p.receiving = true;
    }
    // Arrival in the stream's timestamp units; microseconds keep the product within 64 bits.
    const auto arrival =
        static_cast<std::uint32_t>((now_ns_ / 1000) * p.spec.clock_rate / 1'000'000);
    p.rx.on_packet(h.sequence(), h.timestamp(), arrival);
}

void RelayWorker::on_rtcp(PortState& p, const std::uint8_t* data, std::size_t size,
                          const SockAddr& source) {
    // Only the far end's host may report: the IP its RTP comes from (or its SDP names).
    const SockAddr& rtp_peer = p.latch.destination();
    if (rtp_peer.empty() || !source.same_ip(rtp_peer)) return;
    auto report = parse_compound({data, size});
    if (!report) return;
    p.rtcp_destination = source;  // symmetric RTCP, as for RTP
    if (report->sender) {
        p.their_lsr = middle_32(report->sender->ntp_timestamp);
        p.their_sr_ns = now_ns_;
    }
    const std::uint32_t now_q16 = middle_32(ntp_from_unix_ns(realtime_ns()));
    for (const ReportBlock& b : report->report_blocks()) {
        // About a stream we send it: `out`, or the room's while it is in one (a block about
        // `out` may still come then: what it heard before it joined).
        int clock_rate = p.spec.clock_rate;
        if (p.room_stream && b.ssrc == p.room_stream->ssrc()) {
            if (const int rate = p.room_stream->sent().clock_rate; rate > 0) clock_rate = rate;
        } else if (b.ssrc != p.out.ssrc()) {
            continue;  // about a stream we do not send
        }
        if (auto rtt = round_trip_ms(now_q16, b)) p.counters.rtt_ms = *rtt;
        p.counters.remote_loss_fraction = b.fraction_lost / 256.0;
        p.counters.remote_jitter_ms = 1000.0 * b.jitter / clock_rate;
    }
}

void RelayWorker::send_reports() {
    for (auto& port : ports_) {
        PortState& p = *port;
        if (p.closing || now_ns_ < p.next_report_ns) continue;
        const bool first = p.next_report_ns == 0;  // a new port: its first report comes later
        // RFC 3550 6.3.1: randomise the interval (0.5 to 1.5 times) so reports do not
        // synchronise; the port number is randomness enough here. The first report comes after
        // half an interval (6.2: "the delay before sending the first compound RTCP packet MAY be
        // set to half the minimum interval"), so that a call of a few seconds already has one
        // exchange of reports, and a round-trip time, for its call record.
        const std::int64_t spread = std::int64_t{p.rtp_port % 1000} * report_interval_ns_ / 1000;
        const std::int64_t interval = report_interval_ns_ / 2 + spread;
        p.next_report_ns = now_ns_ + (first ? interval / 2 : interval);
        if (!first) send_report(p);
    }
}

void RelayWorker::send_report(PortState& p) {
    // In a room, what the far end hears is the room's stream: `out` sends nothing meanwhile.
    std::optional<RoomStream::Sent> room;
    if (p.room_stream) room = p.room_stream->sent();
    const std::uint64_t packets = room ? room->packets : p.out.packets();
    std::uint64_t& reported = room ? p.reported_room_packets : p.reported_packets;
    const bool sent = packets != reported;
    if (!sent && !p.receiving) return;  // nothing to say yet
    // Where its RTCP comes from; else, once its RTP latched, that host (at the SDP's RTCP port
    // if the SDP named that host, else the RTP port + 1, as a NAT usually maps it); else the
    // SDP's RTCP address when RTP may go to the SDP's address (source_latch.h's rule).
    SockAddr to = p.rtcp_destination;
    const SockAddr& rtp = p.latch.destination();
    if (to.empty() && !rtp.empty()) {
        const SockAddr sdp_rtcp = p.spec.rtcp ? SockAddr::from(*p.spec.rtcp) : SockAddr{};
        if (!sdp_rtcp.empty() && sdp_rtcp.same_ip(rtp)) {
            to = sdp_rtcp;
        } else {
            to = rtp;
            const auto port = static_cast<std::uint16_t>(rtp.port() + 1);
            if (to.is_v6())
                to.u.v6.sin6_port = htons(port);
            else
                to.u.v4.sin_port = htons(port);
        }
    }
    if (to.empty() || !p.spec.send) return;

    Report r;
    r.ssrc = room ? p.room_stream->ssrc() : p.out.ssrc();
    if (sent) {
        const std::uint64_t ntp = ntp_from_unix_ns(realtime_ns());
        // RFC 3550 6.4.1: the counts wrap modulo 2^32.
        r.sender = room ? SenderInfo{ntp, room->timestamp_at(now_ns_),
                                     static_cast<std::uint32_t>(room->packets),
                                     static_cast<std::uint32_t>(room->octets)}
                        : SenderInfo{ntp, p.out.timestamp_at(now_ns_),
                                     static_cast<std::uint32_t>(p.out.packets()),
                                     static_cast<std::uint32_t>(p.out.octets())};
        reported = packets;
    }
    if (p.receiving) {
        const std::uint32_t dlsr = p.their_lsr != 0 ? to_q16(now_ns_ - p.their_sr_ns) : 0;
        r.add_block(p.rx.make_report_block(p.their_lsr, dlsr));
    }
    std::array<std::uint8_t, kMaxCompoundSize> packet{};
    const std::string cname = "switchboard-" + std::to_string(p.rtp_port);
    const std::size_t n = write_compound(packet, r, cname);
    if (n == 0) return;
    // One report per port every few seconds: a plain system call costs less than the ring's
    // bookkeeping for a buffer of our own.
    ::sendto(p.rtcp_fd, packet.data(), n, MSG_DONTWAIT, to.raw(), to.size());
}

}  // namespace sb::media::rtp
