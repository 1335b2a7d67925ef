#pragma once
// A transport address (IPv4 or IPv6 and port) and the flow a message arrived on, without Boost
// so that every layer can name them. Transports convert to and from their socket types.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb {

struct Endpoint {
    std::array<std::uint8_t, 16> addr{};  // IPv4 in the first 4 bytes when !v6
    std::uint16_t port = 0;
    bool v6 = false;

    // "192.0.2.1", "2001:db8::1" (no brackets); nullopt if not an IP literal.
    static std::optional<Endpoint> from_ip(std::string_view ip, std::uint16_t port);
    // "192.0.2.1:5060", "[2001:db8::1]:5060".
    static std::optional<Endpoint> from_string(std::string_view host_port);
    std::string ip() const;          // without brackets
    std::string to_string() const;   // with brackets for IPv6, and the port
    bool operator==(const Endpoint& o) const = default;
    std::size_t hash() const;
};

enum class TransportKind : std::uint8_t { udp, tcp, tls };
std::string_view to_string(TransportKind k);  // "UDP", "TCP", "TLS"
inline bool is_reliable(TransportKind k) { return k != TransportKind::udp; }

// Where a message came from and how to answer on the same path (RFC 3261 18.2.2):
// for UDP, the local socket and the remote address; for streams, the connection.
struct Flow {
    TransportKind transport = TransportKind::udp;
    Endpoint local;
    Endpoint remote;
    std::uint64_t connection_id = 0;  // 0 for UDP; otherwise the connection that carried it
    bool operator==(const Flow& o) const = default;
};

}  // namespace sb
