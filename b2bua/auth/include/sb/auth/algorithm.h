#pragma once
// Digest algorithms of RFC 7616 3.3 (registered for SIP by RFC 8760 2.1).
#include <cstddef>
#include <optional>
#include <string_view>

namespace sb::auth {

enum class Algorithm {
    md5,
    md5_sess,
    sha256,
    sha256_sess,
    sha512_256,
    sha512_256_sess,
};

// The hash function behind an algorithm; a stored HA1 belongs to one of these, not to a
// -sess variant (RFC 7616 3.4.2: the -sess HA1 is derived from the plain one per request).
enum class HashKind { md5, sha256, sha512_256 };

HashKind hash_kind(Algorithm a);
bool is_session(Algorithm a);
// Hex digits of one digest: 32 for MD5, 64 for SHA-256 and SHA-512/256.
std::size_t hex_length(HashKind h);
inline std::size_t hex_length(Algorithm a) { return hex_length(hash_kind(a)); }

// The token as written on the wire: "MD5", "MD5-sess", "SHA-256", "SHA-512-256-sess", ...
std::string_view to_string(Algorithm a);
// Case-insensitive (RFC 7616 3.3 tokens); nullopt when unknown.
std::optional<Algorithm> parse_algorithm(std::string_view token);

// Server preference, lower is preferred (RFC 7616 3.7: strongest first; RFC 8760 2.4: SHA-256
// before MD5). SHA-512-256 > SHA-256 > MD5, each plain before its -sess variant.
int preference_rank(Algorithm a);

}  // namespace sb::auth
