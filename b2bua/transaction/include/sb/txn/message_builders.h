#pragma once
// Messages the transaction layer builds itself, exposed because transaction users need the same.
#include <string>
#include <string_view>

#include "sb/common/endpoint.h"
#include "sb/sip/message.h"

namespace sb::txn {

// A complete response to `request` (RFC 3261 8.2.6): status line, Vias (the top one with
// received/rport for `flow`'s source, 18.2.1, RFC 3581), From, To (with `to_tag` added when the
// request's To has none and status > 100), Call-ID, CSeq, then `extra_headers` (complete
// "Name: value\r\n" lines), Content-Length: 0. `reason` empty: the RFC's phrase for `status`.
std::string build_response(const sip::Message& request, int status, std::string_view reason,
                           std::string_view to_tag, const sb::Flow& flow,
                           std::string_view extra_headers = {});

// The ACK for a non-2xx final response to `invite` (RFC 3261 17.1.1.3): the INVITE's
// Request-URI, its top Via only, From, Call-ID, CSeq number and Route headers, the response's To.
std::string build_ack(const sip::Message& invite, const sip::Message& response);

// A CANCEL for `invite` (RFC 3261 9.1): the same Request-URI, top Via (so the same branch),
// From, To, Call-ID, CSeq number and Route headers.
std::string build_cancel(const sip::Message& invite);

// A To tag that is the same for every retransmission of `request`, for responses sent without a
// transaction (the layer's 503 when it is full).
std::string stateless_to_tag(const sip::Message& request);

}  // namespace sb::txn
