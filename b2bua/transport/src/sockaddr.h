#pragma once
// Conversions between sb::Endpoint and sockaddr, shared by the UDP and TCP code.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "sb/common/endpoint.h"

namespace sb::transport::detail {

inline Endpoint from_sockaddr(const sockaddr_storage& ss) {
    Endpoint e;
    if (ss.ss_family == AF_INET6) {
        const auto& s6 = reinterpret_cast<const sockaddr_in6&>(ss);
        // IPv4-mapped addresses on a dual-stack socket are reported as IPv4.
        if (IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr)) {
            std::memcpy(e.addr.data(), s6.sin6_addr.s6_addr + 12, 4);
        } else {
            std::memcpy(e.addr.data(), s6.sin6_addr.s6_addr, 16);
            e.v6 = true;
        }
        e.port = ntohs(s6.sin6_port);
    } else {
        const auto& s4 = reinterpret_cast<const sockaddr_in&>(ss);
        std::memcpy(e.addr.data(), &s4.sin_addr, 4);
        e.port = ntohs(s4.sin_port);
    }
    return e;
}

inline socklen_t to_sockaddr(const Endpoint& e, sockaddr_storage& ss) {
    std::memset(&ss, 0, sizeof ss);
    if (e.v6) {
        auto& s6 = reinterpret_cast<sockaddr_in6&>(ss);
        s6.sin6_family = AF_INET6;
        std::memcpy(s6.sin6_addr.s6_addr, e.addr.data(), 16);
        s6.sin6_port = htons(e.port);
        return sizeof(sockaddr_in6);
    }
    auto& s4 = reinterpret_cast<sockaddr_in&>(ss);
    s4.sin_family = AF_INET;
    std::memcpy(&s4.sin_addr, e.addr.data(), 4);
    s4.sin_port = htons(e.port);
    return sizeof(sockaddr_in);
}

}  // namespace sb::transport::detail
