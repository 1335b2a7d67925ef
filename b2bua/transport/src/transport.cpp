#include "sb/transport/transport.h"

#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <string>
#include <unordered_map>

#include "sb/common/log.h"
#include "sb/sip/framing.h"
#include "sockaddr.h"

namespace sb::transport {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

constexpr std::size_t kBatch = 32;          // datagrams per recvmmsg
constexpr std::size_t kDatagramMax = 65536;  // largest UDP payload

asio::ip::address to_asio(const Endpoint& e) {
    if (e.v6) {
        asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), e.addr.data(), 16);
        return asio::ip::address_v6(b);
    }
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), e.addr.data(), 4);
    return asio::ip::address_v4(b);
}

Endpoint from_asio(const asio::ip::tcp::endpoint& ep) {
    sockaddr_storage ss{};
    std::memcpy(&ss, ep.data(), ep.size());
    return detail::from_sockaddr(ss);
}

}  // namespace

// One UDP socket: receives in batches with recvmmsg once Asio says it is readable.
struct UdpSocket {
    asio::ip::udp::socket socket;
    Endpoint local;
    UdpSocket(asio::io_context& io) : socket(io) {}
};

class TcpConnection;

struct ShardTransport::Impl {
    asio::io_context& io;
    std::size_t shard;
    TransportConfig cfg;
    Receiver& receiver;
    std::vector<std::unique_ptr<UdpSocket>> udp;
    std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors;
    std::unordered_map<std::uint64_t, std::shared_ptr<TcpConnection>> connections;
    std::unordered_map<std::size_t, std::size_t> per_ip;  // Endpoint(ip only).hash() -> count
    std::uint64_t next_connection = 1;
    bool stopped = false;

    // recvmmsg buffers, reused for every batch.
    std::vector<char> rx;
    std::array<mmsghdr, kBatch> hdrs{};
    std::array<iovec, kBatch> iovs{};
    std::array<sockaddr_storage, kBatch> addrs{};
    // Kernel receive timestamps (SO_TIMESTAMPNS): how long the oldest datagram of each batch
    // waited in the socket buffer, the shard's queueing delay (overload protection reads it).
    static constexpr std::size_t kControl = CMSG_SPACE(sizeof(timespec));
    std::array<std::array<char, kControl>, kBatch> control{};
    Duration max_queue_delay{0};
    void note_queue_delay(const msghdr& h);

    Impl(asio::io_context& io, std::size_t shard, TransportConfig cfg, Receiver& r)
        : io(io), shard(shard), cfg(cfg), receiver(r), rx(kBatch * kDatagramMax) {}

    void arm_udp(UdpSocket& s);
    void drain_udp(UdpSocket& s);

    // UDP sends made while a received batch is being handled are queued and leave together with
    // one sendmmsg per socket when the batch is done: under load that turns one system call per
    // response into one per batch (system calls dominate the cost of a small message here).
    struct PendingSend {
        int fd;
        std::size_t offset, length;
        sockaddr_storage addr;
        socklen_t addr_len;
    };
    bool batching = false;
    std::vector<char> tx_bytes;
    std::vector<PendingSend> tx_pending;
    std::vector<mmsghdr> tx_hdrs;
    std::vector<iovec> tx_iovs;
    void queue_udp(int fd, const Endpoint& to, std::string_view bytes);
    void flush_udp();
    void accept(asio::ip::tcp::acceptor& a, Endpoint local);
    void deliver(std::string_view bytes, sip::Framing framing, const Flow& flow);
    void forget(std::uint64_t id, const Endpoint& remote);
};

// A TCP connection: frames the byte stream by Content-Length, answers RFC 5626 pings, closes when
// idle, when the peer sends garbage that cannot be resynchronised, or when it reads too slowly.
class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
public:
    TcpConnection(ShardTransport::Impl& owner, asio::ip::tcp::socket s, std::uint64_t id, Endpoint local,
                  Endpoint remote)
        : owner_(owner), socket_(std::move(s)), idle_(owner.io), id_(id) {
        flow_.transport = TransportKind::tcp;
        flow_.local = local;
        flow_.remote = remote;
        flow_.connection_id = id;
    }

    void start() {
        error_code ec;
        socket_.set_option(asio::ip::tcp::no_delay(true), ec);
        touch();
        read();
    }

    void send(std::string_view bytes) {
        if (closed_) return;
        if (queued_bytes_ + bytes.size() > owner_.cfg.max_write_queue_bytes) {
            SB_WARN("transport", "closing {}: peer does not read (write queue full)", flow_.remote.to_string());
            close();
            return;
        }
        queue_.emplace_back(bytes);
        queued_bytes_ += bytes.size();
        if (queue_.size() == 1) write();
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        error_code ec;
        socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
        socket_.close(ec);
        idle_.cancel();
        owner_.forget(id_, flow_.remote);
    }

    const Flow& flow() const { return flow_; }

private:
    void touch() {
        if (draining_) return;
        idle_.expires_after(owner_.cfg.tcp_idle_timeout);
        idle_.async_wait([self = shared_from_this()](error_code ec) {
            if (!ec && !self->closed_) {
                SB_DEBUG("transport", "closing idle connection {}", self->flow_.remote.to_string());
                self->close();
            }
        });
    }

    void read() {
        if (closed_) return;
        socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](error_code ec, std::size_t n) {
            if (ec || self->closed_) {
                self->close();
                return;
            }
            self->touch();
            self->buffer_.append(self->chunk_.data(), n);
            if (!self->process()) return;
            self->read();
        });
    }

    // Cuts complete messages off the front of the buffer; false if the connection was closed.
    bool process() {
        std::size_t offset = 0;
        while (!closed_) {
            std::string_view rest(buffer_.data() + offset, buffer_.size() - offset);
            sip::Frame f = sip::frame_stream(rest, owner_.cfg.limits);
            if (f.kind == sip::Frame::need_more) break;
            if (f.kind == sip::Frame::error) {
                SB_DEBUG("transport", "closing {}: {}", flow_.remote.to_string(), f.err.reason);
                // Answer what can be answered (e.g. 400 Missing Content-Length), then close.
                std::string_view head = rest.substr(0, rest.find("\r\n\r\n") == std::string_view::npos
                                                           ? rest.size()
                                                           : rest.find("\r\n\r\n") + 4);
                sip::Message partial;
                (void)sip::parse_message(head, sip::Framing::datagram, owner_.cfg.limits, partial);
                owner_.receiver.on_bad_message(std::move(partial), f.err, flow_);
                // Stop reading, but let the answers go out first: this one, and those to earlier
                // messages still being handled (possibly on another shard). Close after a grace
                // period.
                buffer_.clear();
                draining_ = true;
                idle_.expires_after(std::chrono::seconds(2));
                idle_.async_wait([self = shared_from_this()](error_code ec) {
                    if (!ec) self->close();
                });
                return false;
            }
            if (f.kind == sip::Frame::ping) send("\r\n");
            if (f.kind == sip::Frame::message) owner_.deliver(rest.substr(0, f.length), sip::Framing::stream, flow_);
            offset += f.length;
        }
        buffer_.erase(0, offset);
        return !closed_;
    }

    void write() {
        asio::async_write(socket_, asio::buffer(queue_.front()),
                          [self = shared_from_this()](error_code ec, std::size_t) {
                              if (ec) {
                                  self->close();
                                  return;
                              }
                              self->queued_bytes_ -= self->queue_.front().size();
                              self->queue_.pop_front();
                              if (!self->queue_.empty()) self->write();
                          });
    }

    ShardTransport::Impl& owner_;
    asio::ip::tcp::socket socket_;
    asio::steady_timer idle_;
    std::uint64_t id_;
    Flow flow_;
    std::array<char, 16384> chunk_{};
    std::string buffer_;
    std::deque<std::string> queue_;
    std::size_t queued_bytes_ = 0;
    bool closed_ = false;
    bool draining_ = false;  // framing error: no more reading, close soon
};

void ShardTransport::Impl::deliver(std::string_view bytes, sip::Framing framing, const Flow& flow) {
    sip::Message m;
    auto r = sip::parse_message(bytes, framing, cfg.limits, m);
    if (r) receiver.on_message(std::move(m), flow);
    else if (r.error().status != 0) receiver.on_bad_message(std::move(m), r.error(), flow);
}

void ShardTransport::Impl::arm_udp(UdpSocket& s) {
    s.socket.async_wait(asio::ip::udp::socket::wait_read, [this, &s](error_code ec) {
        if (ec || stopped) return;
        drain_udp(s);
        arm_udp(s);
    });
}

void ShardTransport::Impl::queue_udp(int fd, const Endpoint& to, std::string_view bytes) {
    PendingSend p{fd, tx_bytes.size(), bytes.size(), {}, 0};
    p.addr_len = detail::to_sockaddr(to, p.addr);
    tx_bytes.insert(tx_bytes.end(), bytes.begin(), bytes.end());
    tx_pending.push_back(p);
    if (tx_pending.size() >= 64) flush_udp();
}

void ShardTransport::Impl::flush_udp() {
    std::size_t n = tx_pending.size();
    if (n == 0) return;
    tx_hdrs.assign(n, mmsghdr{});
    tx_iovs.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        PendingSend& p = tx_pending[i];
        tx_iovs[i] = {tx_bytes.data() + p.offset, p.length};
        tx_hdrs[i].msg_hdr.msg_name = &p.addr;
        tx_hdrs[i].msg_hdr.msg_namelen = p.addr_len;
        tx_hdrs[i].msg_hdr.msg_iov = &tx_iovs[i];
        tx_hdrs[i].msg_hdr.msg_iovlen = 1;
    }
    // One sendmmsg per run of the same socket; a full socket buffer drops the rest (UDP: the
    // transaction layer retransmits).
    std::size_t i = 0;
    while (i < n) {
        std::size_t j = i;
        while (j < n && tx_pending[j].fd == tx_pending[i].fd) ++j;
        std::size_t at = i;
        while (at < j) {
            int sent = ::sendmmsg(tx_pending[i].fd, &tx_hdrs[at], static_cast<unsigned>(j - at), MSG_DONTWAIT);
            if (sent <= 0) {
                SB_DEBUG("transport", "sendmmsg: {} datagrams dropped: {}", j - at, std::strerror(errno));
                break;
            }
            at += static_cast<std::size_t>(sent);
        }
        i = j;
    }
    tx_pending.clear();
    tx_bytes.clear();
}

void ShardTransport::Impl::note_queue_delay(const msghdr& h) {
    for (const cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(c))) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
        timespec arrived{}, now{};
        std::memcpy(&arrived, CMSG_DATA(c), sizeof arrived);
        clock_gettime(CLOCK_REALTIME, &now);
        auto waited = Duration((now.tv_sec - arrived.tv_sec) * 1000 + (now.tv_nsec - arrived.tv_nsec) / 1'000'000);
        if (waited > max_queue_delay) max_queue_delay = waited;
        return;
    }
}

void ShardTransport::Impl::drain_udp(UdpSocket& s) {
    batching = true;
    struct EndBatch {
        Impl& impl;
        ~EndBatch() {
            impl.flush_udp();
            impl.batching = false;
        }
    } end_batch{*this};
    int fd = s.socket.native_handle();
    Flow flow;
    flow.transport = TransportKind::udp;
    flow.local = s.local;
    // Bounded: at most a few batches per wake-up, so one busy socket cannot starve the others.
    for (int round = 0; round < 8; ++round) {
        for (std::size_t i = 0; i < kBatch; ++i) {
            iovs[i] = {rx.data() + i * kDatagramMax, kDatagramMax};
            hdrs[i].msg_hdr = {};
            hdrs[i].msg_hdr.msg_name = &addrs[i];
            hdrs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
            hdrs[i].msg_hdr.msg_iov = &iovs[i];
            hdrs[i].msg_hdr.msg_iovlen = 1;
            hdrs[i].msg_hdr.msg_control = control[i].data();
            hdrs[i].msg_hdr.msg_controllen = kControl;
        }
        int n = ::recvmmsg(fd, hdrs.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) return;
        note_queue_delay(hdrs[0].msg_hdr);  // the batch's oldest datagram
        for (int i = 0; i < n; ++i) {
            if (hdrs[i].msg_hdr.msg_flags & MSG_TRUNC) continue;  // larger than any SIP message we take
            flow.remote = detail::from_sockaddr(addrs[i]);
            deliver(std::string_view(rx.data() + i * kDatagramMax, hdrs[i].msg_len), sip::Framing::datagram, flow);
        }
        flush_udp();
        if (static_cast<std::size_t>(n) < kBatch) return;
    }
}

void ShardTransport::Impl::accept(asio::ip::tcp::acceptor& a, Endpoint local) {
    a.async_accept([this, &a, local](error_code ec, asio::ip::tcp::socket s) {
        if (stopped) return;
        if (!ec) {
            error_code ep_ec;
            auto remote_ep = s.remote_endpoint(ep_ec);
            if (!ep_ec) {
                Endpoint remote = from_asio(remote_ep);
                Endpoint ip_only = remote;
                ip_only.port = 0;
                std::size_t& count = per_ip[ip_only.hash()];
                if (connections.size() >= cfg.max_connections || count >= cfg.max_connections_per_ip) {
                    SB_WARN("transport", "refusing TCP connection from {}: connection limit", remote.to_string());
                    if (count == 0) per_ip.erase(ip_only.hash());
                    s.close(ep_ec);
                } else {
                    ++count;
                    std::uint64_t id = (static_cast<std::uint64_t>(shard) << kShardShift) | next_connection++;
                    auto c = std::make_shared<TcpConnection>(*this, std::move(s), id, local, remote);
                    connections.emplace(id, c);
                    c->start();
                }
            }
        } else if (ec == asio::error::operation_aborted) {
            return;
        }
        accept(a, local);
    });
}

void ShardTransport::Impl::forget(std::uint64_t id, const Endpoint& remote) {
    if (connections.erase(id) == 0) return;
    Endpoint ip_only = remote;
    ip_only.port = 0;
    auto it = per_ip.find(ip_only.hash());
    if (it != per_ip.end() && --it->second == 0) per_ip.erase(it);
}

ShardTransport::ShardTransport(asio::io_context& io, std::size_t shard_index, TransportConfig config,
                               Receiver& receiver)
    : impl_(std::make_unique<Impl>(io, shard_index, config, receiver)), shard_(shard_index) {}

ShardTransport::~ShardTransport() { stop(); }

Status ShardTransport::listen(const std::vector<ListenSpec>& specs) {
    for (const ListenSpec& spec : specs) {
        asio::ip::address addr = to_asio(spec.endpoint);
        error_code ec;
        if (spec.udp) {
            auto s = std::make_unique<UdpSocket>(impl_->io);
            asio::ip::udp::endpoint ep(addr, spec.endpoint.port);
            s->socket.open(ep.protocol(), ec);
            if (!ec && addr.is_v6()) s->socket.set_option(asio::ip::v6_only(true), ec);
            if (!ec) s->socket.set_option(asio::socket_base::reuse_address(true), ec);
            if (!ec) s->socket.set_option(reuse_port(true), ec);
            if (!ec) {
                error_code ignore;  // buffer sizes are best effort (capped by net.core.rmem_max)
                s->socket.set_option(asio::socket_base::receive_buffer_size(impl_->cfg.socket_buffer_bytes), ignore);
                s->socket.set_option(asio::socket_base::send_buffer_size(impl_->cfg.socket_buffer_bytes), ignore);
                s->socket.bind(ep, ec);
            }
            if (ec) return fail("cannot listen on UDP " + spec.endpoint.to_string() + ": " + ec.message());
            s->socket.non_blocking(true, ec);
            int on = 1;  // receive timestamps: the queueing delay (best effort)
            (void)::setsockopt(s->socket.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
            s->local = spec.endpoint;
            s->local.port = s->socket.local_endpoint(ec).port();
            impl_->arm_udp(*s);
            impl_->udp.push_back(std::move(s));
        }
        if (spec.tcp) {
            auto a = std::make_unique<asio::ip::tcp::acceptor>(impl_->io);
            asio::ip::tcp::endpoint ep(addr, spec.endpoint.port);
            a->open(ep.protocol(), ec);
            if (!ec && addr.is_v6()) a->set_option(asio::ip::v6_only(true), ec);
            if (!ec) a->set_option(asio::socket_base::reuse_address(true), ec);
            if (!ec) a->set_option(reuse_port(true), ec);
            if (!ec) a->bind(ep, ec);
            if (!ec) a->listen(1024, ec);
            if (ec) return fail("cannot listen on TCP " + spec.endpoint.to_string() + ": " + ec.message());
            Endpoint local = spec.endpoint;
            local.port = a->local_endpoint(ec).port();
            impl_->accept(*a, local);
            impl_->acceptors.push_back(std::move(a));
        }
    }
    return {};
}

Status ShardTransport::send(const Flow& flow, std::string_view bytes) {
    if (flow.transport == TransportKind::udp) {
        for (auto& s : impl_->udp) {
            if (!(s->local == flow.local)) continue;
            if (impl_->batching) {
                impl_->queue_udp(s->socket.native_handle(), flow.remote, bytes);
                return {};
            }
            sockaddr_storage ss;
            socklen_t len = detail::to_sockaddr(flow.remote, ss);
            ssize_t n = ::sendto(s->socket.native_handle(), bytes.data(), bytes.size(), MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&ss), len);
            if (n < 0) return fail(std::string("UDP send to ") + flow.remote.to_string() + " failed: " + std::strerror(errno));
            return {};
        }
        return fail("no UDP socket for " + flow.local.to_string());
    }
    auto it = impl_->connections.find(flow.connection_id);
    if (it == impl_->connections.end()) return fail("connection to " + flow.remote.to_string() + " is gone");
    it->second->send(bytes);
    return {};
}

void ShardTransport::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    error_code ec;
    for (auto& s : impl_->udp) s->socket.close(ec);
    for (auto& a : impl_->acceptors) a->close(ec);
    auto conns = impl_->connections;  // close() erases from the map
    for (auto& [id, c] : conns) c->close();
}

std::size_t ShardTransport::connection_count() const { return impl_->connections.size(); }

Duration ShardTransport::take_max_queue_delay() {
    Duration d = impl_->max_queue_delay;
    impl_->max_queue_delay = Duration{0};
    return d;
}

std::vector<Endpoint> ShardTransport::udp_endpoints() const {
    std::vector<Endpoint> out;
    for (auto& s : impl_->udp) out.push_back(s->local);
    return out;
}

std::vector<Endpoint> ShardTransport::tcp_endpoints() const {
    std::vector<Endpoint> out;
    error_code ec;
    for (auto& a : impl_->acceptors) {
        auto ep = a->local_endpoint(ec);
        if (!ec) out.push_back(from_asio(ep));
    }
    return out;
}

}  // namespace sb::transport
