#pragma once
// Private ASCII helpers: locale-independent, no allocation.
#include <cstddef>
#include <string_view>

namespace sb::auth::detail {

constexpr char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

constexpr bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (to_lower(a[i]) != to_lower(b[i])) return false;
    }
    return true;
}

constexpr bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

constexpr bool all_hex(std::string_view s) {
    for (char c : s) {
        if (!is_hex(c)) return false;
    }
    return true;
}

}  // namespace sb::auth::detail
