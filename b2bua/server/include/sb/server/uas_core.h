#pragma once
// The checks every UAS applies before a request reaches its method's handler (RFC 3261 8.2):
// method (405/501), Request-URI scheme (416), Require (420), content (415) and Accept (406).
#include <optional>
#include <string_view>

#include "sb/sip/message.h"

namespace sb::server {

struct Rejection {
    int status;
    const char* reason;
};

// Methods this server handles (Allow header value).
inline constexpr std::string_view kAllow = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, INFO, MESSAGE, NOTIFY";
// Option tags we support (Supported header value; anything else in Require gets 420).
inline constexpr std::string_view kSupported = "path, timer";
inline constexpr std::string_view kAccept = "application/sdp";

// nullopt if the request may proceed. For 420 the caller lists unsupported tags with
// unsupported_tags().
std::optional<Rejection> check_request(const sip::Message& request);
// The Require tags we do not support, comma-separated ("" if none).
std::string unsupported_tags(const sip::Message& request);

}  // namespace sb::server
