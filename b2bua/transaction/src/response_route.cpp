#include "sb/txn/response_route.h"

namespace sb::txn {

sb::Flow response_flow(const sip::Via& top_via, const sb::Flow& received) {
    // RFC 3261 18.2.2: over a stream, answer on the connection the request came on.
    if (is_reliable(received.transport)) return received;
    sb::Flow out = received;
    out.connection_id = 0;
    // RFC 3581 4: rport asks for the source port; without it, 18.2.2 sends to the "received"
    // address (the source IP) and the sent-by port.
    if (!top_via.has_rport) out.remote.port = top_via.has_port ? top_via.port : 5060;
    return out;
}

}  // namespace sb::txn
