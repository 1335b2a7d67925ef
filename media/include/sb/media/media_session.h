#pragma once
// The media seam: how the B2BUA hands each SDP offer and answer to the media engine. The call
// logic only ever passes SDP through a MediaSession, so anchoring media (rewriting addresses,
// relaying, transcoding) replaces the engine behind this interface and changes no call logic.
//
// A call's legs are numbered by the B2BUA (LegId). An SDP received on one leg and forwarded on
// another goes through offer() or answer(); what they return is what the other leg receives.
//
// Threading: a MediaSession belongs to its call's shard; MediaEngine::create_session is called on
// shard threads and must be thread-safe.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sb/common/endpoint.h"
#include "sb/common/result.h"
#include "sb/media/conference_options.h"
#include "sb/media/dsp/prompt.h"
#include "sb/media/dsp/tones.h"
#include "sb/media/rtp/media_port.h"

namespace sb::media {

using LegId = std::uint32_t;

// Error::code of a MediaSession's failures, so that the B2BUA answers what a phone can act on.
namespace media_error {
inline constexpr int not_acceptable = 1;  // bad SDP, or no stream with a codec we take (SIP 488)
inline constexpr int no_resources = 2;    // no media port left (SIP 503)
}  // namespace media_error

// A leg's media facts, for the call record and for "why is there no audio?": what the relay
// counted and what RTCP told (loss, jitter, round-trip time, where RTP really came from), next to
// what the leg's SDP declared.
struct LegMedia {
    rtp::PortStats stats;
    std::optional<Endpoint> declared;  // where its SDP asked for RTP
    std::string codec;                 // what we send it, "PCMU/8000"; "" before offer/answer
};

class MediaSession {
  public:
    virtual ~MediaSession() = default;

    // An SDP offer that arrived on leg `from` and goes out on leg `to`: returns the offer to send.
    // An error (no codec in common, bad SDP) is answered 488 on `from`.
    virtual Result<std::string> offer(LegId from, LegId to, std::string_view sdp) = 0;
    // The SDP answer that arrived on `from` (to the offer sent on it), going out on `to`.
    virtual Result<std::string> answer(LegId from, LegId to, std::string_view sdp) = 0;
    // The leg is gone (a fork that lost, a leg that hung up): release what it holds.
    virtual void release_leg(LegId leg) = 0;
    // Where the leg's SIP messages come from: symmetric RTP latches to a source other than the
    // SDP's only from there (a phone behind NAT), never from a stranger's address.
    virtual void set_signalling(LegId /*leg*/, const Endpoint& /*source*/) {}

    // Our own answer to the leg's pending offer, for media we play before any other leg
    // answered (ringback, a busy tone, an announcement): its first codec, sendrecv. The answer a
    // later leg brings to that offer keeps it (the same SDP; the relay transcodes if needed).
    // Fails without an anchoring engine, or when the leg made no offer.
    // `offer`: the leg's offer, used when no other leg has been offered it yet.
    virtual Result<std::string> early_answer(LegId /*leg*/, std::string_view /*offer*/) {
        return fail("this media engine does not anchor media");
    }
    // Plays a call progress tone to the leg (after early_answer or an answer) until stop_tone,
    // or until media from another leg's answer replaces it.
    virtual void play_tone(LegId /*leg*/, dsp::Tone /*tone*/) {}
    virtual void stop_tone(LegId /*leg*/) {}
    // The tone plan (dsp/tones.h: "US", "GB", "DE" ...) of the tones played to the leg from now
    // on, instead of the system's (an extension's own setting). False for an unknown country.
    virtual bool set_tone_country(LegId /*leg*/, std::string_view /*country*/) { return false; }
    // Plays a prompt to the leg (like play_tone); false when the engine cannot play media.
    virtual bool play_prompt(LegId /*leg*/, std::shared_ptr<const dsp::Prompt> /*prompt*/) {
        return false;
    }
    // Like play_prompt, and calls `on_end` ON A MEDIA THREAD once the prompt has played to its
    // end (not when stopped or replaced): the callee hands it over to its own thread, and must
    // not capture the session or the call by reference.
    virtual bool play_prompt_then(LegId /*leg*/, std::shared_ptr<const dsp::Prompt> /*prompt*/,
                                  std::function<void()> /*on_end*/) {
        return false;
    }
    // Plays the prompt to the leg over and over (music on hold) until stop_tone, or until media
    // from another leg's answer replaces it; false when the engine cannot play media.
    virtual bool play_music(LegId /*leg*/, std::shared_ptr<const dsp::Prompt> /*music*/) {
        return false;
    }

    // Our own answer to a new offer from a leg whose dialog no other leg shares (a re-INVITE or
    // UPDATE from a caller we answered ourselves: in a conference, or before any bridge): hold,
    // resume, a new address or codec. The leg keeps its port. Fails like early_answer.
    virtual Result<std::string> local_answer(LegId /*leg*/, std::string_view /*offer*/) {
        return fail("this media engine does not anchor media");
    }
    // Puts the leg (answered by early_answer first) into conference room `room`, made on its
    // first join: from then on the leg hears the mix of the room's other participants and they
    // hear it, until leave_conference or release_leg. False when the engine does not anchor
    // media, the name is not valid_room_name, the leg has no port, or the room is full.
    virtual bool join_conference(LegId /*leg*/, std::string_view /*room*/,
                                 const ConferenceOptions& /*options*/) {
        return false;
    }
    virtual void leave_conference(LegId /*leg*/) {}
    // A key the leg pressed that came by SIP INFO rather than in its media: the leg's room takes
    // it as one from its RTP (the mute key toggles mute, with the beep). False when the leg is
    // in no room.
    virtual bool conference_key(LegId /*leg*/, char /*digit*/) { return false; }

    // Calls `on_digit` once per key the leg presses from now on (RFC 4733 events, or in-band
    // DTMF when it negotiated no telephone-event), ON A MEDIA THREAD: the callee hands the digit
    // over to its own thread. nullptr stops. False when the engine does not anchor media or the
    // leg has no port yet. The callback may outlive the session by a few milliseconds (a digit
    // in flight), so it must not capture the session or the call by reference.
    virtual bool watch_digits(LegId /*leg*/, std::function<void(char digit)> /*on_digit*/) {
        return false;
    }
    // Sends the leg a key press (one that came as SIP INFO on another leg): RFC 4733 events
    // when it negotiated telephone-event, else the tone pair in-band. `digit`: 0-9 * # A-D;
    // `duration_ms` is clamped to 40..5000. False when the engine cannot.
    virtual bool send_digit(LegId /*leg*/, char /*digit*/, int /*duration_ms*/) { return false; }

    // Records the call into `path` (its directories made as needed; an existing file is never
    // overwritten): a stereo WAV at 8 kHz, left what leg 0 (the caller) says, right what the
    // other legs say, until stop_recording or the end of the session. Fails, saying why, when
    // the engine does not anchor media or the file cannot be made.
    virtual Status start_recording(const std::string& /*path*/) {
        return fail("this media engine does not anchor media");
    }
    virtual void stop_recording() {}

    // Which m= line of `sdp` the engine anchors (offer_answer.h: the first enabled audio stream
    // with a voice codec it takes); the B2BUA reads hold and resume from that stream. None when
    // the engine does not choose one (direct media) or no stream qualifies.
    virtual std::optional<std::size_t> anchored_stream(std::string_view /*sdp*/) const {
        return std::nullopt;
    }

    // What the engine knows of the leg's media, for the call record; call before release_leg.
    // None when the engine does not anchor media or the leg never had a port.
    virtual std::optional<LegMedia> leg_media(LegId /*leg*/) const { return std::nullopt; }
};

class MediaEngine {
  public:
    virtual ~MediaEngine() = default;
    virtual std::unique_ptr<MediaSession> create_session() = 0;
    // False for an engine whose sessions pass SDP through (DirectMedia): the B2BUA's per-call
    // choice of direct media then has nothing to switch.
    virtual bool anchors_media() const { return true; }
    // Whether a new call would find the media it needs (an anchoring engine: a port pair for each
    // of its two legs). The B2BUA refuses new calls with 503 and Retry-After while it is false,
    // before any work is spent on them, rather than ringing a phone that then cannot talk.
    virtual bool has_capacity() const { return true; }
};

// Direct media: SDP passes through unchanged and RTP flows between the phones (`[media] mode =
// "direct"`, or one call's bridge when the extensions or the dialplan ask for it).
class DirectMedia final : public MediaEngine {
  public:
    std::unique_ptr<MediaSession> create_session() override;
    bool anchors_media() const override { return false; }
};

}  // namespace sb::media
