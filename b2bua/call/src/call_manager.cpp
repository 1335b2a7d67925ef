// Calls and their A-legs: a new INVITE (authentication, the Call, routing), the caller's
// responses, CANCEL, teardown, and the CallApi the Router drives.
#include "sb/call/call_manager.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>

#include "impl.h"
#include "sb/call/best_response.h"
#include "sb/common/log.h"
#include "sb/registrar/registrar.h"
#include "sb/sip/name_addr.h"
#include "sb/sip/writer.h"
#include "sb/txn/response_route.h"

namespace sb::call {

namespace {

// A leg's media for the call record: none when no RTP passed either way.
// `began`: the call's start on the steady clock, which the relay's first_packet_ms also uses.
std::optional<MediaRecord> media_record(const std::optional<media::LegMedia>& media,
                                        TimePoint began) {
    if (!media) return std::nullopt;
    const media::rtp::PortStats& s = media->stats;
    if (s.packets_received == 0 && s.packets_sent == 0) return std::nullopt;
    const std::int64_t first =
        s.first_packet_ms > 0
            ? std::max<std::int64_t>(0, s.first_packet_ms - began.time_since_epoch().count())
            : -1;
    return MediaRecord{.codec = media->codec,
                       .declared = media->declared ? media->declared->to_string() : "",
                       .source = s.latched ? s.latched->to_string() : "",
                       .first_rtp_ms = first,
                       .packets_received = s.packets_received,
                       .packets_lost = s.packets_lost,
                       .packets_sent = s.packets_sent,
                       .jitter_ms = s.jitter_ms,
                       .rtt_ms = s.rtt_ms,
                       .remote_loss_fraction = s.remote_loss_fraction,
                       .remote_jitter_ms = s.remote_jitter_ms};
}

std::string user_of(std::string_view name_addr_value) {
    auto na = sip::parse_name_addr(name_addr_value);
    if (!na) return {};
    auto uri = sip::parse_uri(na->uri);
    return uri ? sip::unescape(uri->user) : std::string{};
}

// Characters that may not reach a header value we write (no CR/LF, no quotes in display names).
std::string clean(std::string_view s, std::size_t max) {
    std::string out;
    for (char c : s.substr(0, max))
        if (c != '\r' && c != '\n' && c != '"' && c != '\\' && c != '\0') out += c;
    return out;
}

}  // namespace

std::string make_shard_tag(std::size_t shard) {
    return "sb" + std::to_string(shard) + "-" + registrar::make_tag();
}

std::optional<std::size_t> shard_of_tag(std::string_view tag) {
    if (tag.size() < 4 || tag[0] != 's' || tag[1] != 'b') return std::nullopt;
    std::size_t n = 0, i = 2;
    for (; i < tag.size() && i < 6 && sip::is_digit(tag[i]); ++i) n = n * 10 + (tag[i] - '0');
    if (i == 2 || i >= tag.size() || tag[i] != '-') return std::nullopt;
    return n;
}

// --- CallApi of a call -----------------------------------------------------------------------

std::optional<std::string_view> Call::header(std::string_view name) const {
    const sip::HeaderField* f = invite.find(name);
    if (!f) return std::nullopt;
    return f->value;
}
std::optional<std::string_view> Call::extension_number() const {
    if (ext_number_.empty()) return std::nullopt;
    return std::string_view(ext_number_);
}
std::optional<std::string_view> Call::extension_name() const {
    if (ext_number_.empty()) return std::nullopt;
    return std::string_view(ext_name_);
}
void Call::set_caller_id(std::string_view number, std::string_view name) {
    cid_number = clean(number, 64);
    cid_name = clean(name, 128);
}
void Call::set_header(std::string_view name, std::string_view value) {
    if (extra_headers.size() >= 16) return;  // the engine bounds this too
    extra_headers.emplace_back(clean(name, 64), clean(value, 1024));
}
void Call::log(LogLevel level, std::string_view text) {
    switch (level) {
        case LogLevel::debug:
            SB_DEBUG("dialplan", "call {}: {}", id, text);
            break;
        case LogLevel::info:
            SB_INFO("dialplan", "call {}: {}", id, text);
            break;
        case LogLevel::warn:
            SB_WARN("dialplan", "call {}: {}", id, text);
            break;
        case LogLevel::error:
            SB_ERROR("dialplan", "call {}: {}", id, text);
            break;
    }
}
void Leg::on_retransmit() {
    call.impl.retransmit_2xx(*this);
}
void Leg::on_session_timer() {
    call.impl.session_timer_fired(*this);
}

// --- CallManager ----------------------------------------------------------------------------

CallManager::CallManager(CallConfig config, CallServices services, txn::TransactionLayer& txns,
                         txn::Sender& sender, TimerWheel& wheel, std::unique_ptr<Router> router,
                         std::size_t shard_index)
    : impl_(std::make_unique<Impl>(std::move(config), services, txns, sender, wheel,
                                   std::move(router), shard_index)) {
    impl_->user_ = this;
}
CallManager::~CallManager() = default;

bool CallManager::handles(const sip::Message& req) {
    switch (req.method()) {
        case sip::Method::INVITE:
        case sip::Method::BYE:
        case sip::Method::CANCEL:
            return true;
        case sip::Method::OPTIONS:
        case sip::Method::REGISTER:
            return false;
        default:
            return !req.to_tag().empty();
    }
}
void CallManager::on_request(txn::ServerTxnId id, const sip::Message& r, const Flow& f) {
    impl_->on_request(id, r, f);
}
void CallManager::on_ack(const sip::Message& ack, const Flow& flow) {
    impl_->on_ack(ack, flow);
}
void CallManager::on_server_gone(txn::ServerTxnId id) {
    impl_->on_server_gone(id);
}
void CallManager::on_response(txn::ClientTxnId id, const sip::Message& r) {
    impl_->on_client_response(id, r);
}
void CallManager::on_timeout(txn::ClientTxnId id) {
    impl_->on_client_failure(id, 408, "Request Timeout");
}
void CallManager::on_transport_error(txn::ClientTxnId id) {
    impl_->on_client_failure(id, 503, "Service Unavailable (transport error)");
}
void CallManager::stop() {
    impl_->stop();
}
std::size_t CallManager::active_calls() const {
    return impl_->active_calls();
}

CallManager::Impl::Impl(CallConfig config, CallServices services, txn::TransactionLayer& txns,
                        txn::Sender& sender, TimerWheel& wheel, std::unique_ptr<Router> router,
                        std::size_t shard_index)
    : config_(std::move(config)),
      services_(services),
      txns_(txns),
      sender_(sender),
      wheel_(wheel),
      router_(std::move(router)),
      shard_(shard_index),
      // The system's engine passes SDP through already: a per-call decision changes nothing.
      system_direct_(services_.direct_media == &services_.media ||
                     !services_.media.anchors_media()) {}

CallManager::Impl::~Impl() {
    calls_.clear();
}

std::int64_t CallManager::Impl::now_ms() const {
    return services_.clock.unix_ms();  // call records need wall time
}

std::string CallManager::Impl::dialog_key(std::string_view call_id,
                                          std::string_view local_tag) const {
    std::string k;
    k.reserve(call_id.size() + local_tag.size() + 1);
    k.append(call_id).append(1, '\n').append(local_tag);
    return k;
}

Leg* CallManager::Impl::leg_of(Call& c, std::uint32_t index) {
    return index < c.legs.size() ? c.legs[index].get() : nullptr;
}

Leg* CallManager::Impl::other_leg(Call& c, const Leg& leg) {
    if (!c.winner) return nullptr;
    if (leg.index == 0) return c.winner;
    return c.winner == &leg ? &c.a() : nullptr;
}

// Our address as the peer sees it. A socket bound to the wildcard address does not know it: ask
// the kernel which source address it would route from (a connect()ed UDP socket sends nothing).
std::string CallManager::Impl::sent_by_for(const Flow& flow) {
    Endpoint local = flow.local;
    bool unspecified = true;
    for (std::size_t i = 0; i < (local.v6 ? 16u : 4u); ++i)
        if (local.addr[i] != 0) unspecified = false;
    if (unspecified) {
        std::string ip = flow.remote.ip();
        auto hit = source_cache_.find(ip);
        if (hit != source_cache_.end()) {
            local.addr = hit->second.addr;
            local.v6 = hit->second.v6;
        } else {
            int fd = ::socket(flow.remote.v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
            if (fd >= 0) {
                sockaddr_storage ss{};
                socklen_t len = 0;
                if (flow.remote.v6) {
                    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
                    a->sin6_family = AF_INET6;
                    a->sin6_port = htons(flow.remote.port ? flow.remote.port : 5060);
                    std::memcpy(&a->sin6_addr, flow.remote.addr.data(), 16);
                    len = sizeof *a;
                } else {
                    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
                    a->sin_family = AF_INET;
                    a->sin_port = htons(flow.remote.port ? flow.remote.port : 5060);
                    std::memcpy(&a->sin_addr, flow.remote.addr.data(), 4);
                    len = sizeof *a;
                }
                sockaddr_storage mine{};
                socklen_t mine_len = sizeof mine;
                if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &mine_len) == 0) {
                    if (mine.ss_family == AF_INET6) {
                        std::memcpy(local.addr.data(),
                                    &reinterpret_cast<sockaddr_in6*>(&mine)->sin6_addr, 16);
                    } else {
                        std::memcpy(local.addr.data(),
                                    &reinterpret_cast<sockaddr_in*>(&mine)->sin_addr, 4);
                    }
                }
                ::close(fd);
            }
            if (source_cache_.size() > 4096) source_cache_.clear();
            source_cache_[ip] = local;
        }
    }
    return local.to_string();
}

std::string CallManager::Impl::contact_for(const Flow& flow, std::string_view sent_by) const {
    std::string c = "<sip:sb@";
    c.append(sent_by);
    if (flow.transport == TransportKind::tcp) c.append(";transport=tcp");
    c.append(">");
    return c;
}

txn::ClientTxnId CallManager::Impl::track_client(Call& c, Result<txn::ClientTxnId> started,
                                                 std::uint32_t leg, ClientRef::Kind kind) {
    if (!started) return {};
    client_txns_[*started] = ClientRef{c.id, leg, kind, false};
    c.client_ids.push_back(*started);
    ++c.pending_clients;
    return *started;
}

void CallManager::Impl::reply(txn::ServerTxnId id, const sip::Message& req, const Flow& flow,
                              int status, std::string_view reason, std::string_view to_tag,
                              std::string_view extra, std::string_view content_type,
                              std::string_view body) {
    txns_.respond(id, make_reply(req, flow, status, reason, to_tag, extra, content_type, body),
                  status);
}

std::string CallManager::Impl::make_reply(const sip::Message& req, const Flow& flow, int status,
                                          std::string_view reason, std::string_view to_tag,
                                          std::string_view extra, std::string_view content_type,
                                          std::string_view body) {
    std::string out;
    sip::MessageWriter w(out);
    std::string ip = flow.remote.ip();
    std::string tag =
        to_tag.empty() && req.to_tag().empty() ? registrar::make_tag() : std::string(to_tag);
    sip::start_response(w, req, status, reason, tag, sip::Source{ip, flow.remote.port});
    w.header("Server", config_.server_name);
    out.append(extra);
    w.finish(content_type, body);
    return out;
}

void CallManager::Impl::respond_a(Call& c, int status, std::string_view reason,
                                  std::string_view extra, std::string_view content_type,
                                  std::string_view body) {
    if (c.a_final_sent) return;
    if (status >= 200) {
        c.a_final_sent = true;
        c.record.a_status = status;
    }
    Leg& a = c.a();
    std::string headers(extra);
    if (status > 100 && status < 300) {
        // RFC 3261 12.1.1: a response that makes the dialog (early or confirmed) carries the
        // request's Record-Route values, all of them and in order, so that the caller's route
        // set is the proxies' (and ours towards it: Dialog::route_set).
        for (const sip::HeaderField& f : c.invite.headers())
            if (f.id == sip::HeaderId::record_route)
                headers.append("Record-Route: ").append(f.value).append("\r\n");
        headers.append("Contact: ").append(a.dialog.local_contact).append("\r\n");
        headers.append(
            "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, MESSAGE, NOTIFY\r\n");
    }
    if (status >= 200 && status < 300) {
        std::string out;
        sip::MessageWriter w(out);
        std::string ip = c.a_flow.remote.ip();
        sip::start_response(w, c.invite, status, reason, a.dialog.local_tag,
                            sip::Source{ip, c.a_flow.remote.port});
        w.header("Server", config_.server_name);
        out.append(headers);
        w.finish(content_type, body);
        txns_.respond(c.a_txn, out, status);
        start_2xx_retransmission(a, c.a_txn, std::move(out), c.invite.cseq());
        return;
    }
    reply(c.a_txn, c.invite, c.a_flow, status, reason, a.dialog.local_tag, headers, content_type,
          body);
}

// 13.3.1.4: the UAS core retransmits its 2xx (T1, doubling up to T2) until the ACK comes; without
// an ACK after 64*T1 the dialog is ended.
void CallManager::Impl::start_2xx_retransmission(Leg& leg, txn::ServerTxnId txn, std::string bytes,
                                                 std::uint32_t cseq) {
    TimePoint now = services_.clock.now();
    leg.pending_2xx =
        Leg::Pending2xx{txn, std::move(bytes), cseq, config_.t1, now + 64 * config_.t1};
    // Reliable transports do not retransmit, but the ACK is still awaited.
    wheel_.schedule(leg.retransmit_timer, is_reliable(leg.dialog.peer.transport)
                                              ? now + 64 * config_.t1
                                              : now + config_.t1);
}

void CallManager::Impl::retransmit_2xx(Leg& leg) {
    if (!leg.pending_2xx) return;
    TimePoint now = services_.clock.now();
    Call& c = leg.call;
    if (now >= leg.pending_2xx->give_up) {
        leg.pending_2xx.reset();
        if (leg.bye_after_ack) {  // the call has ended already; now its BYE may go
            leg.bye_after_ack = false;
            send_in_dialog(c, leg, "BYE", ClientRef::bye, {}, {}, {});
            return;
        }
        SB_WARN("call", "call {}: no ACK for our 2xx on leg {}; ending the call", c.id, leg.index);
        end_call(c, "no ACK for the 2xx", nullptr);
        return;
    }
    if (!txns_.respond(leg.pending_2xx->txn, leg.pending_2xx->bytes, 200))
        (void)sender_.send(leg.dialog.peer, leg.pending_2xx->bytes);
    leg.pending_2xx->interval = std::min(leg.pending_2xx->interval * 2, config_.t2);
    wheel_.schedule(leg.retransmit_timer,
                    std::min(now + leg.pending_2xx->interval, leg.pending_2xx->give_up));
}

// --- Requests ---------------------------------------------------------------------------------

void CallManager::Impl::on_request(txn::ServerTxnId id, const sip::Message& req, const Flow& flow) {
    if (req.method() == sip::Method::CANCEL) {
        txn::ServerTxnId invite = txns_.find_cancelled_invite(id);
        if (!invite) return reply(id, req, flow, 481, "Call/Transaction Does Not Exist");
        reply(id, req, flow, 200, "OK");
        auto ref = server_txns_.find(invite);
        if (ref == server_txns_.end()) return;
        auto it = calls_.find(ref->second.call);
        if (it == calls_.end()) return;
        Call& c = *it->second;
        if (ref->second.kind == ServerRef::a_invite) {
            if (c.a_final_sent) return;
            end_call(c, "caller cancelled", &c.a(), 487);
        } else if (Leg* in = leg_of(c, ref->second.leg)) {
            // A re-INVITE being relayed: cancel our copy of it; its 487 comes back through.
            if (Leg* out = other_leg(c, *in); out && out->relay_out)
                track_client(c, txns_.cancel_client(out->relay_out, *user_), out->index,
                             ClientRef::cancel);
        }
        return;
    }
    if (!req.to_tag().empty()) return on_in_dialog_request(id, req, flow);
    if (req.method() != sip::Method::INVITE)
        return reply(id, req, flow, 481, "Call/Transaction Does Not Exist");

    // A new call. Loops: an INVITE that went round too often stops here (RFC 3261 16.3 step 3).
    if (req.max_forwards() == 0) return reply(id, req, flow, 483, "Too Many Hops");
    std::string ip = flow.remote.ip();
    bool trusted = false;
    for (const Endpoint& peer : config_.trusted_peers)
        if (peer.v6 == flow.remote.v6 && peer.addr == flow.remote.addr &&
            (peer.port == 0 || peer.port == flow.remote.port))
            trusted = true;
    registrar::AuthOutcome auth;
    if (!trusted) auth = services_.authenticator.check(req, ip, true);
    if (!trusted) switch (auth.kind) {
            case registrar::AuthOutcome::authenticated:
                break;
            case registrar::AuthOutcome::challenge:
            case registrar::AuthOutcome::stale: {
                std::string out;
                sip::MessageWriter w(out);
                sip::start_response(w, req, 407, "Proxy Authentication Required",
                                    registrar::make_tag(), sip::Source{ip, flow.remote.port});
                services_.authenticator.write_challenges(
                    w, true, auth.kind == registrar::AuthOutcome::stale);
                w.header("Server", config_.server_name);
                w.finish();
                txns_.respond(id, std::move(out), 407);
                return;
            }
            case registrar::AuthOutcome::forbidden:
                return reply(id, req, flow, 403, "Forbidden");
            case registrar::AuthOutcome::bad_request:
                return reply(id, req, flow, 400, auth.reason);
        }
    // RFC 4028 5: a session interval below our Min-SE is refused with 422.
    if (std::string_view se = req.value(sip::HeaderId::session_expires); !se.empty()) {
        std::string_view digits = sip::trim(se.substr(0, se.find(';')));
        std::uint32_t n = 0;
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (ec != std::errc() || p != digits.data() + digits.size() || n == 0)
            return reply(id, req, flow, 400, "Bad Request (Session-Expires)");
        if (n < config_.min_se_s)
            return reply(id, req, flow, 422, "Session Interval Too Small", {},
                         "Min-SE: " + std::to_string(config_.min_se_s) + "\r\n");
    }
    if (calls_.size() >= config_.max_calls)
        return reply(id, req, flow, 503, "Service Unavailable (too many calls)", {},
                     "Retry-After: 5\r\n");
    if (!services_.media.has_capacity()) {
        if (!media_full_warned_)
            SB_WARN("call",
                    "no media ports left ([media] port_min/port_max): new calls get 503 "
                    "until calls end");
        media_full_warned_ = true;
        return reply(id, req, flow, 503, "Service Unavailable (no media ports)", {},
                     "Retry-After: 5\r\n");
    }
    media_full_warned_ = false;

    std::uint64_t call_id = next_call_++;
    auto owned = std::make_unique<Call>(*this, call_id);
    Call& c = *owned;
    // The transport already enforced the configured limits; the copy must not refuse what it took.
    constexpr sip::Limits kAcceptAll{~std::size_t{0}, ~std::size_t{0}, ~std::size_t{0},
                                     ~std::size_t{0}};
    if (auto copy = sip::parse_message(req.raw(), sip::Framing::datagram, kAcceptAll, c.invite);
        !copy)
        return reply(id, req, flow, 400, "Bad Request");
    std::string sent_by = sent_by_for(flow);
    auto a_dialog =
        dialog::uas_dialog(req, make_shard_tag(shard_), flow, contact_for(flow, sent_by));
    if (!a_dialog) return reply(id, req, flow, 400, "Bad Request (the INVITE has no Contact)");
    c.a_txn = id;
    c.a_flow = flow;
    c.legs.push_back(std::make_unique<Leg>(c, 0));
    Leg& a = c.a();
    a.dialog = std::move(*a_dialog);
    a.sent_by = std::move(sent_by);
    a.state = LegState::early;
    c.media = services_.media.create_session();
    c.media->set_signalling(0, flow.remote);

    c.caller_number_ = user_of(req.from());
    if (auto na = sip::parse_name_addr(req.from()))
        c.caller_name_ = clean(na->display_name_text(), 128);
    c.callee_number_ = sip::unescape(req.request_uri().user);
    c.request_uri_ = std::string(req.request_uri_text());
    if (auth.credential) {
        // The caller ID the callee sees: the extension's own record, not what the phone claims.
        c.ext_number_ = auth.credential->number;
        c.ext_name_ = auth.credential->display_name;
        c.cid_number = c.ext_number_;
        c.cid_name = !c.ext_name_.empty() ? clean(c.ext_name_, 128) : c.caller_name_;
        // The tones the caller hears (ringback, busy, congestion) in its extension's own plan;
        // an unknown plan leaves the system's.
        if (auth.credential->tones) {
            c.tone_country = *auth.credential->tones;
            c.media->set_tone_country(0, c.tone_country);
        }
    } else {
        c.cid_number = clean(c.caller_number_, 64);
        c.cid_name = c.caller_name_;
    }

    c.record.id = call_id;
    c.record.call_id = std::string(req.call_id());
    c.record.caller = c.ext_number_.empty() ? c.caller_number_ : c.ext_number_;
    c.record.callee = c.callee_number_;
    c.record.started_at = now_ms();
    c.began = services_.clock.now();

    server_txns_[id] = ServerRef{call_id, 0, ServerRef::a_invite};
    c.server_ids.push_back(id);
    std::string key = dialog_key(a.dialog.call_id, a.dialog.local_tag);
    dialogs_[key] = {call_id, 0};
    c.dialog_keys.push_back(std::move(key));
    calls_.emplace(call_id, std::move(owned));

    SB_DEBUG("call", "call {}: {} -> {}", call_id, c.ext_number_, c.callee_number_);
    c.routing = true;
    c.in_router = true;
    RouteStep step = router_->start(call_id, c);
    c.in_router = false;
    run_routing_step(c, std::move(step));
}

void CallManager::Impl::on_ack(const sip::Message& ack, const Flow&) {
    auto d = dialogs_.find(dialog_key(ack.call_id(), ack.to_tag()));
    if (d == dialogs_.end()) return;  // an ACK for nothing we know: dropped (RFC 3261 17.2.3)
    auto it = calls_.find(d->second.first);
    if (it == calls_.end()) return;
    Call& c = *it->second;
    if (Leg* leg = leg_of(c, d->second.second)) on_in_dialog_ack(c, *leg, ack);
}

void CallManager::Impl::on_server_gone(txn::ServerTxnId id) {
    auto ref = server_txns_.find(id);
    if (ref == server_txns_.end()) return;
    ServerRef r = ref->second;
    server_txns_.erase(ref);
    auto it = calls_.find(r.call);
    if (it == calls_.end()) return;
    Call& c = *it->second;
    if (r.kind == ServerRef::a_invite && !c.a_final_sent) {
        // The caller is unreachable (transport error) or we never answered in time.
        c.a_final_sent = true;
        end_call(c, "caller unreachable", &c.a());
    } else if (Leg* leg = leg_of(c, r.leg); leg && leg->relay_in == id) {
        leg->relay_in = {};
    }
}

// --- Responses to our requests ------------------------------------------------------------------

void CallManager::Impl::on_client_response(txn::ClientTxnId id, const sip::Message& resp) {
    auto ref = client_txns_.find(id);
    if (ref == client_txns_.end()) return;
    ClientRef& r = ref->second;
    auto it = calls_.find(r.call);
    if (it == calls_.end()) return;
    Call& c = *it->second;
    Leg* leg = leg_of(c, r.leg);
    if (!leg) return;
    bool final = resp.status() >= 200;
    bool first_final = final && !r.done;
    if (first_final) {
        r.done = true;
        if (c.pending_clients > 0) --c.pending_clients;
    }
    switch (r.kind) {
        case ClientRef::invite:
            on_b_invite_response(c, *leg, r, resp);
            break;
        case ClientRef::relay:
            on_relay_response(c, *leg, id, resp);
            break;
        case ClientRef::refresh:
            if (resp.status() >= 200 && resp.status() < 300 &&
                resp.cseq_method() == sip::Method::INVITE) {
                send_ack(*leg, resp.cseq(), {}, {});
                // Our refresh offered the last SDP we sent; a caller we answered ourselves, with
                // no callee's answer paired to it, answers it to us alone.
                if (first_final && leg->index == 0 && c.answered_locally && !c.winner)
                    take_answer_to_our_offer(c, *leg, resp.body(), "its 2xx to our refresh");
            } else if (first_final && (resp.status() == 481 || resp.status() == 408))
                end_call(c, "session refresh failed", leg);
            break;
        case ClientRef::cancel:
        case ClientRef::bye:
            break;
    }
    if (first_final) maybe_destroy(c);
}

void CallManager::Impl::on_client_failure(txn::ClientTxnId id, int status, const char* reason) {
    auto ref = client_txns_.find(id);
    if (ref == client_txns_.end()) return;
    ClientRef& r = ref->second;
    auto it = calls_.find(r.call);
    if (it == calls_.end()) return;
    Call& c = *it->second;
    bool was_pending = !r.done;
    r.done = true;
    if (was_pending && c.pending_clients > 0) --c.pending_clients;
    Leg* leg = leg_of(c, r.leg);
    if (leg && was_pending) {
        switch (r.kind) {
            case ClientRef::invite:
                on_b_invite_failure(c, *leg, status, reason);
                break;
            case ClientRef::relay:
                on_relay_failure(c, *leg, status);
                break;
            case ClientRef::refresh:
                end_call(c, "session refresh failed", leg);
                break;
            case ClientRef::cancel:
            case ClientRef::bye:
                break;
        }
    }
    maybe_destroy(c);
}

// --- Routing -----------------------------------------------------------------------------------

void CallManager::Impl::run_routing_step(Call& c, RouteStep step) {
    if (step.state == RouteStep::State::waiting) return;
    c.routing = false;
    if (step.state == RouteStep::State::failed) {
        SB_ERROR("dialplan", "call {}: {}", c.id, step.error);
        // A bridged call stays up; a caller we answered ourselves has nobody left to talk to.
        if (!c.winner && !c.ended) end_call(c, "dialplan error: " + step.error, nullptr, 500);
        return;
    }
    if (c.answered_locally && !c.winner && !c.ended) {
        end_call(c, "routing ended (answered by the dialplan)", nullptr);
        return;
    }
    // The script returned without an answered bridge or a hangup: end the call ourselves.
    if (!c.answered && !c.ended) {
        int status = final_status_for(c.last_outcome);
        // The caller hears why first, then gets the status (busy_timer): the busy tone for a
        // busy callee, the congestion tone ("fast busy") when the network or a server failed.
        const bool busy = status == 486 || status == 600;
        const bool congestion = status == 500 || status == 502 || status == 503 || status == 504;
        if ((busy || congestion) && config_.busy_tone_s > 0 && !c.a_final_sent) {
            if (auto early = early_media(c)) {
                respond_a(c, 183, "Session Progress", {}, "application/sdp", *early);
                c.media->play_tone(0, busy ? media::dsp::Tone::busy : media::dsp::Tone::congestion);
                c.tone_status = status;
                c.ringback_playing = false;
                wheel_.schedule(c.busy_timer,
                                services_.clock.now() + std::chrono::seconds(config_.busy_tone_s));
                return;
            }
        }
        end_call(c,
                 c.last_outcome ? std::string("routing ended: ") +
                                      std::string(to_string(c.last_outcome->result))
                                : std::string("routing ended without a destination"),
                 nullptr, status);
    }
}

void CallManager::Impl::deliver_outcome(Call& c, Outcome outcome, bool record) {
    if (record) c.last_outcome = outcome;  // a bridge's, which decides the final status
    if (!c.routing) return;
    if (c.in_router) {
        // A bridge that ended before it began (nothing to ring): resume on the next loop turn,
        // never inside the Router's own call.
        c.deferred_outcome = outcome;
        c.deferred_records = record;
        wheel_.schedule(c.outcome_timer, services_.clock.now());
        return;
    }
    c.in_router = true;
    RouteStep step = router_->resume(c.id, outcome);
    c.in_router = false;
    run_routing_step(c, std::move(step));
}

void CallManager::Impl::on_deferred_outcome(Call& c) {
    if (!c.deferred_outcome) return;
    Outcome o = *c.deferred_outcome;
    c.deferred_outcome.reset();
    deliver_outcome(c, o, c.deferred_records);
}

void CallManager::Impl::api_hangup(Call& c, int code, std::string_view reason) {
    if (c.answered) {
        end_call(c, "dialplan hung up", nullptr);
        return;
    }
    if (code < 400 || code > 699) code = 480;
    std::string why = reason.empty() ? std::string(sip::default_reason(code)) : clean(reason, 128);
    respond_a(c, code, why);
    end_call(c, "dialplan hung up: " + std::to_string(code), nullptr, code);
}

// --- Teardown ----------------------------------------------------------------------------------

std::optional<std::string> CallManager::Impl::early_media(Call& c) {
    if (c.early_sdp) return c.early_sdp;
    if (!c.media || c.invite.body().empty()) return std::nullopt;
    auto sdp = c.media->early_answer(0, c.invite.body());
    if (!sdp) return std::nullopt;  // direct media: the phone plays its own ringback
    mark_media_used(c);
    c.early_sdp = std::move(*sdp);
    return c.early_sdp;
}

void CallManager::Impl::fail_wait(Call& c, std::string_view what, std::string_view why) {
    SB_WARN("call", "call {}: {}: {}", c.id, what, why);
    // Through the event loop, never inside the Router's own call; it is no bridge's outcome,
    // so it does not decide the call's final status.
    c.deferred_outcome = Outcome{BridgeResult::failed, 500, {}, std::string(why)};
    c.deferred_records = false;
    wheel_.schedule(c.outcome_timer, services_.clock.now());
}

// The caller is answered by the B2BUA itself, as the UAS of the A-leg's dialog: a 2xx with the
// SDP answer our early media gave it (the same one, RFC 3264 8: a 183 may have carried it),
// retransmitted until its ACK like a relayed one (RFC 3261 13.3.1.4).
namespace {

// A caller or callee number as part of a file name: at most 32 of [0-9A-Za-z+._-], the rest '_'.
std::string file_safe(std::string_view s) {
    std::string out;
    for (char ch : s.substr(0, 32)) {
        const bool ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                        (ch >= 'A' && ch <= 'Z') || ch == '+' || ch == '.' || ch == '_' ||
                        ch == '-';
        out.push_back(ok && !(ch == '.' && out.empty()) ? ch : '_');
    }
    return out.empty() ? std::string("_") : out;
}

}  // namespace

bool CallManager::Impl::api_record(Call& c, bool start) {
    if (!c.media || c.ended) return false;
    if (!start) {
        c.media->stop_recording();
        return true;
    }
    if (!c.record.recording.empty()) return true;  // already recording
    // Dated directories keep any one directory small; the name says when, who and which call
    // (the shard and call id make it unique; the recorder never overwrites a file anyway).
    const std::time_t t = static_cast<std::time_t>(services_.clock.unix_seconds());
    std::tm utc{};
    gmtime_r(&t, &utc);
    const std::string path = fmt::format(
        "{}/{:04}/{:02}/{:02}/{:04}{:02}{:02}-{:02}{:02}{:02}-{}-{}-{}-{}.wav",
        config_.recordings_dir, utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_year + 1900,
        utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
        file_safe(c.record.caller), file_safe(c.record.callee), shard_, c.id);
    if (auto st = c.media->start_recording(path); !st) {
        SB_WARN("call", "call {}: cannot record: {}", c.id, st.error().message);
        return false;
    }
    mark_media_used(c);
    c.record.recording = path;
    SB_INFO("call", "call {}: recording to {}", c.id, path);
    return true;
}

bool CallManager::Impl::api_answer(Call& c) {
    if (c.answered) return true;
    if (c.ended || c.a_final_sent) return false;
    if (c.invite.body().empty()) {
        // Our offer would go in the 2xx and the caller's answer in the ACK (RFC 3261 13.2.1): a
        // case we do not handle yet.
        SB_WARN("call", "call {}: cannot answer: the caller's INVITE has no SDP offer", c.id);
        return false;
    }
    auto sdp = early_media(c);
    if (!sdp) {
        SB_WARN("call", "call {}: cannot answer: media is not anchored", c.id);
        return false;
    }
    c.answered = true;
    c.answered_locally = true;
    c.ringback_playing = false;
    c.record.answered_at = now_ms();
    c.record.answer_ms = (services_.clock.now() - c.began).count();
    std::string extra;
    negotiate_session_timer_a(c, extra);
    Leg& a = c.a();
    a.state = LegState::confirmed;
    a.last_sdp_sent = *sdp;
    respond_a(c, 200, "OK", extra, "application/sdp", *sdp);
    arm_session_timer(a);
    wheel_.schedule(c.duration_timer, services_.clock.now() + config_.max_call_duration);
    return true;
}

void CallManager::Impl::api_conference(Call& c, std::string_view room,
                                       const ConferenceRequest& req) {
    if (!valid_room_name(room)) return fail_wait(c, "conference", "not a valid room name");
    const std::string what = "conference " + std::string(room);
    if (c.ended || c.winner || c.bridging.active || !c.conference_room.empty())
        return fail_wait(c, what, "the call is bridged, in a room, or over");
    if (!api_answer(c)) return fail_wait(c, what, "the call cannot be answered");
    media::ConferenceOptions options;
    options.muted = req.muted;
    options.mute_key = req.mute_key;
    options.chimes = req.chimes;
    if (!req.alone_prompt.empty()) {
        // A missing announcement keeps nobody out of the room; one the script named is worth
        // a warning, the default one (deleted by the administrator) is not.
        auto prompt = media::dsp::load_prompt(config_.prompts_dir, req.alone_prompt);
        if (prompt)
            options.alone_prompt = std::move(*prompt);
        else if (req.alone_prompt != ConferenceRequest::kDefaultAlonePrompt)
            SB_WARN("call", "call {}: conference alone_prompt: {}", c.id, prompt.error().message);
    }
    if (req.music_when_alone && !config_.music_on_hold.empty()) {
        auto music = media::dsp::load_prompt(config_.prompts_dir, config_.music_on_hold);
        if (music)
            options.music_when_alone = std::move(*music);
        else
            SB_WARN("call", "call {}: conference music_when_alone: {}", c.id,
                    music.error().message);
    }
    if (!c.media->join_conference(0, room, options))
        return fail_wait(c, what, "the media engine could not join the room (full?)");
    mark_media_used(c);
    c.conference_room = std::string(room);
    SB_DEBUG("call", "call {}: in conference room {}", c.id, room);
    // No outcome follows: the caller stays until the call ends, which cancels the routing.
}

void CallManager::Impl::api_playback(Call& c, std::string_view name) {
    auto failed = [&](std::string_view why) {
        fail_wait(c, "playback '" + std::string(name) + "'", why);
    };
    // Before any answer as early media; after answer() in the call, until a bridge answers.
    if (c.ended || c.winner || c.bridging.active || (c.a_final_sent && !c.answered_locally))
        return failed("the call is bridged or over");
    auto prompt = media::dsp::load_prompt(config_.prompts_dir, name);
    if (!prompt) return failed(prompt.error().message);
    if (!c.answered_locally) {
        auto early = early_media(c);
        if (!early) return failed("media is not anchored, or the caller made no offer");
        respond_a(c, 183, "Session Progress", {}, "application/sdp", *early);
    }
    if (!start_prompt(c, std::move(*prompt))) return failed("the media engine cannot play");
}

bool CallManager::Impl::start_prompt(Call& c, std::shared_ptr<const media::dsp::Prompt> prompt) {
    const auto length =
        std::chrono::milliseconds(static_cast<std::int64_t>(prompt->seconds() * 1000));
    // The end notice runs on a media thread and may outlive the call: it holds only the inbox
    // and the numbers that name the prompt, which a later prompt of the call does not share.
    const std::uint64_t id = next_prompt_++;
    auto on_end = [inbox = media_inbox_, call = c.id, id] {
        inbox->push({MediaInbox::Notice::prompt_end, call, id, 0});
    };
    Duration wait{};
    bool reported = c.media->play_prompt_then(0, prompt, std::move(on_end));
    if (reported) {
        // The relay plays at its own pace (a frame late, a worker busy): the timer only catches
        // an engine that never reports.
        wait = length + std::chrono::seconds(2);
    } else if (c.media->play_prompt(0, std::move(prompt))) {
        // An engine that cannot report: done when the prompt's length has passed (plus a frame).
        wait = length + std::chrono::milliseconds(40);
    } else {
        return false;
    }
    mark_media_used(c);
    c.ringback_playing = false;
    c.prompt = Call::Prompt{true, id, reported};
    if (reported) {
        ++prompt_waiters_;
        poll_media();
    }
    wheel_.schedule(c.playback_timer, services_.clock.now() + wait);
    return true;
}

void CallManager::Impl::stop_prompt(Call& c, bool stop) {
    if (!c.prompt.playing) return;
    if (stop && c.media) c.media->stop_tone(0);
    if (c.prompt.reported && prompt_waiters_ > 0) --prompt_waiters_;
    c.prompt.playing = false;
    wheel_.cancel(c.playback_timer);
}

void CallManager::Impl::on_playback_timeout(Call& c) {
    if (!c.prompt.playing) return;
    if (c.prompt.reported) {
        SB_WARN("call", "call {}: the media engine did not report the prompt's end; going on",
                c.id);
        stop_prompt(c, true);  // whatever it still plays must not run into what comes next
    }
    on_playback_done(c);
}

void CallManager::Impl::on_playback_done(Call& c) {
    stop_prompt(c, false);
    if (c.ended) return;
    if (c.collect.active) {  // play_and_collect: the wait for the first key begins now
        wheel_.schedule(
            c.collect_timer,
            services_.clock.now() + std::chrono::seconds(c.collect.request.first_timeout_s));
        return;
    }
    // The playback's outcome does not replace the last bridge's (the script's final status).
    deliver_outcome(c, Outcome{BridgeResult::answered, 200}, false);
}

void CallManager::Impl::end_call(Call& c, std::string reason, Leg* by, int a_status) {
    if (c.ended) return;
    c.ended = true;
    wheel_.cancel(c.busy_timer);
    stop_prompt(c, false);  // the caller's port goes with the call
    stop_collect(c);
    c.record.end_reason = std::move(reason);
    if (c.media) c.media->stop_recording();  // the file is complete when the call is over
    if (!c.conference_room.empty()) {
        c.media->leave_conference(0);  // the room hears the caller leave before its port goes
        c.conference_room.clear();
    }
    if (c.routing && !c.in_router) {
        router_->cancel(c.id);
        c.routing = false;
    }
    c.bridging.active = false;
    wheel_.cancel(c.bridge_timer);
    wheel_.cancel(c.outcome_timer);
    wheel_.cancel(c.duration_timer);
    c.deferred_outcome.reset();

    // The caller: a final response if it has none yet, otherwise BYE (unless it hung up itself).
    if (!c.a_final_sent) {
        int status = a_status ? a_status : 480;
        respond_a(c, status, sip::default_reason(status));
    } else if (c.answered && by != &c.a() && c.a().state == LegState::confirmed) {
        // RFC 3261 15: no BYE before the ACK of our 2xx to the INVITE (or the 2xx's give-up),
        // which a script that answers and at once hangs up would otherwise send.
        Leg& a = c.a();
        if (a.pending_2xx && a.pending_2xx->txn == c.a_txn)
            a.bye_after_ack = true;
        else
            send_in_dialog(c, a, "BYE", ClientRef::bye, {}, {}, {});
    }
    for (auto& leg : c.legs) {
        wheel_.cancel(leg->session_timer);
        if (!leg->bye_after_ack) {
            wheel_.cancel(leg->retransmit_timer);
            leg->pending_2xx.reset();
        }
        if (leg->relay_in) {
            if (const sip::Message* req = txns_.request(leg->relay_in)) {
                const Flow* f = txns_.flow(leg->relay_in);
                if (f)
                    reply(leg->relay_in, *req, *f, 481, "Call/Transaction Does Not Exist",
                          leg->dialog.local_tag);
            }
            leg->relay_in = {};
        }
        if (leg->index == 0) continue;
        if (leg->state == LegState::confirmed && leg.get() == c.winner) {
            if (leg.get() != by) send_in_dialog(c, *leg, "BYE", ClientRef::bye, {}, {}, {});
        } else if (!leg->invite_done && !leg->cancelled) {
            cancel_leg(*leg, "call ended");
        }
        release_media(c, *leg);
    }
    // The caller's port stays with the session until the call is destroyed; its figures now.
    if (c.media)
        if (auto m = media_record(c.media->leg_media(0), c.began)) c.a().media = std::move(m);
    for (auto& leg : c.legs)
        leg->state = leg->state == LegState::confirmed ? LegState::terminated : leg->state;
    c.record.ended_at = now_ms();
    maybe_destroy(c);
}

void CallManager::Impl::release_media(Call& c, Leg& leg) {
    if (!c.media) return;
    if (auto m = media_record(c.media->leg_media(leg.index), c.began)) leg.media = std::move(m);
    c.media->release_leg(leg.index);
}

void CallManager::Impl::on_max_duration(Call& c) {
    SB_INFO("call", "call {}: maximum duration reached; ending it", c.id);
    end_call(c, "maximum call duration", nullptr);
}

void CallManager::Impl::maybe_destroy(Call& c) {
    if (!c.ended) return;
    TimePoint now = services_.clock.now();
    // Once nothing is pending, on the next loop turn (never from inside a handler that still uses
    // the call); otherwise when the stragglers must have ended (64*T1 covers every transaction).
    const bool waiting = c.pending_clients > 0 || c.a().bye_after_ack;
    TimePoint when = waiting ? now + 64 * config_.t1 + Duration(1000) : now;
    if (!c.destroy_timer.scheduled() || c.destroy_timer.deadline() > when)
        wheel_.schedule(c.destroy_timer, when);
}

void CallManager::Impl::destroy(Call& c) {
    for (txn::ClientTxnId id : c.client_ids) {
        auto it = client_txns_.find(id);
        if (it != client_txns_.end() && !it->second.done) txns_.stop_client(id);
        client_txns_.erase(id);
    }
    for (txn::ServerTxnId id : c.server_ids) server_txns_.erase(id);
    for (const std::string& k : c.dialog_keys) dialogs_.erase(k);
    for (auto& leg : c.legs) {
        if (leg->index == 0) continue;
        c.record.legs.push_back(LegRecord{leg->destination, leg->dialog.remote_target,
                                          leg->final_status, leg->final_reason, leg->media});
    }
    c.record.a_media = c.a().media;
    if (c.routing) router_->cancel(c.id);
    CallRecord record = std::move(c.record);
    calls_.erase(c.id);                       // `c` is gone from here on
    SB_INFO("call", "{}", describe(record));  // the log keeps it even when the database is away
    if (services_.records) services_.records->record(std::move(record));
}

void CallManager::Impl::stop() {
    std::vector<std::uint64_t> ids;
    for (auto& [id, c] : calls_) ids.push_back(id);
    for (std::uint64_t id : ids) {
        auto it = calls_.find(id);
        if (it != calls_.end()) end_call(*it->second, "shutdown", nullptr, 503);
    }
}

}  // namespace sb::call
