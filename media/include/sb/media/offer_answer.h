#pragma once
// RFC 3264 offer/answer on the SDP model, from the point of view of an endpoint that anchors
// media: Switchboard answers each leg's offer with its own address and ports, the codecs both
// sides can take and the direction the offer implies, and makes its own offers towards the other
// leg. Pure functions over sdp::Session; the media engine decides ports and codecs.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sb/common/result.h"
#include "sb/media/sdp.h"

namespace sb::media {

// A codec we can send and receive: an encoding name (compared case-insensitively, RFC 4855),
// its clock rate and channels, and the static payload type when it has one (-1: dynamic).
struct Codec {
    std::string encoding;
    int clock_rate = 8000;
    int channels = 1;
    int static_payload_type = -1;
    std::string fmtp;  // what we offer for it ("" if nothing)
};

// The codecs Switchboard offers, in its order of preference (telephone-event last).
std::vector<Codec> default_codecs();

// Where our end of the streams is: the address for c= and o=, and a port per audio stream.
struct LocalEndpoint {
    std::string address;                // "192.0.2.1" or "2001:db8::1"
    std::uint64_t session_id = 0;       // o= session id, fixed for the leg
    std::uint64_t session_version = 0;  // o= version; bumped by every new offer or changed answer
};

// The stream an anchoring endpoint answers and relays: the first enabled (port not 0) audio
// RTP/AVP stream that lists a voice codec of `ours` (telephone-event alone is not enough). RFC
// 3264 6 answers each m= line on its own, so an earlier audio stream we share no codec with, or
// video, or RTP/SAVP, does not stop a later one from being taken; they are answered with port 0.
// nullopt when no stream qualifies (the offer is refused, 488). Every choice of "the" stream of
// a description (answer_offer, negotiated_codecs, AnchoredMedia) is this one.
std::optional<std::size_t> anchored_stream(const sdp::Session& description,
                                           const std::vector<Codec>& ours);

// The answer to `offer` (RFC 3264 6): the anchored stream (above) is accepted with
// `port_for(index)` and the offered codecs we support (in the offerer's order, with their
// payload types; RFC 3264 6.1), plus telephone-event when offered; the direction mirrors the
// offer's (sendonly -> recvonly, recvonly -> sendonly, inactive stays); every other stream is
// rejected (port 0). Fails (answer 488) when no audio stream can be accepted.
Result<sdp::Session> answer_offer(const sdp::Session& offer, const std::vector<Codec>& ours,
                                  const LocalEndpoint& local,
                                  const std::function<std::uint16_t(std::size_t)>& port_for);

// An offer of one audio stream with `codecs` (dynamic payload types from 96 up, static ones as
// themselves) and `direction` (sendonly to hold, RFC 3264 8.4).
sdp::Session make_offer(const std::vector<Codec>& codecs, const LocalEndpoint& local,
                        std::uint16_t port, sdp::Direction direction = sdp::Direction::sendrecv,
                        int ptime = 20);

// The codecs of an answer's (or offer's) anchored stream that match `ours`, in its order, with
// its payload types: what the media engine may send on that leg. Empty when it has none.
std::vector<Codec> negotiated_codecs(const sdp::Session& description,
                                     const std::vector<Codec>& ours);

}  // namespace sb::media
