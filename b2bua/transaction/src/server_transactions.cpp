// Server transactions: INVITE (RFC 3261 17.2.1 with RFC 6026 7.1 "Accepted") and non-INVITE
// (17.2.2), matching (17.2.3) and the overload answer.
#include <fmt/core.h>

#include <algorithm>

#include "layer_impl.h"
#include "sb/common/log.h"
#include "sb/txn/message_builders.h"
#include "sb/txn/response_route.h"

namespace sb::txn {

std::uint16_t sent_by_port(const sip::Via& via) {
    if (via.has_port) return via.port;
    return sip::iequals(via.transport, "TLS") ? 5061 : 5060;
}

namespace {

constexpr MethodKey kInvite{sip::Method::INVITE, {}};

MethodKey method_of(const sip::Message& m) { return MethodKey::of(m.method(), m.method_text()); }

ServerKey key_of(const sip::Message& m, MethodKey method) {
    const sip::Via& v = m.top_via();
    return ServerKey{v.branch, v.host, sent_by_port(v), method, m.call_id(), m.request_uri_text()};
}

LegacyKey legacy_key_of(const sip::Message& m, MethodKey method) {
    return LegacyKey{m.call_id(), m.cseq(), m.from_tag(), method};
}

// "top Via header field match" of the RFC 2543 rules: same sent-by, transport and parameters.
bool same_top_via(const sip::Via& a, const sip::Via& b) {
    return sip::iequals(a.host, b.host) && sent_by_port(a) == sent_by_port(b) &&
           sip::iequals(a.transport, b.transport) && a.params == b.params;
}

// The To tag of a response we sent. Parsed only when needed (RFC 2543 ACK matching, the 500 a
// silent TU gets), so the common path never re-parses what the TU built.
std::string to_tag_of(std::string_view response) {
    sip::Message m;
    if (!sip::parse_message(response, sip::Framing::datagram, sip::Limits{}, m)) return {};
    return std::string(m.to_tag());
}

std::string trying_for(const sip::Message& request, const sb::Flow& flow) {
    std::string extra;
    if (const sip::HeaderField* ts = request.find(sip::HeaderId::timestamp))
        extra = fmt::format("Timestamp: {}\r\n", ts->value);  // 8.2.6.1
    return build_response(request, 100, {}, {}, flow, extra);
}

}  // namespace

void ServerTxn::on_retransmit_timer() { layer->server_retransmit_timer(*this); }
void ServerTxn::on_lifetime_timer() { layer->server_lifetime_timer(*this); }

ServerTxn* LayerImpl::server_by_id(std::uint64_t id) const {
    auto it = servers_.find(id);
    return it == servers_.end() ? nullptr : it->second.get();
}

// RFC 3261 17.2.3.
ServerTxn* LayerImpl::find_server(const sip::Message& msg, MethodKey as) const {
    const sip::Via& via = msg.top_via();
    if (via.rfc3261_branch()) {
        auto it = server_keys_.find(key_of(msg, as));
        return it == server_keys_.end() ? nullptr : it->second;
    }
    // RFC 2543 peers: Request-URI, To tag, From tag, Call-ID, CSeq and top Via; an ACK's To tag is
    // that of our response rather than of the INVITE.
    bool ack = msg.method() == sip::Method::ACK;
    auto [first, last] = legacy_keys_.equal_range(legacy_key_of(msg, as));
    for (auto it = first; it != last; ++it) {
        ServerTxn* t = it->second;
        const sip::Message& orig = t->request;
        if (orig.request_uri_text() != msg.request_uri_text()) continue;
        if (!same_top_via(orig.top_via(), via)) continue;
        bool to_ok = msg.to_tag() == orig.to_tag() ||
                     (ack && !t->response_to_tag.empty() && msg.to_tag() == t->response_to_tag);
        if (!to_ok) continue;
        return t;
    }
    return nullptr;
}

void LayerImpl::receive_request(sip::Message&& msg, const sb::Flow& flow) {
    if (msg.via_count() == 0) {
        SB_DEBUG("txn", "request without Via dropped");
        return;
    }
    if (msg.method() == sip::Method::ACK) {
        // 17.2.3: an ACK matches the INVITE transaction; absorbed for a non-2xx, else to the TU.
        if (ServerTxn* t = find_server(msg, kInvite)) {
            server_ack(*t, msg, flow);
            return;
        }
        server_user_.on_ack(msg, flow);
        return;
    }
    if (ServerTxn* t = find_server(msg, method_of(msg))) {
        // Answer on the path the retransmission took: a phone that lost its TCP connection
        // retransmits on a new one (RFC 3261 18.2.2), a NAT may have rebound its UDP port.
        if (!(flow == t->flow)) {
            t->flow = flow;
            t->reply_to = response_flow(t->reply_via, flow);
        }
        server_retransmission(*t);
        return;
    }
    if (!msg.can_respond()) {
        SB_DEBUG("txn", "request lacking Via/From/To/Call-ID/CSeq dropped");
        return;
    }
    if (servers_.size() - compacted_ >= config_.max_server_transactions ||
        compacted_ >= config_.max_completed_server_transactions) {
        // Overload: answer at once, statelessly, before any work is spent on it.
        std::string extra = fmt::format("Retry-After: {}\r\n", config_.retry_after_seconds);
        std::string bytes = build_response(msg, 503, {}, stateless_to_tag(msg), flow, extra);
        if (!sender_.send(response_flow(msg.top_via(), flow), bytes))
            SB_DEBUG("txn", "503 for {} could not be sent", msg.call_id());
        return;
    }

    auto owned = std::make_unique<ServerTxn>(*this);
    ServerTxn& t = *owned;
    t.id = next_server_id_++;
    t.invite = msg.method() == sip::Method::INVITE;
    t.legacy = !msg.top_via().rfc3261_branch();
    t.reliable = is_reliable(flow.transport);
    t.flow = flow;
    t.reply_to = response_flow(msg.top_via(), flow);
    t.request = std::move(msg);
    // The keys view t.request, which lives as long as the transaction.
    const sip::Via& top = t.request.top_via();
    t.reply_via.has_rport = top.has_rport;
    t.reply_via.has_port = top.has_port;
    t.reply_via.port = top.port;
    if (t.legacy) {
        legacy_keys_.emplace(legacy_key_of(t.request, method_of(t.request)), &t);
    } else {
        t.key = key_of(t.request, method_of(t.request));
        server_keys_.emplace(t.key, &t);
    }
    servers_.emplace(t.id, std::move(owned));

    if (t.invite) {
        t.state = ServerState::proceeding;
        if (config_.trying_delay == Duration::zero()) {
            // 17.2.1: sent before the TU sees the INVITE. A transport that cannot carry a 100
            // cannot carry the call either: end quietly, the TU never heard of it.
            t.response = trying_for(t.request, t.flow);
            t.status = 100;
            if (!sender_.send(t.reply_to, t.response)) {
                terminate(t);
                return;
            }
        } else if (config_.trying_delay > Duration::zero()) {
            wheel_.schedule(t.retransmit, now() + config_.trying_delay);
        }
        wheel_.schedule(t.lifetime, now() + config_.max_invite_pending);
    } else {
        t.state = ServerState::trying;
        wheel_.schedule(t.lifetime, now() + config_.timer_b());
    }
    server_user_.on_request(ServerTxnId{t.id}, t.request, t.flow);
    // t may be terminated by now (the TU answered over a stream); don't touch it.
}

void LayerImpl::server_ack(ServerTxn& t, const sip::Message& ack, const sb::Flow& flow) {
    switch (t.state) {
        case ServerState::completed:
            // 17.2.1: Completed -> Confirmed; G stops; Timer I absorbs further ACKs.
            t.state = ServerState::confirmed;
            wheel_.cancel(t.retransmit);
            if (t.reliable) terminate(t);
            else wheel_.schedule(t.lifetime, now() + config_.t4);
            return;
        case ServerState::accepted:
            // RFC 6026 7.1: ACKs for the 2xx go to the TU.
            server_user_.on_ack(ack, flow);
            return;
        default:
            return;  // Confirmed: absorbed. Proceeding: an ACK before any final response, ignored.
    }
}

void LayerImpl::server_retransmission(ServerTxn& t) {
    switch (t.state) {
        case ServerState::proceeding:
            // 17.2.1 / 17.2.2: the most recent provisional response again. An INVITE with nothing
            // sent yet gets its 100 now: the client is retransmitting, it should stop.
            if (t.status != 0) send_server(t, t.response);
            else if (t.invite) send_trying(t);
            return;
        case ServerState::completed:
            send_server(t, t.response);  // the final response again
            return;
        default:
            return;  // Trying (non-INVITE), Confirmed, Accepted (RFC 6026): absorbed
    }
}

bool LayerImpl::send_server(ServerTxn& t, std::string_view bytes) {
    auto r = sender_.send(t.reply_to, bytes);
    if (r) return true;
    // 17.2.4: the transport failed: tell the TU, the transaction is over.
    SB_DEBUG("txn", "server transaction {}: transport error: {}", t.id, r.error().message);
    notify_server(Note::server_transport_error, t.id);
    terminate(t);
    return false;
}

void LayerImpl::send_trying(ServerTxn& t) {
    wheel_.cancel(t.retransmit);
    t.response = trying_for(t.request, t.flow);
    t.status = 100;
    send_server(t, t.response);
}

bool LayerImpl::respond(std::uint64_t id, std::string bytes, int status) {
    ServerTxn* tp = server_by_id(id);
    if (tp == nullptr || status < 100 || status > 699) return false;
    ServerTxn& t = *tp;
    bool provisional = status < 200;

    if (t.invite) {
        if (t.state == ServerState::accepted) {
            // RFC 6026 7.1: further 2xx from the TU (its own retransmissions) are sent.
            if (status / 100 != 2) return false;
            t.response = std::move(bytes);
            t.status = status;
            send_server(t, t.response);
            return true;
        }
        if (t.state != ServerState::proceeding) return false;
        wheel_.cancel(t.retransmit);  // the delayed 100 Trying is moot now
        t.response = std::move(bytes);
        t.status = status;
        if (provisional) {
            send_server(t, t.response);
            return true;
        }
        if (status < 300) {
            // RFC 6026 7.1: Accepted until Timer L; the TU retransmits the 2xx (13.3.1.4).
            t.state = ServerState::accepted;
            wheel_.schedule(t.lifetime, now() + config_.timer_b());
        } else {
            // 17.2.1: Completed; Timer G retransmits over UDP, Timer H waits for the ACK.
            t.state = ServerState::completed;
            if (t.legacy) t.response_to_tag = to_tag_of(t.response);
            if (!t.reliable) {
                t.g_interval = config_.t1;
                wheel_.schedule(t.retransmit, now() + t.g_interval);
            }
            wheel_.schedule(t.lifetime, now() + config_.timer_b());
        }
        send_server(t, t.response);
        return true;
    }

    // Non-INVITE, 17.2.2.
    if (t.state != ServerState::trying && t.state != ServerState::proceeding) return false;
    t.response = std::move(bytes);
    t.status = status;
    if (provisional) {
        t.state = ServerState::proceeding;
        send_server(t, t.response);
        return true;
    }
    t.state = ServerState::completed;
    if (!send_server(t, t.response)) return true;
    // Timer J: 64*T1 over UDP to answer retransmissions, zero over streams.
    if (t.reliable) {
        terminate(t);
    } else {
        wheel_.schedule(t.lifetime, now() + config_.timer_b());
        compact(t);
    }
    return true;
}

void LayerImpl::compact(ServerTxn& t) {
    if (t.legacy || t.compacted) return;
    auto it = server_keys_.find(t.key);
    if (it == server_keys_.end() || it->second != &t) return;
    server_keys_.erase(it);
    const ServerKey& k = t.key;
    t.key_storage.reserve(k.branch.size() + k.host.size() + k.call_id.size() + k.request_uri.size() +
                          k.method.text.size());
    t.key_storage.append(k.branch).append(k.host).append(k.call_id).append(k.request_uri).append(k.method.text);
    std::string_view all = t.key_storage;
    ServerKey owned = k;
    std::size_t at = 0;
    auto take = [&](std::string_view part) {
        std::string_view v = all.substr(at, part.size());
        at += part.size();
        return v;
    };
    owned.branch = take(k.branch);
    owned.host = take(k.host);
    owned.call_id = take(k.call_id);
    owned.request_uri = take(k.request_uri);
    owned.method.text = take(k.method.text);
    t.key = owned;
    server_keys_.emplace(t.key, &t);
    t.request = sip::Message();
    t.compacted = true;
    ++compacted_;
}

void LayerImpl::server_retransmit_timer(ServerTxn& t) {
    Entry entry(*this);
    if (t.state == ServerState::proceeding) {
        if (t.status == 0) send_trying(t);  // 17.2.1: the TU was silent for trying_delay
        return;
    }
    if (t.state != ServerState::completed) return;
    // Timer G: resend, interval doubling up to T2.
    if (!send_server(t, t.response)) return;
    t.g_interval = std::min(2 * t.g_interval, config_.t2);
    wheel_.schedule(t.retransmit, now() + t.g_interval);
}

void LayerImpl::server_lifetime_timer(ServerTxn& t) {
    Entry entry(*this);
    switch (t.state) {
        case ServerState::trying:
        case ServerState::proceeding:
            // The TU never answered. INVITE: answer 500 so the caller is not left ringing
            // (keeping the To tag of any provisional response); non-INVITE: the client gave up
            // at Timer F already.
            t.timed_out = true;
            notify_server(Note::server_timeout, t.id);
            if (t.invite) {
                std::string tag = t.status > 100 ? to_tag_of(t.response) : stateless_to_tag(t.request);
                respond(t.id, build_response(t.request, 500, {}, tag, t.flow), 500);
            } else {
                terminate(t);
            }
            return;
        case ServerState::completed:
            // INVITE: Timer H, no ACK came (17.2.1). Non-INVITE: Timer J.
            if (t.invite && !t.timed_out) notify_server(Note::server_timeout, t.id);
            terminate(t);
            return;
        case ServerState::confirmed:  // Timer I
        case ServerState::accepted:   // Timer L
            terminate(t);
            return;
        case ServerState::terminated:
            return;
    }
}

std::uint64_t LayerImpl::find_cancelled_invite(std::uint64_t cancel_id) const {
    ServerTxn* c = server_by_id(cancel_id);
    if (c == nullptr || c->request.method() != sip::Method::CANCEL) return 0;
    // RFC 3261 9.2: match the CANCEL as if it were the request it cancels.
    ServerTxn* inv = find_server(c->request, kInvite);
    return inv != nullptr && inv->invite ? inv->id : 0;
}

void LayerImpl::terminate(ServerTxn& t) {
    if (t.state == ServerState::terminated) return;
    t.state = ServerState::terminated;
    wheel_.cancel(t.retransmit);
    wheel_.cancel(t.lifetime);
    if (t.legacy) {
        MethodKey mk = method_of(t.request);
        auto [first, last] = legacy_keys_.equal_range(legacy_key_of(t.request, mk));
        for (auto it = first; it != last; ++it) {
            if (it->second == &t) {
                legacy_keys_.erase(it);
                break;
            }
        }
    } else {
        auto it = server_keys_.find(t.key);
        if (it != server_keys_.end() && it->second == &t) server_keys_.erase(it);
    }
    if (t.compacted) --compacted_;
    auto it = servers_.find(t.id);
    dead_servers_.push_back(std::move(it->second));
    servers_.erase(it);
}

}  // namespace sb::txn
