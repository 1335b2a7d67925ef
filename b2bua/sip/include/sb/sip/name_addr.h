#pragma once
// name-addr / addr-spec with header parameters (RFC 3261 20.10, 25.1): the value of From, To,
// Contact, Route, Record-Route, Path and the like, one element at a time.
#include <optional>
#include <string>
#include <string_view>

#include "sb/common/result.h"
#include "sb/sip/error.h"

namespace sb::sip {

struct NameAddr {
    std::string_view display_name;  // as received: quoted (with its quotes) or tokens; may be empty
    std::string_view uri;           // the URI text, without <>
    std::string_view params;        // header parameters ";tag=x;expires=60", or empty
    bool angle_brackets = false;

    std::optional<std::string_view> param(std::string_view name) const;
    std::string_view tag() const { return param("tag").value_or(std::string_view{}); }
    // Display name without quotes and escapes.
    std::string display_name_text() const;
};

// Parses one element (no top-level commas). The URI itself is checked for balanced syntax only;
// call parse_uri(na.uri) to take it apart.
Result<NameAddr, SipError> parse_name_addr(std::string_view value);

}  // namespace sb::sip
