#include "sb/auth/credentials.h"

#include <fmt/core.h>

#include "ascii.h"
#include "auth_params.h"

namespace sb::auth {
namespace {

using detail::iequals;
using detail::printable;

enum Field : unsigned {
    kUsername = 1u << 0,
    kRealm = 1u << 1,
    kNonce = 1u << 2,
    kUri = 1u << 3,
    kResponse = 1u << 4,
    kCnonce = 1u << 5,
    kNc = 1u << 6,
};

std::uint32_t parse_hex32(std::string_view s) {
    std::uint32_t v = 0;
    for (char c : s) {
        unsigned d = (c >= '0' && c <= '9') ? unsigned(c - '0') : unsigned(detail::to_lower(c) - 'a' + 10);
        v = (v << 4) | d;
    }
    return v;
}

}  // namespace

sb::Result<Credentials> parse_credentials(std::string_view authorization_value) {
    // RFC 3261 22.4 / RFC 7616 3.4: scheme names are case-insensitive.
    auto header = detail::parse_auth_header(authorization_value, "Digest");
    if (!header) return sb::unexpected(header.error());
    if (header->params.empty()) return sb::fail("Digest credentials have no parameters");

    Credentials cr;
    unsigned seen = 0;
    for (detail::AuthParam& p : header->params) {
        std::string_view n = p.name;
        if (iequals(n, "username")) {
            cr.username = std::move(p.value);
            seen |= kUsername;
        } else if (iequals(n, "realm")) {
            cr.realm = std::move(p.value);
            seen |= kRealm;
        } else if (iequals(n, "nonce")) {
            cr.nonce = std::move(p.value);
            seen |= kNonce;
        } else if (iequals(n, "uri")) {
            cr.uri = std::move(p.value);
            seen |= kUri;
        } else if (iequals(n, "response")) {
            cr.response = std::move(p.value);
            seen |= kResponse;
        } else if (iequals(n, "cnonce")) {
            cr.cnonce = std::move(p.value);
            seen |= kCnonce;
        } else if (iequals(n, "opaque")) {
            cr.opaque = std::move(p.value);
            cr.has_opaque = true;
        } else if (iequals(n, "algorithm")) {
            auto a = parse_algorithm(p.value);
            if (!a) return sb::fail(fmt::format("unsupported algorithm '{}'", printable(p.value)));
            cr.algorithm = *a;
        } else if (iequals(n, "qop")) {
            if (iequals(p.value, "auth")) {
                cr.qop = Qop::auth;
            } else if (iequals(p.value, "auth-int")) {
                cr.qop = Qop::auth_int;
            } else {
                return sb::fail(fmt::format("unsupported qop '{}'", printable(p.value)));
            }
        } else if (iequals(n, "nc")) {
            // RFC 7616 3.4: nc-value = 8LHEX (upper case accepted, and hashed as sent).
            if (p.value.size() != 8 || !detail::all_hex(p.value)) {
                return sb::fail(fmt::format("nc must be 8 hex digits, got '{}'", printable(p.value)));
            }
            cr.nc = parse_hex32(p.value);
            if (cr.nc == 0) return sb::fail("nc must start at 00000001");
            cr.nc_text = std::move(p.value);
            seen |= kNc;
        } else if (iequals(n, "userhash")) {
            if (iequals(p.value, "true")) {
                cr.userhash = true;
            } else if (iequals(p.value, "false")) {
                cr.userhash = false;
            } else {
                return sb::fail(fmt::format("userhash must be true or false, got '{}'", printable(p.value)));
            }
        } else if (iequals(n, "username*")) {
            // RFC 7616 3.4.4 extended notation (RFC 5987); never needed for SIP extensions, whose
            // user names are ASCII, so say so instead of reporting a missing username.
            return sb::fail("username* (RFC 7616 extended notation) is not supported");
        }
        // Anything else is an extension parameter: ignored (RFC 7616 3.4, auth-param).
    }

    static constexpr struct {
        Field f;
        const char* name;
    } required[] = {{kUsername, "username"}, {kRealm, "realm"}, {kNonce, "nonce"},
                    {kUri, "uri"},           {kResponse, "response"}};
    for (const auto& r : required) {
        if (!(seen & r.f)) return sb::fail(fmt::format("missing required parameter '{}'", r.name));
    }
    // RFC 7616 3.4: cnonce and nc MUST be sent when qop is.
    if (cr.qop != Qop::none) {
        if (!(seen & kCnonce)) return sb::fail("qop given without cnonce");
        if (!(seen & kNc)) return sb::fail("qop given without nc");
    }
    std::size_t want = hex_length(cr.algorithm);
    if (cr.response.size() != want || !detail::all_hex(cr.response)) {
        return sb::fail(fmt::format("response must be {} hex digits for {}", want, to_string(cr.algorithm)));
    }
    return cr;
}

}  // namespace sb::auth
