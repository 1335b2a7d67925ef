#pragma once
// Digest credentials: the value of an Authorization or Proxy-Authorization header field
// (RFC 3261 22.4 and 25.1, RFC 7616 3.4). Works on the header value only, so it does not depend
// on the SIP parser; the caller hands over the text after "Authorization:".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sb/auth/algorithm.h"
#include "sb/common/result.h"

namespace sb::auth {

// The qop the client chose (RFC 7616 3.4). Only auth is offered by make_challenge.
enum class Qop { none, auth, auth_int };

// Bounds on what parse_credentials accepts; anything larger is rejected, never truncated.
inline constexpr std::size_t kMaxParamValueBytes = 1024;  // one value, after unescaping
inline constexpr std::size_t kMaxParamNameBytes = 64;
inline constexpr std::size_t kMaxParams = 32;              // known and unknown together

struct Credentials {
    // Strings are owned and unescaped (RFC 3261 25.1 quoted-pair removed), so they outlive the
    // receive buffer and can be posted to the DB threads.
    std::string username;  // or H(username:realm) in hex when userhash is true (RFC 7616 3.4.4)
    std::string realm;
    std::string nonce;
    std::string uri;       // digest-uri; the caller compares it with the Request-URI (RFC 7616 3.4.6)
    std::string response;  // request-digest, hex; length already checked against algorithm
    Algorithm algorithm = Algorithm::md5;  // absent means MD5 (RFC 7616 3.4)
    std::string cnonce;
    std::string opaque;
    bool has_opaque = false;  // opaque="" differs from no opaque
    Qop qop = Qop::none;
    std::uint32_t nc = 0;  // nonce-count; 0 when absent (qop none)
    std::string nc_text;   // the 8 hex digits as sent: they enter the digest verbatim
    bool userhash = false;
};

// Parses "Digest username=\"...\", realm=\"...\", ...". Accepts LWS (including CRLF folding) around
// '=' and ',', quoted-string or token for every value (some phones quote qop or algorithm),
// ignores unknown parameters. Rejects: another scheme, a value over kMaxParamValueBytes, more than
// kMaxParams parameters, a duplicate parameter, a missing username/realm/nonce/uri/response, an
// unknown algorithm or qop, qop without cnonce and nc, nc not 8 hex digits, a response that is not
// hex of the algorithm's length. The error message says which, and is safe to use as a SIP reason
// phrase (no control characters; echoed input is truncated).
sb::Result<Credentials> parse_credentials(std::string_view authorization_value);

}  // namespace sb::auth
