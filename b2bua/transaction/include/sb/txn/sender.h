#pragma once
// What the transaction layer needs from the transport layer: send bytes on a flow.
#include <string_view>

#include "sb/common/endpoint.h"
#include "sb/common/result.h"

namespace sb::txn {

class Sender {
public:
    virtual ~Sender() = default;

    // Sends one complete SIP message on `flow`.
    // - UDP: a datagram from flow.local to flow.remote.
    // - TCP/TLS: on connection flow.connection_id if it is non-zero and still open; with
    //   connection_id 0 the transport uses (or opens) a connection to flow.remote. RFC 3261 18.2.2:
    //   when the connection a request came on is gone, the transport may open a new one to the
    //   response's destination; if it cannot, that is an error.
    // Returns an error when the transport knows the message cannot go out (socket error, the
    // connection is gone, the send queue is over its bound). The transaction then reports a
    // transport error to its user and ends (RFC 3261 17.1.4, 17.2.4). Must not call back into
    // the TransactionLayer. Called only on the shard's thread.
    virtual sb::Status send(const sb::Flow& flow, std::string_view bytes) = 0;
};

}  // namespace sb::txn
