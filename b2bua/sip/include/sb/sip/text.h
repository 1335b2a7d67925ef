#pragma once
// Character classes and small scanners of RFC 3261 section 25, shared by the parser, URI and
// header parsers. Everything works on views; nothing allocates.
#include <cstdint>
#include <optional>
#include <string_view>

namespace sb::sip {

namespace detail {
// Bit flags per byte, built at compile time.
enum : std::uint8_t {
    kToken = 1,       // token chars: alphanum - . ! % * _ + ` ' ~
    kWs = 2,          // SP HTAB CR LF (LWS once folding is removed)
    kAlnum = 4,
    kUnreserved = 8,  // alphanum mark
    kHex = 16,
    kUserChar = 32,   // unreserved + user-unreserved (& = + $ , ; ? /)
    kParamChar = 64,  // unreserved + param-unreserved ([ ] / : & + $)
    kHeaderChar = 128 // unreserved + hnv-unreserved ([ ] / ? : + $)
};
struct CharTable {
    std::uint8_t bits[256];
    constexpr CharTable() : bits{} {
        for (int c = 0; c < 256; ++c) {
            std::uint8_t b = 0;
            bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            bool mark = c == '-' || c == '_' || c == '.' || c == '!' || c == '~' || c == '*' ||
                        c == '\'' || c == '(' || c == ')';
            if (alnum) b |= kAlnum;
            if (alnum || mark) b |= kUnreserved;
            if (alnum || c == '-' || c == '.' || c == '!' || c == '%' || c == '*' || c == '_' ||
                c == '+' || c == '`' || c == '\'' || c == '~')
                b |= kToken;
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') b |= kWs;
            if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) b |= kHex;
            if (alnum || mark || c == '&' || c == '=' || c == '+' || c == '$' || c == ',' || c == ';' ||
                c == '?' || c == '/')
                b |= kUserChar;
            if (alnum || mark || c == '[' || c == ']' || c == '/' || c == ':' || c == '&' || c == '+' ||
                c == '$')
                b |= kParamChar;
            if (alnum || mark || c == '[' || c == ']' || c == '/' || c == '?' || c == ':' || c == '+' ||
                c == '$')
                b |= kHeaderChar;
            bits[c] = b;
        }
    }
};
inline constexpr CharTable kChars{};
}  // namespace detail

inline bool is_token_char(char c) { return detail::kChars.bits[static_cast<unsigned char>(c)] & detail::kToken; }
inline bool is_ws(char c) { return detail::kChars.bits[static_cast<unsigned char>(c)] & detail::kWs; }
inline bool is_hex(char c) { return detail::kChars.bits[static_cast<unsigned char>(c)] & detail::kHex; }
inline bool is_alnum(char c) { return detail::kChars.bits[static_cast<unsigned char>(c)] & detail::kAlnum; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool has_class(char c, std::uint8_t cls) {
    return detail::kChars.bits[static_cast<unsigned char>(c)] & cls;
}

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// Case-insensitive ASCII comparison (header names, tokens, hosts).
inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}
inline bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

inline std::string_view trim_left(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size() && is_ws(s[i])) ++i;
    return s.substr(i);
}
inline std::string_view trim_right(std::string_view s) {
    std::size_t n = s.size();
    while (n > 0 && is_ws(s[n - 1])) --n;
    return s.substr(0, n);
}
inline std::string_view trim(std::string_view s) { return trim_right(trim_left(s)); }

inline bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_token_char(c)) return false;
    return true;
}

// Parses a decimal number of at most max_digits digits with no sign; nullopt on anything else.
// Bounded so that "CSeq: 36893488147419103232" is rejected, not wrapped.
std::optional<std::uint64_t> parse_decimal(std::string_view s, std::size_t max_digits = 19);

// Finds the end of a quoted-string starting at s[0] == '"'; returns the index one past the closing
// quote, or npos if it is not closed. Backslash escapes (RFC 3261 25.1 quoted-pair) are honoured.
std::size_t quoted_string_end(std::string_view s);

// Finds `sep` at nesting level zero: outside quoted strings and outside <...>.
std::size_t find_unquoted(std::string_view s, char sep, std::size_t from = 0);

// Splits a comma-separated header value (RFC 3261 7.3.1) one element at a time, respecting
// quoted strings and <...>. Usage: for (CommaSplitter it(v); auto e = it.next();) { ... }
class CommaSplitter {
public:
    explicit CommaSplitter(std::string_view value) : rest_(value) {}
    // Next trimmed element; nullopt at the end. Empty elements (",,") come back as empty views.
    std::optional<std::string_view> next();

private:
    std::string_view rest_;
    bool done_ = false;
};

// One ";name=value" parameter list, e.g. the tail of a Via or a name-addr. Values keep their
// quotes; names are compared case-insensitively.
struct Param {
    std::string_view name;
    std::string_view value;  // empty when the parameter has no "=value"
    bool has_value = false;
};
class ParamIterator {
public:
    // `params` starts at the first ';' (or is empty).
    explicit ParamIterator(std::string_view params) : rest_(params) {}
    // Next parameter; nullopt at the end or on a syntax error (check failed()).
    std::optional<Param> next();
    bool failed() const { return failed_; }

private:
    std::string_view rest_;
    bool failed_ = false;
};
// Looks up a parameter in a ";a=b;c" list; nullopt if absent. A present flag parameter gives "".
std::optional<std::string_view> find_param(std::string_view params, std::string_view name);

// Strips the quotes of a quoted-string and its quoted-pair escapes into `out`; returns false on
// bad syntax. Tokens are copied unchanged.
bool unquote(std::string_view value, std::string& out);

}  // namespace sb::sip
