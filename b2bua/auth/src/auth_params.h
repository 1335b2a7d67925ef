#pragma once
// Private: splits a credentials/challenge header value into its scheme and auth-params
// (RFC 3261 25.1: challenge / credentials grammar; RFC 7235 2.1 for empty list elements).
#include <string>
#include <string_view>
#include <vector>

#include "sb/common/result.h"

namespace sb::auth::detail {

struct AuthParam {
    std::string_view name;  // views the input
    std::string value;      // unquoted and unescaped
    bool quoted = false;
};

struct AuthHeader {
    std::string_view scheme;
    std::vector<AuthParam> params;
};

// Enforces the bounds of credentials.h (value size, name size, parameter count, duplicates).
// The scheme is checked (case-insensitively) before the parameters, because other schemes have
// other syntax (Basic's token68, RFC 7235 2.1).
sb::Result<AuthHeader> parse_auth_header(std::string_view value, std::string_view expected_scheme);

// Input echoed into an error message: at most 32 bytes, printable ASCII only.
std::string printable(std::string_view s);

}  // namespace sb::auth::detail
