#include "sb/server/sip_server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <thread>

#include "sb/common/log.h"
#include "sb/common/timer_wheel.h"
#include "sb/server/uas_core.h"
#include "sb/sip/writer.h"
#include "sb/txn/response_route.h"
#include "sb/txn/message_builders.h"
#include "sb/txn/transaction_layer.h"

namespace sb::server {

namespace asio = boost::asio;

// One worker: an event loop thread that owns its sockets, timers and transactions.
class SipServer::Shard final : public transport::Receiver, public txn::Sender, public txn::ServerUser {
public:
    Shard(SipServer& server, std::size_t index)
        : server_(server),
          index_(index),
          wheel_(server.services_.clock.now()),
          tick_(io_),
          transport_(io_, index, server.config_.transport, *this),
          txns_(server.services_.clock, wheel_, *this, *this, server.config_.transactions),
          registrar_(server.services_.clock, server.config_.registrar, server.services_.authenticator,
                     server.services_.locations, server.services_.bindings),
          calls_(server.config_.calls,
                 call::CallServices{server.services_.clock, server.services_.authenticator, server.services_.locations,
                                    server.services_.credentials, server.services_.media, server.services_.records},
                 txns_, *this, wheel_, server.services_.routers(), index),
          overload_(server.config_.overload) {}

    Status listen(const std::vector<transport::ListenSpec>& specs) { return transport_.listen(specs); }

    void start() {
        arm_tick();
        thread_ = std::thread([this] {
            auto guard = asio::make_work_guard(io_);
            io_.run();
        });
    }

    void stop() {
        asio::post(io_, [this] {
            tick_.cancel();
            calls_.stop();
            txns_.stop();
            transport_.stop();
            io_.stop();
        });
        if (thread_.joinable()) thread_.join();
    }

    transport::ShardTransport& transport() { return transport_; }

    // transport::Receiver: route to the Call-ID's owner shard, then into the transaction layer.
    void on_message(sip::Message&& m, const Flow& flow) override {
        if (m.is_request() && refuse_source(m, flow)) return;
        if (overload_.overloaded() && m.is_request() && m.to_tag().empty() &&
            (m.method() == sip::Method::INVITE || m.method() == sip::Method::REGISTER) && !overload_.admit()) {
            shed(m, flow);
            return;
        }
        // A new request (a REGISTER, an INVITE) is handled by the shard whose socket received it:
        // its retransmissions and CANCEL take the same path, and no work crosses threads. What
        // follows within a dialog carries a tag we generated, which names the shard that owns the
        // dialog: the To tag of requests, the From tag of responses to our requests.
        Shard& owner = server_.owner_of(m.is_request() ? m.to_tag() : m.from_tag(), *this);
        if (&owner == this) {
            txns_.receive(std::move(m), flow);
            return;
        }
        asio::post(owner.io_, [&owner, msg = std::move(m), flow]() mutable { owner.txns_.receive(std::move(msg), flow); });
    }

    void on_bad_message(sip::Message&& partial, const sip::SipError& error, const Flow& flow) override {
        // Stateless answer (RFC 3261 8.2: malformed requests get 400 saying what is wrong); a
        // request whose Via we could not read cannot be answered at all.
        if (!partial.can_respond()) return;
        if (refuse_source(partial, flow)) return;
        std::string out;
        sip::MessageWriter w(out);
        std::string ip = flow.remote.ip();
        sip::start_response(w, partial, error.status, error.reason, registrar::make_tag(),
                            sip::Source{ip, flow.remote.port});
        w.header("Server", server_.config_.server_name);
        w.finish();
        (void)send(txn::response_flow(partial.top_via(), flow), out);
    }

    // txn::Sender: sends on this shard, or hands a stream send to the connection's shard.
    Status send(const Flow& flow, std::string_view bytes) override {
        if (flow.transport == TransportKind::udp || transport::shard_of_connection(flow.connection_id) == index_)
            return transport_.send(flow, bytes);
        std::size_t owner = transport::shard_of_connection(flow.connection_id);
        if (owner >= server_.shards_.size()) return fail("no such connection");
        Shard& s = *server_.shards_[owner];
        asio::post(s.io_, [&s, flow, data = std::string(bytes)] { (void)s.transport_.send(flow, data); });
        return {};
    }

    // txn::ServerUser
    void on_request(txn::ServerTxnId id, const sip::Message& req, const Flow& flow) override {
        if (call::CallManager::handles(req) && !check_request(req)) {
            calls_.on_request(id, req, flow);
            return;
        }
        std::string out;
        int status = handle(id, req, flow, out);
        if (status > 0) txns_.respond(id, std::move(out), status);
    }
    void on_ack(const sip::Message& ack, const Flow& flow) override { calls_.on_ack(ack, flow); }
    void on_transport_error(txn::ServerTxnId id) override { calls_.on_server_gone(id); }
    void on_timeout(txn::ServerTxnId id) override { calls_.on_server_gone(id); }

private:
    // A banned address, or a known scanner (which is banned on sight): dropped without an answer,
    // so scanning costs us nothing and teaches the scanner nothing.
    bool refuse_source(const sip::Message& m, const Flow& flow) {
        std::string ip = flow.remote.ip();
        if (server_.services_.bans.is_banned(ip)) return true;
        if (server_.services_.scanners.is_scanner(m.value(sip::HeaderId::user_agent))) {
            if (server_.services_.bans.ban(ip)) SB_WARN("sip", "banned {}: scanner User-Agent", ip);
            return true;
        }
        return false;
    }

    // Returns the status written into `out`, or 0 when no response is due.
    int handle(txn::ServerTxnId id, const sip::Message& req, const Flow& flow, std::string& out) {
        std::string ip = flow.remote.ip();
        sip::Source src{ip, flow.remote.port};
        auto simple = [&](int status, std::string_view reason, auto&& extra) {
            sip::MessageWriter w(out);
            sip::start_response(w, req, status, reason, registrar::make_tag(), src);
            extra(w);
            w.header("Server", server_.config_.server_name);
            w.finish();
            return status;
        };
        auto none = [](sip::MessageWriter&) {};

        if (auto r = check_request(req)) {
            return simple(r->status, r->reason, [&](sip::MessageWriter& w) {
                if (r->status == 405) w.header("Allow", kAllow);
                if (r->status == 420) w.header("Unsupported", unsupported_tags(req));
                if (r->status == 415) w.header("Accept", kAccept);
            });
        }
        switch (req.method()) {
            case sip::Method::REGISTER: return registrar_.handle(req, flow, out);
            case sip::Method::OPTIONS:
                // RFC 3261 11.2: what we support, whether or not the OPTIONS was for us.
                return simple(200, "OK", [&](sip::MessageWriter& w) {
                    w.header("Allow", kAllow);
                    w.header("Accept", kAccept);
                    w.header("Accept-Encoding", "identity");
                    w.header("Accept-Language", "en");
                    w.header("Supported", kSupported);
                });
            case sip::Method::CANCEL:
            case sip::Method::BYE:
            case sip::Method::INVITE: return 0;  // the CallManager's (passed on above)
            case sip::Method::MESSAGE: return simple(501, "Not Implemented (no pager messages outside calls)", none);
            default: return simple(481, "Call/Transaction Does Not Exist", none);  // needs a dialog
        }
    }

    void arm_tick() {
        // The timer wheel ticks every 10 ms; one periodic Asio timer drives it. Each tick also
        // tells the overload guard how long received requests waited to be read.
        tick_.expires_after(std::chrono::milliseconds(10));
        tick_.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            auto now = std::chrono::steady_clock::now();
            if (overload_.tick(std::chrono::duration_cast<Duration>(now.time_since_epoch()),
                               transport_.take_max_queue_delay())) {
                if (overload_.overloaded())
                    SB_WARN("sip", "shard {} overloaded (requests waited {} ms to be read): some new INVITEs and REGISTERs get 503",
                            index_, overload_.last_delay().count());
                else
                    SB_INFO("sip", "shard {} no longer overloaded", index_);
            }
            wheel_.advance(server_.services_.clock.now());
            arm_tick();
        });
    }

    // A stateless 503 (RFC 3261 21.5.4) for a new request while overloaded: no transaction, no
    // authentication, no dialplan; Retry-After spreads the retries.
    void shed(const sip::Message& m, const Flow& flow) {
        if (!m.can_respond()) return;
        std::string out;
        sip::MessageWriter w(out);
        std::string ip = flow.remote.ip();
        sip::start_response(w, m, 503, "Service Unavailable (overloaded)", txn::stateless_to_tag(m),
                            sip::Source{ip, flow.remote.port});
        w.header("Retry-After", std::to_string(overload_.config().retry_after_s));
        w.header("Server", server_.config_.server_name);
        w.finish();
        (void)send(txn::response_flow(m.top_via(), flow), out);
    }

    SipServer& server_;
    std::size_t index_;
    asio::io_context io_{1};
    TimerWheel wheel_;
    asio::steady_timer tick_;
    transport::ShardTransport transport_;
    txn::TransactionLayer txns_;
    registrar::Registrar registrar_;
    call::CallManager calls_;
    OverloadGuard overload_;
    std::thread thread_;

    friend class SipServer;
};

SipServer::SipServer(ServerConfig config, Services services)
    : config_(std::move(config)), services_(services) {
    if (config_.shards == 0) config_.shards = std::max(1u, std::thread::hardware_concurrency());
}

SipServer::~SipServer() { stop(); }

SipServer::Shard& SipServer::owner_of(std::string_view tag, Shard& receiver) {
    if (auto s = call::shard_of_tag(tag); s && *s < shards_.size()) return *shards_[*s];
    return receiver;
}

Status SipServer::start() {
    std::vector<transport::ListenSpec> specs = config_.listen;
    for (std::size_t i = 0; i < config_.shards; ++i) {
        auto shard = std::make_unique<Shard>(*this, i);
        if (auto st = shard->listen(specs); !st) return st;
        if (i == 0) {
            // Port 0 means "any": the other shards must bind the port shard 0 got.
            auto udp = shard->transport().udp_endpoints();
            auto tcp = shard->transport().tcp_endpoints();
            std::size_t u = 0, t = 0;
            for (auto& spec : specs) {
                if (spec.udp) {
                    if (spec.endpoint.port == 0) spec.endpoint.port = udp[u].port;
                    ++u;
                }
                if (spec.tcp) {
                    if (spec.endpoint.port == 0) spec.endpoint.port = tcp[t].port;
                    ++t;
                }
            }
        }
        shards_.push_back(std::move(shard));
    }
    for (auto& s : shards_) s->start();
    running_ = true;
    return {};
}

void SipServer::stop() {
    if (!running_) return;
    running_ = false;
    for (auto& s : shards_) s->stop();
    shards_.clear();
}

std::vector<Endpoint> SipServer::udp_endpoints() const {
    return shards_.empty() ? std::vector<Endpoint>{} : shards_[0]->transport().udp_endpoints();
}
std::vector<Endpoint> SipServer::tcp_endpoints() const {
    return shards_.empty() ? std::vector<Endpoint>{} : shards_[0]->transport().tcp_endpoints();
}
std::size_t SipServer::shard_count() const { return shards_.size(); }

}  // namespace sb::server
