#include "sb/sip/text.h"

#include <string>

namespace sb::sip {

std::optional<std::uint64_t> parse_decimal(std::string_view s, std::size_t max_digits) {
    if (s.empty() || s.size() > max_digits) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
}

std::size_t quoted_string_end(std::string_view s) {
    for (std::size_t i = 1; i < s.size(); ++i) {
        if (s[i] == '\\') {
            ++i;  // quoted-pair: skip the escaped byte
        } else if (s[i] == '"') {
            return i + 1;
        }
    }
    return std::string_view::npos;
}

std::size_t find_unquoted(std::string_view s, char sep, std::size_t from) {
    bool in_angle = false;
    for (std::size_t i = from; i < s.size(); ++i) {
        char c = s[i];
        if (c == '"') {
            std::size_t end = quoted_string_end(s.substr(i));
            if (end == std::string_view::npos) return std::string_view::npos;
            i += end - 1;
        } else if (c == '<') {
            in_angle = true;
        } else if (c == '>') {
            in_angle = false;
        } else if (c == sep && !in_angle) {
            return i;
        }
    }
    return std::string_view::npos;
}

std::optional<std::string_view> CommaSplitter::next() {
    if (done_) return std::nullopt;
    // Most values hold one element: skip the quote-aware scan when there is no comma at all.
    std::size_t comma = rest_.find(',') == std::string_view::npos ? std::string_view::npos
                                                                   : find_unquoted(rest_, ',');
    std::string_view elem;
    if (comma == std::string_view::npos) {
        elem = rest_;
        done_ = true;
    } else {
        elem = rest_.substr(0, comma);
        rest_ = rest_.substr(comma + 1);
    }
    return trim(elem);
}

std::optional<Param> ParamIterator::next() {
    std::string_view s = trim_left(rest_);
    if (s.empty()) return std::nullopt;
    if (s[0] != ';') {
        failed_ = true;
        return std::nullopt;
    }
    s = trim_left(s.substr(1));
    std::size_t i = 0;
    while (i < s.size() && is_token_char(s[i])) ++i;
    if (i == 0) {  // ";;" or ";=" : an empty parameter name
        failed_ = true;
        return std::nullopt;
    }
    Param p;
    p.name = s.substr(0, i);
    std::string_view after = trim_left(s.substr(i));
    if (!after.empty() && after[0] == '=') {
        after = trim_left(after.substr(1));
        p.has_value = true;
        std::size_t end;
        if (!after.empty() && after[0] == '"') {
            end = quoted_string_end(after);
            if (end == std::string_view::npos) {
                failed_ = true;
                return std::nullopt;
            }
        } else if (!after.empty() && after[0] == '[') {  // IPv6 reference (received=[::1])
            end = after.find(']');
            if (end == std::string_view::npos) {
                failed_ = true;
                return std::nullopt;
            }
            ++end;
        } else {
            end = 0;
            while (end < after.size() && after[end] != ';' && !is_ws(after[end])) ++end;
            if (end == 0) {
                failed_ = true;
                return std::nullopt;
            }
        }
        p.value = after.substr(0, end);
        rest_ = after.substr(end);
    } else {
        rest_ = after;
    }
    return p;
}

std::optional<std::string_view> find_param(std::string_view params, std::string_view name) {
    ParamIterator it(params);
    while (auto p = it.next()) {
        if (iequals(p->name, name)) return p->value;
    }
    return std::nullopt;
}

bool unquote(std::string_view value, std::string& out) {
    out.clear();
    if (value.empty() || value[0] != '"') {
        out.assign(value);
        return true;
    }
    if (value.size() < 2 || value.back() != '"') return false;
    for (std::size_t i = 1; i + 1 < value.size(); ++i) {
        char c = value[i];
        if (c == '\\') {
            if (i + 2 >= value.size()) return false;
            c = value[++i];
        } else if (c == '"') {
            return false;
        }
        out.push_back(c);
    }
    return true;
}

}  // namespace sb::sip
