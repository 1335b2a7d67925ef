#include "sb/sip/via.h"

#include "sb/sip/text.h"
#include "sb/sip/uri.h"

namespace sb::sip {

namespace {
// Takes a token from the front of s (after LWS); empty if none.
std::string_view take_token(std::string_view& s) {
    s = trim_left(s);
    std::size_t i = 0;
    while (i < s.size() && is_token_char(s[i])) ++i;
    std::string_view t = s.substr(0, i);
    s = s.substr(i);
    return t;
}
bool take_char(std::string_view& s, char c) {
    s = trim_left(s);
    if (s.empty() || s[0] != c) return false;
    s.remove_prefix(1);
    return true;
}
}  // namespace

Result<Via, SipError> parse_via(std::string_view value) {
    Via v;
    if (auto err = parse_via_into(value, v)) return unexpected(*err);
    return v;
}

std::optional<SipError> parse_via_into(std::string_view value, Via& v) {
    std::string_view s = value;
    // sent-protocol = protocol-name SLASH protocol-version SLASH transport, LWS allowed around SLASH
    std::string_view name = take_token(s);
    if (!iequals(name, "SIP") || !take_char(s, '/')) return SipError{400, "Bad Via protocol"};
    v.protocol_version = take_token(s);
    if (v.protocol_version.empty()) return SipError{400, "Bad Via version"};
    if (!take_char(s, '/')) return SipError{400, "Bad Via protocol"};
    v.transport = take_token(s);
    if (v.transport.empty()) return SipError{400, "Bad Via transport"};

    s = trim_left(s);
    std::size_t host_end;
    if (!s.empty() && s[0] == '[') {
        host_end = s.find(']');
        if (host_end == std::string_view::npos) return SipError{400, "Bad Via host"};
        ++host_end;
    } else {
        host_end = 0;
        while (host_end < s.size() && s[host_end] != ':' && s[host_end] != ';' && !is_ws(s[host_end]))
            ++host_end;
    }
    v.host = s.substr(0, host_end);
    if (!is_valid_host(v.host)) return SipError{400, "Bad Via host"};
    s = trim_left(s.substr(host_end));
    if (!s.empty() && s[0] == ':') {
        s = trim_left(s.substr(1));
        std::size_t p = 0;
        while (p < s.size() && is_digit(s[p])) ++p;
        auto port = parse_decimal(s.substr(0, p), 5);
        if (!port || *port > 65535 || *port == 0) return SipError{400, "Bad Via port"};
        v.port = static_cast<std::uint16_t>(*port);
        v.has_port = true;
        s = s.substr(p);
    }
    v.params = trim(s);
    ParamIterator it(v.params);
    while (auto p = it.next()) {
        if (iequals(p->name, "branch")) {
            if (p->value.empty()) return SipError{400, "Empty Via branch"};
            v.branch = p->value;
        } else if (iequals(p->name, "received")) {
            v.received = p->value;
        } else if (iequals(p->name, "rport")) {
            v.has_rport = true;
            v.rport = p->value;
        }
    }
    if (it.failed()) return SipError{400, "Bad Via parameter"};
    return std::nullopt;
}

}  // namespace sb::sip
