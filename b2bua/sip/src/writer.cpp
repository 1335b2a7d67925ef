#include "sb/sip/writer.h"

#include <charconv>

#include "sb/sip/message.h"
#include "sb/sip/text.h"

namespace sb::sip {

namespace {
void append_int(std::string& out, std::uint64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

bool is_ipv6_text(std::string_view ip) { return ip.find(':') != std::string_view::npos; }

// sent-by host equals the source address (brackets of IPv6 references ignored).
bool same_address(std::string_view via_host, std::string_view ip) {
    if (!via_host.empty() && via_host.front() == '[') via_host = via_host.substr(1, via_host.size() - 2);
    return iequals(via_host, ip);
}

// The top Via with RFC 3261 18.2.1 received and RFC 3581 rport filled in.
void write_top_via(std::string& out, std::string_view value, const Via& via, const Source& src) {
    bool add_received = !src.ip.empty() && (via.has_rport || !same_address(via.host, src.ip));
    bool fill_rport = via.has_rport && src.port != 0;
    out.append("Via: ");
    if (!add_received && !fill_rport) {
        out.append(value).append("\r\n");
        return;
    }
    // Copy everything before the params, then every param except received/rport, then ours.
    std::size_t params_at = via.params.empty() ? value.size()
                                               : static_cast<std::size_t>(via.params.data() - value.data());
    out.append(trim_right(value.substr(0, params_at)));
    ParamIterator it(via.params);
    while (auto p = it.next()) {
        if ((add_received && iequals(p->name, "received")) || (fill_rport && iequals(p->name, "rport")))
            continue;
        out.push_back(';');
        out.append(p->name);
        if (p->has_value) out.append("=").append(p->value);
    }
    if (add_received) {
        out.append(";received=");
        if (is_ipv6_text(src.ip)) out.append("[").append(src.ip).append("]");
        else out.append(src.ip);
    }
    if (fill_rport) {
        out.append(";rport=");
        append_int(out, src.port);
    }
    out.append("\r\n");
}
}  // namespace

MessageWriter& MessageWriter::request_line(std::string_view method, std::string_view request_uri) {
    out_.append(method).append(" ").append(request_uri).append(" SIP/2.0\r\n");
    return *this;
}

MessageWriter& MessageWriter::status_line(int code, std::string_view reason) {
    out_.append("SIP/2.0 ");
    append_int(out_, static_cast<std::uint64_t>(code));
    out_.append(" ").append(reason).append("\r\n");
    return *this;
}

MessageWriter& MessageWriter::header(std::string_view name, std::string_view value) {
    out_.append(name).append(": ").append(value).append("\r\n");
    return *this;
}

void MessageWriter::finish(std::string_view content_type, std::string_view body) {
    if (!body.empty() && !content_type.empty()) header("Content-Type", content_type);
    out_.append("Content-Length: ");
    append_int(out_, body.size());
    out_.append("\r\n\r\n").append(body);
}

void start_response(MessageWriter& w, const Message& req, int code, std::string_view reason,
                    std::string_view to_tag, const Source& src) {
    w.status_line(code, reason);
    std::string& out = w.text();
    bool top = true;
    for (const HeaderField& f : req.headers()) {
        if (f.id != HeaderId::via) continue;
        CommaSplitter split(f.value);
        while (auto v = split.next()) {
            if (top) {
                write_top_via(out, *v, req.top_via(), src);
                top = false;
            } else {
                out.append("Via: ").append(*v).append("\r\n");
            }
        }
    }
    // Copied as received (RFC 3261 8.2.6.2), even when malformed; absent ones stay absent.
    if (!req.from().empty()) w.header("From", req.from());
    if (req.to().empty()) {
    } else if (req.to_tag().empty() && code > 100 && !to_tag.empty()) {
        w.header_cat("To", req.to(), ";tag=", to_tag);
    } else {
        w.header("To", req.to());
    }
    if (!req.call_id().empty()) w.header("Call-ID", req.call_id());
    if (!req.cseq_raw().empty()) w.header("CSeq", req.cseq_raw());
}

std::string_view default_reason(int code) {
    switch (code) {
        case 100: return "Trying";
        case 180: return "Ringing";
        case 181: return "Call Is Being Forwarded";
        case 182: return "Queued";
        case 183: return "Session Progress";
        case 200: return "OK";
        case 202: return "Accepted";
        case 300: return "Multiple Choices";
        case 301: return "Moved Permanently";
        case 302: return "Moved Temporarily";
        case 380: return "Alternative Service";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 402: return "Payment Required";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 406: return "Not Acceptable";
        case 407: return "Proxy Authentication Required";
        case 408: return "Request Timeout";
        case 410: return "Gone";
        case 413: return "Request Entity Too Large";
        case 414: return "Request-URI Too Long";
        case 415: return "Unsupported Media Type";
        case 416: return "Unsupported URI Scheme";
        case 420: return "Bad Extension";
        case 421: return "Extension Required";
        case 423: return "Interval Too Brief";
        case 480: return "Temporarily Unavailable";
        case 481: return "Call/Transaction Does Not Exist";
        case 482: return "Loop Detected";
        case 483: return "Too Many Hops";
        case 484: return "Address Incomplete";
        case 485: return "Ambiguous";
        case 486: return "Busy Here";
        case 487: return "Request Terminated";
        case 488: return "Not Acceptable Here";
        case 491: return "Request Pending";
        case 493: return "Undecipherable";
        case 500: return "Server Internal Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Server Time-out";
        case 505: return "Version Not Supported";
        case 513: return "Message Too Large";
        case 600: return "Busy Everywhere";
        case 603: return "Decline";
        case 604: return "Does Not Exist Anywhere";
        case 606: return "Not Acceptable";
        default: return "Unknown";
    }
}

}  // namespace sb::sip
