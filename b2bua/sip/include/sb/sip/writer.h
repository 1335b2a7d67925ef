#pragma once
// Serialization: builds SIP messages as text into a std::string the caller owns (and may reuse,
// so a steady state allocates nothing). Header order: as written.
#include <cstdint>
#include <string>
#include <string_view>

#include "sb/sip/header_id.h"

namespace sb::sip {

class Message;

class MessageWriter {
public:
    explicit MessageWriter(std::string& out) : out_(out) { out_.clear(); }

    MessageWriter& request_line(std::string_view method, std::string_view request_uri);
    MessageWriter& status_line(int code, std::string_view reason);
    MessageWriter& header(std::string_view name, std::string_view value);
    MessageWriter& header(HeaderId id, std::string_view value) { return header(header_name(id), value); }
    // A header whose value is several pieces, e.g. header_cat("To", to, ";tag=", tag).
    template <class... Parts>
    MessageWriter& header_cat(std::string_view name, const Parts&... parts) {
        out_.append(name).append(": ");
        (out_.append(std::string_view(parts)), ...);
        out_.append("\r\n");
        return *this;
    }
    // Ends the headers with Content-Type (if a body is given) and Content-Length, then the body.
    void finish(std::string_view content_type = {}, std::string_view body = {});

    std::string& text() { return out_; }

private:
    std::string& out_;
};

// Where a request came from, for RFC 3261 18.2.1 "received" and RFC 3581 "rport".
struct Source {
    std::string_view ip;  // textual address without brackets
    std::uint16_t port = 0;
};

// Writes the start of a response to `req` (RFC 3261 8.2.6.2): status line, all Via values (the
// top one with received/rport set from `src`), From, To (adding `to_tag` when the request's To has
// no tag and code > 100), Call-ID, CSeq. The caller adds its own headers, then finish().
void start_response(MessageWriter& w, const Message& req, int code, std::string_view reason,
                    std::string_view to_tag, const Source& src);

// The RFC 3261 21 reason phrase for a status code ("Unknown" if none).
std::string_view default_reason(int code);

}  // namespace sb::sip
