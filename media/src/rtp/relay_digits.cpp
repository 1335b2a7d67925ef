// Key presses, for the call's own use (collecting digits, SIP INFO): those a leg sends are
// reported to its digit sink (watch_digits) once per press, from RFC 4733 events (the first
// packet of each event: its packets share a timestamp) or, for a leg without telephone-event,
// from SpanDSP's detector on its decoded audio; those the call sends a leg (send_digit) go out
// as RFC 4733 events when it negotiated them, else as the tone pair in-band.
#include <algorithm>
#include <array>

#include "relay_worker.h"

namespace sb::media::rtp {

namespace {

const PayloadFormat* voice_format(const PortCodecs& c, int pt) {
    for (const PayloadFormat& f : c.receive)
        if (f.payload_type == pt) return &f;
    return nullptr;
}

}  // namespace

bool RelayWorker::detect_in_band(PortState& p, const RtpHeader& h, const PayloadFormat& in) {
    if (p.detected_any && p.detected_sequence == h.sequence()) return p.detector != nullptr;
    if (!p.detector || p.detector_generation != p.codecs_generation) {
        p.detector.reset();
        p.detector_decoder.reset();
        p.detector_generation = p.codecs_generation;
        auto id = codec::codec_from_sdp(in.encoding, in.clock_rate, in.channels);
        if (!id) return false;
        auto decoder = codec::make_decoder(*id, dsp::DtmfDetector::kSampleRate);
        auto detector = dsp::DtmfDetector::create();
        if (!decoder || !detector) return false;
        p.detector_decoder = std::move(*decoder);
        p.detector = std::make_unique<dsp::DtmfDetector>(std::move(*detector));
    }
    p.detected_any = true;
    p.detected_sequence = h.sequence();
    std::array<std::int16_t, 960> pcm{};  // up to 120 ms at 8 kHz
    const int n = p.detector_decoder->decode(h.payload(), pcm);
    p.detected_samples = n;
    if (n > 0) p.detector->process({pcm.data(), static_cast<std::size_t>(n)});
    while (auto e = p.detector->pop()) {
        if (!e->end && !p.event_active) {
            p.event_active = true;
            p.event_digit = e->digit;
            p.event_start = h.timestamp();
            p.event_duration = 0;
            p.event_end_packets = 0;
            if (p.digit_sink) p.digit_sink(e->digit);
        } else if (e->end && p.event_active) {
            p.event_active = false;
            p.event_end_packets = 3;
        }
    }
    return true;
}

void RelayWorker::report_digits(PortState& p, const RtpHeader& h) {
    if (!p.has_codecs) return;
    const int pt = h.payload_type();
    if (p.codecs.telephone_event) {
        if (pt != p.codecs.telephone_event->payload_type) return;
        auto event = dsp::parse_telephone_event(h.payload());
        if (!event) return;
        if (p.sink_event_seen && p.sink_event_timestamp == h.timestamp()) return;  // same press
        p.sink_event_seen = true;
        p.sink_event_timestamp = h.timestamp();
        if (auto digit = dsp::digit_for_event(event->event)) p.digit_sink(*digit);
        return;
    }
    if (const PayloadFormat* in = voice_format(p.codecs, pt)) detect_in_band(p, h, *in);
}

void RelayWorker::send_digit(PortState& p, char digit, int duration_ms) {
    if (!dsp::event_for_digit(digit) || p.room) return;
    const bool was = plays(p);
    p.digit_ticks = std::clamp(duration_ms, 40, 5000) / 20;
    p.digit_length = p.digit_ticks;
    if (p.has_codecs && p.codecs.telephone_event) {
        const PayloadFormat& te = *p.codecs.telephone_event;
        p.event_sender = std::make_unique<dsp::TelephoneEventSender>(
            static_cast<std::uint32_t>(te.clock_rate), 20);
        p.digit_out = digit;
    } else {
        if (!p.dtmf) p.dtmf = std::make_unique<dsp::DtmfSource>();
        p.dtmf->start(digit);
        p.dtmf_event_open = false;
    }
    if (!was && plays(p)) {
        if (!ticking()) next_tick_ns_ = now_ns_;
        playing_.push_back(&p);
        if (p.player_ssrc == 0) p.player_ssrc = p.out.ssrc() ^ 0x70a1u;
    }
}

bool RelayWorker::send_digit_tick(PortState& p) {
    if (!p.event_sender) {
        // An in-band digit of send_digit: stop its tone when its time is up.
        if (p.digit_ticks > 0 && --p.digit_ticks == 0 && p.dtmf) p.dtmf->stop();
        return false;
    }
    if (!p.has_codecs || !p.codecs.telephone_event || !p.spec.send ||
        p.latch.destination().empty()) {
        p.event_sender.reset();
        return false;
    }
    const int pt = p.codecs.telephone_event->payload_type & 0x7f;
    auto emit = [&](const dsp::TelephoneEventPacket& e) {
        auto id = take_own_buffer();
        if (!id) return;
        std::uint8_t* b = own_buffer(*id);
        b[0] = 0x80;
        b[1] = static_cast<std::uint8_t>(pt | (e.marker ? 0x80 : 0));
        store16(b + 2, p.player_sequence++);
        store32(b + 4, e.timestamp);
        store32(b + 8, p.player_ssrc);
        std::copy(e.payload.begin(), e.payload.end(), b + kRtpHeaderSize);
        RtpHeader h(b, kRtpHeaderSize + e.payload.size());
        p.out.rewrite(h, now_ns_);
        ++p.counters.packets_sent;
        send_buffer(p, p.latch.destination(), *id, b, h.size());
    };
    if (!p.event_sender->active()) {
        emit(p.event_sender->start(*dsp::event_for_digit(p.digit_out), p.player_timestamp));
    } else if (--p.digit_ticks > 0) {
        emit(p.event_sender->tick());
    } else {
        for (const auto& e : p.event_sender->end()) emit(e);
        // The stream's clock moves on by the event's length (the next source rebases on it).
        p.player_timestamp += p.event_sender->step() * static_cast<std::uint32_t>(p.digit_length);
        p.event_sender.reset();
    }
    return true;
}

}  // namespace sb::media::rtp
