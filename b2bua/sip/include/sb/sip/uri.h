#pragma once
// SIP, SIPS and other URIs (RFC 3261 19.1, 25.1; IPv6 references per RFC 5118). A Uri views the
// text it was parsed from; components keep their %-escapes until unescape() is asked for.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sb/common/result.h"
#include "sb/sip/error.h"

namespace sb::sip {

enum class UriScheme : std::uint8_t { sip, sips, tel, other };

struct Uri {
    UriScheme scheme = UriScheme::other;
    std::string_view scheme_text;
    std::string_view user;      // escaped as received; empty when there is no userinfo
    std::string_view password;  // rarely present; never log it
    std::string_view host;      // IPv6 references keep their brackets
    std::uint16_t port = 0;
    bool has_port = false;
    bool has_userinfo = false;
    std::string_view params;   // ";a=b;lr" as received, or empty
    std::string_view headers;  // "h=v&h2=v2" without the '?', or empty
    std::string_view opaque;   // for tel and other schemes: everything after "scheme:"
    std::string_view text;     // the whole URI

    bool is_sip() const { return scheme == UriScheme::sip || scheme == UriScheme::sips; }
    std::optional<std::string_view> param(std::string_view name) const;
    // The port to use: the explicit one, else 5061 for sips, else 5060.
    std::uint16_t port_or_default() const {
        return has_port ? port : (scheme == UriScheme::sips ? 5061 : 5060);
    }
};

// Parses any URI. SIP/SIPS URIs are parsed and validated in full; tel and other schemes only need a
// valid scheme and a non-empty remainder (the caller answers 416 for schemes it does not serve).
Result<Uri, SipError> parse_uri(std::string_view text);

// Decodes %XX escapes. Bad escapes are kept as they are.
std::string unescape(std::string_view s);

// URI equivalence of RFC 3261 19.1.4 (for SIP/SIPS; other schemes compare case-insensitively).
bool uri_equivalent(const Uri& a, const Uri& b);

// Host validation: hostname, IPv4address or IPv6reference.
bool is_valid_host(std::string_view host);

}  // namespace sb::sip
