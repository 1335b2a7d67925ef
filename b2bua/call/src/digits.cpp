// Keys the caller presses: collect_digits() and play_and_collect() of the dialplan (Asterisk's
// Read(), FreeSWITCH's play_and_get_digits). The media engine reports RFC 4733 events and in-band
// DTMF on its own threads through the MediaInbox (which also brings the ends of prompts that
// playback and play_and_collect wait for). Keys signalled in SIP INFO (on_dtmf_info, from
// relay.cpp) are collected too, and sent on to a bridged leg through the media engine, so that
// a phone that signals keys by INFO reaches one that takes RFC 4733 or in-band tones.
#include <algorithm>
#include <charconv>

#include "impl.h"
#include "sb/common/log.h"
#include "sb/sip/text.h"

namespace sb::call {

namespace {

// How often the shard takes what the media threads reported, while any call collects or waits
// for a prompt's end: a key press lasts at least 40 ms and a frame 20, so none waits long, and an
// idle shard polls nothing.
constexpr Duration kMediaPoll{20};

constexpr int kInfoDefaultDuration = 250;  // ms, when an INFO names none
constexpr std::size_t kMaxInfoBody = 512;

enum class InfoType { other, dtmf_relay, dtmf };

InfoType info_type(const sip::Message& req) {
    std::string_view type = req.value(sip::HeaderId::content_type);
    type = sip::trim(type.substr(0, type.find(';')));  // without parameters
    if (sip::iequals(type, "application/dtmf-relay")) return InfoType::dtmf_relay;
    if (sip::iequals(type, "application/dtmf")) return InfoType::dtmf;
    return InfoType::other;
}

char key_of(std::string_view text) {
    if (text.size() != 1) return 0;
    char key = text[0];
    if (key >= 'a' && key <= 'd') key = static_cast<char>(key - 'a' + 'A');
    return valid_dtmf_key(key) ? key : 0;
}

// "Signal=5\r\nDuration=160\r\n" (the de-facto format, Cisco's), or the key alone for
// application/dtmf. Lines it does not know are ignored; what it needs must be right.
Result<InfoKey> parse_info_key(InfoType type, std::string_view body) {
    if (body.size() > kMaxInfoBody) return fail("body too long");
    if (type == InfoType::dtmf) {
        const char key = key_of(sip::trim(body));
        if (!key) return fail("the body is not one key of 0-9, *, #, A-D");
        return InfoKey{key, kInfoDefaultDuration};
    }
    InfoKey out{0, kInfoDefaultDuration};
    bool duration_seen = false;
    while (!body.empty()) {
        const std::size_t end = body.find('\n');
        std::string_view line = sip::trim(body.substr(0, end));  // CRLF or LF line ends
        body = end == std::string_view::npos ? std::string_view{} : body.substr(end + 1);
        const std::size_t eq = line.find('=');
        if (eq == std::string_view::npos) continue;
        const std::string_view name = sip::trim(line.substr(0, eq));
        const std::string_view value = sip::trim(line.substr(eq + 1));
        if (sip::iequals(name, "Signal")) {
            if (out.key) return fail("more than one Signal");
            out.key = key_of(value);
            if (!out.key) return fail("Signal is not one key of 0-9, *, #, A-D");
        } else if (sip::iequals(name, "Duration")) {
            int ms = 0;
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
            if (duration_seen || ec != std::errc() || p != value.data() + value.size() || ms < 40 ||
                ms > 5000)
                return fail("Duration is not one number of 40 to 5000 ms");
            out.duration_ms = ms;
            duration_seen = true;
        }
    }
    if (!out.key) return fail("no Signal");
    return out;
}

}  // namespace

// RFC 6086 4.2.2: an INFO whose body we do not take gets 415 (bridged calls relay it instead,
// see relay.cpp); a malformed key press gets 400 saying what is wrong. False: not ours to
// answer (a bridged leg's key that the media engine cannot send: direct media relays the INFO).
bool CallManager::Impl::on_dtmf_info(Call& c, Leg& leg, txn::ServerTxnId id,
                                     const sip::Message& req, const Flow& flow) {
    const InfoType type = info_type(req);
    if (type == InfoType::other) return false;
    auto key = parse_info_key(type, req.body());
    if (!key) {
        reply(id, req, flow, 400, "Bad Request (" + key.error().message + ")");
        return true;
    }
    Leg* other = c.answered && leg.state == LegState::confirmed ? other_leg(c, leg) : nullptr;
    if (other && other->state == LegState::confirmed &&
        !c.media->send_digit(other->index, key->key, key->duration_ms))
        return false;
    reply(id, req, flow, 200, "OK");
    SB_DEBUG("call", "call {}: key {} ({} ms) by INFO on leg {}", c.id, key->key, key->duration_ms,
             leg.index);
    // In a conference the room takes it as a key from the caller's media (its mute key).
    if (leg.index == 0 && !c.conference_room.empty()) c.media->conference_key(0, key->key);
    if (leg.index == 0) on_caller_key(c, key->key);
    return true;
}

void CallManager::Impl::api_collect_digits(Call& c, std::string_view prompt,
                                           const CollectRequest& req) {
    const std::string what = prompt.empty() ? std::string("collect_digits")
                                            : "play_and_collect '" + std::string(prompt) + "'";
    auto failed = [&](std::string_view why) { fail_wait(c, what, why); };
    // Like playback: before any answer (as early media), or after answer(); never once a bridge
    // answered (the keys go to the callee then) nor in a room (its mute key is the caller's).
    if (c.ended || c.winner || c.bridging.active || !c.conference_room.empty() ||
        c.collect.active || (c.a_final_sent && !c.answered_locally))
        return failed("the call is bridged, in a conference, or over");
    std::shared_ptr<const media::dsp::Prompt> sound;
    if (!prompt.empty()) {
        auto loaded = media::dsp::load_prompt(config_.prompts_dir, prompt);
        if (!loaded) return failed(loaded.error().message);
        sound = std::move(*loaded);
    }
    std::optional<std::string> early;
    if (!c.answered_locally) {
        early = early_media(c);  // the caller's port, where its keys arrive
        if (!early) return failed("media is not anchored, or the caller made no offer");
    }
    // The sink runs on a media thread and may outlive the call by a packet: it holds only the
    // inbox and the numbers that name the collection.
    const std::uint64_t collection = next_collection_++;
    auto sink = [inbox = media_inbox_, call = c.id, collection](char key) {
        inbox->push({MediaInbox::Notice::key_press, call, collection, key});
    };
    if (!c.media->watch_digits(0, std::move(sink)))
        return failed("the media engine cannot watch the caller's keys");
    mark_media_used(c);

    CollectRequest r = req;
    r.max_digits = std::clamp(r.max_digits, 1, CollectRequest::kMaxDigits);
    r.timeout_s = std::clamp(r.timeout_s, 1, 60);
    r.first_timeout_s = std::clamp(r.first_timeout_s, 1, 60);
    if (!valid_dtmf_key(r.terminator)) r.terminator = 0;
    c.collect = Call::Collect{true, collection, r, {}};
    ++collecting_;
    poll_media();
    if (early) respond_a(c, 183, "Session Progress", {}, "application/sdp", *early);
    if (sound) {
        // The wait for the first key begins when the prompt ends (on_playback_done).
        if (!start_prompt(c, std::move(sound))) {
            stop_collect(c);
            return failed("the media engine cannot play");
        }
        return;
    }
    wheel_.schedule(c.collect_timer,
                    services_.clock.now() + std::chrono::seconds(r.first_timeout_s));
}

void CallManager::Impl::on_caller_key(Call& c, char key) {
    if (!c.collect.active || c.ended || !valid_dtmf_key(key)) return;
    if (c.prompt.playing) stop_prompt(c, true);  // a key pressed during the prompt stops it
    const CollectRequest& r = c.collect.request;
    if (r.terminator != 0 && key == r.terminator) return finish_collect(c);
    c.collect.digits += key;
    if (c.collect.digits.size() >= static_cast<std::size_t>(r.max_digits)) return finish_collect(c);
    wheel_.schedule(c.collect_timer, services_.clock.now() + std::chrono::seconds(r.timeout_s));
}

void CallManager::Impl::on_collect_timeout(Call& c) {
    if (c.collect.active) finish_collect(c);
}

void CallManager::Impl::finish_collect(Call& c) {
    std::string digits = std::move(c.collect.digits);
    stop_collect(c);
    SB_DEBUG("call", "call {}: collected '{}'", c.id, digits);
    deliver_outcome(c, Outcome{BridgeResult::answered, 200, std::move(digits)}, false);
}

void CallManager::Impl::stop_collect(Call& c) {
    if (!c.collect.active) return;
    c.collect.active = false;
    c.collect.digits.clear();
    wheel_.cancel(c.collect_timer);
    if (c.media) c.media->watch_digits(0, nullptr);
    if (collecting_ > 0) --collecting_;
}

void CallManager::Impl::poll_media() {
    if (!media_timer_.scheduled())
        wheel_.schedule(media_timer_, services_.clock.now() + kMediaPoll);
}

void CallManager::Impl::drain_media() {
    for (const MediaInbox::Notice& n : media_inbox_->take()) {
        auto it = calls_.find(n.call);
        if (it == calls_.end()) continue;
        Call& c = *it->second;
        // A notice for a wait that has ended (a key pressed as the collection ended, the end of
        // a prompt that a key stopped or a timer gave up on) is nobody's.
        switch (n.kind) {
            case MediaInbox::Notice::key_press:
                if (c.collect.active && c.collect.id == n.wait) on_caller_key(c, n.key);
                break;
            case MediaInbox::Notice::prompt_end:
                if (c.prompt.playing && c.prompt.id == n.wait) on_playback_done(c);
                break;
        }
    }
    if (collecting_ > 0 || prompt_waiters_ > 0) poll_media();
}

}  // namespace sb::call
