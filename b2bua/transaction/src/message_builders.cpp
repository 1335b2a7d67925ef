#include "sb/txn/message_builders.h"

#include <fmt/core.h>

#include <cstdint>
#include <string_view>

#include "sb/sip/text.h"
#include "sb/sip/writer.h"

namespace sb::txn {

namespace {

// The first value of the first Via header field: the top Via exactly as received.
std::string_view top_via_text(const sip::Message& m) {
    const sip::HeaderField* f = m.find(sip::HeaderId::via);
    if (f == nullptr) return {};
    sip::CommaSplitter split(f->value);
    auto v = split.next();
    return v ? *v : std::string_view{};
}

void append_routes(sip::MessageWriter& w, const sip::Message& m) {
    for (const sip::HeaderField& f : m.headers())
        if (f.id == sip::HeaderId::route) w.header("Route", f.value);
}

// The request line and the headers an ACK and a CANCEL share (RFC 3261 9.1, 17.1.1.3).
void start_in_transaction_request(sip::MessageWriter& w, std::string_view method, const sip::Message& invite,
                                  std::string_view to) {
    w.request_line(method, invite.request_uri_text());
    w.header("Via", top_via_text(invite));
    append_routes(w, invite);
    w.header("Max-Forwards", "70");
    w.header("From", invite.from());
    w.header("To", to);
    w.header("Call-ID", invite.call_id());
    w.header_cat("CSeq", fmt::format("{}", invite.cseq()), " ", method);
}

}  // namespace

std::string build_response(const sip::Message& request, int status, std::string_view reason,
                           std::string_view to_tag, const sb::Flow& flow, std::string_view extra_headers) {
    std::string out;
    out.reserve(request.raw().size() / 2 + 128 + extra_headers.size());
    sip::MessageWriter w(out);
    std::string ip = flow.remote.ip();
    sip::start_response(w, request, status, reason.empty() ? sip::default_reason(status) : reason, to_tag,
                        sip::Source{ip, flow.remote.port});
    out.append(extra_headers);
    w.finish();
    return out;
}

std::string build_ack(const sip::Message& invite, const sip::Message& response) {
    std::string out;
    sip::MessageWriter w(out);
    start_in_transaction_request(w, "ACK", invite, response.to());
    w.finish();
    return out;
}

std::string build_cancel(const sip::Message& invite) {
    std::string out;
    sip::MessageWriter w(out);
    start_in_transaction_request(w, "CANCEL", invite, invite.to());
    w.finish();
    return out;
}

std::string stateless_to_tag(const sip::Message& request) {
    // FNV-1a over what identifies the request: retransmissions get the same tag.
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&h](std::string_view s) {
        for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    };
    mix(request.call_id());
    mix(request.from_tag());
    mix(request.top_via().branch);
    mix(fmt::format("{}", request.cseq()));
    return fmt::format("sl{:012x}", h & 0xffffffffffffull);
}

}  // namespace sb::txn
