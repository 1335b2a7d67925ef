// The relay's side of conference rooms (conference_room.h): a port's worker hands the room what
// the port receives and what changes about it; the room's home worker ticks it and sends its
// mix out of the room's own dup of each port's socket.
#include <unistd.h>

#include <algorithm>
#include <random>

#include "relay_worker.h"

namespace sb::media::rtp {

namespace {

// Where the room may send the leg's mix: nowhere while the far end does not want our media
// (hold) or before we know a safe address (the latch's rules, source_latch.h).
SockAddr room_destination(const PortState& p) {
    return p.spec.send ? p.latch.destination() : SockAddr{};
}

}  // namespace

void RelayWorker::join_room(PortState& p, std::shared_ptr<ConferenceRoom> room,
                            const ConferenceOptions& options) {
    if (p.room) leave_room(p);
    if (p.closing) {
        room->cancel_reservation();
        return;
    }
    start_playing(p, nullptr);
    const int fd = dup(p.rtp_fd);  // the room's own: it outlives this port if it must
    if (fd < 0) {
        room->cancel_reservation();
        return;
    }
    p.member = room->next_member();
    p.room_destination = room_destination(p);
    // The room sends the leg from an SSRC of its own (RFC 3550 8.1: random), chosen here so
    // that our reports speak for it from the start (relay_rtcp.cpp).
    p.room_stream = std::make_shared<RoomStream>(std::random_device{}());
    p.reported_room_packets = 0;
    room->post_join(p.member, fd, p.codecs, p.room_destination, options, p.room_stream);
    p.room = std::move(room);
}

void RelayWorker::leave_room(PortState& p) {
    if (!p.room) return;
    p.room->post_leave(p.member);
    p.room.reset();
    p.member = 0;
    p.room_stream.reset();  // our reports speak for `out` again
}

void RelayWorker::update_room(PortState& p) {
    if (!p.room) return;
    p.room_destination = room_destination(p);
    p.room->post_update(p.member, p.codecs, p.room_destination);
}

void RelayWorker::to_room(PortState& p, const RtpHeader& h) {
    if (room_destination(p) != p.room_destination) update_room(p);  // latched, or moved
    p.room->post_packet(p.member, h.ssrc(), h.sequence(), h.timestamp(), h.payload_type(),
                        h.marker(), h.payload(), now_ns_ / 1'000'000);
}

void RelayWorker::tick_rooms() {
    const ConferenceRoom::Send send = [this](int fd, const SockAddr& to,
                                             std::span<const std::uint8_t> packet) {
        auto id = take_own_buffer();
        if (!id) {
            dropped.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        std::uint8_t* b = own_buffer(*id);
        std::copy(packet.begin(), packet.end(), b);
        send_to_fd(fd, to, *id, b, packet.size());
        transcoded.fetch_add(1, std::memory_order_relaxed);
    };
    std::erase_if(rooms_, [&](const std::shared_ptr<ConferenceRoom>& room) {
        return !room->tick(now_ns_, send);  // closed once empty
    });
}

}  // namespace sb::media::rtp
