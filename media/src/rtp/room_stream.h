#pragma once
// What a conference room sends one participant, for the RTCP of the participant's port
// (relay_rtcp.cpp). Private to sb_media.
//
// While a port is in a room the far end hears the room's stream (conference_room.h: its own SSRC,
// sequence and timestamps, sent by the room's home worker), not the port's OutgoingStream, so
// the port's sender reports must describe that stream and the far end's report blocks about it
// must be read. The port's worker makes one at join (choosing the SSRC), hands it to the room
// with the join and keeps it while in the room; the home worker writes it with every frame it
// sends (50 a second); the port's worker reads it when it reports (every few seconds) or when a
// report block about the SSRC comes. A mutex, not atomics: a report needs the counts, the last
// timestamp and its send time from the same frame, and it is never contended for long.
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace sb::media::rtp {

class RoomStream {
  public:
    struct Sent {
        std::uint64_t packets = 0;
        std::uint64_t octets = 0;          // payload octets (RFC 3550 6.4.1)
        std::uint32_t last_timestamp = 0;  // of the last packet sent
        std::int64_t last_sent_ns = 0;     // when, on the workers' monotonic clock
        int clock_rate = 0;                // the RTP clock of the format sent; 0: none sent yet

        // The RTP timestamp that corresponds to `now_ns` (a sender report's, RFC 3550 6.4.1),
        // extrapolated from the last packet as OutgoingStream::timestamp_at does. `now_ns` may be
        // a little older than the last send (another thread's clock reading).
        std::uint32_t timestamp_at(std::int64_t now_ns) const {
            if (packets == 0 || clock_rate <= 0) return last_timestamp;
            const std::int64_t units = (now_ns - last_sent_ns) * clock_rate / 1'000'000'000;
            return last_timestamp + static_cast<std::uint32_t>(units);  // modulo 2^32
        }
    };

    explicit RoomStream(std::uint32_t ssrc) : ssrc_(ssrc) {}
    RoomStream(const RoomStream&) = delete;
    RoomStream& operator=(const RoomStream&) = delete;

    // Fixed at construction: read without the lock.
    std::uint32_t ssrc() const { return ssrc_; }

    // The home worker, once per packet it sends the participant.
    void on_sent(std::uint32_t timestamp, std::size_t payload_octets, int clock_rate,
                 std::int64_t now_ns) {
        std::lock_guard lock(mu_);
        ++sent_.packets;
        sent_.octets += payload_octets;
        sent_.last_timestamp = timestamp;
        sent_.last_sent_ns = now_ns;
        sent_.clock_rate = clock_rate;
    }

    // The port's worker: a consistent copy.
    Sent sent() const {
        std::lock_guard lock(mu_);
        return sent_;
    }

  private:
    const std::uint32_t ssrc_;
    mutable std::mutex mu_;
    Sent sent_;
};

}  // namespace sb::media::rtp
