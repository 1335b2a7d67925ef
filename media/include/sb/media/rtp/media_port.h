#pragma once
// The media engine's view of the RTP relay: a MediaPort is one leg's pair of UDP ports on
// Switchboard (RTP on an even port, RTCP on the next), and a PortSource hands them out. The
// anchoring session (anchored_media.h) drives ports through these interfaces only, so its unit
// tests use fakes and the relay (relay.h) is the one implementation.
//
// Threading: a port is driven by the thread that opened it (its call's shard); the packets are
// handled on the relay's worker threads, which apply what the shard asked in order.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sb/common/endpoint.h"
#include "sb/common/result.h"
#include "sb/media/conference_options.h"
#include "sb/media/dsp/audio_source.h"

namespace sb::media::rtp {

// What a leg's SDP and signalling say about its far end.
struct RemoteSpec {
    // Where its SDP says to send RTP (c= and m=), nullopt while unknown or when the stream is
    // disabled (port 0) or on hold with a 0.0.0.0 address (RFC 3264 8.4, old style).
    std::optional<Endpoint> rtp;
    // Its RTCP address: a=rtcp (RFC 3605) or the RTP port + 1.
    std::optional<Endpoint> rtcp;
    // The address its SIP messages come from (port ignored). Symmetric RTP may latch to a source
    // other than the SDP's only from this address or the SDP's one (the hijacking guard).
    std::optional<Endpoint> signalling;
    // The RTP clock rate of the codec sent to it: keeps timestamps continuous when the stream
    // sent out of this port changes source (RFC 3550 5.1).
    int clock_rate = 8000;
    // Direction from our point of view: whether we may send to it and whether we accept from it.
    bool send = true;
    bool receive = true;
};

// A payload format negotiated on a leg: its RTP payload type there and the codec it means.
struct PayloadFormat {
    int payload_type = 0;
    std::string encoding;  // "PCMU", "opus", ... (compared case-insensitively)
    int clock_rate = 8000;
    int channels = 1;
    std::string fmtp;  // the leg's parameters for it ("useinbandfec=1", ...)
};

// What a leg's offer/answer settled: the voice formats its far end may send us, the one we send
// it, and telephone-event (RFC 4733) when negotiated. A packet relayed between two legs passes
// untouched when its format is what the other leg is sent (its payload type renumbered if the
// legs numbered it differently); otherwise it is transcoded.
struct PortCodecs {
    std::vector<PayloadFormat> receive;
    std::optional<PayloadFormat> send;
    std::optional<PayloadFormat> telephone_event;
};

// Counters of one port, as seen by the relay (RFC 3550 6.4 terms where they apply).
struct PortStats {
    std::uint64_t packets_received = 0;  // RTP accepted from the far end
    std::uint64_t bytes_received = 0;    // RTP payload bytes accepted
    std::uint64_t packets_sent = 0;      // RTP sent to the far end
    std::uint64_t packets_dropped = 0;   // not RTP, from a source not latched, or nowhere to send
    std::uint64_t packets_lost = 0;      // sequence numbers never received (cumulative)
    double jitter_ms = 0;                // interarrival jitter (RFC 3550 A.8), of what we receive
    std::optional<double> rtt_ms;        // from the far end's receiver reports (RFC 3550 6.4.1)
    std::optional<double> remote_loss_fraction;  // loss they report for what we send (0..1)
    std::optional<double> remote_jitter_ms;      // jitter they report for what we send
    std::optional<Endpoint> latched;   // where RTP really comes from (symmetric RTP), once known
    std::int64_t first_packet_ms = 0;  // steady-clock ms of the first accepted packet, 0 if none
    std::uint64_t packets_transcoded = 0;  // sent by us after decoding what the other leg sent
};

// A call recording in progress (PortSource::start_recording): a stereo WAV file whose left
// channel is what one leg says and right channel what the other says. Destroying it ends the
// recording and completes the file (a few tens of milliseconds later, on the recorder's thread).
class Recording {
  public:
    virtual ~Recording() = default;
    virtual const std::string& path() const = 0;
};

class MediaPort {
  public:
    virtual ~MediaPort() = default;  // closes both sockets
    // Our RTP port (even); RTCP is rtp_port() + 1.
    virtual std::uint16_t rtp_port() const = 0;
    // The far end changed (a new offer or answer): takes effect before the next packet.
    virtual void set_remote(const RemoteSpec& remote) = 0;
    // Plays generated audio to the far end (a tone, a prompt), in the leg's codec, instead of
    // what the other leg sends, until the source ends or play(nullptr). Needs set_codecs.
    virtual void play(std::unique_ptr<dsp::AudioSource> source) = 0;
    // Like play(), and calls `on_end` on the relay's thread once the source has played to its
    // end (not when it is stopped or replaced, nor if the port closes first).
    virtual void play(std::unique_ptr<dsp::AudioSource> source, std::function<void()> /*on_end*/) {
        play(std::move(source));
    }
    // The leg's negotiated formats. Until set, packets are relayed as they are.
    virtual void set_codecs(const PortCodecs& codecs) = 0;
    // Packets received on this port are sent out of `to` to its far end (relayed untouched but
    // for SSRC, sequence number and timestamp, which `to` keeps continuous). nullptr: dropped.
    // `to` must come from the same PortSource group and outlive the forwarding (reset it first).
    virtual void forward_to(MediaPort* to) = 0;
    // A snapshot, possibly a few milliseconds old.
    virtual PortStats stats() const = 0;
    // Puts the leg into conference room `room` of this port's PortSource (made on its first
    // join; a leg in another room leaves that one first): what the far end sends is mixed for
    // the room, and the far end hears the mix of everyone else instead of anything forwarded
    // or played to it. Needs set_codecs. False when the name is not valid_room_name or the room
    // is full. Leaving: leave_conference, or closing the port.
    virtual bool join_conference(std::string_view /*room*/, const ConferenceOptions& /*options*/) {
        return false;
    }
    virtual void leave_conference() {}
    // A key the far end pressed out of band (SIP INFO): the port's room, if any, takes it as
    // one from its media (ConferenceOptions::mute_key).
    virtual void conference_key(char /*digit*/) {}
    // Calls `sink` on the relay's thread once per key the far end presses (RFC 4733 events, or
    // in-band DTMF when set_codecs gave no telephone-event); nullptr stops.
    virtual void watch_digits(std::function<void(char)> /*sink*/) {}
    // Sends the far end a key press: RFC 4733 events when negotiated, else the tone pair
    // in-band, instead of what the other leg sends for that long.
    virtual void send_digit(char /*digit*/, int /*duration_ms*/) {}
    // What the far end sends goes (also) into `recording`'s channel 0 or 1; nullptr stops. The
    // recording must come from this port's PortSource.
    virtual void record(Recording* /*recording*/, int /*channel*/) {}
};

class PortSource {
  public:
    virtual ~PortSource() = default;
    // Opens a port pair. Ports opened with the same `group` (one call) are handled by the same
    // worker, so that they may forward to each other. Fails when the range is exhausted.
    virtual Result<std::unique_ptr<MediaPort>> open(std::uint64_t group) = 0;
    // The address the ports are reachable on, for c= and o= lines.
    virtual const std::string& address() const = 0;
    // How many more port pairs open() could hand out now (a source without a range: unbounded).
    virtual std::size_t available() const { return static_cast<std::size_t>(-1); }
    // A new recording into `path` (its directories made as needed), for ports to record();
    // fails when the file cannot be created or recording is not available.
    virtual Result<std::unique_ptr<Recording>> start_recording(const std::string& /*path*/) {
        return fail("recording is not available");
    }
};

}  // namespace sb::media::rtp
