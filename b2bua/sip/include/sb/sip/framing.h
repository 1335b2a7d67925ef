#pragma once
// Message framing on stream transports (RFC 3261 18.3): a message ends Content-Length bytes after
// the empty line that ends its headers. Also recognises RFC 5626 keep-alives (CRLF CRLF ping,
// CRLF pong) between messages.
#include <cstddef>
#include <string_view>

#include "sb/sip/error.h"
#include "sb/sip/message.h"

namespace sb::sip {

struct Frame {
    enum Kind { need_more, message, ping, pong, error } kind = need_more;
    std::size_t length = 0;  // bytes to consume from the front (message, ping, pong)
    SipError err{};          // for error: the stream cannot be resynchronised; close it
};

Frame frame_stream(std::string_view buffered, const Limits& limits);

}  // namespace sb::sip
