#pragma once
// Digest computation and verification (RFC 7616 3.4.1-3.4.3, RFC 2617 3.2.2, RFC 8760).
// Hashes come from OpenSSL's EVP interface; all results are lowercase hex.
#include <string>
#include <string_view>

#include "sb/auth/algorithm.h"
#include "sb/auth/credentials.h"
#include "sb/common/result.h"

namespace sb::auth {

// Error codes carried in sb::Error::code by the functions below.
enum class DigestError : int {
    mismatch = 1,     // the response is wrong: count it as a failed attempt (BanList)
    unsupported = 2,  // qop=auth-int, no qop without allow_rfc2069, -sess without qop: say 400/401
    bad_ha1 = 3,      // the stored HA1 is not hex of the right length: a server/data problem
    crypto = 4,       // OpenSSL could not compute the hash (e.g. MD5 absent under a FIPS provider)
};

struct VerifyOptions {
    // Accept RFC 2069 style credentials (no qop, hence no nc and cnonce). Off by default: without
    // nc a captured request can be replayed for the nonce's whole lifetime unless every nonce is
    // single-use (pass nc = 1 to NonceManager::check_and_accept for such requests).
    bool allow_rfc2069 = false;
};

// H(data) in lowercase hex.
sb::Result<std::string> hash_hex(HashKind h, std::string_view data);

// HA1 = H(username:realm:password) (RFC 7616 3.4.2) for the algorithm's hash: the value to store
// instead of the password. For a -sess algorithm this is the plain HA1 (the per-nonce one is
// derived in expected_response), so one stored HA1 per HashKind serves both variants.
sb::Result<std::string> ha1(Algorithm a, std::string_view username, std::string_view realm,
                            std::string_view password);

// H(username:realm) (RFC 7616 3.4.4): what a client sends as username when userhash=true; a
// registrar that offers userhash looks users up by this value.
sb::Result<std::string> user_hash(Algorithm a, std::string_view username, std::string_view realm);

// The request-digest the client should have sent (RFC 7616 3.4.1):
//   qop=auth:  H(HA1':nonce:nc:cnonce:qop:HA2)
//   no qop:    H(HA1':nonce:HA2)        (RFC 2069; only with allow_rfc2069)
//   HA2 = H(method:uri); HA1' = HA1, or H(HA1:nonce:cnonce) for the -sess algorithms.
// `algorithm` is normally c.algorithm; ha1_hex is the stored HA1 for hash_kind(algorithm), either
// case. Fails with DigestError::unsupported or ::bad_ha1, never with ::mismatch.
sb::Result<std::string> expected_response(Algorithm algorithm, std::string_view ha1_hex,
                                          const Credentials& c, std::string_view method,
                                          const VerifyOptions& options = {});

// Checks c.response against expected_response(c.algorithm, ...), case-insensitively on the hex and
// in constant time (CRYPTO_memcmp). Does not look at the nonce: the caller asks NonceManager, and
// compares c.realm with its realm and c.uri with the Request-URI.
sb::Status verify(const Credentials& c, std::string_view ha1_hex, std::string_view method,
                  const VerifyOptions& options = {});

}  // namespace sb::auth
