#pragma once
#include <cstdint>
#include <string_view>

namespace sb::sip {

// Request methods we know by name (RFC 3261 and extensions). Anything else is `extension` and
// keeps its text in the message; comparison is case-sensitive (RFC 3261 7.1).
enum class Method : std::uint8_t {
    extension = 0,
    INVITE,
    ACK,
    BYE,
    CANCEL,
    REGISTER,
    OPTIONS,
    INFO,
    UPDATE,
    PRACK,
    SUBSCRIBE,
    NOTIFY,
    REFER,
    MESSAGE,
    PUBLISH,
};

Method method_from_text(std::string_view text);
std::string_view to_string(Method m);  // "" for extension

}  // namespace sb::sip
