#include "sb/sip/framing.h"

#include <cstring>

#include "sb/sip/text.h"

namespace sb::sip {

namespace {
// Content-Length from the header section (full or compact name); -1 if absent, -2 if bad.
long long content_length(std::string_view head) {
    long long found = -1;
    std::size_t pos = head.find('\n');  // skip the start line
    while (pos != std::string_view::npos && pos + 1 < head.size()) {
        std::size_t begin = pos + 1;
        std::size_t eol = head.find('\n', begin);
        std::string_view line = head.substr(begin, eol == std::string_view::npos ? head.npos : eol - begin);
        pos = eol;
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view name = trim(line.substr(0, colon));
        if (!iequals(name, "Content-Length") && !iequals(name, "l")) continue;
        auto v = parse_decimal(trim(line.substr(colon + 1)), 10);
        if (!v) return -2;
        if (found >= 0 && static_cast<long long>(*v) != found) return -2;
        found = static_cast<long long>(*v);
    }
    return found;
}
}  // namespace

Frame frame_stream(std::string_view b, const Limits& limits) {
    Frame f;
    if (b.empty()) return f;
    if (b[0] == '\r' || b[0] == '\n') {
        // RFC 5626 3.5.1: CRLFCRLF is a ping (answer CRLF); a lone CRLF is a pong.
        if (b.size() >= 4 && std::memcmp(b.data(), "\r\n\r\n", 4) == 0) return {Frame::ping, 4, {}};
        if (b.size() >= 2 && b[0] == '\r' && b[1] == '\n') {
            if (b.size() == 2 || b[2] != '\r') return {Frame::pong, 2, {}};
            return f;  // "\r\n\r" : wait for the rest of a ping
        }
        return {Frame::pong, 1, {}};  // stray LF
    }
    std::size_t limit = limits.max_message_size;
    std::size_t end = b.substr(0, limit + 4).find("\r\n\r\n");
    if (end == std::string_view::npos) {
        if (b.size() > limit) return {Frame::error, 0, {513, "Message Too Large"}};
        return f;
    }
    std::size_t head_len = end + 4;
    long long cl = content_length(b.substr(0, end + 2));
    if (cl == -1) return {Frame::error, 0, {400, "Missing Content-Length"}};
    if (cl < 0) return {Frame::error, 0, {400, "Bad Content-Length"}};
    std::size_t total = head_len + static_cast<std::size_t>(cl);
    if (total > limit) return {Frame::error, 0, {513, "Message Too Large"}};
    if (b.size() < total) return f;
    return {Frame::message, total, {}};
}

}  // namespace sb::sip
