// The transports on real loopback sockets (ports chosen by the kernel).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "sb/transport/transport.h"

namespace sb::transport {
namespace {

struct Recorder : Receiver {
    std::vector<std::string> call_ids;
    std::vector<Flow> flows;
    std::vector<int> bad_status;
    ShardTransport* transport = nullptr;
    bool echo = false;
    void on_message(sip::Message&& m, const Flow& flow) override {
        call_ids.emplace_back(m.call_id());
        flows.push_back(flow);
        if (echo) (void)transport->send(flow, "pong:" + std::string(m.call_id()));
    }
    void on_bad_message(sip::Message&& m, const sip::SipError& e, const Flow& flow) override {
        bad_status.push_back(e.status);
        if (echo) (void)transport->send(flow, "bad");
    }
};

std::string options(const std::string& call_id, const std::string& transport = "UDP") {
    return "OPTIONS sip:pbx@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/" + transport +
           " 127.0.0.1:5999;branch=z9hG4bK" + call_id + "\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
           "Call-ID: " + call_id + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
}

void run_for(boost::asio::io_context& io, int ms) {
    io.restart();
    io.run_for(std::chrono::milliseconds(ms));
}

TEST(Transport, UdpReceivesInBatchesAndReplies) {
    boost::asio::io_context io;
    Recorder rec;
    ShardTransport t(io, 0, TransportConfig{}, rec);
    rec.transport = &t;
    rec.echo = true;
    ASSERT_TRUE(t.listen({{*Endpoint::from_string("127.0.0.1:0"), true, false}}));
    Endpoint local = t.udp_endpoints().at(0);
    ASSERT_NE(local.port, 0);

    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(local.port);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    for (int i = 0; i < 50; ++i) {
        std::string m = options("c" + std::to_string(i));
        ::sendto(fd, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
    std::string garbage = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKq\r\n\r\n";
    ::sendto(fd, garbage.data(), garbage.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    run_for(io, 300);
    ASSERT_EQ(rec.call_ids.size(), 50u);
    EXPECT_EQ(rec.call_ids[49], "c49");
    EXPECT_EQ(rec.flows[0].transport, TransportKind::udp);
    EXPECT_EQ(rec.flows[0].remote.ip(), "127.0.0.1");
    EXPECT_EQ(rec.bad_status, std::vector<int>{400});
    char buf[512];
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    EXPECT_EQ(std::string(buf, n), "pong:c0");
    ::close(fd);
}

TEST(Transport, TcpFramesPingsAndClosesOnFramingError) {
    boost::asio::io_context io;
    Recorder rec;
    ShardTransport t(io, 3, TransportConfig{}, rec);
    rec.transport = &t;
    rec.echo = true;
    ASSERT_TRUE(t.listen({{*Endpoint::from_string("127.0.0.1:0"), false, true}}));
    Endpoint local = t.tcp_endpoints().at(0);

    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(local.port);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    // Two messages and a half in one write, then the rest, then a keep-alive ping.
    std::string two = options("t1", "TCP") + options("t2", "TCP");
    std::string third = options("t3", "TCP");
    std::string first_part = two + third.substr(0, 40);
    ::send(fd, first_part.data(), first_part.size(), 0);
    run_for(io, 100);
    std::string rest = third.substr(40) + "\r\n\r\n";
    ::send(fd, rest.data(), rest.size(), 0);
    run_for(io, 100);
    ASSERT_EQ(rec.call_ids.size(), 3u);
    EXPECT_EQ(rec.call_ids[2], "t3");
    EXPECT_EQ(rec.flows[0].transport, TransportKind::tcp);
    EXPECT_EQ(shard_of_connection(rec.flows[0].connection_id), 3u);
    EXPECT_EQ(t.connection_count(), 1u);

    // No Content-Length on a stream: an error answer, then the connection is closed.
    std::string bad = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKq\r\n"
                      "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: q\r\nCSeq: 1 OPTIONS\r\n\r\n";
    ::send(fd, bad.data(), bad.size(), 0);
    run_for(io, 200);
    EXPECT_EQ(rec.bad_status, std::vector<int>{400});
    EXPECT_EQ(t.connection_count(), 1u);  // draining: answers to earlier messages may still come
    run_for(io, 2300);
    EXPECT_EQ(t.connection_count(), 0u);
    std::string got;
    char buf[256];
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, n);
    EXPECT_EQ(got, "pong:t1pong:t2pong:t3\r\nbad");  // the ping's CRLF pong sits in order
    ::close(fd);
}

TEST(Transport, IdleConnectionsAreClosed) {
    boost::asio::io_context io;
    Recorder rec;
    TransportConfig cfg;
    cfg.tcp_idle_timeout = std::chrono::milliseconds(100);
    ShardTransport t(io, 0, cfg, rec);
    ASSERT_TRUE(t.listen({{*Endpoint::from_string("127.0.0.1:0"), false, true}}));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(t.tcp_endpoints().at(0).port);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    run_for(io, 50);
    EXPECT_EQ(t.connection_count(), 1u);
    run_for(io, 300);
    EXPECT_EQ(t.connection_count(), 0u);
    ::close(fd);
}

TEST(Transport, PerIpConnectionLimit) {
    boost::asio::io_context io;
    Recorder rec;
    TransportConfig cfg;
    cfg.max_connections_per_ip = 2;
    ShardTransport t(io, 0, cfg, rec);
    ASSERT_TRUE(t.listen({{*Endpoint::from_string("127.0.0.1:0"), false, true}}));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(t.tcp_endpoints().at(0).port);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    std::vector<int> fds;
    for (int i = 0; i < 4; ++i) {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
        fds.push_back(fd);
    }
    run_for(io, 200);
    EXPECT_EQ(t.connection_count(), 2u);
    for (int fd : fds) ::close(fd);
}

TEST(Transport, Ipv6Loopback) {
    boost::asio::io_context io;
    Recorder rec;
    ShardTransport t(io, 0, TransportConfig{}, rec);
    auto st = t.listen({{*Endpoint::from_string("[::1]:0"), true, false}});
    if (!st) GTEST_SKIP() << "no IPv6 loopback here: " << st.error().message;
    int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    to.sin6_port = htons(t.udp_endpoints().at(0).port);
    inet_pton(AF_INET6, "::1", &to.sin6_addr);
    std::string m = options("v6");
    ::sendto(fd, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    run_for(io, 200);
    ASSERT_EQ(rec.call_ids.size(), 1u);
    EXPECT_TRUE(rec.flows[0].remote.v6);
    EXPECT_EQ(rec.flows[0].remote.ip(), "::1");
    ::close(fd);
}

}  // namespace
}  // namespace sb::transport
