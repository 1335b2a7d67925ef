#pragma once
// The SIP transaction layer (RFC 3261 section 17, with the RFC 6026 "Accepted" states): the four
// transaction state machines, their timers (A..K, plus L and M of RFC 6026), matching of
// requests and responses to transactions (17.1.3, 17.2.3, with the RFC 2543 fallback) and
// overload protection.
//
// Threading: single-threaded. One TransactionLayer per worker shard, with that shard's Clock,
// TimerWheel, Sender and users; every call is made on the shard's thread, and the layer calls its
// users only on that thread. Nothing locks.
//
// Time: the layer schedules its timers on the TimerWheel it is given and reads `clock`; the
// event loop advances the wheel (TimerWheel::advance(clock.now())). Tests drive both by hand.
//
// Memory: one heap object per live transaction holding the request (server side: the parsed
// message, whose buffer the lookup keys view; client side: the request bytes) and the last
// response; timers are embedded (no allocation per timer). Terminated transactions are destroyed
// before the layer call that ended them returns. The number of live transactions is bounded
// (TxnConfig). Lookup maps hash peer-chosen strings with a per-layer random SipHash key.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "sb/common/clock.h"
#include "sb/common/endpoint.h"
#include "sb/common/result.h"
#include "sb/common/timer_wheel.h"
#include "sb/sip/message.h"
#include "sb/sip/method.h"
#include "sb/txn/client_user.h"
#include "sb/txn/config.h"
#include "sb/txn/ids.h"
#include "sb/txn/sender.h"
#include "sb/txn/server_user.h"

namespace sb::txn {

class LayerImpl;

class TransactionLayer {
public:
    // All references must outlive the layer. `server_user` receives every new request.
    TransactionLayer(const sb::Clock& clock, sb::TimerWheel& wheel, Sender& sender,
                     ServerUser& server_user, TxnConfig config = {});
    ~TransactionLayer();
    TransactionLayer(const TransactionLayer&) = delete;
    TransactionLayer& operator=(const TransactionLayer&) = delete;

    // --- From the transport -------------------------------------------------------------------

    // A parsed message from `flow`. Requests: matched to a server transaction (retransmissions
    // are absorbed or answered with the last response; the ACK for a non-2xx final response is
    // absorbed), else a new transaction is made and ServerUser::on_request called; ACKs matching
    // nothing go to ServerUser::on_ack. When max_server_transactions are live, a new request is
    // answered 503 + Retry-After without a transaction. Responses: matched to a client
    // transaction by top Via branch and CSeq method (17.1.3); stray ones are dropped (RFC 6026 8.9).
    void receive(sip::Message&& message, const sb::Flow& flow);

    // --- Server side (for the ServerUser) -----------------------------------------------------

    // Sends the TU's response for server transaction `id`: `bytes` is the complete response,
    // `status` its status code. The layer keeps it for retransmissions (over UDP, Timer G for a
    // non-2xx final response to INVITE; for retransmitted requests, always). Returns false, and
    // does nothing, when the transaction is gone (a late answer after Timer H, a transport error,
    // stop()) or does not take this response in its state (a final response after a final
    // response, except further 2xx to INVITE: those are sent, RFC 6026 7.1). A transport error
    // is reported to ServerUser::on_transport_error after this returns (true).
    bool respond(ServerTxnId id, std::string bytes, int status);

    // The request of a live server transaction, or nullptr; for building a late response. The
    // pointer dies with the transaction: don't keep it across calls into the layer (a final
    // respond() over TCP ends a non-INVITE transaction at once).
    const sip::Message* request(ServerTxnId id) const;
    // The flow the request of a live server transaction arrived on, or nullptr (same lifetime).
    const sb::Flow* flow(ServerTxnId id) const;

    // For a CANCEL server transaction: the live INVITE server transaction it cancels (RFC 3261
    // 9.2: the CANCEL's top Via matched as if its method were INVITE, 17.2.3), or an empty id.
    // The TU answers the CANCEL 200 (or 481 when this finds nothing) and, if the INVITE has no
    // final response yet, answers the INVITE 487.
    ServerTxnId find_cancelled_invite(ServerTxnId cancel) const;

    // --- Client side -------------------------------------------------------------------------

    // Starts a client transaction for a request the caller built completely, including its top
    // Via with `branch` (from make_branch()) and, for TCP/TLS, the right transport in it.
    // `method` must be the request's method (not ACK: an ACK for a 2xx has no transaction, send
    // it with the Sender). Sends it at once on `destination` and retransmits it there over UDP.
    // Fails (nothing sent, or nothing more) when max_client_transactions are live, the branch and
    // method are already in use, or the first send fails; responses and the outcome go to `user`.
    sb::Result<ClientTxnId> start_client(std::string request_bytes, sip::Method method,
                                         std::string branch, const sb::Flow& destination,
                                         ClientUser& user);

    // Cancels INVITE client transaction `invite` (RFC 3261 9.1): builds the CANCEL from the
    // INVITE and runs it as its own client transaction, whose responses go to `user`. Before any
    // provisional response the CANCEL waits for one (9.1 forbids sending it earlier); if a final
    // response comes first it is never sent and its id reports nothing. The INVITE transaction
    // then expects its final response (usually 487) within 64*T1 or reports on_timeout. Fails if
    // `invite` is gone, not an INVITE, or already has a final response.
    sb::Result<ClientTxnId> cancel_client(ClientTxnId invite, ClientUser& user);

    // Forgets client transaction `id` at once: no more retransmissions, no more callbacks, no
    // CANCEL and no ACK. For a user that is going away. Returns false if it was already gone.
    bool stop_client(ClientTxnId id);

    // A new RFC 3261 branch: "z9hG4bK", TxnConfig::branch_prefix, then 16 hex digits that never
    // repeat within this layer (a bijection of a counter) and differ between layers (a random
    // key per layer). Unique, not a secret.
    std::string make_branch();

    // --- Whole layer ---------------------------------------------------------------------------

    // Ends every transaction without callbacks and without sending anything (shutdown).
    void stop();

    std::size_t size() const;  // live transactions, both sides
    std::size_t server_size() const;
    std::size_t client_size() const;
    const TxnConfig& config() const;

private:
    std::unique_ptr<LayerImpl> impl_;
};

}  // namespace sb::txn
