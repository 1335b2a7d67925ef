#include "sb/sip/name_addr.h"

#include "sb/sip/text.h"

namespace sb::sip {

std::optional<std::string_view> NameAddr::param(std::string_view name) const {
    return find_param(params, name);
}

std::string NameAddr::display_name_text() const {
    std::string out;
    if (!unquote(display_name, out)) out.assign(display_name);
    return out;
}

Result<NameAddr, SipError> parse_name_addr(std::string_view value) {
    NameAddr na;
    std::string_view s = trim(value);
    if (s.empty()) return unexpected(SipError{400, "Empty address"});

    std::size_t lt;
    if (s[0] == '"') {
        std::size_t end = quoted_string_end(s);
        if (end == std::string_view::npos) return unexpected(SipError{400, "Unterminated quoted display name"});
        na.display_name = s.substr(0, end);
        s = trim_left(s.substr(end));
        if (s.empty() || s[0] != '<') return unexpected(SipError{400, "Display name without <URI>"});
        lt = 0;
    } else {
        lt = s.find('<');
        if (lt != std::string_view::npos) {
            // display-name = *(token LWS): only tokens and whitespace may precede '<'.
            std::string_view dn = trim_right(s.substr(0, lt));
            for (char c : dn)
                if (!is_token_char(c) && !is_ws(c)) return unexpected(SipError{400, "Bad display name (needs quotes)"});
            na.display_name = dn;
        }
    }

    std::string_view after;
    if (lt != std::string_view::npos) {
        std::size_t gt = s.find('>', lt);
        if (gt == std::string_view::npos) return unexpected(SipError{400, "Unterminated <URI>"});
        na.uri = s.substr(lt + 1, gt - lt - 1);
        na.angle_brackets = true;
        after = s.substr(gt + 1);
    } else {
        // addr-spec: the URI cannot contain ';' ',' or '?' here (RFC 3261 20.10), so the first ';'
        // starts the header parameters.
        std::size_t semi = s.find(';');
        na.uri = trim_right(s.substr(0, semi));
        after = semi == std::string_view::npos ? std::string_view{} : s.substr(semi);
        for (char c : na.uri)
            if (is_ws(c) || c == '?') return unexpected(SipError{400, "Bad address (needs <URI>)"});
    }
    if (na.uri.empty()) return unexpected(SipError{400, "Empty URI"});
    for (char c : na.uri)
        if (is_ws(c) || c == '<' || c == '"') return unexpected(SipError{400, "Whitespace or quote in URI"});
    na.params = trim(after);
    if (!na.params.empty()) {
        ParamIterator it(na.params);
        while (it.next()) {
        }
        if (it.failed()) return unexpected(SipError{400, "Bad header parameter"});
    }
    return na;
}

}  // namespace sb::sip
