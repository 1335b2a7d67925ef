#pragma once
// Private: unpadded base64url (RFC 4648 5), strict on decode.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sb::auth::detail {

inline std::string base64url_encode(const unsigned char* data, std::size_t n) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((n * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
        out.push_back(kAlphabet[(v >> 18) & 63]);
        out.push_back(kAlphabet[(v >> 12) & 63]);
        out.push_back(kAlphabet[(v >> 6) & 63]);
        out.push_back(kAlphabet[v & 63]);
    }
    if (n - i == 1) {
        std::uint32_t v = std::uint32_t{data[i]} << 16;
        out.push_back(kAlphabet[(v >> 18) & 63]);
        out.push_back(kAlphabet[(v >> 12) & 63]);
    } else if (n - i == 2) {
        std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
        out.push_back(kAlphabet[(v >> 18) & 63]);
        out.push_back(kAlphabet[(v >> 12) & 63]);
        out.push_back(kAlphabet[(v >> 6) & 63]);
    }
    return out;
}

inline int base64url_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

// Decodes exactly `n` bytes from `s`; false if s has another length, a character outside the
// alphabet, or non-zero trailing bits (so each byte string has exactly one accepted encoding).
inline bool base64url_decode(std::string_view s, unsigned char* out, std::size_t n) {
    if (s.size() != (n * 4 + 2) / 3) return false;
    std::uint32_t acc = 0;
    int bits = 0;
    std::size_t o = 0;
    for (char c : s) {
        int v = base64url_value(c);
        if (v < 0) return false;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = static_cast<unsigned char>((acc >> bits) & 0xff);
        }
    }
    return o == n && (acc & ((1u << bits) - 1)) == 0;
}

}  // namespace sb::auth::detail
