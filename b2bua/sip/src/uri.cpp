#include "sb/sip/uri.h"

#include <algorithm>
#include <vector>

#include "sb/sip/text.h"

namespace sb::sip {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// All bytes are in `cls` or are a valid %XX escape.
bool chars_ok(std::string_view s, std::uint8_t cls) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
            i += 2;
        } else if (!has_class(c, cls)) {
            return false;
        }
    }
    return true;
}

bool is_ipv6_body(std::string_view s) {
    if (s.empty() || s.size() > 45) return false;
    int colons = 0;
    for (char c : s) {
        if (c == ':') ++colons;
        else if (!is_hex(c) && c != '.') return false;
    }
    return colons >= 2;
}

}  // namespace

bool is_valid_host(std::string_view host) {
    if (host.empty() || host.size() > 255) return false;
    if (host.front() == '[') return host.back() == ']' && is_ipv6_body(host.substr(1, host.size() - 2));
    // hostname or IPv4: labels of alphanumerics and hyphens, separated by dots; a trailing dot is allowed.
    std::size_t label = 0;
    for (std::size_t i = 0; i < host.size(); ++i) {
        char c = host[i];
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
        } else if (has_class(c, detail::kAlnum) || c == '-' || c == '_') {  // '_': seen in the wild
            ++label;
        } else {
            return false;
        }
    }
    return true;
}

Result<Uri, SipError> parse_uri(std::string_view text) {
    Uri u;
    u.text = text;
    std::size_t colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0) return unexpected(SipError{400, "Bad URI: no scheme"});
    u.scheme_text = text.substr(0, colon);
    // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
    if (!((u.scheme_text[0] >= 'a' && u.scheme_text[0] <= 'z') ||
          (u.scheme_text[0] >= 'A' && u.scheme_text[0] <= 'Z')))
        return unexpected(SipError{400, "Bad URI scheme"});
    for (char c : u.scheme_text)
        if (!is_alnum(c) && c != '+' && c != '-' && c != '.') return unexpected(SipError{400, "Bad URI scheme"});
    std::string_view rest = text.substr(colon + 1);
    if (iequals(u.scheme_text, "sip")) {
        u.scheme = UriScheme::sip;
    } else if (iequals(u.scheme_text, "sips")) {
        u.scheme = UriScheme::sips;
    } else {
        u.scheme = iequals(u.scheme_text, "tel") ? UriScheme::tel : UriScheme::other;
        if (rest.empty()) return unexpected(SipError{400, "Bad URI: empty"});
        for (char c : rest)
            if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7f)
                return unexpected(SipError{400, "Bad URI: whitespace or control character"});
        u.opaque = rest;
        return u;
    }

    // userinfo: up to the first '@' (an unescaped '@' cannot appear anywhere else).
    std::size_t at = rest.find('@');
    std::string_view hostpart = rest;
    if (at != std::string_view::npos) {
        std::string_view userinfo = rest.substr(0, at);
        hostpart = rest.substr(at + 1);
        std::size_t pw = userinfo.find(':');
        u.user = userinfo.substr(0, pw);
        if (pw != std::string_view::npos) u.password = userinfo.substr(pw + 1);
        u.has_userinfo = true;
        if (u.user.empty()) return unexpected(SipError{400, "Bad URI: empty user"});
        if (!chars_ok(u.user, detail::kUserChar)) return unexpected(SipError{400, "Bad URI user part"});
        // password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
        if (!chars_ok(u.password, detail::kUserChar)) return unexpected(SipError{400, "Bad URI password"});
    }

    // hostport, then ;params, then ?headers
    std::size_t host_end;
    if (!hostpart.empty() && hostpart[0] == '[') {
        host_end = hostpart.find(']');
        if (host_end == std::string_view::npos) return unexpected(SipError{400, "Bad URI: unclosed IPv6 reference"});
        ++host_end;
    } else {
        host_end = 0;
        while (host_end < hostpart.size() && hostpart[host_end] != ':' && hostpart[host_end] != ';' &&
               hostpart[host_end] != '?')
            ++host_end;
    }
    u.host = hostpart.substr(0, host_end);
    if (!is_valid_host(u.host)) {
        // RFC 5118 4.2: an IPv6 address without brackets is not a host
        return unexpected(SipError{400, "Bad URI host"});
    }
    std::string_view tail = hostpart.substr(host_end);
    if (!tail.empty() && tail[0] == ':') {
        std::size_t p = 1;
        while (p < tail.size() && is_digit(tail[p])) ++p;
        auto port = parse_decimal(tail.substr(1, p - 1), 5);
        if (!port || *port > 65535) return unexpected(SipError{400, "Bad URI port"});
        u.port = static_cast<std::uint16_t>(*port);
        u.has_port = true;
        tail = tail.substr(p);
    }
    std::size_t q = tail.find('?');
    u.params = tail.substr(0, q);
    if (q != std::string_view::npos) {
        u.headers = tail.substr(q + 1);
        if (u.headers.empty()) return unexpected(SipError{400, "Bad URI headers"});
        // hname "=" hvalue *( "&" hname "=" hvalue )
        for (std::size_t i = 0; i < u.headers.size(); ++i) {
            char c = u.headers[i];
            if (c == '=' || c == '&' || has_class(c, detail::kHeaderChar)) continue;
            if (c == '%' && i + 2 < u.headers.size() && is_hex(u.headers[i + 1]) && is_hex(u.headers[i + 2])) {
                i += 2;
                continue;
            }
            return unexpected(SipError{400, "Bad URI headers"});
        }
    }
    if (!u.params.empty()) {
        if (u.params[0] != ';') return unexpected(SipError{400, "Bad URI: junk after host"});
        // uri-parameter = pname [ "=" pvalue ], both paramchar
        std::string_view ps = u.params.substr(1);
        while (true) {
            std::size_t semi = ps.find(';');
            std::string_view one = ps.substr(0, semi);
            std::size_t eq = one.find('=');
            std::string_view name = one.substr(0, eq);
            if (name.empty() || !chars_ok(name, detail::kParamChar))
                return unexpected(SipError{400, "Bad URI parameter"});
            if (eq != std::string_view::npos && !chars_ok(one.substr(eq + 1), detail::kParamChar))
                return unexpected(SipError{400, "Bad URI parameter value"});
            if (semi == std::string_view::npos) break;
            ps = ps.substr(semi + 1);
        }
    }
    return u;
}

std::optional<std::string_view> Uri::param(std::string_view name) const {
    std::string_view ps = params;
    while (!ps.empty()) {
        ps.remove_prefix(1);  // ';'
        std::size_t semi = ps.find(';');
        std::string_view one = ps.substr(0, semi);
        std::size_t eq = one.find('=');
        if (iequals(one.substr(0, eq), name))
            return eq == std::string_view::npos ? std::string_view{} : one.substr(eq + 1);
        if (semi == std::string_view::npos) break;
        ps = ps.substr(semi);
    }
    return std::nullopt;
}

std::string unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
            hex_value(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

namespace {

bool iequals_unescaped(std::string_view a, std::string_view b) {
    std::string ua = unescape(a), ub = unescape(b);
    return iequals(ua, ub);
}

// RFC 3261 19.1.4: user, ttl, method, maddr and transport must match when present in either URI;
// other parameters are compared only when present in both.
bool params_equivalent(const Uri& a, const Uri& b) {
    static constexpr std::string_view kMustMatch[] = {"user", "ttl", "method", "maddr", "transport"};
    for (auto name : kMustMatch) {
        auto pa = a.param(name), pb = b.param(name);
        if (pa.has_value() != pb.has_value()) return false;
        if (pa && !iequals_unescaped(*pa, *pb)) return false;
    }
    std::string_view ps = a.params;
    while (!ps.empty()) {
        ps.remove_prefix(1);
        std::size_t semi = ps.find(';');
        std::string_view one = ps.substr(0, semi);
        std::string_view name = one.substr(0, one.find('='));
        // Only the first occurrence of a repeated name counts, as in Uri::param (keeps a == a).
        if (auto other = b.param(name); other && !iequals_unescaped(*a.param(name), *other)) return false;
        if (semi == std::string_view::npos) break;
        ps = ps.substr(semi);
    }
    return true;
}

}  // namespace

bool uri_equivalent(const Uri& a, const Uri& b) {
    if (a.scheme != b.scheme) return false;
    if (!a.is_sip()) return iequals(a.scheme_text, b.scheme_text) && iequals(a.opaque, b.opaque);
    if (a.has_userinfo != b.has_userinfo) return false;
    if (unescape(a.user) != unescape(b.user)) return false;  // user is case-sensitive
    if (unescape(a.password) != unescape(b.password)) return false;
    if (!iequals(a.host, b.host)) return false;
    if (a.has_port != b.has_port || a.port != b.port) return false;
    if (!params_equivalent(a, b)) return false;
    // Headers: all must match, in any order. Compare as sorted lists of unescaped components.
    if (a.headers.empty() != b.headers.empty()) return false;
    if (!a.headers.empty()) {
        auto split = [](std::string_view h) {
            std::vector<std::string> items;
            while (true) {
                std::size_t amp = h.find('&');
                items.push_back(unescape(h.substr(0, amp)));
                if (amp == std::string_view::npos) break;
                h = h.substr(amp + 1);
            }
            std::sort(items.begin(), items.end());
            return items;
        };
        if (split(a.headers) != split(b.headers)) return false;
    }
    return true;
}

}  // namespace sb::sip
