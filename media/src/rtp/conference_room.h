#pragma once
// A conference room in the relay: N legs, each hearing the mix of all the others (dsp/mixer.h),
// whatever codec each one speaks. Private to sb_media.
//
// Threads. A room is ticked every 20 ms by one relay worker (its "home", chosen from the room's
// name), but its participants' ports stay on the workers of their own calls: moving a port
// between io_urings would need its receives cancelled and re-armed and the shard's commands
// re-routed while it moves. Instead a port's worker hands the room what the port receives
// (post_packet) and what changes about it (post_join / post_update / post_leave) through the
// room's inbox, a mutex-guarded pair of queues drained once per tick; and the room sends its
// mix out of a dup() of the port's socket, so the room never touches the port's state and a
// port closing cannot pull the socket from under a send in flight. The queues are swapped with
// spares each tick, so in steady state nothing allocates.
//
// Per participant on the home worker: an adaptive jitter buffer (jitter_buffer.h: a decoded leg
// needs one, unlike a relayed leg, since the mix is clocked by our tick and not by its packets),
// its decoder, resamplers to and from the room's 16 kHz, its encoder and an outgoing RTP stream
// of its own, whose SSRC and counts its port's worker reads for the leg's RTCP (room_stream.h).
// The mute key (RFC 4733 event, or in-band DTMF for a leg without telephone-event) toggles
// mute; the participant alone hears a low beep when muted, a high one when unmuted.
// A participant who joins an empty room hears its alone prompt, and then its music until
// someone else joins (ConferenceOptions).
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "room_stream.h"
#include "sb/media/codec/codec.h"
#include "sb/media/codec/resampler.h"
#include "sb/media/conference_options.h"
#include "sb/media/dsp/dtmf.h"
#include "sb/media/dsp/mixer.h"
#include "sb/media/rtp/jitter_buffer.h"
#include "sb/media/rtp/media_port.h"
#include "sb/media/rtp/sock_addr.h"

namespace sb::media::rtp {

struct ConferenceStats {
    std::size_t participants = 0;
    std::uint64_t ticks = 0;
    std::uint64_t packets_in = 0;     // handed in by the participants' workers
    std::uint64_t packets_sent = 0;   // mixed frames sent
    std::uint64_t inbox_dropped = 0;  // handed in while the inbox was full
};

class ConferenceRoom {
  public:
    static constexpr int kSampleRate = 16000;  // wideband: G.722 and Opus legs keep their band
    static constexpr std::size_t kFrame = kSampleRate / 50;
    static constexpr std::size_t kMaxParticipants = 128;
    // Packets waiting for the next tick, per room: 2 ticks of 128 legs at 20 ms, and then some.
    static constexpr std::size_t kMaxInbox = 1024;

    // Sends one RTP packet out of `fd` (a socket of the room's) to `to`.
    using Send = std::function<void(int fd, const SockAddr& to, std::span<const std::uint8_t>)>;

    explicit ConferenceRoom(std::string name);
    ~ConferenceRoom();  // closes the sockets it holds
    ConferenceRoom(const ConferenceRoom&) = delete;
    ConferenceRoom& operator=(const ConferenceRoom&) = delete;

    const std::string& name() const { return name_; }

    // --- Any thread -----------------------------------------------------------------------
    // Counts a participant about to join (the shard, before its port's worker posts the join):
    // false when the room is full or closed (empty and dropped by its worker: make a new one).
    bool reserve();
    // A reservation that will never join (its port closed first).
    void cancel_reservation();
    std::size_t reserved() const;
    bool closed() const;

    // --- The participants' workers -----------------------------------------------------------
    // A member id for a port joining: unique in the room for its lifetime.
    std::uint32_t next_member() { return next_member_.fetch_add(1, std::memory_order_relaxed); }
    // `fd`: a socket the room now owns (a dup of the port's RTP socket). `to`: where the leg's
    // media goes (empty: nowhere yet, or on hold). `stream`: the SSRC the room sends the leg
    // from, and where it counts what it sent (for the port's RTCP).
    void post_join(std::uint32_t member, int fd, const PortCodecs& codecs, const SockAddr& to,
                   const ConferenceOptions& options, std::shared_ptr<RoomStream> stream);
    void post_update(std::uint32_t member, const PortCodecs& codecs, const SockAddr& to);
    void post_leave(std::uint32_t member);
    // A key the member pressed out of band (SIP INFO): taken as one from its media.
    void post_key(std::uint32_t member, char digit);
    void post_packet(std::uint32_t member, std::uint32_t ssrc, std::uint16_t sequence,
                     std::uint32_t timestamp, std::uint8_t payload_type, bool marker,
                     std::span<const std::uint8_t> payload, std::int64_t arrival_ms);

    // --- The home worker ---------------------------------------------------------------------
    // One 20 ms step: applies what was posted, mixes, and sends each participant its frame.
    // `now_ns`: the home worker's monotonic clock. Returns false once the room is empty and
    // nobody reserved a place: it is then closed.
    bool tick(std::int64_t now_ns, const Send& send);
    ConferenceStats stats() const;

  private:
    struct Participant;
    struct Control {
        enum class Kind : std::uint8_t { join, update, leave, key } kind = Kind::join;
        std::uint32_t member = 0;
        int fd = -1;
        PortCodecs codecs;
        SockAddr to;
        ConferenceOptions options;
        std::shared_ptr<RoomStream> stream;  // join
        char digit = 0;                      // key
    };
    struct Packet {
        std::uint32_t member = 0;
        std::uint32_t ssrc = 0;
        std::uint16_t sequence = 0;
        std::uint32_t timestamp = 0;
        std::uint8_t payload_type = 0;
        bool marker = false;
        std::uint16_t size = 0;
        std::int64_t arrival_ms = 0;
        std::array<std::uint8_t, JitterBuffer::kMaxPayload> payload;
    };

    static constexpr std::size_t kMaxPayload = 1400;
    // An encoder for a format, fed the room's 16 kHz (resampled down where the codec needs it).
    struct Encoding {
        std::optional<PayloadFormat> format;
        std::unique_ptr<codec::Encoder> encoder;
        std::optional<codec::Resampler> down;
        bool prepare(const PayloadFormat& f);  // false: not a codec we can encode
        int encode(std::span<const std::int16_t> frame, std::span<std::uint8_t> out);
    };
    // One encode of the frame every non-speaker hears, per format, per tick.
    struct SharedEncoding {
        Encoding encoding;
        std::uint64_t tick = 0;  // of `payload`
        std::array<std::int16_t, kFrame> pcm{};
        std::array<std::uint8_t, kMaxPayload> payload{};
        int bytes = 0;
    };

    void apply(Control& c);
    std::span<const std::uint8_t> encode_for(Participant& p, std::uint8_t* scratch);
    Participant* find(std::uint32_t member);
    void receive(Participant& p, const Packet& packet);
    void on_digit(Participant& p, char digit);
    void decode_frame(Participant& p, std::int64_t now_ms);
    void send_frame(Participant& p, const Send& send, std::int64_t now_ns);
    // Starts music_when_alone for a participant left alone, stops it when company comes.
    void update_music();
    // Adds what the participant alone hears (a beep, a prompt, music) to its frame.
    void add_private_audio(Participant& p, std::span<std::int16_t> frame);

    const std::string name_;
    std::atomic<std::uint32_t> next_member_{1};

    mutable std::mutex mu_;  // guards what the other threads touch: the inbox and the counts
    std::vector<Control> controls_;
    std::vector<Packet> packets_;
    std::size_t reserved_ = 0;  // reserved and not yet left
    bool closed_ = false;
    std::uint64_t inbox_dropped_ = 0;
    ConferenceStats stats_;  // published by tick()

    // The home worker's alone.
    std::vector<Control> applying_controls_;
    std::vector<Packet> applying_packets_;
    dsp::Mixer mixer_;
    std::vector<std::unique_ptr<Participant>> participants_;
    std::vector<SharedEncoding> shared_;
    ConferenceStats counters_;
};

}  // namespace sb::media::rtp
