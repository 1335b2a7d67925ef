#pragma once
// The transaction user of server transactions (RFC 3261 17.2): the registrar, the B2BUA, the
// OPTIONS responder... one per TransactionLayer, usually a dispatcher by method.
//
// Threading: called only on the shard's thread, from inside TransactionLayer::receive() or from a
// timer of the layer's TimerWheel. The user may call back into the layer (respond(),
// start_client(), ...) from any of these callbacks. on_transport_error and on_timeout are never
// delivered from inside a call the user made into the layer: when such a call causes one (a
// respond() whose send fails), it comes on the next turn of the event loop (a zero-delay timer
// on the wheel); when receive() or a timer causes one, it comes just before that returns.
#include "sb/common/endpoint.h"
#include "sb/sip/message.h"
#include "sb/txn/ids.h"

namespace sb::txn {

class ServerUser {
public:
    virtual ~ServerUser() = default;

    // A new request created server transaction `id` (every method except ACK; CANCEL too: answer
    // it with respond() and find what it cancels with TransactionLayer::find_cancelled_invite()).
    // Retransmissions never come here. `request` and `flow` stay valid while the transaction
    // lives (TransactionLayer::request(id) finds the request again later); copy what must outlive
    // it. The user answers now or later with TransactionLayer::respond(id, ...); for INVITE the
    // layer sends 100 Trying itself unless the user answers within TxnConfig::trying_delay.
    virtual void on_request(ServerTxnId id, const sip::Message& request, const sb::Flow& flow) = 0;

    // An ACK that no transaction absorbed: the ACK for a 2xx (RFC 3261 13.3.1.4, 17: it is not
    // part of the INVITE transaction), or an ACK matching nothing at all. Valid during the call.
    virtual void on_ack(const sip::Message& ack, const sb::Flow& flow) = 0;

    // Sending a response of `id` failed (RFC 3261 17.2.4); the transaction is gone.
    virtual void on_transport_error(ServerTxnId id) = 0;

    // The transaction ended without completing (it is gone): Timer H fired (no ACK for a non-2xx
    // final response to an INVITE, 17.2.1), or the user never answered: an INVITE after
    // TxnConfig::max_invite_pending (the layer sent 500 itself), a non-INVITE after 64*T1.
    virtual void on_timeout(ServerTxnId id) = 0;
};

}  // namespace sb::txn
