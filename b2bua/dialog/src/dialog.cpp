#include "sb/dialog/dialog.h"

#include "sb/sip/name_addr.h"

namespace sb::dialog {

namespace {

// The header value without its ";tag=..." parameter (the dialog keeps the tag separately).
std::string without_tag(std::string_view value) {
    auto na = sip::parse_name_addr(value);
    if (!na) return std::string(value);
    std::string out;
    if (!na->display_name.empty()) out.append(na->display_name).append(" ");
    out.append("<").append(na->uri).append(">");
    // Keep header parameters other than tag.
    std::string_view params = na->params;
    while (!params.empty()) {
        std::size_t next = params.find(';', 1);
        std::string_view p = params.substr(0, next);
        std::string_view name =
            p.substr(1, p.find('=') == std::string_view::npos ? p.npos : p.find('=') - 1);
        if (!sip::iequals(name, "tag")) out.append(p);
        params = next == std::string_view::npos ? std::string_view{} : params.substr(next);
    }
    return out;
}

std::string contact_uri(const sip::Message& m) {
    std::string uri;
    m.for_each_value(sip::HeaderId::contact, [&](std::string_view v) {
        if (auto na = sip::parse_name_addr(v)) uri = std::string(na->uri);
        return false;  // the first one
    });
    return uri;
}

std::vector<std::string> record_route(const sip::Message& m) {
    std::vector<std::string> out;
    m.for_each_value(sip::HeaderId::record_route, [&](std::string_view v) {
        out.emplace_back(v);
        return out.size() < 16;  // a route set longer than this is abuse
    });
    return out;
}

void write_request(std::string& out, const Dialog& d, std::string_view method, std::uint32_t cseq,
                   const RequestParts& p) {
    out.reserve(512 + p.body.size() + p.extra_headers.size());
    out.append(method).append(" ").append(d.remote_target).append(" SIP/2.0\r\n");
    out.append("Via: SIP/2.0/")
        .append(via_transport(d.peer.transport))
        .append(" ")
        .append(p.sent_by);
    out.append(";branch=").append(p.branch).append(";rport\r\n");
    out.append("Max-Forwards: ").append(std::to_string(p.max_forwards)).append("\r\n");
    for (const std::string& r : d.route_set) out.append("Route: ").append(r).append("\r\n");
    out.append("From: ").append(d.local_uri).append(";tag=").append(d.local_tag).append("\r\n");
    out.append("To: ").append(d.remote_uri);
    if (!d.remote_tag.empty()) out.append(";tag=").append(d.remote_tag);
    out.append("\r\n");
    out.append("Call-ID: ").append(d.call_id).append("\r\n");
    out.append("CSeq: ").append(std::to_string(cseq)).append(" ").append(method).append("\r\n");
    if (method != "BYE" && method != "ACK" && !d.local_contact.empty())
        out.append("Contact: ").append(d.local_contact).append("\r\n");
    out.append(p.extra_headers);
    if (!p.body.empty()) out.append("Content-Type: ").append(p.content_type).append("\r\n");
    out.append("Content-Length: ").append(std::to_string(p.body.size())).append("\r\n\r\n");
    out.append(p.body);
}

}  // namespace

std::string_view via_transport(TransportKind k) {
    return to_string(k);
}

Result<Dialog> uas_dialog(const sip::Message& invite, std::string_view local_tag, const Flow& flow,
                          std::string local_contact) {
    Dialog d;
    d.call_id = std::string(invite.call_id());
    d.local_tag = std::string(local_tag);
    d.remote_tag = std::string(invite.from_tag());
    d.local_uri = without_tag(invite.to());
    d.remote_uri = without_tag(invite.from());
    d.remote_target = contact_uri(invite);
    if (d.remote_target.empty()) return fail("the INVITE has no Contact");
    d.route_set = record_route(invite);  // 12.1.1: in the order received
    d.local_contact = std::move(local_contact);
    d.remote_cseq = invite.cseq();
    d.remote_cseq_known = true;
    d.peer = flow;
    return d;
}

void uac_establish(Dialog& d, const sip::Message& response) {
    d.remote_tag = std::string(response.to_tag());
    if (std::string target = contact_uri(response); !target.empty())
        d.remote_target = std::move(target);
    std::vector<std::string> rr = record_route(response);
    d.route_set.assign(rr.rbegin(), rr.rend());  // 12.1.2: reversed
}

void refresh_target(Dialog& d, const sip::Message& m) {
    if (std::string target = contact_uri(m); !target.empty()) d.remote_target = std::move(target);
}

bool accept_remote_cseq(Dialog& d, std::uint32_t cseq) {
    if (d.remote_cseq_known && cseq < d.remote_cseq) return false;
    d.remote_cseq = cseq;
    d.remote_cseq_known = true;
    return true;
}

std::string build_request(Dialog& d, const RequestParts& p) {
    std::string out;
    write_request(out, d, p.method, ++d.local_cseq, p);
    return out;
}

std::string build_ack(const Dialog& d, std::uint32_t invite_cseq, const RequestParts& p) {
    std::string out;
    write_request(out, d, "ACK", invite_cseq, p);
    return out;
}

}  // namespace sb::dialog
