// The SIP message parser (RFC 3261 sections 7, 20, 25). One pass finds lines and header fields;
// folded lines are joined in place (CRLF replaced by spaces), so every value is one view into the
// message's own buffer. A second pass parses the headers every layer needs.
#include <cstring>
#include <new>
#include <optional>

#include "sb/sip/message.h"
#include "sb/sip/name_addr.h"
#include "sb/sip/text.h"

namespace sb::sip {

class Parser {
public:
    static Result<void, SipError> parse(std::string_view bytes, Framing framing, const Limits& limits,
                                        Message& m);

private:
    static Result<void, SipError> start_line(std::string_view line, Message& m);
    static Result<void, SipError> eager_headers(const Limits& limits, Message& m);
    static Result<void, SipError> from_or_to(std::string_view value, std::string_view& whole,
                                             std::string_view& tag, const char* duplicate_reason);
};

namespace {
constexpr SipError kDrop{0, "dropped"};

std::string_view trim_ws(const char* b, const char* e) {
    while (b < e && (*b == ' ' || *b == '\t')) ++b;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) --e;
    return {b, static_cast<std::size_t>(e - b)};
}
}  // namespace

Result<void, SipError> parse_message(std::string_view bytes, Framing framing, const Limits& limits,
                                     Message& out) {
    return Parser::parse(bytes, framing, limits, out);
}

Result<void, SipError> Parser::start_line(std::string_view line, Message& m) {
    // RFC 3261 7.1 / 7.2: exactly one SP between the three parts.
    if (line.size() >= 4 && std::memcmp(line.data(), "SIP/", 4) == 0) {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase. Responses with a bad status
        // line are dropped: there is nobody to answer.
        std::size_t sp = line.find(' ');
        if (sp == std::string_view::npos || line.substr(0, sp) != "SIP/2.0") return unexpected(kDrop);
        std::string_view rest = line.substr(sp + 1);
        if (rest.size() < 3 || !is_digit(rest[0]) || !is_digit(rest[1]) || !is_digit(rest[2]) ||
            (rest.size() > 3 && rest[3] != ' '))
            return unexpected(kDrop);
        int code = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
        if (code < 100 || code > 699) return unexpected(kDrop);
        m.status_ = code;
        m.reason_ = rest.size() > 4 ? rest.substr(4) : std::string_view{};
        return {};
    }
    // Request-Line = Method SP Request-URI SP SIP-Version
    std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0) return unexpected(SipError{400, "Bad request line"});
    m.method_text_ = line.substr(0, sp1);
    if (!is_token(m.method_text_)) return unexpected(SipError{400, "Bad method"});
    m.method_ = method_from_text(m.method_text_);
    std::size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return unexpected(SipError{400, "Bad request line"});
    m.request_uri_text_ = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    // SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT: anything else is malformed; another number is 505.
    if (version.size() < 7 || !istarts_with(version, "SIP/")) return unexpected(SipError{400, "Bad SIP version"});
    std::string_view num = version.substr(4);
    std::size_t dot = num.find('.');
    if (dot == std::string_view::npos || !parse_decimal(num.substr(0, dot), 4) ||
        !parse_decimal(num.substr(dot + 1), 4))
        return unexpected(SipError{400, "Bad SIP version"});
    if (num != "2.0") return unexpected(SipError{505, "Version Not Supported"});
    auto uri = parse_uri(m.request_uri_text_);
    if (!uri) return unexpected(SipError{400, "Bad Request-URI"});
    // RFC 3261 19.1.1: headers are not allowed in a Request-URI.
    if (uri->is_sip() && !uri->headers.empty()) return unexpected(SipError{400, "Headers in Request-URI"});
    m.request_uri_ = *uri;
    return {};
}

Result<void, SipError> Parser::from_or_to(std::string_view value, std::string_view& whole,
                                          std::string_view& tag, const char* duplicate_reason) {
    if (!whole.empty()) return unexpected(SipError{400, duplicate_reason});
    // Kept even when malformed, so that the 400 can echo it (RFC 3261 8.2.6.2).
    whole = value.empty() ? std::string_view(" ", 1) : value;
    // The URI itself is left for whoever needs it (parse_name_addr already refuses whitespace,
    // quotes and unbalanced brackets in it); only the tag is needed by every layer.
    auto na = parse_name_addr(value);
    if (!na) return unexpected(na.error());
    auto t = na->param("tag");
    // RFC 3261 25.1: tag-param = "tag" EQUAL token. An empty tag would make a response carry two.
    if (t && !is_token(*t)) return unexpected(SipError{400, "Bad tag parameter"});
    tag = t.value_or(std::string_view{});
    return {};
}

Result<void, SipError> Parser::eager_headers(const Limits& limits, Message& m) {
    // Keep going after an error so a response can still be built from the other headers; the
    // first error is the one reported.
    std::optional<SipError> first_error;
    auto note = [&](SipError e) {
        if (!first_error) first_error = e;
    };
    auto fields = m.headers();
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const HeaderField& f = fields[i];
        switch (f.id) {
            case HeaderId::via: {
                CommaSplitter split(f.value);
                while (auto v = split.next()) {
                    if (m.via_count_ >= limits.max_vias) {
                        note(SipError{400, "Too many Via headers"});
                        break;
                    }
                    Via via;
                    if (auto err = parse_via_into(*v, via)) {
                        note(*err);
                        // A top Via broken only in its parameters still says where to answer.
                        if (m.via_count_ == 0 && !via.transport.empty() && is_valid_host(via.host)) {
                            m.top_via_ = via;
                            m.via_count_ = 1;
                        }
                        if (m.via_count_ == 0) return unexpected(*first_error);  // cannot answer
                        continue;
                    }
                    if (++m.via_count_ == 1) m.top_via_ = via;
                }
                break;
            }
            case HeaderId::from:
                if (auto r = from_or_to(f.value, m.from_, m.from_tag_, "Multiple From headers"); !r) note(r.error());
                break;
            case HeaderId::to:
                if (auto r = from_or_to(f.value, m.to_, m.to_tag_, "Multiple To headers"); !r) note(r.error());
                break;
            case HeaderId::call_id: {
                if (!m.call_id_.empty()) {
                    note(SipError{400, "Multiple Call-ID headers"});
                    break;
                }
                bool ok = !f.value.empty();
                for (char c : f.value)
                    if (is_ws(c) || static_cast<unsigned char>(c) < 0x21) ok = false;
                if (ok) m.call_id_ = f.value;
                else note(SipError{400, "Bad Call-ID"});
                break;
            }
            case HeaderId::cseq: {
                if (!m.cseq_raw_.empty()) {
                    note(SipError{400, "Multiple CSeq headers"});
                    break;
                }
                std::string_view v = f.value;
                std::size_t n = 0;
                while (n < v.size() && is_digit(v[n])) ++n;
                auto num = parse_decimal(v.substr(0, n), 10);
                std::string_view meth = trim(v.substr(n));
                m.cseq_raw_ = f.value;  // echoed as received in responses
                if (!num || *num > 0xffffffffULL) {
                    note(SipError{400, "Bad CSeq number"});
                } else if (n == v.size() || !is_ws(v[n]) || !is_token(meth)) {
                    note(SipError{400, "Bad CSeq"});
                } else {
                    m.cseq_ = static_cast<std::uint32_t>(*num);
                    m.cseq_method_text_ = meth;
                    m.cseq_method_ = method_from_text(meth);
                }
                break;
            }
            case HeaderId::content_length: {
                if (m.content_length_ >= 0) {
                    note(SipError{400, "Multiple Content-Length headers"});
                    break;
                }
                auto n = parse_decimal(f.value, 10);
                if (n) m.content_length_ = static_cast<std::int64_t>(*n);
                else note(SipError{400, "Bad Content-Length"});
                break;
            }
            case HeaderId::max_forwards: {
                if (m.max_forwards_ >= 0) {
                    note(SipError{400, "Multiple Max-Forwards headers"});
                    break;
                }
                auto n = parse_decimal(f.value, 10);
                if (n && *n <= 255) m.max_forwards_ = static_cast<std::int16_t>(*n);
                else note(SipError{400, "Bad Max-Forwards"});
                break;
            }
            default:
                break;
        }
    }
    if (first_error) return unexpected(*first_error);
    // RFC 3261 8.1.1: mandatory in every request (Max-Forwards is tolerated missing, RFC 2543 peers).
    if (m.via_count_ == 0) return unexpected(m.is_request() ? SipError{400, "Missing Via header"} : kDrop);
    if (m.call_id_.empty()) return unexpected(SipError{400, "Missing Call-ID header"});
    if (m.from_.empty()) return unexpected(SipError{400, "Missing From header"});
    if (m.to_.empty()) return unexpected(SipError{400, "Missing To header"});
    if (m.cseq_method_text_.empty()) return unexpected(SipError{400, "Missing CSeq header"});
    if (m.is_request() && !m.method_text_.empty() && m.cseq_method_text_ != m.method_text_) {
        // An unknown method is reported as such (RFC 4475 3.1.2.18): 501 tells the sender more.
        if (m.method_ == Method::extension) return unexpected(SipError{501, "Not Implemented"});
        return unexpected(SipError{400, "CSeq method does not match the request"});
    }
    return {};
}

Result<void, SipError> Parser::parse(std::string_view bytes, Framing framing, const Limits& limits,
                                     Message& m) {
    m = Message();
    // RFC 3261 7.5: ignore CRLFs before the start line (keep-alives on streams).
    while (!bytes.empty() && (bytes[0] == '\r' || bytes[0] == '\n')) bytes.remove_prefix(1);
    if (bytes.empty()) return unexpected(kDrop);
    if (bytes.size() > limits.max_message_size) return unexpected(SipError{513, "Message Too Large"});

    // One allocation: inline header array, then the message bytes.
    m.storage_.reset(new char[Message::kInlineBytes + bytes.size()]);
    char* buf = m.storage_.get() + Message::kInlineBytes;
    std::memcpy(buf, bytes.data(), bytes.size());
    m.buf_ = buf;
    m.size_ = static_cast<std::uint32_t>(bytes.size());
    auto* inline_fields = reinterpret_cast<HeaderField*>(m.storage_.get());

    char* p = buf;
    char* const end = buf + bytes.size();

    // Start line.
    char* eol = static_cast<char*>(std::memchr(p, '\n', end - p));
    if (!eol) return unexpected(SipError{0, "No end of start line"});
    char* line_end = (eol > p && eol[-1] == '\r') ? eol - 1 : eol;
    // A bad request line is reported only after the headers are read, so that the 400 or 505
    // can still be sent to the Via.
    std::optional<SipError> start_error;
    if (auto r = start_line({p, static_cast<std::size_t>(line_end - p)}, m); !r) {
        if (r.error().status == 0 || !m.is_request()) return unexpected(kDrop);
        start_error = r.error();
    }
    p = eol + 1;

    // Header fields, up to the empty line.
    HeaderField* last = nullptr;
    bool ended = false;
    std::optional<SipError> line_error;
    while (p < end) {
        if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
            p += (*p == '\n') ? 1 : 2;
            ended = true;
            break;
        }
        eol = static_cast<char*>(std::memchr(p, '\n', end - p));
        char* next = eol ? eol + 1 : end;
        line_end = eol ? eol : end;
        if (line_end > p && line_end[-1] == '\r') --line_end;
        if (static_cast<std::size_t>(line_end - p) > limits.max_line_length) {
            if (!line_error) line_error = SipError{400, "Header line too long"};
            p = next;
            continue;
        }

        if (*p == ' ' || *p == '\t') {
            // Folded continuation (RFC 3261 7.3.1): join onto the previous value in place.
            if (!last) {
                if (!line_error) line_error = SipError{400, "Continuation line before the first header"};
                p = next;
                continue;
            }
            char* value_begin = const_cast<char*>(last->value.data());
            char* prev_end = value_begin + last->value.size();
            for (char* c = prev_end; c < p; ++c) *c = ' ';
            std::string_view joined = trim_ws(value_begin, line_end);
            if (static_cast<std::size_t>(line_end - last->name.data()) > limits.max_line_length) {
                if (!line_error) line_error = SipError{400, "Header line too long"};
                p = next;
                continue;
            }
            last->value = joined;
            p = next;
            continue;
        }

        // field-name = token; HCOLON = *( SP / HTAB ) ":" SWS
        char* q = p;
        while (q < line_end && is_token_char(*q)) ++q;
        std::string_view name(p, static_cast<std::size_t>(q - p));
        while (q < line_end && (*q == ' ' || *q == '\t')) ++q;
        if (name.empty() || q == line_end || *q != ':') {
            if (!line_error) line_error = SipError{400, "Bad header line"};
            last = nullptr;  // a continuation of a bad line is bad too
            p = next;
            continue;
        }
        if (m.count_ >= limits.max_headers) {
            if (!line_error) line_error = SipError{400, "Too many headers"};
            break;
        }

        HeaderField field{name, trim_ws(q + 1, line_end), header_id(name)};
        if (field.value.empty()) field.value = std::string_view(line_end, 0);  // anchors later folding
        if (m.count_ < Message::kInlineHeaders) {
            last = new (&inline_fields[m.count_]) HeaderField(field);
        } else {
            if (m.count_ == Message::kInlineHeaders)
                m.overflow_.assign(inline_fields, inline_fields + Message::kInlineHeaders);
            m.overflow_.push_back(field);
            last = &m.overflow_.back();
        }
        auto& first = m.first_[static_cast<std::size_t>(field.id)];
        if (first == Message::kNone) first = m.count_;  // find(id) works even after an error
        ++m.count_;
        p = next;
    }
    if (!ended && framing == Framing::stream && !line_error)
        line_error = SipError{400, "No empty line after headers"};

    auto r = eager_headers(limits, m);
    if (start_error) return unexpected(*start_error);
    if (line_error) return unexpected(m.is_request() ? *line_error : kDrop);
    if (!r) {
        if (!m.is_request()) return unexpected(kDrop);
        return r;
    }

    // Body (RFC 3261 18.3 and 20.14).
    std::size_t available = static_cast<std::size_t>(end - p);
    if (m.content_length_ < 0) {
        if (framing == Framing::stream) return unexpected(SipError{400, "Missing Content-Length"});
        m.body_ = std::string_view(p, available);
    } else if (static_cast<std::uint64_t>(m.content_length_) > available) {
        return unexpected(SipError{400, "Content-Length larger than the message"});
    } else {
        m.body_ = std::string_view(p, static_cast<std::size_t>(m.content_length_));
    }
    return {};
}

}  // namespace sb::sip
