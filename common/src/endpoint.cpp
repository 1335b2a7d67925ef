#include "sb/common/endpoint.h"

#include <arpa/inet.h>

#include <cstring>
#include <functional>

namespace sb {

std::optional<Endpoint> Endpoint::from_ip(std::string_view ip, std::uint16_t port) {
    if (ip.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    char buf[INET6_ADDRSTRLEN];
    std::memcpy(buf, ip.data(), ip.size());
    buf[ip.size()] = '\0';
    Endpoint e;
    e.port = port;
    if (inet_pton(AF_INET, buf, e.addr.data()) == 1) return e;
    if (inet_pton(AF_INET6, buf, e.addr.data()) == 1) {
        e.v6 = true;
        return e;
    }
    return std::nullopt;
}

std::optional<Endpoint> Endpoint::from_string(std::string_view hp) {
    std::string_view host;
    std::string_view port;
    if (!hp.empty() && hp[0] == '[') {
        auto close = hp.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = hp.substr(1, close - 1);
        if (close + 1 < hp.size()) {
            if (hp[close + 1] != ':') return std::nullopt;
            port = hp.substr(close + 2);
        }
    } else {
        auto colon = hp.rfind(':');
        if (colon == std::string_view::npos || hp.find(':') != colon) return std::nullopt;
        host = hp.substr(0, colon);
        port = hp.substr(colon + 1);
    }
    if (port.empty() || port.size() > 5) return std::nullopt;
    unsigned p = 0;
    for (char c : port) {
        if (c < '0' || c > '9') return std::nullopt;
        p = p * 10 + static_cast<unsigned>(c - '0');
    }
    if (p > 65535) return std::nullopt;
    return from_ip(host, static_cast<std::uint16_t>(p));
}

std::string Endpoint::ip() const {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(v6 ? AF_INET6 : AF_INET, addr.data(), buf, sizeof buf);
    return buf;
}

std::string Endpoint::to_string() const {
    return v6 ? "[" + ip() + "]:" + std::to_string(port) : ip() + ":" + std::to_string(port);
}

std::size_t Endpoint::hash() const {
    std::uint64_t a, b;
    std::memcpy(&a, addr.data(), 8);
    std::memcpy(&b, addr.data() + 8, 8);
    return std::hash<std::uint64_t>{}(a ^ (b * 0x9e3779b97f4a7c15ULL) ^ (std::uint64_t(port) << 48) ^ v6);
}

std::string_view to_string(TransportKind k) {
    switch (k) {
        case TransportKind::udp: return "UDP";
        case TransportKind::tcp: return "TCP";
        case TransportKind::tls: return "TLS";
    }
    return "UDP";
}

}  // namespace sb
