// libFuzzer target for the media engine's binary parsers (media/): what a phone's RTP port
// receives (the RTP header, RTCP compound packets, RFC 4733 telephone-events in RTP payloads)
// and the WAV prompt files an administrator drops in. Every input goes to all of them: each
// parser rejects most of the others' inputs cheaply, and a shared corpus lets a telephone-event
// found in an RTP payload also be tried as an RTCP packet.
//
// Invariants checked beyond "no crash, no sanitizer report":
//   - an RTP header that is valid() has a payload() inside the packet, after its CSRC list;
//   - a parsed RTCP report written back with write_compound parses again to the same report;
//   - a telephone-event written back reads the same (R bit cleared: RFC 4733 2.3.3);
//   - a parsed WAV prompt has a supported rate and at most kMaxPromptSeconds of samples.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sb/media/dsp/prompt.h"
#include "sb/media/dsp/telephone_event.h"
#include "sb/media/rtp/rtcp.h"
#include "sb/media/rtp/rtp_header.h"

namespace {

using namespace sb::media;

volatile std::uint64_t g_sink;

void touch(std::span<const std::uint8_t> v) {
    std::uint64_t h = v.size();
    for (std::uint8_t c : v) h = h * 31 + c;
    g_sink = g_sink + h;
}

void touch(std::string_view v) {
    touch({reinterpret_cast<const std::uint8_t*>(v.data()), v.size()});
}

// SB_FUZZ_IGNORE="text": as in sip_parser_fuzz.cpp, for long hunting runs only.
bool ignored(const char* what) {
    static const char* env = std::getenv("SB_FUZZ_IGNORE");
    if (env == nullptr || *env == '\0' ||
        std::string_view(what).find(env) == std::string_view::npos)
        return false;
    static bool said = false;
    if (!said) std::fprintf(stderr, "SB_FUZZ_IGNORE: skipping known invariant failure: %s\n", what);
    said = true;
    return true;
}

void invariant_failed(const char* what) {
    if (ignored(what)) return;
    std::fprintf(stderr, "INVARIANT FAILED: %s\n", what);
    std::abort();
}

void exercise_rtp(std::vector<std::uint8_t>& packet) {
    rtp::RtpHeader h(packet.data(), packet.size());
    g_sink = g_sink + h.is_rtcp_mux();
    if (!h.valid()) return;  // the relay reads nothing else of an invalid packet
    g_sink = g_sink + h.payload_type() + h.marker() + h.sequence() + h.timestamp() + h.ssrc();
    const std::span<const std::uint8_t> payload = h.payload();
    const std::size_t csrc_end = rtp::kRtpHeaderSize + 4u * (packet[0] & 0x0f);
    if (!payload.empty() && (payload.data() < packet.data() + csrc_end ||
                             payload.data() + payload.size() > packet.data() + packet.size()))
        invariant_failed("RtpHeader::payload() outside the packet");
    touch(payload);
    // The relay's telephone-event path reads the payload of a packet it has validated.
    if (auto e = dsp::parse_telephone_event(payload)) g_sink = g_sink + e->duration;

    // What the relay rewrites in place must stay a valid header that says what was written.
    h.set_payload_type(h.payload_type() == 0 ? 8 : 0);
    h.set_sequence(0xfffe);
    h.set_timestamp(0xfffffff0u);
    h.set_ssrc(0x12345678u);
    h.set_marker();
    if (!h.valid() || h.sequence() != 0xfffe || h.timestamp() != 0xfffffff0u ||
        h.ssrc() != 0x12345678u || !h.marker() || h.payload().size() != payload.size())
        invariant_failed("RtpHeader setters changed more than they set");
}

bool same_report(const rtp::Report& a, const rtp::Report& b) {
    if (a.ssrc != b.ssrc || a.sender != b.sender || a.bye != b.bye ||
        a.block_count != b.block_count)
        return false;
    for (std::size_t i = 0; i < a.block_count; ++i)
        if (!(a.blocks[i] == b.blocks[i])) return false;
    return a.cname.value_or("") == b.cname.value_or("");
}

void exercise_rtcp(std::span<const std::uint8_t> bytes) {
    auto r = rtp::parse_compound(bytes);
    if (!r) {
        touch(r.error().message);
        return;
    }
    if (r->block_count > rtp::kMaxReportBlocks)
        invariant_failed("RTCP report holds too many blocks");
    if (r->cname && r->cname->size() > rtp::kMaxCnameSize) invariant_failed("RTCP CNAME too long");
    for (const rtp::ReportBlock& b : r->report_blocks())
        if (auto rtt = rtp::round_trip_ms(0x12345678u, b))
            g_sink = g_sink + static_cast<std::uint64_t>(*rtt);

    std::vector<std::uint8_t> out(rtp::kMaxCompoundSize);
    const std::size_t n = rtp::write_compound(out, *r, r->cname.value_or(""));
    if (n == 0 || n % 4 != 0) invariant_failed("write_compound cannot write a parsed report");
    auto again = rtp::parse_compound(std::span(out).first(n));
    if (!again) {
        std::fprintf(stderr, "%s\n", again.error().message.c_str());
        invariant_failed("write_compound wrote a compound that does not parse");
        return;
    }
    if (!same_report(*r, *again))
        invariant_failed("RTCP report changed in a write/parse round trip");
}

void exercise_telephone_event(std::span<const std::uint8_t> bytes) {
    auto e = dsp::parse_telephone_event(bytes);
    if (!e) {
        if (bytes.size() >= dsp::kTelephoneEventSize)
            invariant_failed("4 bytes are always a telephone-event");
        return;
    }
    if (e->volume > 63) invariant_failed("telephone-event volume above 63");
    const auto written = dsp::write_telephone_event(*e);
    if (written[0] != bytes[0] || written[1] != (bytes[1] & 0xbf) || written[2] != bytes[2] ||
        written[3] != bytes[3])
        invariant_failed("telephone-event does not write back as read");
    if (auto d = dsp::digit_for_event(e->event)) {
        if (dsp::event_for_digit(*d) != e->event) invariant_failed("digit and event code disagree");
    }
}

void exercise_wav(std::span<const std::uint8_t> bytes) {
    auto p = dsp::parse_wav(bytes);
    if (!p) {
        touch(p.error().message);
        return;
    }
    if (p->rate < 8000 || p->rate > 48000) invariant_failed("WAV prompt rate out of range");
    if (p->samples.empty() || p->seconds() > dsp::kMaxPromptSeconds)
        invariant_failed("WAV prompt length out of range");
    // Each frame takes 2 or 4 bytes of the file: more samples than that came from nowhere.
    if (p->samples.size() * 2 > bytes.size())
        invariant_failed("WAV prompt has more samples than the file bytes");
    for (std::int16_t s : p->samples) g_sink = g_sink + static_cast<std::uint16_t>(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> bytes(data, size);
    std::vector<std::uint8_t> packet(bytes.begin(), bytes.end());  // RtpHeader rewrites in place
    exercise_rtp(packet);
    exercise_rtcp(bytes);
    exercise_telephone_event(bytes);
    exercise_wav(bytes);
    return 0;
}
