#include "sb/media/sdp.h"

#include <charconv>

namespace sb::media::sdp {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return s;
}

// Splits on single spaces (tolerating runs of them).
std::vector<std::string_view> fields(std::string_view s) {
    std::vector<std::string_view> out;
    while (!s.empty()) {
        std::size_t sp = s.find(' ');
        if (sp != 0) out.push_back(s.substr(0, sp));
        if (sp == std::string_view::npos) break;
        s.remove_prefix(sp + 1);
    }
    return out;
}

template <class T>
bool number(std::string_view s, T& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

std::optional<Direction> direction_attribute(std::string_view value) {
    if (value == "sendrecv") return Direction::sendrecv;
    if (value == "sendonly") return Direction::sendonly;
    if (value == "recvonly") return Direction::recvonly;
    if (value == "inactive") return Direction::inactive;
    return std::nullopt;
}

Result<Connection> parse_connection(std::string_view v) {
    auto f = fields(v);
    if (f.size() != 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6"))
        return fail("c= must be 'IN IP4|IP6 address'");
    Connection c;
    c.address_type = std::string(f[1]);
    c.address = std::string(trim(f[2].substr(0, f[2].find('/'))));  // drop a multicast /ttl
    if (c.address.empty()) return fail("c= has no address");
    return c;
}

Result<RtpMap> parse_rtpmap(std::string_view v) {
    // "<pt> <encoding>/<clock rate>[/<channels>]"
    std::size_t sp = v.find(' ');
    RtpMap m;
    if (sp == std::string_view::npos || !number(v.substr(0, sp), m.payload_type) ||
        m.payload_type < 0 || m.payload_type > 127)
        return fail("a=rtpmap needs a payload type 0-127");
    std::string_view rest = trim(v.substr(sp + 1));
    std::size_t s1 = rest.find('/');
    if (s1 == std::string_view::npos || s1 == 0) return fail("a=rtpmap needs encoding/clock-rate");
    m.encoding = std::string(rest.substr(0, s1));
    rest.remove_prefix(s1 + 1);
    std::size_t s2 = rest.find('/');
    if (!number(rest.substr(0, s2), m.clock_rate) || m.clock_rate <= 0)
        return fail("a=rtpmap: bad clock rate");
    if (s2 != std::string_view::npos &&
        (!number(rest.substr(s2 + 1), m.channels) || m.channels <= 0))
        return fail("a=rtpmap: bad channel count");
    return m;
}

}  // namespace

std::string_view to_string(Direction d) {
    switch (d) {
        case Direction::sendrecv:
            return "sendrecv";
        case Direction::sendonly:
            return "sendonly";
        case Direction::recvonly:
            return "recvonly";
        case Direction::inactive:
            return "inactive";
    }
    return "sendrecv";
}

Direction reverse(Direction offered) {
    switch (offered) {
        case Direction::sendonly:
            return Direction::recvonly;
        case Direction::recvonly:
            return Direction::sendonly;
        default:
            return offered;
    }
}

const RtpMap* Media::rtpmap(int payload_type) const {
    for (const RtpMap& m : rtpmaps)
        if (m.payload_type == payload_type) return &m;
    return nullptr;
}

Direction Session::direction_of(const Media& m) const {
    if (m.direction) return *m.direction;
    if (direction) return *direction;
    return Direction::sendrecv;
}

const Connection* Session::connection_of(const Media& m) const {
    if (m.connection) return &*m.connection;
    if (connection) return &*connection;
    return nullptr;
}

Result<Session> parse(std::string_view text) {
    Session s;
    std::size_t line_no = 0;
    bool have_v = false, have_o = false, have_t = false;
    auto err = [&](std::string_view what) {
        return fail("SDP line " + std::to_string(line_no) + ": " + std::string(what));
    };
    while (!text.empty()) {
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;  // blank lines, a trailing CRLF
        ++line_no;
        if (line_no > kMaxLines) return err("too many lines");
        if (line.size() > kMaxLine) return err("line too long");
        if (line.size() < 2 || line[1] != '=') return err("expected <type>=<value>");
        // RFC 8866 9: no CR (other than the line end) or NUL inside a line. A bare CR would end
        // the line early for a parser that splits on it, smuggling a line into what we relay.
        if (line.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos)
            return err("CR or NUL inside a line");
        char type = line[0];
        std::string_view value = trim(line.substr(2));
        if (!have_v) {
            if (type != 'v' || value != "0") return err("an SDP body starts with v=0");
            have_v = true;
            continue;
        }
        Media* m = s.media.empty() ? nullptr : &s.media.back();
        switch (type) {
            case 'v':
                return err("v= may appear only once");
            case 'o': {
                if (m || have_o) return err("o= must come once, before m=");
                auto f = fields(value);
                if (f.size() != 6 || f[3] != "IN")
                    return err("o= needs 6 fields: user id version IN type address");
                s.origin = Origin{std::string(f[0]), std::string(f[1]), std::string(f[2]),
                                  std::string(f[4]), std::string(f[5])};
                have_o = true;
                break;
            }
            case 's':
                if (m) return err("s= belongs before m=");
                s.name = value.empty() ? std::string("-") : std::string(value);
                break;
            case 'c': {
                auto c = parse_connection(value);
                if (!c) return err(c.error().message);
                (m ? m->connection : s.connection) = std::move(*c);
                break;
            }
            case 't':
                if (m) return err("t= belongs before m=");
                if (!have_t)
                    s.timing = std::string(value);
                else
                    s.other.emplace_back(line);
                have_t = true;
                break;
            case 'm': {
                if (s.media.size() >= kMaxMedia) return err("too many m= lines");
                auto f = fields(value);
                if (f.size() < 3) return err("m= needs media, port, protocol and formats");
                Media nm;
                nm.type = std::string(f[0]);
                std::string_view port = f[1];
                std::size_t slash = port.find('/');
                unsigned p = 0;
                if (!number(port.substr(0, slash), p) || p > 65535)
                    return err("m= needs a port 0-65535");
                nm.port = static_cast<std::uint16_t>(p);
                if (slash != std::string_view::npos &&
                    (!number(port.substr(slash + 1), nm.port_count) || nm.port_count < 1))
                    return err("m=: bad port count");
                nm.protocol = std::string(f[2]);
                bool rtp = nm.protocol.find("RTP/") != std::string::npos;
                for (std::size_t i = 3; i < f.size(); ++i) {
                    int pt = 0;
                    if (rtp && (!number(f[i], pt) || pt < 0 || pt > 127))
                        return err("m=: RTP payload types are 0-127");
                    nm.formats.emplace_back(f[i]);
                }
                if (nm.port != 0 && nm.formats.empty()) return err("m= lists no format");
                s.media.push_back(std::move(nm));
                break;
            }
            case 'a': {
                std::string_view name = value.substr(0, value.find(':'));
                std::string_view arg = name.size() < value.size()
                                           ? trim(value.substr(name.size() + 1))
                                           : std::string_view{};
                if (auto d = direction_attribute(value)) {
                    (m ? m->direction : s.direction) = *d;
                } else if (m && name == "rtpmap") {
                    auto r = parse_rtpmap(arg);
                    if (!r) return err(r.error().message);
                    m->rtpmaps.push_back(std::move(*r));
                } else if (m && name == "fmtp") {
                    std::size_t sp = arg.find(' ');
                    int pt = 0;
                    if (!number(arg.substr(0, sp), pt)) return err("a=fmtp needs a payload type");
                    m->fmtps.emplace_back(pt, sp == std::string_view::npos
                                                  ? std::string{}
                                                  : std::string(trim(arg.substr(sp + 1))));
                } else if (m && name == "ptime") {
                    int pt = 0;
                    if (!number(arg, pt) || pt <= 0 || pt > 1000) return err("a=ptime: bad value");
                    m->ptime = pt;
                } else if (m && name == "rtcp") {
                    unsigned port = 0;
                    if (!number(arg.substr(0, arg.find(' ')), port) || port > 65535)
                        return err("a=rtcp: bad port");
                    m->rtcp_port = static_cast<std::uint16_t>(port);
                    if (arg.find(' ') != std::string_view::npos)
                        m->other.emplace_back(line);  // with an address
                } else {
                    (m ? m->other : s.other).emplace_back(line);
                }
                break;
            }
            default:
                // i= u= e= p= b= z= k= r=, and what RFC 8866 5 has no place for: a type letter
                // it does not define (which it has a parser ignore or reject the whole
                // description for), or u= e= p= r= z= after m=. We take those too, as senders
                // write them: we never act on them, and never send them on (see write()).
                (m ? m->other : s.other).emplace_back(line);
                break;
        }
    }
    if (!have_v) return fail("SDP: empty body");
    if (!have_o) return fail("SDP: no o= line");
    return s;
}

namespace {

void put_others(std::string& out, const std::vector<std::string>& lines, std::string_view types) {
    for (const std::string& l : lines)
        if (types.find(l[0]) != std::string_view::npos) out.append(l).append("\r\n");
}

// The lines of a section whose type the RFC's order does not place there (`placed`: those it
// does): last in the section, in their order.
void put_unplaced(std::string& out, const std::vector<std::string>& lines,
                  std::string_view placed) {
    for (const std::string& l : lines)
        if (placed.find(l[0]) == std::string_view::npos) out.append(l).append("\r\n");
}

void put_connection(std::string& out, const Connection& c) {
    out.append("c=IN ").append(c.address_type).append(" ").append(c.address).append("\r\n");
}

}  // namespace

// Every line parse() kept is written back, the unplaced ones too (an x=, a u= after m=): what
// parse() accepted, write() gives back, and writing it again gives the same text. It gives one
// leg no way into the other's SDP: what we send a leg is built afresh (offer_answer.h's
// answer_offer and make_offer), taking the other leg's codecs and never its `other` lines.
std::string write(const Session& s) {
    std::string out;
    out.reserve(256 + 128 * s.media.size());
    out.append("v=0\r\n");
    const Origin& o = s.origin;
    out.append("o=")
        .append(o.username)
        .append(" ")
        .append(o.session_id)
        .append(" ")
        .append(o.session_version);
    out.append(" IN ").append(o.address_type).append(" ").append(o.address).append("\r\n");
    out.append("s=").append(s.name).append("\r\n");
    put_others(out, s.other, "iuep");
    if (s.connection) put_connection(out, *s.connection);
    put_others(out, s.other, "b");
    out.append("t=").append(s.timing).append("\r\n");
    put_others(out, s.other, "trzk");
    if (s.direction) out.append("a=").append(to_string(*s.direction)).append("\r\n");
    put_others(out, s.other, "a");
    put_unplaced(out, s.other, "iuepbtrzka");
    for (const Media& m : s.media) {
        out.append("m=").append(m.type).append(" ").append(std::to_string(m.port));
        if (m.port_count != 1) out.append("/").append(std::to_string(m.port_count));
        out.append(" ").append(m.protocol);
        for (const std::string& f : m.formats) out.append(" ").append(f);
        out.append("\r\n");
        put_others(out, m.other, "i");
        if (m.connection) put_connection(out, *m.connection);
        put_others(out, m.other, "bk");
        for (const RtpMap& r : m.rtpmaps) {
            out.append("a=rtpmap:")
                .append(std::to_string(r.payload_type))
                .append(" ")
                .append(r.encoding);
            out.append("/").append(std::to_string(r.clock_rate));
            if (r.channels != 1) out.append("/").append(std::to_string(r.channels));
            out.append("\r\n");
        }
        for (const auto& [pt, params] : m.fmtps)
            out.append("a=fmtp:")
                .append(std::to_string(pt))
                .append(" ")
                .append(params)
                .append("\r\n");
        if (m.ptime) out.append("a=ptime:").append(std::to_string(*m.ptime)).append("\r\n");
        bool rtcp_written = false;
        for (const std::string& l : m.other) rtcp_written |= l.starts_with("a=rtcp:");
        if (m.rtcp_port && !rtcp_written)
            out.append("a=rtcp:").append(std::to_string(*m.rtcp_port)).append("\r\n");
        if (m.direction) out.append("a=").append(to_string(*m.direction)).append("\r\n");
        put_others(out, m.other, "a");
        put_unplaced(out, m.other, "ibka");
    }
    return out;
}

}  // namespace sb::media::sdp
