// Requests within a bridged call's dialogs: BYE ends both legs; re-INVITE, UPDATE, INFO, MESSAGE
// and NOTIFY are relayed to the other leg and its answer relayed back, but for key presses in
// INFO (digits.cpp) and for holds, which we answer ourselves while the other leg hears music
// (on_hold_request); ACKs; RFC 4028 session timers per leg.
#include <charconv>

#include "impl.h"
#include "sb/common/log.h"
#include "sb/media/sdp.h"
#include "sb/sip/text.h"

namespace sb::call {

namespace {

bool is_offer_answer(sip::Method m) {
    return m == sip::Method::INVITE || m == sip::Method::UPDATE;
}

bool relayable(sip::Method m) {
    switch (m) {
        case sip::Method::INVITE:
        case sip::Method::UPDATE:
        case sip::Method::INFO:
        case sip::Method::MESSAGE:
        case sip::Method::NOTIFY:
            return true;
        default:
            return false;
    }
}

// Headers that describe the relayed request's content or purpose; the rest belongs to the hop.
constexpr std::string_view kRelayedHeaders[] = {"Content-Disposition", "Info-Package", "Event",
                                                "Subscription-State",  "Subject",      "Priority"};

std::string relayed_headers(const sip::Message& m) {
    std::string out;
    for (const sip::HeaderField& f : m.headers())
        for (std::string_view name : kRelayedHeaders)
            if (sip::iequals(f.name, name))
                out.append(name).append(": ").append(f.value).append("\r\n");
    return out;
}

// "1800;refresher=uac" -> 1800, and the refresher ("" if none).
std::uint32_t parse_session_expires(std::string_view value, std::string_view& refresher) {
    std::uint32_t n = 0;
    std::string_view digits = sip::trim(value.substr(0, value.find(';')));
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || p != digits.data() + digits.size()) return 0;
    refresher = {};
    std::size_t at = value.find("refresher=");
    if (at != std::string_view::npos) {
        refresher = value.substr(at + 10, 3);
    }
    return n;
}

// What an offer does to the other side: RFC 3264 8.4, a hold makes the audio stream sendonly or
// inactive; older phones set the stream's address to 0.0.0.0 instead (RFC 2543). unknown: no
// SDP to tell by (none, unparsable, no audio stream).
enum class OfferHold { unknown, hold, resume };

// `stream`: the m= line the media engine anchors, when it chose one; else the first enabled
// audio stream.
OfferHold offer_hold(std::string_view sdp, std::optional<std::size_t> stream) {
    if (sdp.empty()) return OfferHold::unknown;
    auto session = media::sdp::parse(sdp);
    if (!session) return OfferHold::unknown;
    for (std::size_t i = 0; i < session->media.size(); ++i) {
        const media::sdp::Media& m = session->media[i];
        if (stream ? i != *stream : m.type != "audio" || m.port == 0) continue;
        const media::sdp::Direction d = session->direction_of(m);
        if (d == media::sdp::Direction::sendonly || d == media::sdp::Direction::inactive)
            return OfferHold::hold;
        const media::sdp::Connection* c = session->connection_of(m);
        const bool old_style = c && (c->address == "0.0.0.0" || c->address == "::");
        return old_style ? OfferHold::hold : OfferHold::resume;
    }
    return OfferHold::unknown;
}

bool supports_timer(const sip::Message& m) {
    bool yes = false;
    m.for_each_value(sip::HeaderId::supported, [&](std::string_view t) {
        yes = sip::iequals(t, "timer");
        return !yes;
    });
    return yes;
}

}  // namespace

void CallManager::Impl::on_in_dialog_request(txn::ServerTxnId id, const sip::Message& req,
                                             const Flow& flow) {
    auto d = dialogs_.find(dialog_key(req.call_id(), req.to_tag()));
    if (d == dialogs_.end()) return reply(id, req, flow, 481, "Call/Transaction Does Not Exist");
    auto it = calls_.find(d->second.first);
    if (it == calls_.end()) return reply(id, req, flow, 481, "Call/Transaction Does Not Exist");
    Call& c = *it->second;
    Leg* leg = leg_of(c, d->second.second);
    if (!leg || c.ended) return reply(id, req, flow, 481, "Call/Transaction Does Not Exist");
    if (!dialog::accept_remote_cseq(leg->dialog, req.cseq()))
        return reply(id, req, flow, 500, "Server Internal Error (CSeq out of order)");

    sip::Method method = req.method();
    if (method == sip::Method::BYE) {
        reply(id, req, flow, 200, "OK");
        if (leg->index == 0)
            end_call(c, "caller hung up", leg, c.answered ? 0 : 487);
        else if (leg == c.winner)
            end_call(c, "callee hung up", leg);
        else
            leg->state = LegState::terminated;  // a fork that never won ends its own early dialog
        return;
    }
    if (!relayable(method)) return reply(id, req, flow, 501, "Not Implemented");
    // A key press by INFO (RFC 6086 legacy usage) from the caller or the bridged callee: the
    // other leg gets it through the media engine (RFC 4733 or in-band), whatever it takes.
    if (method == sip::Method::INFO && !req.body().empty() &&
        (leg->index == 0 || leg == c.winner) && on_dtmf_info(c, *leg, id, req, flow))
        return;
    if (leg->index == 0 && c.answered_locally && !c.winner)
        return on_local_request(c, *leg, id, req, flow);
    Leg* other = other_leg(c, *leg);
    if (!c.answered || !other || other->state != LegState::confirmed ||
        leg->state != LegState::confirmed)
        return reply(id, req, flow, 491, "Request Pending", {}, "Retry-After: 2\r\n");
    // One relayed request at a time per direction; an offer while another is open is glare (14.1).
    // A request of ours towards this leg still open (relayed from the other side, or a session
    // refresh) crosses this one: 491 as well.
    if (leg->relay_in || other->relay_out || leg->relay_out || other->relay_in ||
        (method == sip::Method::INVITE && leg->pending_2xx))
        return reply(id, req, flow, 491, "Request Pending", {}, "Retry-After: 1\r\n");
    if (is_offer_answer(method) && on_hold_request(c, *leg, *other, id, req, flow)) return;

    std::string body(req.body());
    std::string_view type =
        req.body().empty() ? std::string_view{} : req.value(sip::HeaderId::content_type);
    bool offer = false;
    if (is_offer_answer(method)) {
        dialog::refresh_target(leg->dialog, req);
        arm_session_timer(*leg);  // the peer refreshed the session
        if (!body.empty()) {
            auto sdp = c.media->offer(leg->index, other->index, body);
            if (!sdp) return reply(id, req, flow, 488, "Not Acceptable Here");
            body = std::move(*sdp);
            offer = true;
            other->last_sdp_sent = body;
        }
    }
    std::string headers = relayed_headers(req);
    txn::ClientTxnId out =
        send_in_dialog(c, *other, req.method_text(), ClientRef::relay, headers, type, body);
    if (!out) return reply(id, req, flow, 503, "Service Unavailable", {}, "Retry-After: 1\r\n");
    leg->relay_in = id;
    leg->relay_in_offer = offer;
    other->relay_out = out;
    server_txns_[id] = ServerRef{c.id, leg->index, ServerRef::relay};
    c.server_ids.push_back(id);
}

// A request from a caller we answered ourselves while no callee is bridged (answer(), a
// conference): we are its only peer, so we answer it. OPTIONS never comes here (the shard's
// OPTIONS responder answers it, in a dialog or not).
void CallManager::Impl::on_local_request(Call& c, Leg& a, txn::ServerTxnId id,
                                         const sip::Message& req, const Flow& flow) {
    const sip::Method method = req.method();
    if (method == sip::Method::INFO) {
        // Key presses were taken before (on_dtmf_info); an INFO without a body is a keepalive.
        if (req.body().empty()) return reply(id, req, flow, 200, "OK");
        return reply(id, req, flow, 415, "Unsupported Media Type", {},
                     "Accept: application/dtmf-relay, application/dtmf\r\n");  // RFC 6086 4.2.2
    }
    if (!is_offer_answer(method))
        return reply(id, req, flow, 405, "Method Not Allowed", {},
                     "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO\r\n");
    const bool invite = method == sip::Method::INVITE;
    // RFC 3261 14.1: a re-INVITE while our 2xx to the last INVITE still waits for its ACK.
    if (invite && a.pending_2xx)
        return reply(id, req, flow, 491, "Request Pending", {}, "Retry-After: 1\r\n");
    std::string body;
    if (!req.body().empty()) {
        // Hold, resume, a new address or codec: the relay answers it on the leg's own port.
        auto sdp = c.media->local_answer(0, req.body());
        if (!sdp) {
            SB_INFO("call", "call {}: the caller's new offer is refused: {}", c.id,
                    sdp.error().message);
            return reply(id, req, flow, 488, "Not Acceptable Here");
        }
        c.latest_offer = std::string(req.body());
        a.last_sdp_sent = std::move(*sdp);
        body = a.last_sdp_sent;
    } else if (invite) {
        // RFC 3261 14.2: a re-INVITE without an offer asks for ours (its answer comes in the
        // ACK); an UPDATE without one (a session refresh) gets none (RFC 3311 5.2).
        body = a.last_sdp_sent;
    }
    reply_local_2xx(a, id, req, flow, body);
}

void CallManager::Impl::reply_local_2xx(Leg& leg, txn::ServerTxnId id, const sip::Message& req,
                                        const Flow& flow, std::string_view body) {
    dialog::refresh_target(leg.dialog, req);
    arm_session_timer(leg);  // the peer refreshed the session (RFC 4028 10)
    std::string extra = "Contact: " + leg.dialog.local_contact + "\r\n";
    if (leg.session_expires_s != 0) {
        // RFC 4028 9: without Session-Expires in our 2xx the peer would stop refreshing. We are
        // the UAS of this request, whichever side of the dialog we are.
        extra += "Session-Expires: " + std::to_string(leg.session_expires_s) +
                 (leg.we_refresh ? ";refresher=uas" : ";refresher=uac") + "\r\n";
        if (supports_timer(req)) extra += "Require: timer\r\n";
    }
    std::string bytes = make_reply(req, flow, 200, "OK", {}, extra,
                                   body.empty() ? std::string_view{} : "application/sdp", body);
    txns_.respond(id, bytes, 200);
    if (req.method() == sip::Method::INVITE) {
        leg.answer_in_ack = req.body().empty() && !body.empty();
        start_2xx_retransmission(leg, id, std::move(bytes), req.cseq());
    }
}

// Music on hold, as Asterisk does it: a leg that puts the other on hold gets our own answer
// (the relay keeps its port: forwarding resumes by itself with the next sendrecv offer) and
// the other leg hears music instead of a re-INVITE. While either leg holds, both legs' offers
// are answered here, so that no relayed answer pairs the legs anew and stops the music.
bool CallManager::Impl::on_hold_request(Call& c, Leg& leg, Leg& other, txn::ServerTxnId id,
                                        const sip::Message& req, const Flow& flow) {
    const bool on_hold = leg.holding || other.holding;
    if (!on_hold && config_.music_on_hold.empty()) return false;
    const OfferHold what = offer_hold(req.body(), c.media->anchored_stream(req.body()));
    const bool starts = what == OfferHold::hold && !leg.holding;
    std::shared_ptr<const media::dsp::Prompt> music;
    if (starts && !config_.music_on_hold.empty()) {
        auto loaded = media::dsp::load_prompt(config_.prompts_dir, config_.music_on_hold);
        if (loaded)
            music = std::move(*loaded);
        else
            SB_WARN("call", "call {}: music on hold: {}", c.id, loaded.error().message);
    }
    if (!on_hold && !music) return false;  // no hold, or no music for it: relayed as ever

    std::string body;
    if (!req.body().empty()) {
        auto sdp = c.media->local_answer(leg.index, req.body());
        if (!sdp) {
            if (!on_hold) return false;  // media not anchored (direct): relayed as ever
            SB_INFO("call", "call {}: the new offer of leg {} on hold is refused: {}", c.id,
                    leg.index, sdp.error().message);
            reply(id, req, flow, 488, "Not Acceptable Here");
            return true;
        }
        leg.last_sdp_sent = std::move(*sdp);
        body = leg.last_sdp_sent;
    } else if (req.method() == sip::Method::INVITE) {
        body = leg.last_sdp_sent;  // RFC 3261 14.2: an offer of ours (its answer in the ACK)
    }
    if (starts) {
        leg.holding = true;
        if (!music || !c.media->play_music(other.index, std::move(music)))
            SB_WARN("call", "call {}: no music on hold for leg {}", c.id, other.index);
        SB_DEBUG("call", "call {}: leg {} holds leg {}", c.id, leg.index, other.index);
    } else if (what == OfferHold::resume && leg.holding) {
        leg.holding = false;
        c.media->stop_tone(other.index);
        SB_DEBUG("call", "call {}: leg {} resumes leg {}", c.id, leg.index, other.index);
    }
    reply_local_2xx(leg, id, req, flow, body);
    return true;
}

void CallManager::Impl::on_relay_response(Call& c, Leg& out_leg, txn::ClientTxnId id,
                                          const sip::Message& resp) {
    int status = resp.status();
    if (status < 200) return;
    bool invite = resp.cseq_method() == sip::Method::INVITE;
    if (out_leg.relay_out != id) {
        // A retransmitted 2xx to a relayed re-INVITE we already answered: our ACK was lost.
        if (invite && status < 300 && !out_leg.ack.empty() && out_leg.ack_cseq == resp.cseq())
            (void)sender_.send(out_leg.dialog.peer, out_leg.ack);
        return;
    }
    out_leg.relay_out = {};
    Leg* in = other_leg(c, out_leg);
    const sip::Message* req = in && in->relay_in ? txns_.request(in->relay_in) : nullptr;
    const Flow* flow = in && in->relay_in ? txns_.flow(in->relay_in) : nullptr;
    if (!req || !flow) {
        if (invite && status < 300) send_ack(out_leg, resp.cseq(), {}, {});
        if (in) in->relay_in = {};
        return;
    }
    txn::ServerTxnId sid = in->relay_in;
    in->relay_in = {};
    if (status >= 300) {
        reply(sid, *req, *flow, status, resp.reason());
        // RFC 5057: 481 and 408 to a request within a dialog end that dialog.
        if (status == 481 || status == 408)
            end_call(c, "the other side's dialog is gone", &out_leg);
        return;
    }
    std::string body(resp.body());
    std::string_view type =
        resp.body().empty() ? std::string_view{} : resp.value(sip::HeaderId::content_type);
    if (is_offer_answer(resp.cseq_method())) {
        dialog::refresh_target(out_leg.dialog, resp);
        if (!body.empty()) {
            auto sdp = in->relay_in_offer ? c.media->answer(out_leg.index, in->index, body)
                                          : c.media->offer(out_leg.index, in->index, body);
            if (!sdp) {
                // Never the other phone's own SDP instead. An answer we refuse: the requester
                // gets 488 and keeps the session it had (RFC 3261 14.2). An offer we refuse (to
                // an offer-less re-INVITE) cannot be answered in the ACK: the call ends.
                SB_INFO("call", "call {}: leg {}'s SDP in its {} to a relayed {} is refused: {}",
                        c.id, out_leg.index, status, req->method_text(), sdp.error().message);
                if (invite) send_ack(out_leg, resp.cseq(), {}, {});
                reply(sid, *req, *flow, 488, "Not Acceptable Here");
                if (!in->relay_in_offer) end_call(c, "a re-offer was refused", nullptr);
                return;
            }
            body = std::move(*sdp);
            in->last_sdp_sent = body;
        }
    }
    if (invite) {
        if (in->relay_in_offer || resp.body().empty())
            send_ack(out_leg, resp.cseq(), {}, {});
        else {
            out_leg.ack_waits_for_answer = true;
            out_leg.ack_cseq = resp.cseq();
        }
    }
    std::string extra;
    if (is_offer_answer(resp.cseq_method()))
        extra.append("Contact: ").append(in->dialog.local_contact).append("\r\n");
    std::string bytes = make_reply(*req, *flow, status, resp.reason(), {}, extra, type, body);
    std::uint32_t cseq = req->cseq();
    txns_.respond(sid, bytes, status);
    if (invite) start_2xx_retransmission(*in, sid, std::move(bytes), cseq);
}

void CallManager::Impl::on_relay_failure(Call& c, Leg& out_leg, int status) {
    out_leg.relay_out = {};
    Leg* in = other_leg(c, out_leg);
    if (in && in->relay_in) {
        const sip::Message* req = txns_.request(in->relay_in);
        const Flow* flow = txns_.flow(in->relay_in);
        if (req && flow) reply(in->relay_in, *req, *flow, status, sip::default_reason(status));
        in->relay_in = {};
    }
    end_call(c, "the other side stopped answering", &out_leg);
}

void CallManager::Impl::on_in_dialog_ack(Call& c, Leg& leg, const sip::Message& ack) {
    if (leg.pending_2xx && ack.cseq() == leg.pending_2xx->cseq) {
        // The first ACK only: the caller resends it for each retransmitted 2xx.
        leg.pending_2xx.reset();
        wheel_.cancel(leg.retransmit_timer);
        if (leg.bye_after_ack) {
            leg.bye_after_ack = false;
            send_in_dialog(c, leg, "BYE", ClientRef::bye, {}, {}, {});
            return;
        }
        if (leg.answer_in_ack) {
            leg.answer_in_ack = false;
            take_answer_to_our_offer(c, leg, ack.body(), "its ACK");
        }
    }
    // A late offer: the other leg's 2xx carried the offer, and this ACK carries the answer.
    Leg* other = other_leg(c, leg);
    if (other && other->ack_waits_for_answer) {
        std::string body;
        std::string_view type;
        bool refused = false;
        if (!ack.body().empty()) {
            if (auto sdp = c.media->answer(leg.index, other->index, ack.body())) {
                body = std::move(*sdp);
                type = ack.value(sip::HeaderId::content_type);
                // A session refresh re-offers it (else the refresh has no offer, and the ACK
                // of the 2xx that then carries one would lack its answer: 13.2.1).
                other->last_sdp_sent = body;
            } else {
                SB_INFO("call", "call {}: leg {}'s answer in its ACK is refused: {}", c.id,
                        leg.index, sdp.error().message);
                refused = true;
            }
        }
        send_ack(*other, other->ack_cseq, type, body);
        // An offer left without an answer cannot stand (RFC 3261 13.2.1): the call ends.
        if (refused) end_call(c, "an answer in an ACK was refused", nullptr);
    }
}

// RFC 3261 14.2: a re-INVITE without an offer got ours (the last SDP we sent, in our 2xx) and
// its ACK brings the answer; a session refresh of ours (an offer, the last SDP again) gets it in
// the 2xx. Either may bring a new address, a direction, the codecs the leg accepted. The media
// seam has no call for "the answer to our own offer", so the engine takes it as local_answer
// takes a new offer: an answer holds a subset of our offer's codecs and mirrors its direction,
// so our answer to it is the session both sides now have. What the engine would send back
// becomes the SDP we last sent (it counts as sent for the o= version, RFC 3264 8).
void CallManager::Impl::take_answer_to_our_offer(Call& c, Leg& leg, std::string_view sdp,
                                                 std::string_view in) {
    if (sdp.empty()) {
        // 13.2.1: the answer MUST be there; keep the media as it was.
        SB_INFO("call", "call {}: leg {}: {} carries no answer to our offer", c.id, leg.index, in);
        return;
    }
    auto ours = c.media->local_answer(leg.index, sdp);
    if (!ours) {
        SB_INFO("call", "call {}: leg {}: the answer in {} is refused: {}", c.id, leg.index, in,
                ours.error().message);
        return;
    }
    leg.last_sdp_sent = std::move(*ours);
    if (leg.index == 0) c.latest_offer = std::string(sdp);
}

// --- RFC 4028 session timers -----------------------------------------------------------------

// The caller's side: we answer with the interval it asked for (never below Min-SE) and let it
// refresh when it supports timers; when it does not, we refresh ourselves (refresher=uas).
void CallManager::Impl::negotiate_session_timer_a(Call& c, std::string& extra) {
    Leg& a = c.a();
    std::string_view se = c.invite.value(sip::HeaderId::session_expires);
    bool supported = supports_timer(c.invite);
    if (se.empty() && !supported) return;
    std::string_view refresher;
    std::uint32_t n = se.empty() ? config_.session_expires_s : parse_session_expires(se, refresher);
    if (n == 0) n = config_.session_expires_s;
    n = std::max(n, config_.min_se_s);
    bool caller_refreshes = supported && refresher != "uas";
    a.session_expires_s = n;
    a.we_refresh = !caller_refreshes;
    c.invite.for_each_value(sip::HeaderId::allow, [&](std::string_view m) {
        if (sip::iequals(m, "UPDATE")) a.peer_allows_update = true;
        return !a.peer_allows_update;
    });
    extra.append("Session-Expires: ")
        .append(std::to_string(n))
        .append(caller_refreshes ? ";refresher=uac" : ";refresher=uas")
        .append("\r\n");
    if (supported) extra.append("Require: timer\r\n");
}

// The callee's side: its 2xx says who refreshes (we offered Supported: timer).
void CallManager::Impl::take_session_timer_b(Leg& leg, const sip::Message& resp) {
    std::string_view se = resp.value(sip::HeaderId::session_expires);
    if (se.empty()) return;
    std::string_view refresher;
    std::uint32_t n = parse_session_expires(se, refresher);
    if (n == 0) return;
    leg.session_expires_s = std::max(n, config_.min_se_s);
    leg.we_refresh = refresher != "uas";
}

void CallManager::Impl::arm_session_timer(Leg& leg) {
    if (leg.session_expires_s == 0) return;
    std::uint32_t s = leg.session_expires_s;
    // Refresh at half the interval; as the watcher, allow the peer's refresh until shortly before
    // expiry (RFC 4028 10: the smaller of 32 s and a third of the interval).
    std::uint32_t at = leg.we_refresh ? s / 2 : s - std::min<std::uint32_t>(32, s / 3);
    wheel_.schedule(leg.session_timer, services_.clock.now() + std::chrono::seconds(at));
}

void CallManager::Impl::session_timer_fired(Leg& leg) {
    Call& c = leg.call;
    if (c.ended || leg.state != LegState::confirmed) return;
    if (!leg.we_refresh) {
        SB_INFO("call", "call {}: session expired on leg {} (no refresh); ending the call", c.id,
                leg.index);
        end_call(c, "session timer expired", nullptr);  // RFC 4028 10: BYE to both, this leg too
        return;
    }
    if (leg.relay_out || leg.pending_2xx) {
        // A relayed re-INVITE or UPDATE is in progress, which refreshes the session anyway.
        wheel_.schedule(leg.session_timer, services_.clock.now() + std::chrono::seconds(2));
        return;
    }
    std::string headers = "Session-Expires: " + std::to_string(leg.session_expires_s) +
                          (leg.index == 0 ? ";refresher=uas" : ";refresher=uac") + "\r\n";
    if (leg.peer_allows_update) {
        send_in_dialog(c, leg, "UPDATE", ClientRef::refresh, headers, {}, {});
    } else {
        send_in_dialog(
            c, leg, "INVITE", ClientRef::refresh, headers,
            leg.last_sdp_sent.empty() ? std::string_view{} : std::string_view("application/sdp"),
            leg.last_sdp_sent);
    }
    arm_session_timer(leg);
}

}  // namespace sb::call
