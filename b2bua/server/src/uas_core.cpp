#include "sb/server/uas_core.h"

#include <string>

#include "sb/sip/text.h"

namespace sb::server {

namespace {

bool method_allowed(sip::Method m) {
    switch (m) {
        case sip::Method::INVITE:
        case sip::Method::ACK:
        case sip::Method::CANCEL:
        case sip::Method::BYE:
        case sip::Method::OPTIONS:
        case sip::Method::REGISTER:
        case sip::Method::UPDATE:
        case sip::Method::INFO:
        case sip::Method::MESSAGE:
        case sip::Method::NOTIFY: return true;
        default: return false;
    }
}

bool tag_supported(std::string_view tag) {
    sip::CommaSplitter s(kSupported);
    while (auto t = s.next())
        if (sip::iequals(*t, tag)) return true;
    return false;
}

// "application/sdp; charset=x" -> "application/sdp"
std::string_view media_type(std::string_view content_type) {
    return sip::trim(content_type.substr(0, content_type.find(';')));
}

bool carries_session(sip::Method m) {
    return m == sip::Method::INVITE || m == sip::Method::ACK || m == sip::Method::UPDATE ||
           m == sip::Method::PRACK;
}

}  // namespace

std::string unsupported_tags(const sip::Message& req) {
    std::string out;
    req.for_each_value(sip::HeaderId::require, [&](std::string_view tag) {
        if (!tag.empty() && !tag_supported(tag)) {
            if (!out.empty()) out += ", ";
            out += tag;
        }
        return true;
    });
    return out;
}

std::optional<Rejection> check_request(const sip::Message& req) {
    // 8.2.1 method inspection.
    if (req.method() == sip::Method::extension) return Rejection{501, "Not Implemented"};
    if (!method_allowed(req.method())) return Rejection{405, "Method Not Allowed"};
    // 8.2.2.1 Request-URI: we serve SIP, SIPS and tel.
    const sip::Uri& ruri = req.request_uri();
    if (!ruri.is_sip() && ruri.scheme != sip::UriScheme::tel) return Rejection{416, "Unsupported URI Scheme"};
    // 8.2.2.3 Require (not for ACK and CANCEL, whose Require is not processed).
    if (req.method() != sip::Method::ACK && req.method() != sip::Method::CANCEL && !unsupported_tags(req).empty())
        return Rejection{420, "Bad Extension"};
    // 8.2.3 content processing: session bodies must be SDP (or multipart holding it).
    if (carries_session(req.method()) && !req.body().empty()) {
        std::string_view type = media_type(req.value(sip::HeaderId::content_type));
        if (!sip::iequals(type, "application/sdp") && !sip::iequals(type, "multipart/mixed"))
            return Rejection{415, "Unsupported Media Type"};
        std::string_view encoding = req.value(sip::HeaderId::content_encoding);
        if (!encoding.empty() && !sip::iequals(encoding, "identity")) return Rejection{415, "Unsupported Media Type"};
    }
    // Our answer to an INVITE is SDP: if Accept excludes it, we cannot answer (RFC 3261 21.4.7).
    if (req.method() == sip::Method::INVITE && req.find(sip::HeaderId::accept)) {
        bool ok = false;
        req.for_each_value(sip::HeaderId::accept, [&](std::string_view v) {
            std::string_view t = media_type(v);
            if (sip::iequals(t, "application/sdp") || t == "*/*" || sip::iequals(t, "application/*") || t.empty())
                ok = true;
            return !ok;
        });
        if (!ok) return Rejection{406, "Not Acceptable"};
    }
    return std::nullopt;
}

}  // namespace sb::server
