#include "auth_params.h"

#include <fmt/core.h>

#include "ascii.h"
#include "sb/auth/credentials.h"

namespace sb::auth::detail {
namespace {

// RFC 3261 25.1 token characters.
bool is_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
        case '-': case '.': case '!': case '%': case '*':
        case '_': case '+': case '`': case '\'': case '~':
            return true;
        default:
            return false;
    }
}

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

class Cursor {
public:
    explicit Cursor(std::string_view s) : s_(s) {}

    bool at_end() const { return i_ >= s_.size(); }
    char peek() const { return s_[i_]; }
    std::size_t pos() const { return i_; }
    void advance() { ++i_; }

    // Length of a line break at i (CRLF, or a bare LF that a lenient framer left), else 0.
    std::size_t line_break_at(std::size_t i) const {
        if (i < s_.size() && s_[i] == '\r' && i + 1 < s_.size() && s_[i + 1] == '\n') return 2;
        if (i < s_.size() && s_[i] == '\n') return 1;
        return 0;
    }

    // LWS = [*WSP CRLF] 1*WSP (RFC 3261 25.1), any number of times. Returns false when a line
    // break is not followed by whitespace: that is the end of the header, never part of a value.
    bool skip_lws() {
        for (;;) {
            while (!at_end() && is_wsp(peek())) advance();
            std::size_t lb = line_break_at(i_);
            if (lb == 0) {
                if (!at_end() && peek() == '\r') return false;  // a lone CR
                return true;
            }
            if (i_ + lb >= s_.size() || !is_wsp(s_[i_ + lb])) return false;
            i_ += lb;
        }
    }

    std::string_view token(std::size_t max) {
        std::size_t start = i_;
        while (!at_end() && is_token_char(peek()) && i_ - start <= max) advance();
        return s_.substr(start, i_ - start);
    }

    std::string_view rest() const { return s_.substr(i_); }

private:
    std::string_view s_;
    std::size_t i_ = 0;
};

// quoted-string body after the opening DQUOTE (RFC 3261 25.1: qdtext / quoted-pair).
sb::Status read_quoted(Cursor& c, std::string_view name, std::string& out) {
    for (;;) {
        if (c.at_end()) return sb::fail(fmt::format("unterminated quoted string in '{}'", printable(name)));
        char ch = c.peek();
        if (ch == '"') {
            c.advance();
            return {};
        }
        if (ch == '\\') {
            c.advance();
            if (c.at_end()) return sb::fail(fmt::format("unterminated quoted string in '{}'", printable(name)));
            char esc = c.peek();
            // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F): no escaped CR or LF.
            if (esc == '\r' || esc == '\n' || static_cast<unsigned char>(esc) > 0x7f) {
                return sb::fail(fmt::format("invalid escape in '{}'", printable(name)));
            }
            out.push_back(esc);
            c.advance();
        } else if (ch == '\r' || ch == '\n') {
            // Folding inside a quoted string is LWS (qdtext includes LWS); the fold and the
            // whitespace after it become one SP (RFC 7230 3.2.4).
            std::size_t start = c.pos();
            if (!c.skip_lws() || c.pos() == start) {
                return sb::fail(fmt::format("line break inside the quoted value of '{}'", printable(name)));
            }
            out.push_back(' ');
        } else if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\t') || ch == 0x7f) {
            return sb::fail(fmt::format("control character in the value of '{}'", printable(name)));
        } else {
            out.push_back(ch);  // qdtext, including UTF8-NONASCII bytes
            c.advance();
        }
        if (out.size() > kMaxParamValueBytes) {
            return sb::fail(fmt::format("value of '{}' exceeds {} bytes", printable(name), kMaxParamValueBytes));
        }
    }
}

}  // namespace

std::string printable(std::string_view s) {
    constexpr std::size_t kMax = 32;
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
        char c = s[i];
        out.push_back((c >= 0x20 && c < 0x7f) ? c : '?');
    }
    if (s.size() > kMax) out += "...";
    return out;
}

sb::Result<AuthHeader> parse_auth_header(std::string_view value, std::string_view expected_scheme) {
    AuthHeader h;
    Cursor c(value);
    if (!c.skip_lws()) return sb::fail("line break in header value");
    h.scheme = c.token(kMaxParamNameBytes);
    if (h.scheme.empty()) return sb::fail("missing authentication scheme");
    if (h.scheme.size() > kMaxParamNameBytes || !iequals(h.scheme, expected_scheme)) {
        return sb::fail(fmt::format("unsupported authentication scheme '{}'", printable(h.scheme)));
    }
    std::size_t after_scheme = c.pos();
    if (!c.skip_lws()) return sb::fail("line break after the authentication scheme");
    if (c.at_end()) return h;  // a scheme with no parameters; the caller decides
    if (c.pos() == after_scheme) {
        return sb::fail(fmt::format("expected whitespace after scheme '{}'", printable(h.scheme)));
    }

    h.params.reserve(12);
    for (;;) {
        // RFC 7235 7 (#rule): empty list elements are accepted ("a, , b" and a trailing comma).
        while (!c.at_end() && c.peek() == ',') {
            c.advance();
            if (!c.skip_lws()) return sb::fail("line break in header value");
        }
        if (c.at_end()) break;

        std::string_view name = c.token(kMaxParamNameBytes);
        if (name.empty()) {
            return sb::fail(fmt::format("expected a parameter name at '{}'", printable(c.rest())));
        }
        if (name.size() > kMaxParamNameBytes) {
            return sb::fail(fmt::format("parameter name '{}' too long", printable(name)));
        }
        if (h.params.size() == kMaxParams) {
            return sb::fail(fmt::format("more than {} parameters", kMaxParams));
        }
        for (const AuthParam& p : h.params) {
            if (iequals(p.name, name)) {
                return sb::fail(fmt::format("duplicate parameter '{}'", printable(name)));
            }
        }
        if (!c.skip_lws()) return sb::fail("line break in header value");
        if (c.at_end() || c.peek() != '=') {
            return sb::fail(fmt::format("parameter '{}' has no '='", printable(name)));
        }
        c.advance();
        if (!c.skip_lws()) return sb::fail("line break in header value");

        AuthParam p;
        p.name = name;
        if (!c.at_end() && c.peek() == '"') {
            c.advance();
            p.quoted = true;
            if (auto st = read_quoted(c, name, p.value); !st) return sb::unexpected(st.error());
        } else {
            std::string_view tok = c.token(kMaxParamValueBytes);
            if (tok.size() > kMaxParamValueBytes) {
                return sb::fail(fmt::format("value of '{}' exceeds {} bytes", printable(name), kMaxParamValueBytes));
            }
            if (tok.empty()) {
                return sb::fail(fmt::format("parameter '{}' has an empty or invalid value", printable(name)));
            }
            p.value.assign(tok);
        }
        h.params.push_back(std::move(p));

        if (!c.skip_lws()) return sb::fail("line break in header value");
        if (c.at_end()) break;
        if (c.peek() != ',') {
            return sb::fail(fmt::format("expected ',' after parameter '{}'", printable(name)));
        }
    }
    return h;
}

}  // namespace sb::auth::detail
