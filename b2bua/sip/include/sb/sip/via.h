#pragma once
// One Via value (RFC 3261 20.42, 18.2.1; RFC 3581 rport).
#include <cstdint>
#include <optional>
#include <string_view>

#include "sb/common/result.h"
#include "sb/sip/error.h"

namespace sb::sip {

// The RFC 3261 magic cookie: a branch starting with it is globally unique (17.2.3).
inline constexpr std::string_view kMagicCookie = "z9hG4bK";

struct Via {
    std::string_view protocol_version;  // "2.0"
    std::string_view transport;         // "UDP", "TCP", "TLS", "SCTP", "WS"...
    std::string_view host;              // sent-by host; IPv6 keeps its brackets
    std::uint16_t port = 0;
    bool has_port = false;
    std::string_view params;  // ";branch=...;rport" as received
    std::string_view branch;
    std::string_view received;
    bool has_rport = false;
    std::string_view rport;  // value, empty if the flag has none

    bool rfc3261_branch() const { return branch.substr(0, kMagicCookie.size()) == kMagicCookie; }
};

Result<Via, SipError> parse_via(std::string_view value);
// Like parse_via, but fills `out` as far as it gets: on an error in the parameters the sent-by is
// still there, so a 400 can be sent to it. Returns the error, if any.
std::optional<SipError> parse_via_into(std::string_view value, Via& out);

}  // namespace sb::sip
