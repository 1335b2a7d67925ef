#pragma once
// Where the responses of a server transaction go (RFC 3261 18.2.2 with RFC 3581).
#include "sb/common/endpoint.h"
#include "sb/sip/via.h"

namespace sb::txn {

// The flow to send responses to a request whose top Via is `top_via` and which arrived on
// `received`:
// - stream transports (TCP, TLS): the same connection (the Flow as received, 18.2.2);
// - UDP with rport in the Via (RFC 3581 4): the source address and source port;
// - UDP without rport: the source address (the "received" of 18.2.1, which is where the
//   request really came from) and the Via sent-by port, 5060 if it has none.
// Always from the local socket the request arrived on. The Via "maddr" parameter is deliberately
// not honoured: sending to an address named in the message is a reflection vector, and no
// office phone uses multicast signalling.
sb::Flow response_flow(const sip::Via& top_via, const sb::Flow& received);

}  // namespace sb::txn
