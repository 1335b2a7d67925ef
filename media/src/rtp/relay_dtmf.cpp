// In-band DTMF to RFC 4733 (RFC 4733 2.5.1; relayed legs, same codec both sides): the packets a
// leg without telephone-event sends are decoded and fed to SpanDSP's detector; while a digit is
// held, each of its audio packets is replaced by an event packet (same sequence number, the
// digit's start timestamp, the duration so far), and the three end packets replace the next
// three, so the stream needs no extra sequence numbers and the far end hears no tone doubled.
// The first ~40 ms of a digit (the detector's delay) still pass as audio. A transcoded leg's
// digits take the transcoder's output slots the same way (transcoded_event).
#include <array>

#include "relay_worker.h"
#include "sb/media/dsp/telephone_event.h"

namespace sb::media::rtp {

bool RelayWorker::in_band_to_event(PortState& from, PortState& to, unsigned bid, RtpHeader& h,
                                   const PayloadFormat& in) {
    const PayloadFormat& te = *to.codecs.telephone_event;
    if (te.clock_rate != in.clock_rate) return false;  // events must share the audio's clock
    if (!detect_in_band(from, h, in)) return false;
    const int n = from.detected_samples;
    if (!from.event_active && from.event_end_packets == 0) return false;
    // This packet's turn carries the event: its duration so far, or the end (RFC 4733 2.5.1.4).
    const bool first = from.event_active && from.event_duration == 0;
    const bool end = !from.event_active;
    if (from.event_active) {
        const std::uint32_t frame = n > 0 ? static_cast<std::uint32_t>(n) *
                                                static_cast<std::uint32_t>(in.clock_rate) / 8000u
                                          : 160u;
        from.event_duration = std::min<std::uint32_t>(from.event_duration + frame, 0xffff);
    } else {
        --from.event_end_packets;
    }
    auto code = dsp::event_for_digit(from.event_digit);
    if (!code) return false;
    const auto payload = dsp::write_telephone_event(
        dsp::TelephoneEvent{*code, end, 10, static_cast<std::uint16_t>(from.event_duration)});
    std::uint8_t* p = h.data();
    p[0] = 0x80;  // no padding, extension or CSRCs: 12 bytes of header and the event
    p[1] = static_cast<std::uint8_t>((first ? 0x80 : 0) | (te.payload_type & 0x7f));
    store32(p + 4, from.event_start);
    std::copy(payload.begin(), payload.end(), p + kRtpHeaderSize);
    RtpHeader event(p, kRtpHeaderSize + payload.size());
    to.out.rewrite(event, now_ns_);
    ++to.counters.packets_sent;
    send_buffer(to, to.latch.destination(), bid, p, event.size());
    relayed.fetch_add(1, std::memory_order_relaxed);
    return true;
}

bool RelayWorker::transcoded_event(PortState& from, PortState& to, Transcoder& t,
                                   std::uint32_t units) {
    if (!from.event_active && from.event_end_packets == 0) return false;
    const bool first = from.event_active && from.event_duration == 0;
    const bool end = !from.event_active;
    if (first) from.event_out_start = t.timestamp;
    if (from.event_active)
        from.event_duration = std::min<std::uint32_t>(from.event_duration + units, 0xffff);
    else
        --from.event_end_packets;
    // The frame's slot on the transcoder's timeline is used up by the event packet.
    const std::uint16_t sequence = t.sequence++;
    t.timestamp += units;
    auto code = dsp::event_for_digit(from.event_digit);
    auto id = take_own_buffer();
    if (!code || !id) return true;
    const auto payload = dsp::write_telephone_event(
        dsp::TelephoneEvent{*code, end, 10, static_cast<std::uint16_t>(from.event_duration)});
    std::uint8_t* b = own_buffer(*id);
    b[0] = 0x80;
    b[1] = static_cast<std::uint8_t>((first ? 0x80 : 0) |
                                     (to.codecs.telephone_event->payload_type & 0x7f));
    store16(b + 2, sequence);
    store32(b + 4, from.event_out_start);
    store32(b + 8, t.ssrc);
    std::copy(payload.begin(), payload.end(), b + kRtpHeaderSize);
    RtpHeader event(b, kRtpHeaderSize + payload.size());
    to.out.rewrite(event, now_ns_);
    ++to.counters.packets_sent;
    send_buffer(to, to.latch.destination(), *id, b, event.size());
    transcoded.fetch_add(1, std::memory_order_relaxed);
    return true;
}

}  // namespace sb::media::rtp
