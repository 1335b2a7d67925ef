// Audio the relay plays to a leg (tones, prompts): one frame per port every 20 ms, encoded in
// the leg's codec and sent as the port's own stream (OutgoingStream keeps sequence numbers and
// timestamps continuous when relayed media takes over).
#include <algorithm>
#include <array>

#include "relay_worker.h"

namespace sb::media::rtp {

void RelayWorker::start_playing(PortState& p, std::unique_ptr<dsp::AudioSource> source) {
    const bool was = plays(p);
    if (p.room) source.reset();  // the room's mix is what it hears
    p.source = std::move(source);
    p.source_end = nullptr;  // a replaced source did not play to its end
    if (plays(p) && !was) {
        if (playing_.empty()) next_tick_ns_ = now_ns_;
        playing_.push_back(&p);
        if (p.player_ssrc == 0) p.player_ssrc = p.out.ssrc() ^ 0x70a1u;  // a source of its own
    } else if (!plays(p) && was) {
        std::erase(playing_, &p);
    }
}

void RelayWorker::tick() {
    std::array<std::int16_t, 960> pcm{};  // 20 ms at 48 kHz
    std::array<std::uint8_t, 1500> payload{};
    for (std::size_t i = 0; i < playing_.size();) {
        PortState& p = *playing_[i];
        bool ended = false;
        if (send_digit_tick(p)) {
            // An RFC 4733 key press of send_digit takes this tick's packet.
        } else if (p.has_codecs && p.codecs.send && p.spec.send && !p.latch.destination().empty()) {
            if (!p.player_encoder || p.player_generation != p.codecs_generation) {
                p.player_encoder.reset();
                p.player_generation = p.codecs_generation;
                const PayloadFormat& f = *p.codecs.send;
                if (auto id = codec::codec_from_sdp(f.encoding, f.clock_rate, f.channels)) {
                    codec::EncoderOptions options;
                    if (*id == codec::CodecId::opus)
                        if (auto o = codec::apply_opus_fmtp(f.fmtp, options)) options = *o;
                    if (auto e = codec::make_encoder(*id, options))
                        p.player_encoder = std::move(*e);
                }
            }
            if (p.player_encoder) {
                const int rate = p.player_encoder->sample_rate();
                const std::size_t samples = static_cast<std::size_t>(rate / 50);
                // A digit in progress takes precedence over a tone or prompt.
                if (p.dtmf && p.dtmf->active())
                    p.dtmf->read({pcm.data(), samples}, rate);
                else if (p.source)
                    ended = !p.source->read({pcm.data(), samples}, rate);
                const int bytes = p.player_encoder->encode({pcm.data(), samples}, payload);
                auto id = take_own_buffer();
                if (bytes > 0 && id) {
                    std::uint8_t* b = own_buffer(*id);
                    b[0] = 0x80;
                    b[1] = static_cast<std::uint8_t>(p.codecs.send->payload_type & 0x7f);
                    store16(b + 2, p.player_sequence++);
                    store32(b + 4, p.player_timestamp);
                    p.player_timestamp +=
                        static_cast<std::uint32_t>(p.player_encoder->rtp_clock_rate() / 50);
                    store32(b + 8, p.player_ssrc);
                    std::copy_n(payload.begin(), bytes, b + kRtpHeaderSize);
                    RtpHeader h(b, kRtpHeaderSize + static_cast<std::size_t>(bytes));
                    p.out.rewrite(h, now_ns_);
                    ++p.counters.packets_sent;
                    send_buffer(p, p.latch.destination(), *id, b, h.size());
                } else if (id) {
                    recycle(*id);
                }
            }
        }
        if (ended) {
            p.source.reset();
            if (auto done = std::move(p.source_end)) {
                p.source_end = nullptr;
                done();
            }
        }
        if (!plays(p)) {
            playing_[i] = playing_.back();
            playing_.pop_back();
        } else {
            ++i;
        }
    }
    tick_rooms();
}

}  // namespace sb::media::rtp
