// The relay's codec decisions: a packet whose format the target leg is sent is relayed as it is
// (its payload type renumbered when the legs numbered the codec differently); one it is not is
// transcoded; one whose payload type the leg never negotiated is dropped, since relaying it
// would hand the other phone a format it cannot decode.
#include <algorithm>
#include <cctype>
#include <string_view>

#include "relay_worker.h"
#include "sb/media/dsp/telephone_event.h"

namespace sb::media::rtp {

namespace {

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

bool same_format(const PayloadFormat& a, const PayloadFormat& b) {
    return a.clock_rate == b.clock_rate && iequal(a.encoding, b.encoding);
}

const PayloadFormat* received_format(const PortCodecs& c, int pt) {
    for (const PayloadFormat& f : c.receive)
        if (f.payload_type == pt) return &f;
    if (c.telephone_event && c.telephone_event->payload_type == pt) return &*c.telephone_event;
    return nullptr;
}

// An event's duration counts its telephone-event clock: rescaled for a leg on another clock (the
// RTP timestamp needs nothing: the target's OutgoingStream rebases every new source's timestamps
// on its own timeline by the time elapsed).
void rescale_event(RtpHeader& h, int from_rate, int to_rate) {
    auto payload = h.payload();
    if (payload.size() < dsp::kTelephoneEventSize || from_rate <= 0) return;
    std::uint8_t* d = h.data() + (h.size() - payload.size()) + 2;
    const std::uint64_t duration = (std::uint64_t{d[0]} << 8) | d[1];
    const auto scaled = static_cast<std::uint16_t>(std::min<std::uint64_t>(
        duration * static_cast<std::uint64_t>(to_rate) / static_cast<std::uint64_t>(from_rate),
        0xffff));
    d[0] = static_cast<std::uint8_t>(scaled >> 8);
    d[1] = static_cast<std::uint8_t>(scaled);
}

}  // namespace

void RelayWorker::forward_packet(PortState& from, PortState& to, unsigned bid, RtpHeader& h) {
    // While we play something to that leg (ringback, a digit in-band) it hears that instead of
    // the other leg's audio; the other leg's RFC 4733 events still drive the digits.
    const bool event = from.has_codecs && from.codecs.telephone_event &&
                       h.payload_type() == from.codecs.telephone_event->payload_type;
    if (plays(to) && !(event && !to.codecs.telephone_event)) {
        recycle(bid);
        return;
    }
    if (from.has_codecs && to.has_codecs && to.codecs.send) {
        const int pt = h.payload_type();
        const PayloadFormat* in = received_format(from.codecs, pt);
        const PayloadFormat* out = nullptr;
        if (in == nullptr) {
            out = nullptr;
        } else if (from.codecs.telephone_event && pt == from.codecs.telephone_event->payload_type) {
            // RFC 4733 events relay to a leg that takes them (their duration rescaled when its
            // telephone-event clock differs: an Opus phone's 48000 against a G.711 phone's
            // 8000); a leg without telephone-event hears the digit in-band.
            if (to.codecs.telephone_event) {
                out = &*to.codecs.telephone_event;
                if (out->clock_rate != in->clock_rate)
                    rescale_event(h, in->clock_rate, out->clock_rate);
            } else {
                telephone_event_in_band(to, h);
                recycle(bid);
                return;
            }
        } else if (same_format(*in, *to.codecs.send)) {
            // A leg without telephone-event may press keys in-band: the other leg, which takes
            // RFC 4733, gets them as events.
            if (!from.codecs.telephone_event && to.codecs.telephone_event &&
                in_band_to_event(from, to, bid, h, *in))
                return;
            out = &*to.codecs.send;
        } else {
            transcode(from, to, *in, h);
            recycle(bid);
            return;
        }
        if (out == nullptr) {
            ++from.counters.packets_dropped;
            dropped.fetch_add(1, std::memory_order_relaxed);
            recycle(bid);
            return;
        }
        if (out->payload_type != pt) h.set_payload_type(out->payload_type);
    }
    to.out.rewrite(h, now_ns_);
    ++to.counters.packets_sent;
    send_buffer(to, to.latch.destination(), bid, h.data(), h.size());
    relayed.fetch_add(1, std::memory_order_relaxed);
}

void RelayWorker::telephone_event_in_band(PortState& to, const RtpHeader& h) {
    auto event = dsp::parse_telephone_event(h.payload());
    if (!event) return;
    auto digit = dsp::digit_for_event(event->event);
    if (!digit) return;  // not a DTMF digit (a fax tone, a flash): nothing to play
    if (!to.dtmf) to.dtmf = std::make_unique<dsp::DtmfSource>();
    // RFC 4733 2.5.1: all packets of one event carry its start timestamp; a new one starts a
    // new digit. The end packet is sent three times: only the first ends the tone.
    const bool was_playing = plays(to);
    if (!to.dtmf_event_open || h.timestamp() != to.dtmf_event_timestamp) {
        if (event->end && h.timestamp() == to.dtmf_event_timestamp) return;  // a repeated end
        to.dtmf->start(*digit);
        to.dtmf_event_timestamp = h.timestamp();
        to.dtmf_event_open = true;
    }
    if (event->end) {
        to.dtmf->stop();
        to.dtmf_event_open = false;
    }
    if (!was_playing && plays(to)) {
        if (playing_.empty()) next_tick_ns_ = now_ns_;
        playing_.push_back(&to);
        if (to.player_ssrc == 0) to.player_ssrc = to.out.ssrc() ^ 0x70a1u;
    }
}

Transcoder* RelayWorker::transcoder_for(PortState& from, PortState& to, const PayloadFormat& in) {
    const std::uint64_t made_for =
        (std::uint64_t{from.codecs_generation} << 32) | to.codecs_generation;
    Transcoder* t = from.transcoder.get();
    if (t && from.transcoder_to == &to && t->made_for == made_for &&
        t->input_payload_type == in.payload_type)
        return t;
    from.transcoder = Transcoder::create(in, *to.codecs.send);
    from.transcoder_to = &to;
    t = from.transcoder.get();
    if (t) {
        t->made_for = made_for;
        t->input_payload_type = in.payload_type;
        t->ssrc = to.out.ssrc() ^ 0x5ca1ab1eu;  // a source of its own (any value but the relayed)
    }
    return t;
}

void RelayWorker::transcode(PortState& from, PortState& to, const PayloadFormat& in, RtpHeader& h) {
    Transcoder* t = transcoder_for(from, to, in);
    if (t == nullptr) {
        ++from.counters.packets_dropped;
        dropped.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    // A leg without telephone-event may press keys in-band; the other leg, which takes RFC 4733,
    // gets them as events on the transcoder's timeline (relay_dtmf.cpp).
    const bool digits = !from.codecs.telephone_event && to.codecs.telephone_event &&
                        to.codecs.telephone_event->clock_rate == to.codecs.send->clock_rate &&
                        detect_in_band(from, h, in);
    t->process(h.sequence(), h.payload(),
               [&](std::span<const std::uint8_t> payload, std::uint32_t units) {
                   if (digits && transcoded_event(from, to, *t, units)) return;
                   auto id = take_own_buffer();
                   if (!id || payload.size() + kRtpHeaderSize > 1500) {
                       dropped.fetch_add(1, std::memory_order_relaxed);
                       return;
                   }
                   std::uint8_t* b = own_buffer(*id);
                   b[0] = 0x80;
                   b[1] = static_cast<std::uint8_t>(t->output_payload_type() & 0x7f);
                   store16(b + 2, t->sequence++);
                   store32(b + 4, t->timestamp);
                   t->timestamp += units;
                   store32(b + 8, t->ssrc);
                   std::copy(payload.begin(), payload.end(), b + kRtpHeaderSize);
                   RtpHeader out(b, kRtpHeaderSize + payload.size());
                   to.out.rewrite(out, now_ns_);
                   ++to.counters.packets_sent;
                   ++to.counters.packets_transcoded;
                   send_buffer(to, to.latch.destination(), *id, b, out.size());
                   transcoded.fetch_add(1, std::memory_order_relaxed);
               });
}

}  // namespace sb::media::rtp
