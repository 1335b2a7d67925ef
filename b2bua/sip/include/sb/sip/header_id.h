#pragma once
#include <cstdint>
#include <string_view>

namespace sb::sip {

// Headers the stack knows by name. Compact forms (RFC 3261 7.3.3, RFC 3265, RFC 3515, RFC 4028)
// map to the same id. Everything else is `other` and is found by name.
enum class HeaderId : std::uint8_t {
    other = 0,
    accept,
    accept_encoding,
    accept_language,
    alert_info,
    allow,
    allow_events,
    authentication_info,
    authorization,
    call_id,
    call_info,
    contact,
    content_disposition,
    content_encoding,
    content_language,
    content_length,
    content_type,
    cseq,
    date,
    error_info,
    event,
    expires,
    from,
    in_reply_to,
    max_forwards,
    mime_version,
    min_expires,
    min_se,
    organization,
    p_asserted_identity,
    path,
    priority,
    privacy,
    proxy_authenticate,
    proxy_authorization,
    proxy_require,
    rack,
    reason,
    record_route,
    refer_to,
    referred_by,
    reply_to,
    require,
    retry_after,
    route,
    rseq,
    server,
    session_expires,
    subject,
    subscription_state,
    supported,
    timestamp,
    to,
    unsupported,
    user_agent,
    via,
    warning,
    www_authenticate,
    count_  // number of ids; keep last
};

// Case-insensitive lookup of a header name (full or compact form).
HeaderId header_id(std::string_view name);
// The canonical full name, e.g. "Call-ID"; "" for `other`.
std::string_view header_name(HeaderId id);

}  // namespace sb::sip
