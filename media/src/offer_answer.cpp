#include "sb/media/offer_answer.h"

#include <algorithm>
#include <bitset>
#include <cctype>
#include <charconv>

namespace sb::media {

namespace {

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(x) == std::tolower(y);
           });
}

// The rtpmap of a format: its a=rtpmap line, or the static assignment of RFC 3551 for the few
// static types a phone may list without one.
std::optional<sdp::RtpMap> rtpmap_of(const sdp::Media& m, const std::string& format) {
    int pt = -1;
    std::from_chars(format.data(), format.data() + format.size(),
                    pt);  // validated by sdp::parse for RTP
    if (const sdp::RtpMap* r = m.rtpmap(pt)) return *r;
    switch (pt) {
        case 0:
            return sdp::RtpMap{0, "PCMU", 8000, 1};
        case 8:
            return sdp::RtpMap{8, "PCMA", 8000, 1};
        case 9:
            return sdp::RtpMap{9, "G722", 8000, 1};  // 8000 by RFC 3551's historic error
        default:
            return std::nullopt;
    }
}

const Codec* match(const sdp::RtpMap& r, const std::vector<Codec>& ours) {
    for (const Codec& c : ours)
        if (iequal(c.encoding, r.encoding) && c.clock_rate == r.clock_rate &&
            (c.channels == r.channels || iequal(c.encoding, "opus")))
            return &c;
    return nullptr;
}

bool is_audio_rtp(const sdp::Media& m) {
    return m.type == "audio" && m.protocol == "RTP/AVP";
}

bool is_dtmf(const Codec& c) {
    return iequal(c.encoding, "telephone-event");
}

// The formats of a stream that match `ours`, in its order, numbered as the stream numbers them;
// a payload type listed again in m= is one codec.
std::vector<Codec> common_codecs(const sdp::Media& m, const std::vector<Codec>& ours) {
    std::vector<Codec> out;
    std::bitset<128> seen;
    for (const std::string& f : m.formats) {
        auto r = rtpmap_of(m, f);
        if (!r || seen.test(static_cast<std::size_t>(r->payload_type))) continue;
        seen.set(static_cast<std::size_t>(r->payload_type));
        if (const Codec* c = match(*r, ours)) {
            Codec n = *c;
            n.static_payload_type = r->payload_type;  // the payload type this leg uses
            out.push_back(std::move(n));
        }
    }
    return out;
}

std::string address_type(const std::string& address) {
    return address.find(':') != std::string::npos ? "IP6" : "IP4";
}

sdp::Session skeleton(const LocalEndpoint& local) {
    sdp::Session s;
    s.origin.username = "switchboard";
    s.origin.session_id = std::to_string(local.session_id);
    s.origin.session_version = std::to_string(local.session_version);
    s.origin.address_type = address_type(local.address);
    s.origin.address = local.address;
    s.name = "Switchboard";
    s.connection = sdp::Connection{address_type(local.address), local.address};
    return s;
}

}  // namespace

std::vector<Codec> default_codecs() {
    return {
        {"opus", 48000, 2, -1, "useinbandfec=1"},
        {"G722", 8000, 1, 9, ""},
        {"PCMU", 8000, 1, 0, ""},
        {"PCMA", 8000, 1, 8, ""},
        {"telephone-event", 8000, 1, -1, "0-16"},
    };
}

std::optional<std::size_t> anchored_stream(const sdp::Session& d, const std::vector<Codec>& ours) {
    for (std::size_t i = 0; i < d.media.size(); ++i) {
        const sdp::Media& m = d.media[i];
        if (m.port == 0 || !is_audio_rtp(m)) continue;
        const std::vector<Codec> common = common_codecs(m, ours);
        // telephone-event alone carries no voice (RFC 4733 2.1 needs a voice codec beside it).
        if (std::any_of(common.begin(), common.end(), [](const Codec& c) { return !is_dtmf(c); }))
            return i;
    }
    return std::nullopt;
}

Result<sdp::Session> answer_offer(const sdp::Session& offer, const std::vector<Codec>& ours,
                                  const LocalEndpoint& local,
                                  const std::function<std::uint16_t(std::size_t)>& port_for) {
    // RFC 3264 6: each m= line is answered on its own; we take one audio stream, the anchored
    // one, and reject the others.
    const std::optional<std::size_t> accepted = anchored_stream(offer, ours);
    if (!accepted) return fail("no audio stream with a codec in common");
    sdp::Session answer = skeleton(local);
    answer.timing = offer.timing;
    for (std::size_t i = 0; i < offer.media.size(); ++i) {
        const sdp::Media& o = offer.media[i];
        sdp::Media a;
        a.type = o.type;
        a.protocol = o.protocol;
        if (i != *accepted) {
            // RFC 3264 6: a rejected stream keeps its m= line with port 0 and the offered
            // formats.
            a.port = 0;
            a.formats = o.formats;
            answer.media.push_back(std::move(a));
            continue;
        }
        std::bitset<128> seen;  // a payload type listed again adds nothing (and no fmtps)
        for (const std::string& f : o.formats) {
            auto r = rtpmap_of(o, f);
            if (!r || seen.test(static_cast<std::size_t>(r->payload_type))) continue;
            seen.set(static_cast<std::size_t>(r->payload_type));
            const Codec* c = match(*r, ours);
            if (!c) continue;
            a.formats.push_back(f);
            a.rtpmaps.push_back(*r);
            if (iequal(r->encoding, "opus")) {
                // Our own Opus parameters (RFC 7587 7): we send mono with in-band FEC, so
                // echoing an offer's "stereo=1; sprop-stereo=1" would misstate it.
                if (!c->fmtp.empty()) a.fmtps.emplace_back(r->payload_type, c->fmtp);
            } else {
                // By number: "0101" in m= is payload type 101, whose a=fmtp says 101.
                for (const auto& [pt, params] : o.fmtps)
                    if (pt == r->payload_type) a.fmtps.emplace_back(pt, params);
            }
        }
        a.port = port_for(i);
        a.direction = sdp::reverse(offer.direction_of(o));
        a.ptime = o.ptime;
        answer.media.push_back(std::move(a));
    }
    return answer;
}

sdp::Session make_offer(const std::vector<Codec>& codecs, const LocalEndpoint& local,
                        std::uint16_t port, sdp::Direction direction, int ptime) {
    sdp::Session s = skeleton(local);
    sdp::Media m;
    m.type = "audio";
    m.port = port;
    m.protocol = "RTP/AVP";
    int next_dynamic = 96;
    for (const Codec& c : codecs) {
        int pt = c.static_payload_type >= 0 ? c.static_payload_type : next_dynamic++;
        m.formats.push_back(std::to_string(pt));
        m.rtpmaps.push_back(sdp::RtpMap{pt, c.encoding, c.clock_rate, c.channels});
        if (!c.fmtp.empty()) m.fmtps.emplace_back(pt, c.fmtp);
    }
    m.ptime = ptime;
    m.direction = direction;
    s.media.push_back(std::move(m));
    return s;
}

std::vector<Codec> negotiated_codecs(const sdp::Session& d, const std::vector<Codec>& ours) {
    const std::optional<std::size_t> i = anchored_stream(d, ours);
    if (!i) return {};
    return common_codecs(d.media[*i], ours);
}

}  // namespace sb::media
