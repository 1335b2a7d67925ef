#pragma once
// SDP (RFC 8866, formerly 4566): the session descriptions that SIP offers and answers carry
// (RFC 3264). Parsed into plain values the media engine can rewrite (addresses, ports, codecs,
// direction) and written back. Lines the engine does not interpret are kept verbatim, in order,
// so that what passes through keeps its meaning.
//
// Bounded: at most kMaxMedia m= sections, kMaxLines lines, kMaxLine bytes per line; the body
// itself is bounded by the SIP message size. Knows no SIP.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sb/common/result.h"

namespace sb::media::sdp {

inline constexpr std::size_t kMaxMedia = 16;
inline constexpr std::size_t kMaxLines = 512;
inline constexpr std::size_t kMaxLine = 2048;

enum class Direction : std::uint8_t { sendrecv, sendonly, recvonly, inactive };
std::string_view to_string(Direction d);
// What the other side's answer must say for `offered` (RFC 3264 6.1): sendonly <-> recvonly.
Direction reverse(Direction offered);

struct Origin {  // o=
    std::string username = "-";
    std::string session_id = "0";
    std::string session_version = "0";
    std::string address_type = "IP4";
    std::string address = "0.0.0.0";
};

struct Connection {                    // c=
    std::string address_type = "IP4";  // IP4 or IP6
    std::string address;               // without a /ttl
};

struct RtpMap {  // a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]
    int payload_type = 0;
    std::string encoding;  // as written ("PCMU", "opus", "telephone-event")
    int clock_rate = 8000;
    int channels = 1;
};

struct Media {                         // m= and what follows it
    std::string type;                  // "audio", "video", ...
    std::uint16_t port = 0;            // 0: the stream is rejected or disabled (RFC 3264 5.1, 6)
    int port_count = 1;                // "m=audio 49170/2 ...": rarely more than 1
    std::string protocol;              // "RTP/AVP", "RTP/SAVP", ...
    std::vector<std::string> formats;  // payload types for RTP ("0", "8", "101")
    std::optional<Connection> connection;
    std::vector<RtpMap> rtpmaps;
    std::vector<std::pair<int, std::string>> fmtps;  // a=fmtp:<pt> <parameters>
    std::optional<Direction> direction;
    std::optional<int> ptime;
    std::optional<std::uint16_t> rtcp_port;  // a=rtcp: (RFC 3605)
    std::vector<std::string> other;  // every other line of the section, verbatim ("a=...", "b=...")

    const RtpMap* rtpmap(int payload_type) const;
};

struct Session {
    Origin origin;
    std::string name = "-";  // s=
    std::optional<Connection> connection;
    std::string timing = "0 0";          // t=
    std::optional<Direction> direction;  // a session-level direction attribute
    std::vector<std::string> other;      // every other session-level line, verbatim
    std::vector<Media> media;

    // The direction of a stream: its own attribute, else the session's, else sendrecv.
    Direction direction_of(const Media& m) const;
    // The connection address of a stream: its own c=, else the session's (nullptr if none).
    const Connection* connection_of(const Media& m) const;
};

// Parses a body. Errors name the line: "SDP line 3: m= needs a port". Lenient where senders are
// (LF-only line ends, trailing spaces, a type letter RFC 8866 does not define or one in a section
// that has no place for it: kept in `other`), strict on what the engine relies on (v=0 first,
// o=, a valid m= line, numeric ports and payload types).
Result<Session> parse(std::string_view text);
// Writes a body in the RFC's order (RFC 8866 5), CRLF line ends: every line of `other` included,
// those the order has no place for last in their section.
std::string write(const Session& session);

}  // namespace sb::media::sdp
