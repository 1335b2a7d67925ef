// Bridging: the dialplan's bridge() rings destinations (all at once or one after another), each
// registered phone of an extension as its own B-leg; the first 2xx wins, the other forks get
// CANCEL, a late 2xx is ACKed and ended with BYE, and when everything failed the best final
// response (RFC 3261 16.7) decides the outcome.
#include "impl.h"
#include "sb/call/best_response.h"
#include "sb/common/log.h"
#include "sb/registrar/registrar.h"
#include "sb/sip/text.h"
#include "sb/sip/writer.h"

namespace sb::call {

namespace {

bool is_extension_number(std::string_view s) {
    if (s.empty() || s.size() > 32) return false;
    for (char c : s)
        if (!sip::is_alnum(c) && c != '_' && c != '.' && c != '+' && c != '-') return false;
    return true;
}

std::string_view session_type(const sip::Message& m) {
    return m.body().empty() ? std::string_view{} : m.value(sip::HeaderId::content_type);
}

}  // namespace

void CallManager::Impl::api_bridge(Call& c, const BridgeRequest& req) {
    // After answer() a bridge still may ring (the caller keeps our answer); not in a conference.
    if (c.winner || c.ended || c.bridging.active || !c.conference_room.empty()) {
        deliver_outcome(c, Outcome{BridgeResult::failed, 500});
        return;
    }
    Call::Bridge& b = c.bridging;
    std::uint32_t step = b.step;  // steps keep counting across bridges: old forks stay told apart
    b = Call::Bridge{};
    b.step = step;
    b.active = true;
    for (std::string_view d : req.destinations) {
        if (b.destinations.size() >= config_.max_destinations) break;
        b.destinations.emplace_back(d);
    }
    b.timeout_s = std::clamp(req.timeout_s, 1, 600);
    b.sequential = req.sequential;
    choose_media(c, req.media);  // before any B-leg's INVITE takes an offer from the session
    start_step(c);
}

void CallManager::Impl::mark_media_used(Call& c) {
    c.media_used = true;
}

bool CallManager::Impl::extensions_want_direct(const Call& c) const {
    auto direct = [&](std::string_view number) {
        if (!is_extension_number(number)) return false;
        auto cred = services_.credentials.find(number);
        return cred && cred->media == "direct";
    };
    if (c.ext_number_.empty() || !direct(c.ext_number_)) return false;  // a trunk, or anchored
    for (const std::string& d : c.bridging.destinations)
        if (!direct(d)) return false;  // a SIP URI, an unknown number, an anchored extension
    return !c.bridging.destinations.empty();
}

// The media issue: every call's media is anchored on the PBX by default; an extension (its
// media setting) or the dialplan (bridge's media option) may take a call's media direct, which
// saves the relay's work and latency when the call needs nothing of the PBX's media.
void CallManager::Impl::choose_media(Call& c, BridgeMedia asked) {
    if (system_direct_) {  // every call's media is direct already
        if (asked == BridgeMedia::anchor)
            SB_DEBUG("call", "call {}: media stays direct: [media] mode is \"direct\"", c.id);
        return;
    }
    const bool direct = asked == BridgeMedia::direct ||
                        (asked == BridgeMedia::automatic && extensions_want_direct(c));
    const char* why = asked == BridgeMedia::direct ? "the dialplan asks for it"
                                                   : "the caller and callees are direct extensions";
    if (!direct) {
        if (c.direct_media)  // the caller has SDP of the direct session (a callee's early media)
            SB_DEBUG("call", "call {}: media stays direct: the caller already has a phone's SDP",
                     c.id);
        return;
    }
    if (c.direct_media) return;
    if (c.media_used) {
        SB_DEBUG("call",
                 "call {}: media stays anchored although {}: the call already uses the "
                 "PBX's media",
                 c.id, why);
        return;
    }
    switch_media(c, true);
    c.record.direct_media = true;
    SB_DEBUG("call", "call {}: direct media: {}", c.id, why);
}

void CallManager::Impl::switch_media(Call& c, bool direct) {
    // The old session goes (its destructor frees its ports): nothing of it reached the caller,
    // and the legs it offered to are over.
    c.media = (direct ? direct_engine() : services_.media).create_session();
    c.media->set_signalling(0, c.a_flow.remote);
    if (!c.tone_country.empty()) c.media->set_tone_country(0, c.tone_country);
    c.direct_media = direct;
}

// Starts the next destination (sequential) or all of them (simultaneous). Destinations that cannot
// ring (unknown, not registered) count as their failure response at once.
void CallManager::Impl::start_step(Call& c) {
    Call::Bridge& b = c.bridging;
    for (;;) {
        ++b.step;
        b.step_timed_out = false;
        std::size_t first = b.sequential ? b.next : 0;
        std::size_t last =
            b.sequential ? std::min(b.next + 1, b.destinations.size()) : b.destinations.size();
        b.next = last;
        std::size_t started = 0;
        std::int64_t now = services_.clock.unix_seconds();
        for (std::size_t i = first; i < last; ++i) {
            const std::string& dest = b.destinations[i];
            if (dest.starts_with("sip:")) {
                auto uri = sip::parse_uri(dest);
                auto ep = uri ? Endpoint::from_ip(uri->host.starts_with('[')
                                                      ? uri->host.substr(1, uri->host.size() - 2)
                                                      : uri->host,
                                                  uri->port_or_default())
                              : std::nullopt;
                if (!ep) {
                    b.statuses.push_back(416);  // only IP literals until trunks resolve names
                    continue;
                }
                Flow flow;
                flow.transport = TransportKind::udp;
                flow.local = c.a_flow.transport == TransportKind::udp ? c.a_flow.local : Endpoint{};
                flow.remote = *ep;
                if (int status = start_b_leg(c, dest, dest, flow, {}); status == 0)
                    ++started;
                else
                    b.statuses.push_back(status);
                continue;
            }
            if (!is_extension_number(dest)) {
                b.statuses.push_back(404);
                continue;
            }
            auto cred = services_.credentials.find(dest);
            if (!cred || !cred->enabled) {
                b.statuses.push_back(404);
                continue;
            }
            auto bindings = services_.locations.lookup("sip:" + dest, now);
            if (bindings.empty()) {
                b.statuses.push_back(480);
                continue;
            }
            std::size_t before = started;
            int failed = 503;
            for (const registrar::Binding& binding : bindings) {
                if (c.legs.size() > config_.max_destinations * 4) break;
                if (int status =
                        start_b_leg(c, dest, binding.contact, binding.received, binding.path);
                    status == 0)
                    ++started;
                else
                    failed = status;
            }
            if (started == before) b.statuses.push_back(failed);
        }
        if (started > 0) {
            wheel_.schedule(c.bridge_timer,
                            services_.clock.now() + std::chrono::seconds(b.timeout_s));
            return;
        }
        if (!(b.sequential && b.next < b.destinations.size())) break;
    }
    finish_bridge(c);
}

int CallManager::Impl::start_b_leg(Call& c, std::string_view destination, std::string_view target,
                                   const Flow& flow, const std::vector<std::string>& path) {
    auto owned = std::make_unique<Leg>(c, static_cast<std::uint32_t>(c.legs.size()));
    Leg& leg = *owned;
    leg.destination = std::string(destination);
    leg.step = c.bridging.step;
    leg.sent_by = sent_by_for(flow);
    dialog::Dialog& d = leg.dialog;
    d.call_id = make_shard_tag(shard_) + registrar::make_tag();
    d.local_tag = make_shard_tag(shard_);
    std::string user = is_extension_number(destination) ? std::string(destination) : std::string{};
    // From and To name our address rather than the realm: a phone can call back what it shows.
    std::string host = leg.sent_by.substr(0, leg.sent_by.rfind(':'));
    d.local_uri = (c.cid_name.empty() ? std::string{} : "\"" + c.cid_name + "\" ") +
                  "<sip:" + (c.cid_number.empty() ? std::string("anonymous") : c.cid_number) + "@" +
                  host + ">";
    d.remote_uri =
        user.empty() ? "<" + std::string(target) + ">" : "<sip:" + user + "@" + host + ">";
    d.remote_target = std::string(target);
    d.route_set = path;  // RFC 3327: a registration's Path becomes the Route towards it
    d.local_contact = contact_for(flow, leg.sent_by);
    d.local_cseq = 0;
    d.peer = flow;

    std::string headers;
    headers.append("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, MESSAGE, NOTIFY\r\n");
    headers.append("Supported: timer\r\n");
    headers.append("Session-Expires: ")
        .append(std::to_string(config_.session_expires_s))
        .append("\r\n");
    headers.append("Min-SE: ").append(std::to_string(config_.min_se_s)).append("\r\n");
    headers.append("User-Agent: ").append(config_.server_name).append("\r\n");
    for (const auto& [name, value] : c.extra_headers)
        headers.append(name).append(": ").append(value).append("\r\n");

    std::string body;
    std::string_view type = session_type(c.invite);
    c.media->set_signalling(leg.index, flow.remote);
    // The caller's current offer: the one we answered (the relay keeps that answer for it).
    std::string_view caller_offer = c.latest_offer.empty() ? c.invite.body() : c.latest_offer;
    if (!caller_offer.empty()) {
        auto offer = c.media->offer(0, leg.index, caller_offer);
        if (!offer) {
            // Said once per call: every destination would fail the same way.
            if (!c.media_failure_logged)
                SB_INFO("call", "call {}: the caller's offer cannot be relayed to {}: {}", c.id,
                        destination, offer.error().message);
            c.media_failure_logged = true;
            return offer.error().code == media::media_error::not_acceptable ? 488 : 503;
        }
        body = std::move(*offer);
    }
    leg.last_sdp_sent = body;
    std::string branch = txns_.make_branch();
    int mf = c.invite.max_forwards() < 0 ? 70 : std::max(0, c.invite.max_forwards() - 1);
    std::string request = dialog::build_request(d, {.method = "INVITE",
                                                    .branch = branch,
                                                    .sent_by = leg.sent_by,
                                                    .extra_headers = headers,
                                                    .content_type = type,
                                                    .body = body,
                                                    .max_forwards = mf});
    leg.invite_cseq = d.local_cseq;
    auto started = txns_.start_client(std::move(request), sip::Method::INVITE, std::move(branch),
                                      flow, *user_);
    if (!started) {
        SB_DEBUG("call", "call {}: INVITE to {} failed: {}", c.id, target, started.error().message);
        return 503;
    }
    leg.invite_txn = track_client(c, started, leg.index, ClientRef::invite);
    std::string key = dialog_key(d.call_id, d.local_tag);
    dialogs_[key] = {c.id, leg.index};
    c.dialog_keys.push_back(std::move(key));
    c.legs.push_back(std::move(owned));
    return 0;
}

void CallManager::Impl::on_b_invite_response(Call& c, Leg& leg, ClientRef&,
                                             const sip::Message& resp) {
    int status = resp.status();
    if (status < 200) {
        if (status == 100 || leg.invite_done || leg.cancelled) return;
        if (!resp.to_tag().empty()) {
            if (leg.dialog.remote_tag.empty()) dialog::uac_establish(leg.dialog, resp);
            leg.state = LegState::early;
        }
        if (c.ended) return;
        if (c.answered_locally) {
            // The caller has our answer: it hears the callee's early media through the relay
            // (its answer to the same offer keeps ours), or ringback we play in the call.
            if (!resp.body().empty())
                (void)c.media->answer(leg.index, 0, resp.body());
            else if (status == 180 && config_.ringback && !c.ringback_playing) {
                c.media->play_tone(0, media::dsp::Tone::ringback);
                c.ringback_playing = true;
            }
            return;
        }
        if (c.a_final_sent) return;
        // Ringing and early media reach the caller (one early dialog on the A side, whichever
        // fork rings). SDP in a 1xx is an answer to the caller's offer.
        std::string body;
        std::string_view type;
        if (!resp.body().empty() && !c.invite.body().empty()) {
            // The callee's own early media (its answer stops our ringback).
            if (auto a = c.media->answer(leg.index, 0, resp.body())) {
                body = std::move(*a);
                type = session_type(resp);
                mark_media_used(c);  // the caller's media now goes where this SDP says
            }
        } else if (status == 180 && config_.ringback && !c.invite.body().empty()) {
            // Ringing without media: we play ringback, in the caller's codec and the tone
            // plan of the system, as early media (a 180 with our answer).
            if (auto early = early_media(c)) {
                body = *early;
                type = "application/sdp";
                if (!c.ringback_playing) c.media->play_tone(0, media::dsp::Tone::ringback);
                c.ringback_playing = true;
            }
        }
        respond_a(c, status, resp.reason(), {}, type, body);
        return;
    }
    if (status < 300) {
        if (&leg == c.winner || (leg.state == LegState::terminated && !leg.ack.empty())) {
            // A retransmitted 2xx: our ACK was lost.
            if (!leg.ack.empty()) (void)sender_.send(leg.dialog.peer, leg.ack);
            return;
        }
        if (c.winner || c.ended || leg.cancelled || (c.a_final_sent && !c.answered_locally)) {
            release_late_answer(c, leg, resp);
            return;
        }
        // The caller's SDP from this answer (or, for a caller that made no offer, this callee's
        // offer), made before anything is decided: a callee whose SDP we cannot take never
        // becomes the winner, and the caller never gets a 2xx without the SDP it must carry.
        std::optional<std::string> sdp;
        if (!resp.body().empty()) {
            auto made = c.invite.body().empty() ? c.media->offer(leg.index, 0, resp.body())
                                                : c.media->answer(leg.index, 0, resp.body());
            if (!made) {
                reject_answer(c, leg, resp, made.error().message);
                return;
            }
            sdp = std::move(*made);
        }
        leg.invite_done = true;
        leg.final_status = status;
        leg.final_reason = std::string(resp.reason());
        answer_a_from(c, leg, resp, std::move(sdp));
        return;
    }
    // A failure of this fork.
    bool first = !leg.invite_done;
    leg.invite_done = true;
    leg.state = LegState::terminated;
    if (!first) return;
    leg.final_status = status;
    leg.final_reason = std::string(resp.reason());
    if (leg.cancelled || leg.step != c.bridging.step || !c.bridging.active) return;
    c.bridging.statuses.push_back(status);
    if (status >= 600) {
        // 16.7 step 5: a 6xx ends the search; the other forks are cancelled.
        for (auto& l : c.legs)
            if (l->index != 0 && l->step == c.bridging.step && !l->invite_done && !l->cancelled)
                cancel_leg(*l, "another destination declined");
        c.bridging.next = c.bridging.destinations.size();
    }
    step_done(c);
}

void CallManager::Impl::on_b_invite_failure(Call& c, Leg& leg, int status, const char* reason) {
    if (leg.invite_done) return;
    leg.invite_done = true;
    leg.state = LegState::terminated;
    leg.final_status = status;
    leg.final_reason = reason;
    if (leg.cancelled || leg.step != c.bridging.step || !c.bridging.active) return;
    c.bridging.statuses.push_back(status);
    step_done(c);
}

// A failure (or timeout) came in: when no fork of the step is still ringing, go on.
void CallManager::Impl::step_done(Call& c) {
    for (auto& l : c.legs)
        if (l->index != 0 && l->step == c.bridging.step && !l->invite_done && !l->cancelled) return;
    wheel_.cancel(c.bridge_timer);
    if (c.bridging.sequential && c.bridging.next < c.bridging.destinations.size()) {
        start_step(c);
        return;
    }
    finish_bridge(c);
}

void CallManager::Impl::finish_bridge(Call& c) {
    Call::Bridge& b = c.bridging;
    if (!b.active) return;
    b.active = false;
    wheel_.cancel(c.bridge_timer);
    if (c.answered_locally && c.ringback_playing) {
        c.media->stop_tone(0);
        c.ringback_playing = false;
    }
    Outcome outcome = bridge_outcome(best_final_response(b.statuses), b.step_timed_out);
    SB_DEBUG("call", "call {}: bridge ended: {} {}", c.id, to_string(outcome.result), outcome.code);
    if (c.direct_media && !c.media_used) {
        // Unanswered, and the caller got no phone's SDP: what follows (a prompt, voicemail, a
        // busy tone, another bridge) has the PBX's media again.
        switch_media(c, false);
        SB_DEBUG("call", "call {}: media anchored again after the direct bridge", c.id);
    }
    deliver_outcome(c, outcome);
}

void CallManager::Impl::on_bridge_timeout(Call& c) {
    if (!c.bridging.active) return;
    c.bridging.step_timed_out = true;
    for (auto& l : c.legs)
        if (l->index != 0 && l->step == c.bridging.step && !l->invite_done && !l->cancelled)
            cancel_leg(*l, "no answer");
    if (c.bridging.sequential && c.bridging.next < c.bridging.destinations.size()) {
        start_step(c);
        return;
    }
    finish_bridge(c);
}

void CallManager::Impl::cancel_leg(Leg& leg, const char* why) {
    leg.cancelled = true;
    leg.final_reason = std::string("cancelled: ") + why;
    if (!leg.invite_txn || leg.invite_done) return;
    Call& c = leg.call;
    auto cancel = txns_.cancel_client(leg.invite_txn, *user_);
    if (cancel) track_client(c, cancel, leg.index, ClientRef::cancel);
    release_media(c, leg);
}

void CallManager::Impl::send_ack(Leg& leg, std::uint32_t cseq, std::string_view content_type,
                                 std::string_view body) {
    std::string branch = txns_.make_branch();
    leg.ack = dialog::build_ack(
        leg.dialog, cseq,
        {.branch = branch, .sent_by = leg.sent_by, .content_type = content_type, .body = body});
    leg.ack_cseq = cseq;
    leg.ack_waits_for_answer = false;
    (void)sender_.send(leg.dialog.peer, leg.ack);
}

txn::ClientTxnId CallManager::Impl::send_in_dialog(Call& c, Leg& leg, std::string_view method,
                                                   ClientRef::Kind kind,
                                                   std::string_view extra_headers,
                                                   std::string_view content_type,
                                                   std::string_view body) {
    std::string branch = txns_.make_branch();
    std::string request = dialog::build_request(leg.dialog, {.method = method,
                                                             .branch = branch,
                                                             .sent_by = leg.sent_by,
                                                             .extra_headers = extra_headers,
                                                             .content_type = content_type,
                                                             .body = body});
    sip::Method m = method == "INVITE"    ? sip::Method::INVITE
                    : method == "BYE"     ? sip::Method::BYE
                    : method == "UPDATE"  ? sip::Method::UPDATE
                    : method == "INFO"    ? sip::Method::INFO
                    : method == "MESSAGE" ? sip::Method::MESSAGE
                    : method == "NOTIFY"  ? sip::Method::NOTIFY
                                          : sip::Method::extension;
    return track_client(
        c, txns_.start_client(std::move(request), m, std::move(branch), leg.dialog.peer, *user_),
        leg.index, kind);
}

// The first 2xx: this fork wins. The others are cancelled, the B-leg is ACKed (or, when its 2xx
// carries the offer, ACKed once the caller's ACK brings the answer) and the caller gets 200.
void CallManager::Impl::answer_a_from(Call& c, Leg& winner, const sip::Message& resp,
                                      std::optional<std::string> sdp) {
    c.winner = &winner;
    c.answered = true;
    c.bridging.active = false;
    if (!c.answered_locally) {
        c.record.answered_at = now_ms();
        c.record.answer_ms = (services_.clock.now() - c.began).count();
    }
    wheel_.cancel(c.bridge_timer);
    dialog::uac_establish(winner.dialog, resp);
    winner.state = LegState::confirmed;
    winner.peer_allows_update = false;
    resp.for_each_value(sip::HeaderId::allow, [&](std::string_view m) {
        if (sip::iequals(m, "UPDATE")) winner.peer_allows_update = true;
        return !winner.peer_allows_update;
    });
    for (auto& l : c.legs)
        if (l->index != 0 && l.get() != &winner && !l->invite_done && !l->cancelled)
            cancel_leg(*l, "answered elsewhere");

    bool caller_offered = !c.invite.body().empty();
    std::string body = sdp ? std::move(*sdp) : std::string{};
    std::string_view type = session_type(resp);
    if (caller_offered || resp.body().empty())
        send_ack(winner, resp.cseq(), {}, {});
    else {
        winner.ack_waits_for_answer = true;
        winner.ack_cseq = resp.cseq();
    }
    take_session_timer_b(winner, resp);
    if (c.answered_locally) {
        // The caller has had our answer since answer(); the relay kept it for this callee's
        // answer to the same offer, so the caller needs no second 2xx and no re-INVITE.
        if (c.ringback_playing) c.media->stop_tone(0);
        c.ringback_playing = false;
        arm_session_timer(winner);
        deliver_outcome(c, Outcome{BridgeResult::answered, resp.status()});
        return;
    }

    std::string extra;
    negotiate_session_timer_a(c, extra);
    c.a().state = LegState::confirmed;
    c.a().last_sdp_sent = body;
    respond_a(c, 200, "OK", extra, body.empty() ? std::string_view{} : type, body);
    arm_session_timer(c.a());
    arm_session_timer(winner);
    wheel_.schedule(c.duration_timer, services_.clock.now() + config_.max_call_duration);
    deliver_outcome(c, Outcome{BridgeResult::answered, resp.status()});
}

// A 2xx whose SDP the media engine refuses (malformed, or accepting nothing we offered): the
// callee is ACKed and released with BYE (RFC 3261 14.2 has a UA that cannot take an answer end
// the session), and the destination counts as 488, so that another fork or the dialplan goes on.
void CallManager::Impl::reject_answer(Call& c, Leg& leg, const sip::Message& resp,
                                      const std::string& why) {
    SB_INFO("call", "call {}: {} answered with SDP we cannot take ({}); releasing it", c.id,
            leg.destination, why);
    leg.invite_done = true;
    if (leg.dialog.remote_tag.empty() || leg.dialog.remote_tag != resp.to_tag())
        dialog::uac_establish(leg.dialog, resp);
    send_ack(leg, resp.cseq(), {}, {});
    leg.final_status = 488;
    leg.final_reason = "its SDP was refused: " + why;
    leg.state = LegState::terminated;
    send_in_dialog(c, leg, "BYE", ClientRef::bye, {}, {}, {});
    release_media(c, leg);
    if (leg.cancelled || leg.step != c.bridging.step || !c.bridging.active) return;
    c.bridging.statuses.push_back(488);
    step_done(c);
}

// A 2xx after the call was decided (another fork answered, the caller left, we cancelled): ACK it
// so the phone stops retransmitting, then end that dialog with BYE (RFC 3261 16.7 would forward
// it; a B2BUA has nobody to forward it to).
void CallManager::Impl::release_late_answer(Call& c, Leg& leg, const sip::Message& resp) {
    bool first = leg.ack.empty();
    leg.invite_done = true;
    if (leg.dialog.remote_tag.empty() || leg.dialog.remote_tag != resp.to_tag())
        dialog::uac_establish(leg.dialog, resp);
    send_ack(leg, resp.cseq(), {}, {});
    if (!first) return;
    leg.final_status = resp.status();
    leg.final_reason = "answered late: released with BYE";
    leg.state = LegState::terminated;
    send_in_dialog(c, leg, "BYE", ClientRef::bye, {}, {}, {});
}

}  // namespace sb::call
