#pragma once
// The transaction user of one client transaction (RFC 3261 17.1): a B2BUA leg, the registrar's
// outbound registrations, a NOTIFY sender... given to TransactionLayer::start_client().
//
// Threading: called only on the shard's thread, from inside TransactionLayer::receive() or from a
// timer of the layer's TimerWheel. The user may call back into the layer from these callbacks.
// on_timeout and on_transport_error are never delivered from inside a call the user made into the
// layer (see ServerUser). A ClientUser must outlive its transactions, or stop them first with
// TransactionLayer::stop_client().
#include "sb/sip/message.h"
#include "sb/txn/ids.h"

namespace sb::txn {

class ClientUser {
public:
    virtual ~ClientUser() = default;

    // A response for the request (provisional or final). For INVITE: every 2xx is delivered,
    // retransmissions and 2xx from other forks included (RFC 6026 "Accepted" state): the user
    // ACKs each 2xx itself (13.2.2.4); the ACK for a non-2xx final response is sent by the
    // transaction (17.1.1.3) and retransmitted non-2xx responses are absorbed.
    // `response` is valid during the call only.
    virtual void on_response(ClientTxnId id, const sip::Message& response) = 0;

    // No final response in time (Timer B for INVITE, Timer F otherwise, 17.1.1.2, 17.1.2.2; or
    // 64*T1 after a CANCEL, 9.1; or TxnConfig::max_invite_pending). The transaction is gone; an
    // INVITE user usually treats this as a 408.
    virtual void on_timeout(ClientTxnId id) = 0;

    // Sending a retransmission, the ACK or a waiting CANCEL failed (17.1.4); the transaction is
    // gone. (A failing first send is start_client()'s error instead.) An INVITE user treats this
    // like a 503 and may try the next destination; it can also follow a non-2xx final response
    // whose ACK could not be sent.
    virtual void on_transport_error(ClientTxnId id) = 0;
};

}  // namespace sb::txn
