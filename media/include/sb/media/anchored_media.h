#pragma once
// Anchored media: Switchboard stands in the RTP path. Every leg of a call sees Switchboard's
// address and one port of its own in the SDP it receives, and the relay (media_port.h) forwards
// the packets of one audio stream between the legs' ports: the anchored stream of each offer
// (offer_answer.h: the first enabled audio RTP/AVP stream with a voice codec in common), the
// offer's other streams being answered with port 0.
//
// An offer relayed to the other leg keeps the offerer's codecs we support with the offerer's
// payload type numbers (RFC 3264 6.1 has the answerer reuse them), so that a codec both legs
// take is relayed untouched; after them it lists the codecs we can transcode to. The answer
// relayed back carries what the other leg accepted when the offerer offered it too, else the
// offerer's first codec, and the relay transcodes. Each leg's port learns its formats
// (set_codecs).
//
// Per leg: one MediaPort, opened the first time the leg needs our address and kept until the leg
// is released, and one o= identity (random session id; the version moves only when what we send
// that leg changes, RFC 3264 8). Forks share the caller's port and identity; media to a leg
// comes from the leg that answered it last (the latest early media, then the winner).
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "sb/media/media_session.h"
#include "sb/media/offer_answer.h"
#include "sb/media/rtp/media_port.h"

namespace sb::media {

struct AnchoredMediaOptions {
    std::vector<Codec> codecs = default_codecs();  // what we relay, matched against offers
    bool transcode = true;  // offer our other codecs too, and transcode when the legs differ
    std::string tone_country = "US";  // the tone plan of play_tone (dsp/tones.h: US GB DE ...)
    int ptime = 20;                   // a=ptime of a relayed offer whose offerer gave none; 0: none
};

class AnchoredMedia final : public MediaEngine {
  public:
    // `ports` must outlive the engine and every session it creates.
    explicit AnchoredMedia(rtp::PortSource& ports, AnchoredMediaOptions options = {});

    // Thread-safe: each session gets its own port group and random o= session ids.
    std::unique_ptr<MediaSession> create_session() override;
    bool has_capacity() const override { return ports_.available() >= 2; }

  private:
    rtp::PortSource& ports_;
    std::shared_ptr<const AnchoredMediaOptions> options_;  // shared by the sessions
    std::uint64_t seed_;                                   // mixed with the group per session
    std::atomic<std::uint64_t> next_group_{1};
};

}  // namespace sb::media
