#pragma once
// A socket address as the kernel hands it over (IPv4 or IPv6), compared without conversions on
// the relay's hot path, and converted to and from sb::Endpoint at the control plane.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "sb/common/endpoint.h"

namespace sb::media::rtp {

struct SockAddr {
    union {
        sockaddr_in v4;
        sockaddr_in6 v6;
    } u{};

    bool empty() const { return u.v4.sin_family == 0; }
    bool is_v6() const { return u.v4.sin_family == AF_INET6; }
    socklen_t size() const { return is_v6() ? sizeof(sockaddr_in6) : sizeof(sockaddr_in); }
    sockaddr* raw() { return reinterpret_cast<sockaddr*>(&u); }
    const sockaddr* raw() const { return reinterpret_cast<const sockaddr*>(&u); }
    std::uint16_t port() const { return ntohs(is_v6() ? u.v6.sin6_port : u.v4.sin_port); }

    bool same_ip(const SockAddr& o) const {
        if (u.v4.sin_family != o.u.v4.sin_family || empty()) return false;
        if (is_v6()) return std::memcmp(&u.v6.sin6_addr, &o.u.v6.sin6_addr, 16) == 0;
        return u.v4.sin_addr.s_addr == o.u.v4.sin_addr.s_addr;
    }
    bool operator==(const SockAddr& o) const {
        return same_ip(o) &&
               (is_v6() ? u.v6.sin6_port == o.u.v6.sin6_port : u.v4.sin_port == o.u.v4.sin_port);
    }

    static SockAddr from(const Endpoint& e) {
        SockAddr a;
        if (e.v6) {
            a.u.v6.sin6_family = AF_INET6;
            a.u.v6.sin6_port = htons(e.port);
            std::memcpy(&a.u.v6.sin6_addr, e.addr.data(), 16);
        } else {
            a.u.v4.sin_family = AF_INET;
            a.u.v4.sin_port = htons(e.port);
            std::memcpy(&a.u.v4.sin_addr, e.addr.data(), 4);
        }
        return a;
    }
    // From what recvmsg wrote (`len` bytes); empty if it is neither family.
    static SockAddr from_raw(const void* p, socklen_t len) {
        SockAddr a;
        if (len >= sizeof(sockaddr_in6) && static_cast<const sockaddr*>(p)->sa_family == AF_INET6)
            std::memcpy(&a.u.v6, p, sizeof(sockaddr_in6));
        else if (len >= sizeof(sockaddr_in) &&
                 static_cast<const sockaddr*>(p)->sa_family == AF_INET)
            std::memcpy(&a.u.v4, p, sizeof(sockaddr_in));
        return a;
    }
    Endpoint endpoint() const {
        Endpoint e;
        if (is_v6()) {
            e.v6 = true;
            std::memcpy(e.addr.data(), &u.v6.sin6_addr, 16);
        } else {
            std::memcpy(e.addr.data(), &u.v4.sin_addr, 4);
        }
        e.port = port();
        return e;
    }
};

}  // namespace sb::media::rtp
