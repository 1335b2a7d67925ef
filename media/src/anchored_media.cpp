#include "sb/media/anchored_media.h"

#include "sb/media/dsp/telephone_event.h"
#include "sb/media/dsp/tone_source.h"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>

namespace sb::media {

namespace {

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(x) == std::tolower(y);
           });
}

bool is_dtmf(const Codec& c) {
    return iequal(c.encoding, "telephone-event");
}

bool same_codec(const Codec& a, const Codec& b) {
    return iequal(a.encoding, b.encoding) && a.clock_rate == b.clock_rate &&
           a.channels == b.channels;
}

// telephone-event alone carries no voice (answer_offer refuses it the same way).
bool has_voice(const std::vector<Codec>& codecs) {
    return std::any_of(codecs.begin(), codecs.end(), [](const Codec& c) { return !is_dtmf(c); });
}

// The clock of the first voice codec, what the far end is sent (RFC 3550 5.1). G722 is 8000 by
// RFC 3551 4.5.2, which negotiated_codecs already reports.
int clock_rate_of(const std::vector<Codec>& codecs) {
    for (const Codec& c : codecs)
        if (!is_dtmf(c)) return c.clock_rate;
    return 8000;
}

bool sends(sdp::Direction d) {
    return d == sdp::Direction::sendrecv || d == sdp::Direction::sendonly;
}
bool receives(sdp::Direction d) {
    return d == sdp::Direction::sendrecv || d == sdp::Direction::recvonly;
}
sdp::Direction direction(bool send, bool receive) {
    if (send && receive) return sdp::Direction::sendrecv;
    if (send) return sdp::Direction::sendonly;
    if (receive) return sdp::Direction::recvonly;
    return sdp::Direction::inactive;
}

bool unspecified(const Endpoint& e) {
    return std::all_of(e.addr.begin(), e.addr.end(), [](std::uint8_t b) { return b == 0; });
}

// "a=rtcp:53020 IN IP4 192.0.2.1" (RFC 3605 2.1): the parser keeps the line when it has an
// address.
std::optional<std::string> rtcp_address(const sdp::Media& m) {
    for (const std::string& line : m.other) {
        if (!line.starts_with("a=rtcp:")) continue;
        std::size_t in = line.find(" IN ");
        if (in == std::string::npos) return std::nullopt;
        std::size_t type_end = line.find(' ', in + 4);
        if (type_end == std::string::npos) return std::nullopt;
        return line.substr(type_end + 1);
    }
    return std::nullopt;
}

// What a leg's SDP says about its far end. `d` is the stream's direction from the leg's own
// point of view; the spec is from ours.
rtp::RemoteSpec remote_of(const sdp::Session& s, std::size_t index, sdp::Direction d,
                          int clock_rate, const std::optional<Endpoint>& signalling) {
    const sdp::Media& m = s.media[index];
    rtp::RemoteSpec r;
    const sdp::Connection* c = s.connection_of(m);
    if (c && m.port != 0) {
        auto rtp = Endpoint::from_ip(c->address, m.port);
        if (rtp && !unspecified(*rtp)) {  // 0.0.0.0: the old way to hold (RFC 3264 8.4)
            r.rtp = rtp;
            // RFC 3605: a=rtcp, else the next port (RFC 3550 11).
            std::uint32_t rtcp_port = m.rtcp_port ? *m.rtcp_port : m.port + 1u;
            if (rtcp_port <= 65535)
                r.rtcp = Endpoint::from_ip(rtcp_address(m).value_or(c->address),
                                           static_cast<std::uint16_t>(rtcp_port));
        }
    }
    r.signalling = signalling;
    r.clock_rate = clock_rate;
    r.send = receives(d) && r.rtp.has_value();
    r.receive = sends(d);
    return r;
}

bool same_remote(const rtp::RemoteSpec& a, const rtp::RemoteSpec& b) {
    return a.rtp == b.rtp && a.rtcp == b.rtcp && a.signalling == b.signalling &&
           a.clock_rate == b.clock_rate && a.send == b.send && a.receive == b.receive;
}

// The offerer's codecs that we support (`codecs`, from negotiated_codecs: in its order, with its
// payload types), with its own rtpmaps and fmtps: relayed packets keep their payload types, so
// both legs must give them the same meaning.
void copy_codecs(const sdp::Media& from, const std::vector<Codec>& codecs, sdp::Media& to) {
    for (const Codec& c : codecs) {
        int pt = c.static_payload_type;
        to.formats.push_back(std::to_string(pt));
        const sdp::RtpMap* r = from.rtpmap(pt);
        to.rtpmaps.push_back(r ? *r : sdp::RtpMap{pt, c.encoding, c.clock_rate, c.channels});
        bool fmtp = false;
        for (const auto& f : from.fmtps)
            if (f.first == pt) {
                to.fmtps.push_back(f);
                fmtp = true;
            }
        // Ours (a codec we add for transcoding): our parameters.
        if (!fmtp && !r && !c.fmtp.empty()) to.fmtps.emplace_back(pt, c.fmtp);
    }
}

// Our codecs the offerer did not offer, numbered for the other leg: the static payload type
// where it has one and it is free, else a free dynamic one (RFC 3551 6: 96-127). The other leg
// may pick one of them; the relay then transcodes.
std::vector<Codec> transcodable(const std::vector<Codec>& offered, const std::vector<Codec>& ours) {
    std::vector<Codec> extra;
    auto taken = [&](int pt) {
        auto uses = [pt](const Codec& c) { return c.static_payload_type == pt; };
        return std::any_of(offered.begin(), offered.end(), uses) ||
               std::any_of(extra.begin(), extra.end(), uses);
    };
    int next_dynamic = 96;
    for (const Codec& c : ours) {
        if (std::any_of(offered.begin(), offered.end(),
                        [&](const Codec& o) { return same_codec(o, c); }))
            continue;
        Codec numbered = c;
        if (c.static_payload_type < 0 || taken(c.static_payload_type)) {
            while (next_dynamic <= 127 && taken(next_dynamic)) ++next_dynamic;
            if (next_dynamic > 127) break;
            numbered.static_payload_type = next_dynamic;
        }
        extra.push_back(std::move(numbered));
    }
    return extra;
}

rtp::PayloadFormat format_of(const Codec& c) {
    return rtp::PayloadFormat{c.static_payload_type, c.encoding, c.clock_rate, c.channels, c.fmtp};
}

// A leg's formats for the relay: what it may send us (all its voice codecs), what we send it
// (the first), and telephone-event.
rtp::PortCodecs port_codecs(const std::vector<Codec>& negotiated) {
    rtp::PortCodecs pc;
    for (const Codec& c : negotiated) {
        if (is_dtmf(c)) {
            if (!pc.telephone_event) pc.telephone_event = format_of(c);
            continue;
        }
        pc.receive.push_back(format_of(c));
        if (!pc.send) pc.send = format_of(c);
    }
    return pc;
}

// Keeps the formats of an offered stream whose codec the answerer accepted. Matched by codec
// rather than number: an answerer SHOULD reuse the offer's numbers (RFC 3264 6.1) but may not.
void keep_accepted(sdp::Media& m, const std::vector<Codec>& offered,
                   const std::vector<Codec>& accepted) {
    std::vector<std::string> keep;
    for (const Codec& o : offered)
        for (const Codec& a : accepted)
            if (same_codec(o, a)) keep.push_back(std::to_string(o.static_payload_type));
    std::erase_if(m.formats, [&](const std::string& f) {
        return std::find(keep.begin(), keep.end(), f) == keep.end();
    });
}

class AnchoredSession final : public MediaSession {
  public:
    AnchoredSession(rtp::PortSource& ports, std::shared_ptr<const AnchoredMediaOptions> options,
                    std::uint64_t group, std::uint64_t seed)
        : ports_(ports), options_(std::move(options)), group_(group), random_(seed) {}

    ~AnchoredSession() override {
        // MediaPort: a forwarding target must outlive the forwarding.
        for (auto& [id, l] : legs_)
            if (l.port && l.forwarding) l.port->forward_to(nullptr);
    }

    Result<std::string> offer(LegId from, LegId to, std::string_view text) override {
        if (from == to) return fail("an offer goes to another leg");
        auto parsed = sdp::parse(text);
        if (!parsed) return fail(parsed.error().message, media_error::not_acceptable);
        // The anchored stream (offer_answer.h): a stream we share no codec with is answered
        // with port 0 (RFC 3264 6) and does not stop a later one from being relayed.
        auto index = media::anchored_stream(*parsed, options_->codecs);
        if (!index)
            return fail("no audio stream with a codec in common", media_error::not_acceptable);
        std::vector<Codec> codecs = negotiated_codecs(*parsed, options_->codecs);
        assert(has_voice(codecs));  // what makes it the anchored stream

        Leg& f = leg(from);
        Leg& t = leg(to);
        if (auto s = open_port(f); !s) return unexpected(s.error());
        if (auto s = open_port(t); !s) return unexpected(s.error());

        // The offerer can receive as soon as it offers (RFC 3264 5.1): apply its far end now.
        const sdp::Media& m = parsed->media[*index];
        sdp::Direction d = parsed->direction_of(m);
        rtp::RemoteSpec remote = remote_of(*parsed, *index, d, clock_rate_of(codecs), f.signalling);
        apply_remote(f, remote);

        // Hold passes through (RFC 3264 8.4); an old-style hold (c=0.0.0.0) cannot receive, which
        // the other leg learns as sendonly or inactive since it sees our address instead.
        sdp::Direction offered = direction(sends(d), receives(d) && remote.rtp.has_value());
        int ptime = m.ptime.value_or(options_->ptime);
        sdp::Session out = make_offer({}, t.local, t.port->rtp_port(), offered, ptime);
        if (ptime <= 0) out.media[0].ptime.reset();
        std::vector<Codec> relayed = codecs;
        if (options_->transcode) {
            // Telephone-event stays last, after what we can transcode to (RFC 4733 needs a
            // voice codec beside it; the order says our preference).
            // Telephone-event is offered even when the offerer has none: the relay turns the
            // other leg's RFC 4733 digits into tones for it.
            std::vector<Codec> extra = transcodable(codecs, options_->codecs);
            auto extra_dtmf = std::stable_partition(extra.begin(), extra.end(),
                                                    [](const Codec& c) { return !is_dtmf(c); });
            auto dtmf = std::stable_partition(relayed.begin(), relayed.end(),
                                              [](const Codec& c) { return !is_dtmf(c); });
            relayed.insert(dtmf, extra.begin(), extra_dtmf);
            relayed.insert(relayed.end(), extra_dtmf, extra.end());
        }
        copy_codecs(m, relayed, out.media[0]);

        // A new offer (RFC 3264 8: a new o= version) is answered anew; the same offer relayed
        // to another leg (a fork, a bridge after a prompt) keeps the answer we gave.
        const bool same = f.offer && f.offer->origin.session_id == parsed->origin.session_id &&
                          f.offer->origin.session_version == parsed->origin.session_version;
        if (!same) f.early.reset();
        f.offer = std::move(*parsed);
        f.offer_from.reset();  // its own offer supersedes one we sent it
        t.offer_from = from;
        std::string sent = send(t, std::move(out));
        rewire();
        return sent;
    }

    Result<std::string> answer(LegId from, LegId to, std::string_view text) override {
        Leg* f = find(from);
        Leg* t = find(to);
        if (!f || f->offer_from != to)
            return fail("leg " + std::to_string(from) + " answers an offer from leg " +
                        std::to_string(to) + " that it was not sent");
        if (!t || !t->offer) return fail("no offer of leg " + std::to_string(to) + " to answer");
        assert(f->port && t->port);  // opened by the offer
        auto parsed = sdp::parse(text);
        if (!parsed) return unexpected(parsed.error());
        auto index = media::anchored_stream(*parsed, options_->codecs);
        if (!index) return fail("the answer accepts no audio codec");
        std::vector<Codec> accepted = negotiated_codecs(*parsed, options_->codecs);

        // `to`'s offer as `from` took it: the codecs it accepted when `to` offered them too
        // (relayed untouched), else `to`'s first voice codec (transcoded); telephone-event
        // when both have it.
        sdp::Session offer = *t->offer;
        std::size_t oi =
            *media::anchored_stream(offer, options_->codecs);  // recorded offers have one
        const std::vector<Codec> offered = negotiated_codecs(offer, options_->codecs);
        std::vector<Codec> for_to;
        for (const Codec& a : accepted)
            if (std::any_of(offered.begin(), offered.end(),
                            [&](const Codec& o) { return same_codec(o, a); }))
                for_to.push_back(a);
        if (t->early) {
            // We answered `to` ourselves already (ringback): its answer stays as it was.
            for_to = *t->early;
        } else if (!has_voice(for_to) && options_->transcode) {
            auto voice = std::find_if(offered.begin(), offered.end(),
                                      [](const Codec& c) { return !is_dtmf(c); });
            if (voice != offered.end()) for_to.push_back(*voice);
        }
        if (!has_voice(for_to)) return fail("the answer accepts no codec the offerer offered");
        keep_accepted(offer.media[oi], offered, for_to);
        for (std::size_t i = 0; i < offer.media.size(); ++i)
            if (i != oi) offer.media[i].port = 0;
        auto reply = answer_offer(offer, options_->codecs, t->local,
                                  [&](std::size_t) { return t->port->rtp_port(); });
        if (!reply) return unexpected(reply.error());

        const sdp::Session& to_offer = *t->offer;
        // Each far end is sent its own leg's codec (they differ when transcoding).
        rtp::RemoteSpec from_remote =
            remote_of(*parsed, *index, parsed->direction_of(parsed->media[*index]),
                      clock_rate_of(accepted), f->signalling);
        rtp::RemoteSpec to_remote =
            remote_of(to_offer, oi, to_offer.direction_of(to_offer.media[oi]),
                      clock_rate_of(negotiated_codecs(*reply, options_->codecs)), t->signalling);
        // Relayed, the stream flows towards `to` only if `from` sends and `to` receives, and the
        // answer's direction says so (RFC 3264 6.1: recvonly to a sendonly offer, and so on).
        to_remote.send = to_remote.send && from_remote.receive;
        to_remote.receive = to_remote.receive && from_remote.send;
        reply->media[oi].direction = direction(to_remote.send, to_remote.receive);

        f->codecs = std::move(accepted);
        t->codecs = negotiated_codecs(*reply, options_->codecs);
        f->port->set_codecs(port_codecs(f->codecs));
        t->port->set_codecs(port_codecs(t->codecs));
        apply_remote(*f, from_remote);
        apply_remote(*t, to_remote);
        // The latest answer decides where media to either leg comes from (early media of the
        // fork that answered last, then the winner's).
        ++pairings_;
        f->paired[to] = pairings_;
        t->paired[from] = pairings_;
        std::string sent = send(*t, std::move(*reply));
        rewire();
        stop_tone(to);  // the answerer's media replaces what we played
        return sent;
    }

    Result<std::string> early_answer(LegId id, std::string_view offer_text) override {
        Leg* l = find(id);
        if (!l || !l->offer) {
            // Nothing relayed yet (a prompt before any bridge): take the offer as it is.
            auto parsed = parse_offer(offer_text);
            if (!parsed) return unexpected(parsed.error());
            l = &leg(id);
            l->offer = std::move(*parsed);
        }
        return answer_locally(*l);
    }

    Result<std::string> local_answer(LegId id, std::string_view offer_text) override {
        auto parsed = parse_offer(offer_text);
        if (!parsed) return unexpected(parsed.error());
        Leg& l = leg(id);
        l.offer = std::move(*parsed);
        l.offer_from.reset();
        return answer_locally(l);
    }

    bool join_conference(LegId id, std::string_view room,
                         const ConferenceOptions& options) override {
        Leg* l = find(id);
        if (!l || !l->port || l->codecs.empty() || !valid_room_name(room)) return false;
        stop_tone(id);
        if (!l->port->join_conference(room, options)) return false;
        l->in_room = true;
        rewire();  // the room sends to it now, and takes what it sends
        return true;
    }

    Status start_recording(const std::string& path) override {
        if (recording_)
            return fail("the call is being recorded already, into " + recording_->path());
        auto r = ports_.start_recording(path);
        if (!r) return unexpected(r.error());
        recording_ = std::move(*r);
        for (auto& [id, l] : legs_)
            if (l.port) l.port->record(recording_.get(), id == 0 ? 0 : 1);
        return {};
    }

    void stop_recording() override {
        if (!recording_) return;
        for (auto& [id, l] : legs_)
            if (l.port) l.port->record(nullptr, 0);
        recording_.reset();
    }

    bool watch_digits(LegId id, std::function<void(char)> on_digit) override {
        Leg* l = find(id);
        if (!l || !l->port) return false;
        l->port->watch_digits(std::move(on_digit));
        return true;
    }

    bool send_digit(LegId id, char digit, int duration_ms) override {
        Leg* l = find(id);
        if (!l || !l->port || !dsp::event_for_digit(digit)) return false;
        l->port->send_digit(digit, std::clamp(duration_ms, 40, 5000));
        return true;
    }

    bool conference_key(LegId id, char digit) override {
        Leg* l = find(id);
        if (!l || !l->in_room) return false;
        l->port->conference_key(digit);
        return true;
    }

    void leave_conference(LegId id) override {
        Leg* l = find(id);
        if (!l || !l->in_room) return;
        l->port->leave_conference();
        l->in_room = false;
        rewire();
    }

    std::optional<std::size_t> anchored_stream(std::string_view sdp) const override {
        auto parsed = sdp::parse(sdp);
        if (!parsed) return std::nullopt;
        return media::anchored_stream(*parsed, options_->codecs);
    }

    std::optional<LegMedia> leg_media(LegId id) const override {
        auto it = legs_.find(id);
        if (it == legs_.end() || !it->second.port) return std::nullopt;
        const Leg& l = it->second;
        LegMedia m{l.port->stats(), l.remote ? l.remote->rtp : std::nullopt, ""};
        for (const Codec& c : l.codecs)
            if (!is_dtmf(c)) {
                m.codec = c.encoding + "/" + std::to_string(c.clock_rate);
                break;
            }
        return m;
    }

    bool set_tone_country(LegId id, std::string_view country) override {
        if (!dsp::find_tone(country, dsp::Tone::ringback)) return false;
        leg(id).tone_country = std::string(country);
        return true;
    }

    void play_tone(LegId id, dsp::Tone tone) override {
        Leg* l = find(id);
        if (!l || !l->port) return;
        auto spec = dsp::find_tone(
            l->tone_country.empty() ? std::string_view(options_->tone_country) : l->tone_country,
            tone);
        if (!spec) spec = dsp::find_tone("US", tone);  // an unknown country: still a tone
        if (!spec) return;
        l->port->play(std::make_unique<dsp::ToneSource>(*spec));
        l->playing = true;
    }

    bool play_prompt(LegId id, std::shared_ptr<const dsp::Prompt> prompt) override {
        Leg* l = find(id);
        if (!l || !l->port || !prompt) return false;
        l->port->play(std::make_unique<dsp::PromptSource>(std::move(prompt)));
        l->playing = true;
        return true;
    }

    bool play_prompt_then(LegId id, std::shared_ptr<const dsp::Prompt> prompt,
                          std::function<void()> on_end) override {
        Leg* l = find(id);
        if (!l || !l->port || !prompt) return false;
        l->port->play(std::make_unique<dsp::PromptSource>(std::move(prompt)), std::move(on_end));
        l->playing = true;
        return true;
    }

    bool play_music(LegId id, std::shared_ptr<const dsp::Prompt> music) override {
        Leg* l = find(id);
        if (!l || !l->port || !music) return false;
        l->port->play(std::make_unique<dsp::PromptSource>(std::move(music), true));
        l->playing = true;
        return true;
    }

    void stop_tone(LegId id) override {
        Leg* l = find(id);
        if (!l || !l->port || !l->playing) return;
        l->port->play(nullptr);
        l->playing = false;
    }

    void release_leg(LegId id) override {
        auto it = legs_.find(id);
        if (it == legs_.end()) return;
        for (auto& [other, l] : legs_) {
            l.paired.erase(id);
            if (l.offer_from == id) l.offer_from.reset();
        }
        it->second.paired.clear();
        rewire();  // nothing forwards to its port any more, and it forwards nowhere
        legs_.erase(it);
    }

    void set_signalling(LegId id, const Endpoint& source) override {
        Leg& l = leg(id);
        l.signalling = source;
        if (!l.remote) return;
        rtp::RemoteSpec r = *l.remote;
        r.signalling = source;
        apply_remote(l, r);
    }

  private:
    struct Leg;

    // An offer we answer ourselves; one we cannot answer (488) leaves the leg's last offer as it
    // was, which the session goes on with (RFC 3264 8).
    Result<sdp::Session> parse_offer(std::string_view text) const {
        auto parsed = sdp::parse(text);
        if (!parsed) return unexpected(parsed.error());
        if (!media::anchored_stream(*parsed, options_->codecs))
            return fail("no audio stream with a codec in common");
        return parsed;
    }

    // Our own answer to the leg's recorded offer: one voice codec (the one it uses already if it
    // offers it again, else its first) and telephone-event when offered; the direction mirrors
    // the offer's.
    Result<std::string> answer_locally(Leg& l) {
        const std::optional<std::size_t> anchored =
            media::anchored_stream(*l.offer, options_->codecs);
        if (!anchored) return fail("no audio stream with a codec in common");
        if (auto st = open_port(l); !st) return unexpected(st.error());
        sdp::Session offer = *l.offer;
        const std::size_t oi = *anchored;
        const std::vector<Codec> offered = negotiated_codecs(offer, options_->codecs);
        std::vector<Codec> ours;
        auto voice = std::find_if(offered.begin(), offered.end(), [&](const Codec& c) {
            return !is_dtmf(c) && std::any_of(l.codecs.begin(), l.codecs.end(),
                                              [&](const Codec& u) { return same_codec(u, c); });
        });
        if (voice == offered.end())
            voice = std::find_if(offered.begin(), offered.end(),
                                 [](const Codec& c) { return !is_dtmf(c); });
        if (voice == offered.end()) return fail("the offer has no voice codec");
        ours.push_back(*voice);
        for (const Codec& c : offered)
            if (is_dtmf(c)) ours.push_back(c);
        keep_accepted(offer.media[oi], offered, ours);
        for (std::size_t i = 0; i < offer.media.size(); ++i)
            if (i != oi) offer.media[i].port = 0;
        auto reply = answer_offer(offer, options_->codecs, l.local,
                                  [&](std::size_t) { return l.port->rtp_port(); });
        if (!reply) return unexpected(reply.error());
        l.codecs = negotiated_codecs(*reply, options_->codecs);
        l.early = l.codecs;
        l.port->set_codecs(port_codecs(l.codecs));
        const sdp::Media& m = l.offer->media[oi];
        apply_remote(l, remote_of(*l.offer, oi, l.offer->direction_of(m), clock_rate_of(l.codecs),
                                  l.signalling));
        return send(l, std::move(*reply));
    }

    struct Leg {
        std::unique_ptr<rtp::MediaPort> port;  // opened when the leg first needs our address
        LocalEndpoint local;                   // our o= towards the leg
        std::optional<std::string> last_sent;  // the last SDP sent to it (RFC 3264 8)
        std::optional<sdp::Session> offer;     // the last offer it made
        std::optional<LegId> offer_from;       // whose offer we relayed to it, awaiting its answer
        std::optional<Endpoint> signalling;
        std::optional<rtp::RemoteSpec> remote;    // as last applied to the port
        std::vector<Codec> codecs;                // negotiated, with the leg's payload types
        std::map<LegId, std::uint64_t> paired;    // legs it completed an exchange with, and when
        std::optional<LegId> forwarding;          // where its port forwards
        std::optional<std::vector<Codec>> early;  // what early_answer gave it, kept by answers
        bool playing = false;                     // a tone plays to it
        bool in_room = false;                     // in a conference: forwards nowhere
        std::string tone_country;                 // its own tone plan, "" for the system's
    };

    Leg& leg(LegId id) {
        auto [it, inserted] = legs_.try_emplace(id);
        if (inserted) {
            // Below 2^53: exact in any parser a phone may use.
            std::uniform_int_distribution<std::uint64_t> ids(1, (std::uint64_t{1} << 53) - 1);
            it->second.local = LocalEndpoint{ports_.address(), ids(random_), 1};
        }
        return it->second;
    }

    Leg* find(LegId id) {
        auto it = legs_.find(id);
        return it == legs_.end() ? nullptr : &it->second;
    }

    Status open_port(Leg& l) {
        if (l.port) return {};
        auto port = ports_.open(group_);
        if (!port) return fail("no media port: " + port.error().message, media_error::no_resources);
        l.port = std::move(*port);
        if (recording_) {
            auto caller_leg = legs_.find(0);
            const bool caller = caller_leg != legs_.end() && &caller_leg->second == &l;
            l.port->record(recording_.get(), caller ? 0 : 1);
        }
        return {};
    }

    void apply_remote(Leg& l, const rtp::RemoteSpec& spec) {
        if (!l.port || (l.remote && same_remote(*l.remote, spec))) return;
        l.port->set_remote(spec);
        l.remote = spec;
    }

    // RFC 3264 8: the version moves when what we send the leg changes, and only then.
    std::string send(Leg& l, sdp::Session s) {
        s.origin.session_version = std::to_string(l.local.session_version);
        std::string text = sdp::write(s);
        if (l.last_sent && *l.last_sent != text) {
            ++l.local.session_version;
            s.origin.session_version = std::to_string(l.local.session_version);
            text = sdp::write(s);
        }
        l.last_sent = text;
        return text;
    }

    static std::optional<LegId> partner(const Leg& l) {
        auto latest =
            std::max_element(l.paired.begin(), l.paired.end(),
                             [](const auto& a, const auto& b) { return a.second < b.second; });
        if (latest == l.paired.end()) return std::nullopt;
        return latest->first;
    }

    // Where a leg's port should forward: to its partner, when each is the other's latest, the
    // leg may send to us and the partner may be sent to.
    std::optional<LegId> target(LegId id, const Leg& l) const {
        auto p = partner(l);
        if (!p || l.in_room || !l.remote || !l.remote->receive) return std::nullopt;
        auto it = legs_.find(*p);
        if (it == legs_.end()) return std::nullopt;
        const Leg& other = it->second;
        if (!other.port || other.in_room || !other.remote || !other.remote->send ||
            partner(other) != id)
            return std::nullopt;
        return p;
    }

    void rewire() {
        for (auto& [id, l] : legs_) {
            if (!l.port) continue;
            std::optional<LegId> to = target(id, l);
            if (to == l.forwarding) continue;
            l.port->forward_to(to ? legs_.at(*to).port.get() : nullptr);
            l.forwarding = to;
        }
    }

    rtp::PortSource& ports_;
    std::shared_ptr<const AnchoredMediaOptions> options_;
    std::uint64_t group_;
    std::mt19937_64 random_;
    std::uint64_t pairings_ = 0;
    std::map<LegId, Leg> legs_;
    std::unique_ptr<rtp::Recording> recording_;  // the call's, while it is recorded
};

}  // namespace

AnchoredMedia::AnchoredMedia(rtp::PortSource& ports, AnchoredMediaOptions options)
    : ports_(ports),
      options_(std::make_shared<const AnchoredMediaOptions>(std::move(options))),
      seed_([] {
          std::random_device device;
          return (std::uint64_t{device()} << 32) | device();
      }()) {}

std::unique_ptr<MediaSession> AnchoredMedia::create_session() {
    std::uint64_t group = next_group_.fetch_add(1, std::memory_order_relaxed);
    // Distinct streams per session without a lock: the seed mixed with the group (golden ratio).
    return std::make_unique<AnchoredSession>(ports_, options_, group,
                                             seed_ ^ (group * 0x9E3779B97F4A7C15ull));
}

}  // namespace sb::media
