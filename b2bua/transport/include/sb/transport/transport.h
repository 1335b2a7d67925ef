#pragma once
// SIP transports of one worker shard (RFC 3261 section 18): UDP and TCP over IPv4 and IPv6 on
// Boost.Asio. Every shard binds its own sockets to the same addresses with SO_REUSEPORT, so the
// kernel spreads datagrams and connections across shards; each shard's sockets and connections are
// used only from that shard's thread. Messages are parsed here and handed to a Receiver.
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "sb/common/clock.h"
#include "sb/common/endpoint.h"
#include "sb/common/result.h"
#include "sb/sip/message.h"

namespace sb::transport {

struct ListenSpec {
    Endpoint endpoint;
    bool udp = true;
    bool tcp = true;
};

struct TransportConfig {
    sip::Limits limits;
    int socket_buffer_bytes = 4 << 20;           // SO_RCVBUF/SO_SNDBUF for UDP
    Duration tcp_idle_timeout{std::chrono::seconds(300)};  // no bytes either way: close
    std::size_t max_connections = 4096;          // per shard
    std::size_t max_connections_per_ip = 64;     // per shard
    std::size_t max_write_queue_bytes = 1 << 20;  // per connection; beyond it the peer is too slow
};

// Called on the shard's thread for every message that arrives on it.
class Receiver {
public:
    virtual ~Receiver() = default;
    // A message that parsed.
    virtual void on_message(sip::Message&& message, const Flow& flow) = 0;
    // A message that did not parse; `partial` holds what was read (see Message::can_respond()).
    virtual void on_bad_message(sip::Message&& partial, const sip::SipError& error, const Flow& flow) = 0;
};

// Encodes the owning shard in a connection id, so any shard can route a send to the owner.
inline constexpr int kShardShift = 56;
inline std::size_t shard_of_connection(std::uint64_t connection_id) {
    return static_cast<std::size_t>(connection_id >> kShardShift);
}

class ShardTransport {
public:
    ShardTransport(boost::asio::io_context& io, std::size_t shard_index, TransportConfig config,
                   Receiver& receiver);
    ~ShardTransport();
    ShardTransport(const ShardTransport&) = delete;
    ShardTransport& operator=(const ShardTransport&) = delete;

    // Binds UDP sockets and TCP acceptors (SO_REUSEPORT) and starts receiving.
    Status listen(const std::vector<ListenSpec>& specs);
    // Sends on the flow's path: UDP from this shard's socket bound to flow.local, or on the
    // connection flow.connection_id (which must belong to this shard). Must run on this shard.
    Status send(const Flow& flow, std::string_view bytes);
    // Closes sockets and connections; pending work ends.
    void stop();

    std::size_t connection_count() const;
    std::size_t shard_index() const { return shard_; }
    // The addresses actually bound (a port 0 in a ListenSpec becomes the kernel's choice).
    std::vector<Endpoint> udp_endpoints() const;
    // The longest a received UDP datagram waited in a socket buffer since the last call (kernel
    // receive timestamps): the shard's queueing delay, for overload protection.
    Duration take_max_queue_delay();
    std::vector<Endpoint> tcp_endpoints() const;

    struct Impl;  // public only so the connection class in the .cpp can name it

private:
    std::unique_ptr<Impl> impl_;
    std::size_t shard_;
};

}  // namespace sb::transport
