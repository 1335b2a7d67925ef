// libFuzzer target for the media engine's SDP handling (media/): sdp::parse on the bytes, then
// what an anchoring B2BUA does with a phone's offer: answer it with our codecs (answer_offer, as
// AnchoredSession does), find the negotiated codecs, offer them on to the other leg
// (make_offer), write every description out. The same bytes, and every a=fmtp of the
// description, go to codec::apply_opus_fmtp, as the relay does with a negotiated Opus fmtp.
//
// Invariants checked beyond "no crash, no sanitizer report":
//   - what write() produces from a parsed description parses again and writes the same text
//     (written once, the text is stable);
//   - an answer keeps one m= line per offered one, in order (RFC 3264 6), accepts exactly one
//     stream, the anchored one, with a voice codec the offer listed, and what we write of it parses
//     again and is not much larger than the offer;
//   - an offer we make from the negotiated codecs parses again;
//   - apply_opus_fmtp only ever lowers the bitrate and audio rate it is given.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sb/media/codec/codec.h"
#include "sb/media/offer_answer.h"
#include "sb/media/sdp.h"

namespace {

using namespace sb::media;

volatile std::uint64_t g_sink;

void touch(std::string_view v) {
    std::uint64_t h = v.size();
    for (char c : v) h = h * 31 + static_cast<unsigned char>(c);
    g_sink = g_sink + h;
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

void invariant_failed(const char* what, std::string_view detail) {
    if (ignored(what)) return;
    std::fprintf(stderr, "INVARIANT FAILED: %s\n--- text ---\n%.*s\n--- end ---\n", what,
                 static_cast<int>(detail.size()), detail.data());
    std::abort();
}

void exercise_session(const sdp::Session& s) {
    touch(s.origin.username), touch(s.origin.session_id), touch(s.origin.address);
    touch(s.name), touch(s.timing);
    for (const std::string& l : s.other) touch(l);
    for (const sdp::Media& m : s.media) {
        touch(m.type), touch(m.protocol);
        for (const std::string& f : m.formats) touch(f);
        for (const sdp::RtpMap& r : m.rtpmaps) touch(r.encoding);
        for (const std::string& l : m.other) touch(l);
        if (const sdp::Connection* c = s.connection_of(m)) touch(c->address);
        touch(sdp::to_string(s.direction_of(m)));
        g_sink = g_sink + m.port + m.ptime.value_or(0) + m.rtcp_port.value_or(0);
    }
}

// Written once, a description is in the writer's own form: it parses and writes the same again.
std::string write_and_reparse(const sdp::Session& s, const char* what) {
    std::string text = sdp::write(s);
    auto again = sdp::parse(text);
    if (!again) {
        std::fprintf(stderr, "%s\n", again.error().message.c_str());
        invariant_failed(what, text);
        return text;
    }
    if (std::string twice = sdp::write(*again); twice != text) {
        std::fprintf(stderr, "--- written again ---\n%s", twice.c_str());
        invariant_failed("written SDP does not write back the same", text);
    }
    if (again->media.size() != s.media.size())
        invariant_failed("written SDP lost an m= line", text);
    return text;
}

void exercise_opus_fmtp(std::string_view fmtp) {
    const codec::EncoderOptions base{};
    auto o = codec::apply_opus_fmtp(fmtp, base);
    if (!o) {
        touch(o.error().message);
        return;
    }
    if (o->bitrate > base.bitrate || o->bitrate < 6000 || o->max_audio_rate > base.max_audio_rate ||
        o->max_audio_rate < 8000)
        invariant_failed("apply_opus_fmtp raised a limit or left its range", fmtp);
}

bool is_voice(const Codec& c) {
    return c.encoding != "telephone-event";
}

void offer_answer(const sdp::Session& offer, std::string_view input) {
    static const std::vector<Codec> ours = default_codecs();
    const LocalEndpoint local{"192.0.2.1", 42, 1};
    auto answer = answer_offer(offer, ours, local, [](std::size_t i) {
        return static_cast<std::uint16_t>(20000 + 2 * i);
    });
    if (!answer) {
        touch(answer.error().message);
        return;
    }
    exercise_session(*answer);
    // RFC 3264 6: as many m= lines as the offer, in the same order, of the same media types.
    if (answer->media.size() != offer.media.size())
        invariant_failed("answer changed the number of m= lines", input);
    // The stream accepted is the anchored one (the first audio stream with a voice codec in
    // common, RFC 3264 6), the one negotiated_codecs and AnchoredSession look at too.
    const std::optional<std::size_t> anchored = anchored_stream(offer, ours);
    if (!anchored || *anchored >= answer->media.size()) {
        invariant_failed("answer_offer answered an offer without an anchored stream", input);
        return;
    }
    std::size_t accepted = 0;
    for (std::size_t i = 0; i < answer->media.size() && i < offer.media.size(); ++i) {
        if (answer->media[i].type != offer.media[i].type)
            invariant_failed("answer changed an m= line's media type", input);
        if (answer->media[i].port != 0) ++accepted;
    }
    if (accepted != 1 || answer->media[*anchored].port == 0)
        invariant_failed("answer does not accept exactly the anchored stream", input);
    const std::vector<Codec> offered = negotiated_codecs(offer, ours);
    const std::vector<Codec> negotiated = negotiated_codecs(*answer, ours);
    bool voice = false;
    for (const Codec& c : negotiated) {
        voice |= is_voice(c);
        bool was_offered = false;
        for (const Codec& o : offered)
            was_offered |=
                o.encoding == c.encoding && o.static_payload_type == c.static_payload_type;
        if (!was_offered) invariant_failed("answer accepts a codec the offer does not have", input);
    }
    if (!voice) invariant_failed("answer accepts no voice codec", input);
    const std::string written =
        write_and_reparse(*answer, "answer_offer wrote an answer that does not parse");
    // Bounded by the offer: each line of the answer stands for one of the offer's, except an
    // rtpmap for each static payload type (at most 128) and the fixed lines.
    if (written.size() > 2 * input.size() + 8192)
        invariant_failed("answer much larger than the offer", input);

    // The other leg is offered what this one negotiated (AnchoredSession::offer).
    sdp::Direction d = offer.direction_of(offer.media[*anchored]);
    sdp::Session onward = make_offer(negotiated, local, 30000, d);
    write_and_reparse(onward, "make_offer wrote an offer that does not parse");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    exercise_opus_fmtp(bytes);

    auto parsed = sdp::parse(bytes);
    if (!parsed) {
        touch(parsed.error().message);
        return 0;
    }
    exercise_session(*parsed);
    for (const sdp::Media& m : parsed->media)
        for (const auto& [pt, params] : m.fmtps) exercise_opus_fmtp(params);
    write_and_reparse(*parsed, "written SDP does not parse");
    offer_answer(*parsed, bytes);
    return 0;
}
