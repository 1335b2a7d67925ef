// Client transactions: INVITE (RFC 3261 17.1.1 with RFC 6026 7.2 "Accepted") and non-INVITE
// (17.1.2), matching of responses (17.1.3), the ACK for non-2xx responses (17.1.1.3) and CANCEL
// (9.1).
#include <algorithm>

#include "layer_impl.h"
#include "sb/common/log.h"
#include "sb/txn/message_builders.h"

namespace sb::txn {

namespace {

// The caller built the request; we parse it again only to derive an ACK or a CANCEL from it.
bool parse_own_request(const ClientTxn& t, sip::Message& out) {
    sip::Limits limits;
    limits.max_message_size = std::max<std::size_t>(limits.max_message_size, t.request.size());
    if (sip::parse_message(t.request, sip::Framing::datagram, limits, out)) return true;
    SB_ERROR("txn", "client transaction {}: own request does not parse", t.id);
    return false;
}

}  // namespace

void ClientTxn::on_retransmit_timer() { layer->client_retransmit_timer(*this); }
void ClientTxn::on_lifetime_timer() { layer->client_lifetime_timer(*this); }

Result<ClientTxnId> LayerImpl::start_client(std::string bytes, sip::Method method, std::string branch,
                                            const sb::Flow& dest, ClientUser& user, std::uint64_t id) {
    if (method == sip::Method::ACK) return sb::fail("an ACK has no client transaction", 400);
    if (branch.empty()) return sb::fail("request without branch", 400);
    if (clients_.size() >= config_.max_client_transactions)
        return sb::fail("too many client transactions", 503);
    if (client_keys_.contains(ClientKey{branch, method}))
        return sb::fail("branch already in use by a client transaction", 400);

    auto owned = std::make_unique<ClientTxn>(*this);
    ClientTxn& t = *owned;
    t.id = id != 0 ? id : next_client_id_++;
    t.invite = method == sip::Method::INVITE;
    t.reliable = is_reliable(dest.transport);
    t.method = method;
    t.request = std::move(bytes);
    t.branch = std::move(branch);
    t.dest = dest;
    t.user = &user;
    t.state = ClientState::calling;
    if (auto r = sender_.send(dest, t.request); !r)
        return sb::fail("transport error: " + r.error().message, r.error().code);

    client_keys_.emplace(ClientKey{t.branch, method}, &t);  // views t.branch
    clients_.emplace(t.id, std::move(owned));
    // Timer A (INVITE, 17.1.1.2) / Timer E (17.1.2.2): over unreliable transports only.
    if (!t.reliable) {
        t.interval = config_.t1;
        wheel_.schedule(t.retransmit, now() + t.interval);
    }
    // Timer B / Timer F: over every transport.
    wheel_.schedule(t.lifetime, now() + config_.timer_b());
    return ClientTxnId{t.id};
}

void LayerImpl::receive_response(sip::Message&& msg, const sb::Flow& flow) {
    if (msg.via_count() == 0) return;
    // 17.1.3: top Via branch and CSeq method.
    auto it = client_keys_.find(ClientKey{msg.top_via().branch, msg.cseq_method()});
    if (it == client_keys_.end()) {
        // RFC 6026 8.9: responses matching no transaction are dropped.
        SB_DEBUG("txn", "stray {} response for {} dropped", msg.status(), msg.call_id());
        return;
    }
    ClientTxn& t = *it->second;
    if (t.invite) invite_response(t, msg);
    else non_invite_response(t, msg);
}

void LayerImpl::invite_response(ClientTxn& t, const sip::Message& msg) {
    int status = msg.status();
    ClientUser* user = t.user;
    ClientTxnId id{t.id};
    switch (t.state) {
        case ClientState::calling:
        case ClientState::proceeding:
            if (status < 200) {
                if (t.state == ClientState::calling) {
                    // 17.1.1.2: Proceeding; no more retransmissions, Timer B no longer applies.
                    t.state = ClientState::proceeding;
                    wheel_.cancel(t.retransmit);
                    if (!t.cancel_sent) wheel_.schedule(t.lifetime, now() + config_.max_invite_pending);
                    if (t.cancel_pending) send_pending_cancel(t);
                }
                user->on_response(id, msg);
                return;
            }
            t.cancel_pending = false;  // too late for a CANCEL that waited for a provisional
            wheel_.cancel(t.retransmit);
            if (status < 300) {
                // RFC 6026 7.2: Accepted; every 2xx (retransmissions, other forks) goes to the TU
                // until Timer M.
                t.state = ClientState::accepted;
                wheel_.schedule(t.lifetime, now() + config_.timer_b());
                user->on_response(id, msg);
                return;
            }
            // 17.1.1.3: the transaction ACKs a non-2xx final response itself.
            t.state = ClientState::completed;
            {
                sip::Message invite;
                if (parse_own_request(t, invite)) t.ack = build_ack(invite, msg);
            }
            if (!t.ack.empty() && !send_client(t, t.ack)) {
                user->on_response(id, msg);  // the answer stands; the transport error follows
                return;
            }
            // Timer D: absorb retransmitted final responses over UDP; zero over streams.
            if (t.reliable) terminate(t);
            else wheel_.schedule(t.lifetime, now() + config_.timer_d);
            user->on_response(id, msg);
            return;
        case ClientState::completed:
            if (status >= 300 && !t.ack.empty()) send_client(t, t.ack);  // retransmitted final: ACK again
            return;
        case ClientState::accepted:
            if (status >= 200 && status < 300) user->on_response(id, msg);
            return;
        case ClientState::terminated:
            return;
    }
}

void LayerImpl::non_invite_response(ClientTxn& t, const sip::Message& msg) {
    int status = msg.status();
    ClientUser* user = t.user;
    ClientTxnId id{t.id};
    if (t.state != ClientState::calling && t.state != ClientState::proceeding) return;  // Completed: absorbed
    if (status < 200) {
        t.state = ClientState::proceeding;  // Timer E now fires every T2
        user->on_response(id, msg);
        return;
    }
    // 17.1.2.2: Completed; Timer K absorbs retransmitted responses over UDP, zero over streams.
    t.state = ClientState::completed;
    wheel_.cancel(t.retransmit);
    if (t.reliable) terminate(t);
    else wheel_.schedule(t.lifetime, now() + config_.t4);
    user->on_response(id, msg);
}

bool LayerImpl::send_client(ClientTxn& t, std::string_view bytes) {
    auto r = sender_.send(t.dest, bytes);
    if (r) return true;
    // 17.1.4: tell the TU, the transaction is over.
    SB_DEBUG("txn", "client transaction {}: transport error: {}", t.id, r.error().message);
    notify_client(Note::client_transport_error, t.id, t.user);
    terminate(t);
    return false;
}

void LayerImpl::client_retransmit_timer(ClientTxn& t) {
    Entry entry(*this);
    if (t.invite) {
        if (t.state != ClientState::calling) return;
        if (!send_client(t, t.request)) return;
        t.interval *= 2;  // Timer A doubles with no cap (17.1.1.2)
    } else {
        // Timer E: doubling up to T2 in Trying, T2 in Proceeding (17.1.2.2).
        if (t.state == ClientState::calling) t.interval = std::min(2 * t.interval, config_.t2);
        else if (t.state == ClientState::proceeding) t.interval = config_.t2;
        else return;
        if (!send_client(t, t.request)) return;
    }
    wheel_.schedule(t.retransmit, now() + t.interval);
}

void LayerImpl::client_lifetime_timer(ClientTxn& t) {
    Entry entry(*this);
    switch (t.state) {
        case ClientState::calling:     // Timer B / Timer F
        case ClientState::proceeding:  // Timer F; INVITE: 64*T1 after CANCEL, or max_invite_pending
            notify_client(Note::client_timeout, t.id, t.user);
            terminate(t);
            return;
        case ClientState::completed:  // Timer D / Timer K
        case ClientState::accepted:   // Timer M
            terminate(t);
            return;
        case ClientState::terminated:
            return;
    }
}

Result<ClientTxnId> LayerImpl::cancel_client(std::uint64_t invite_id, ClientUser& user) {
    auto it = clients_.find(invite_id);
    if (it == clients_.end()) return sb::fail("no such client transaction", 481);
    ClientTxn& t = *it->second;
    if (!t.invite) return sb::fail("only INVITE can be cancelled", 400);
    if (t.cancel_pending || t.cancel_sent) return ClientTxnId{t.cancel_id};
    switch (t.state) {
        case ClientState::calling:
            // 9.1: a CANCEL must wait for a provisional response.
            t.cancel_pending = true;
            t.cancel_id = next_client_id_++;
            t.cancel_user = &user;
            return ClientTxnId{t.cancel_id};
        case ClientState::proceeding: {
            t.cancel_id = next_client_id_++;
            t.cancel_user = &user;
            sip::Message invite;
            if (!parse_own_request(t, invite)) return sb::fail("INVITE does not parse", 500);
            auto r = start_client(build_cancel(invite), sip::Method::CANCEL, t.branch, t.dest, user, t.cancel_id);
            if (!r) return r;
            t.cancel_sent = true;
            // 9.1: the final response (487) is due within 64*T1 of the CANCEL.
            wheel_.schedule(t.lifetime, now() + config_.timer_b());
            return r;
        }
        default:
            return sb::fail("the INVITE already has a final response", 400);
    }
}

void LayerImpl::send_pending_cancel(ClientTxn& t) {
    t.cancel_pending = false;
    sip::Message invite;
    Result<ClientTxnId> r = sb::fail("INVITE does not parse", 500);
    if (parse_own_request(t, invite))
        r = start_client(build_cancel(invite), sip::Method::CANCEL, t.branch, t.dest, *t.cancel_user, t.cancel_id);
    if (!r) {
        notify_client(Note::client_transport_error, t.cancel_id, t.cancel_user);
        return;
    }
    t.cancel_sent = true;
    wheel_.schedule(t.lifetime, now() + config_.timer_b());
}

bool LayerImpl::stop_client(std::uint64_t id) {
    auto it = clients_.find(id);
    forget_client_notes(id);
    if (it == clients_.end()) return false;
    ClientTxn& t = *it->second;
    if (t.cancel_pending) forget_client_notes(t.cancel_id);
    t.cancel_pending = false;
    terminate(t);
    return true;
}

void LayerImpl::terminate(ClientTxn& t) {
    if (t.state == ClientState::terminated) return;
    t.state = ClientState::terminated;
    wheel_.cancel(t.retransmit);
    wheel_.cancel(t.lifetime);
    auto k = client_keys_.find(ClientKey{t.branch, t.method});
    if (k != client_keys_.end() && k->second == &t) client_keys_.erase(k);
    auto it = clients_.find(t.id);
    dead_clients_.push_back(std::move(it->second));
    clients_.erase(it);
}

}  // namespace sb::txn
