#pragma once
// Digest challenges: values for WWW-Authenticate (401, registrar and UAS) and Proxy-Authenticate
// (407, proxy role) header fields (RFC 3261 22.1 and 22.3, RFC 7616 3.3, RFC 8760 2.4).
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sb/auth/algorithm.h"

namespace sb::auth {

// `Digest realm="...", nonce="...", opaque="...", algorithm=SHA-256, qop="auth"` and, when stale,
// `, stale=true`. qop="auth" is always offered (never auth-int). An empty opaque is left out.
// realm, nonce and opaque are written as quoted-strings: '"' and '\' are escaped, control
// characters (CR and LF included) are dropped so configuration can never inject a header line.
std::string make_challenge(std::string_view realm, std::string_view nonce, std::string_view opaque,
                           Algorithm algorithm, bool stale);

// One challenge per configured algorithm, most preferred first (RFC 7616 3.7, RFC 8760 2.4:
// SHA-512-256, then SHA-256, then MD5), duplicates removed; each goes in its own header field.
// All share one nonce: the nonce manager does not bind a nonce to an algorithm.
std::vector<std::string> make_challenges(std::string_view realm, std::string_view nonce,
                                         std::string_view opaque,
                                         std::span<const Algorithm> algorithms, bool stale);

}  // namespace sb::auth
