#pragma once
// Private: the state of a TransactionLayer, its transactions and their lookup keys.
// The server state machines live in server_transactions.cpp, the client ones in
// client_transactions.cpp, the public facade in transaction_layer.cpp.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "keyed_hash.h"
#include "sb/common/timer_wheel.h"
#include "sb/sip/message.h"
#include "sb/sip/text.h"
#include "sb/txn/client_user.h"
#include "sb/txn/config.h"
#include "sb/txn/ids.h"
#include "sb/txn/sender.h"
#include "sb/txn/server_user.h"

namespace sb::txn {

// A method as transactions compare it: the enum, and the text for extension methods
// (RFC 3261 7.1: method names are case-sensitive).
struct MethodKey {
    sip::Method method = sip::Method::extension;
    std::string_view text;  // only for extension
    static MethodKey of(sip::Method m, std::string_view text) {
        return m == sip::Method::extension ? MethodKey{m, text} : MethodKey{m, {}};
    }
    bool operator==(const MethodKey& o) const { return method == o.method && text == o.text; }
};

// RFC 3261 17.2.3, magic-cookie branch: branch + sent-by + method (ACK looks up INVITE).
struct ServerKey {
    std::string_view branch;
    std::string_view host;  // sent-by host, compared case-insensitively
    std::uint16_t port = 0;  // sent-by port, the transport's default if absent
    MethodKey method;
    // Not in RFC 3261's rule, but a real retransmission (and its ACK and CANCEL, RFC 3261 9.1,
    // 17.1.1.3) always has the same Call-ID and Request-URI: comparing them keeps clients that
    // reuse a branch for unrelated requests (seen in the wild, and across the RFC 4475/5118
    // torture messages) from being answered with another request's response.
    std::string_view call_id;
    std::string_view request_uri;
};
struct ServerKeyHash {
    SipKey key;
    std::size_t operator()(const ServerKey& k) const noexcept {
        return keyed_hash(key, k.branch) + static_cast<std::size_t>(k.method.method) * 0x9e3779b97f4a7c15ull +
               k.port;
    }
};
struct ServerKeyEq {
    bool operator()(const ServerKey& a, const ServerKey& b) const noexcept {
        return a.branch == b.branch && a.port == b.port && a.method == b.method && a.call_id == b.call_id &&
               a.request_uri == b.request_uri &&
               sip::iequals(a.host, b.host);
    }
};

// RFC 3261 17.2.3, RFC 2543 fallback (no magic cookie): the hash part of the key; the rest of
// the comparison (Request-URI, To tag, top Via) is done on the candidates.
struct LegacyKey {
    std::string_view call_id;
    std::uint32_t cseq = 0;
    std::string_view from_tag;
    MethodKey method;  // INVITE for ACK
};
struct LegacyKeyHash {
    SipKey key;
    std::size_t operator()(const LegacyKey& k) const noexcept {
        return keyed_hash(key, k.call_id) ^ (keyed_hash(key, k.from_tag) * 0x9e3779b97f4a7c15ull) ^
               (static_cast<std::uint64_t>(k.cseq) << 8) ^ static_cast<std::size_t>(k.method.method);
    }
};
struct LegacyKeyEq {
    bool operator()(const LegacyKey& a, const LegacyKey& b) const noexcept {
        return a.cseq == b.cseq && a.call_id == b.call_id && a.from_tag == b.from_tag && a.method == b.method;
    }
};

// RFC 3261 17.1.3: branch + CSeq method.
struct ClientKey {
    std::string_view branch;
    sip::Method method = sip::Method::extension;
    bool operator==(const ClientKey& o) const { return branch == o.branch && method == o.method; }
};
struct ClientKeyHash {
    SipKey key;
    std::size_t operator()(const ClientKey& k) const noexcept {
        return keyed_hash(key, k.branch) + static_cast<std::size_t>(k.method) * 0x9e3779b97f4a7c15ull;
    }
};

class LayerImpl;

enum class ServerState : std::uint8_t { trying, proceeding, completed, confirmed, accepted, terminated };
enum class ClientState : std::uint8_t { calling, proceeding, completed, accepted, terminated };  // calling = Trying for non-INVITE

struct ServerTxn {
    explicit ServerTxn(LayerImpl& l) : layer(&l) {}
    void on_retransmit_timer();
    void on_lifetime_timer();

    LayerImpl* layer;
    std::uint64_t id = 0;
    bool invite = false;
    bool legacy = false;    // matched by the RFC 2543 rules
    bool reliable = false;  // arrived on a stream transport
    ServerState state = ServerState::trying;
    sip::Message request;   // the request that created it; the keys view its buffer
    // Its lookup key (magic-cookie transactions). Once a non-INVITE transaction has answered, it
    // only waits out Timer J to absorb retransmissions: the key then views key_storage and the
    // request is released, so 32 s of completed transactions cost ~200 bytes each, not ~4 KB.
    ServerKey key;
    std::string key_storage;
    bool compacted = false;
    sip::Via reply_via;     // what response_flow() needs of the top Via (flags and port only)
    sb::Flow flow;          // as it arrived
    sb::Flow reply_to;      // response_flow()
    std::string response;   // the last response sent; retransmitted on request retransmissions
    int status = 0;         // its status, 0 if none yet
    std::string response_to_tag;  // RFC 2543 INVITE: the To tag of our final response (ACK matching)
    Duration g_interval{0};
    bool timed_out = false;  // on_timeout already reported (the TU never answered)
    // Proceeding (INVITE): the delayed 100 Trying. Completed (INVITE): Timer G.
    MemberTimer<ServerTxn, &ServerTxn::on_retransmit_timer> retransmit{this};
    // H, I, J, L, and the bound on a silent TU.
    MemberTimer<ServerTxn, &ServerTxn::on_lifetime_timer> lifetime{this};
};

struct ClientTxn {
    explicit ClientTxn(LayerImpl& l) : layer(&l) {}
    void on_retransmit_timer();
    void on_lifetime_timer();

    LayerImpl* layer;
    std::uint64_t id = 0;
    bool invite = false;
    bool reliable = false;
    ClientState state = ClientState::calling;
    sip::Method method = sip::Method::extension;
    std::string request;  // the bytes, for retransmissions
    std::string branch;   // the key views it
    sb::Flow dest;
    ClientUser* user = nullptr;
    std::string ack;       // INVITE: the ACK for the non-2xx final response, resent on retransmissions
    Duration interval{0};  // current A / E interval
    // CANCEL (9.1): requested before a provisional response arrived (sent on the first one), or sent.
    bool cancel_pending = false;
    bool cancel_sent = false;
    std::uint64_t cancel_id = 0;
    ClientUser* cancel_user = nullptr;
    MemberTimer<ClientTxn, &ClientTxn::on_retransmit_timer> retransmit{this};  // A, E
    MemberTimer<ClientTxn, &ClientTxn::on_lifetime_timer> lifetime{this};      // B, D, F, K, M, bounds
};

class LayerImpl {
public:
    LayerImpl(const Clock& clock, TimerWheel& wheel, Sender& sender, ServerUser& user, TxnConfig config);
    ~LayerImpl();

    // Every entry point (public call, timer callback) holds one. When the outermost one ends,
    // terminated transactions are destroyed and notifications delivered: at once after
    // receive() and timers; after a call made by a user (respond, start_client...) on the next
    // turn of the event loop (a zero-delay timer), so a user is never called back from inside
    // its own call into the layer.
    enum class Origin : std::uint8_t { network, user };
    struct Entry {
        explicit Entry(LayerImpl& l, Origin o = Origin::network) : layer(l) {
            if (layer.depth_++ == 0) layer.origin_ = o;
        }
        ~Entry() {
            if (--layer.depth_ == 0) layer.end_of_entry();
        }
        Entry(const Entry&) = delete;
        Entry& operator=(const Entry&) = delete;
        LayerImpl& layer;
    };

    // --- server_transactions.cpp
    void receive_request(sip::Message&& msg, const sb::Flow& flow);
    bool respond(std::uint64_t id, std::string bytes, int status);
    void server_retransmit_timer(ServerTxn& t);
    void server_lifetime_timer(ServerTxn& t);
    ServerTxn* find_server(const sip::Message& msg, MethodKey as_method) const;
    ServerTxn* server_by_id(std::uint64_t id) const;
    std::uint64_t find_cancelled_invite(std::uint64_t cancel_id) const;

    // --- client_transactions.cpp
    void receive_response(sip::Message&& msg, const sb::Flow& flow);
    Result<ClientTxnId> start_client(std::string bytes, sip::Method method, std::string branch,
                                     const sb::Flow& dest, ClientUser& user, std::uint64_t id);
    Result<ClientTxnId> cancel_client(std::uint64_t invite_id, ClientUser& user);
    bool stop_client(std::uint64_t id);
    void client_retransmit_timer(ClientTxn& t);
    void client_lifetime_timer(ClientTxn& t);

    std::string make_branch();
    void stop();

    // Helpers of the state machines.
    bool send_server(ServerTxn& t, std::string_view bytes);  // false: transport error, t terminated
    void send_trying(ServerTxn& t);
    void server_ack(ServerTxn& t, const sip::Message& ack, const sb::Flow& flow);
    void server_retransmission(ServerTxn& t);
    bool send_client(ClientTxn& t, std::string_view bytes);  // false: transport error, t terminated
    void invite_response(ClientTxn& t, const sip::Message& msg);
    void non_invite_response(ClientTxn& t, const sip::Message& msg);
    void send_pending_cancel(ClientTxn& t);

    const Clock& clock_;
    TimerWheel& wheel_;
    Sender& sender_;
    ServerUser& server_user_;
    TxnConfig config_;
    SipKey hash_key_;  // random per layer; declared before the maps that use it

    std::unordered_map<std::uint64_t, std::unique_ptr<ServerTxn>> servers_;
    std::unordered_map<ServerKey, ServerTxn*, ServerKeyHash, ServerKeyEq> server_keys_;
    std::unordered_multimap<LegacyKey, ServerTxn*, LegacyKeyHash, LegacyKeyEq> legacy_keys_;
    std::unordered_map<std::uint64_t, std::unique_ptr<ClientTxn>> clients_;
    std::unordered_map<ClientKey, ClientTxn*, ClientKeyHash> client_keys_;
    std::uint64_t next_server_id_ = 1;
    std::uint64_t next_client_id_ = 1;
    std::uint64_t branch_key_ = 0;
    std::uint64_t branch_counter_ = 0;

    // Outcomes reported after the current entry point returns (see ServerUser / ClientUser).
    enum class Note : std::uint8_t { none, server_timeout, server_transport_error, client_timeout, client_transport_error };
    void notify_server(Note kind, std::uint64_t id) { notes_.push_back({kind, id, nullptr}); }
    void notify_client(Note kind, std::uint64_t id, ClientUser* user) { notes_.push_back({kind, id, user}); }
    void forget_client_notes(std::uint64_t id);

    // Removes from every map, cancels timers; destroyed at the end of the outermost entry.
    void terminate(ServerTxn& t);
    void compact(ServerTxn& t);  // completed non-INVITE over UDP: release the request
    std::size_t compacted_ = 0;    // server transactions that only wait out Timer J
    void terminate(ClientTxn& t);
    TimePoint now() const { return clock_.now(); }

private:
    struct Notification {
        Note kind = Note::none;
        std::uint64_t id = 0;
        ClientUser* user = nullptr;
    };
    void end_of_entry();
    void drain();
    void on_deferred_timer() {
        Entry entry(*this);  // origin: network, so the notes are delivered at its end
    }
    std::vector<Notification> notes_;
    std::vector<std::unique_ptr<ServerTxn>> dead_servers_;
    std::vector<std::unique_ptr<ClientTxn>> dead_clients_;
    int depth_ = 0;
    bool draining_ = false;
    Origin origin_ = Origin::network;
    MemberTimer<LayerImpl, &LayerImpl::on_deferred_timer> deferred_{this};
};

// The sent-by port as transactions compare it (RFC 3261 18.2.1 default ports).
std::uint16_t sent_by_port(const sip::Via& via);

}  // namespace sb::txn
