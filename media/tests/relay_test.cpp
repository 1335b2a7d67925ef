// The relay on real loopback sockets: two "phones" (plain UDP sockets) exchange RTP through it.
#include "sb/media/rtp/relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sb/media/codec/codec.h"
#include "sb/media/codec/g711.h"
#include "sb/media/dsp/dtmf.h"
#include "sb/media/dsp/prompt.h"
#include "sb/media/dsp/telephone_event.h"
#include "sb/media/dsp/tone_source.h"
#include "sb/media/rtp/rtcp.h"
#include "sb/media/rtp/rtp_header.h"
#include "sb/media/rtp/sock_addr.h"

namespace sb::media::rtp {
namespace {

class Phone {
  public:
    explicit Phone(const char* ip = "127.0.0.1", std::uint16_t port = 0) {
        fd_ = socket(AF_INET, SOCK_DGRAM, 0);
        SockAddr a = SockAddr::from(*Endpoint::from_ip(ip, port));
        EXPECT_EQ(bind(fd_, a.raw(), a.size()), 0);
        socklen_t len = sizeof(sockaddr_in);
        getsockname(fd_, a.raw(), &len);
        address_ = a.endpoint();
    }
    ~Phone() { close(fd_); }
    const Endpoint& address() const { return address_; }

    void send(std::uint16_t to_port, std::uint32_t ssrc, std::uint16_t seq, std::uint32_t ts,
              std::uint8_t fill = 0x55) {
        std::vector<std::uint8_t> p(172, fill);
        p[0] = 0x80;
        p[1] = 0;  // PCMU
        store16(&p[2], seq);
        store32(&p[4], ts);
        store32(&p[8], ssrc);
        SockAddr to = SockAddr::from(*Endpoint::from_ip("127.0.0.1", to_port));
        ASSERT_EQ(sendto(fd_, p.data(), p.size(), 0, to.raw(), to.size()), 172);
    }
    void send_bytes(std::uint16_t to_port, std::span<const std::uint8_t> bytes) {
        SockAddr to = SockAddr::from(*Endpoint::from_ip("127.0.0.1", to_port));
        ASSERT_EQ(sendto(fd_, bytes.data(), bytes.size(), 0, to.raw(), to.size()),
                  static_cast<ssize_t>(bytes.size()));
    }
    // The next datagram within `ms`, with where it came from; empty if none.
    std::vector<std::uint8_t> receive(int ms, Endpoint* from = nullptr) {
        pollfd pfd{fd_, POLLIN, 0};
        if (poll(&pfd, 1, ms) != 1) return {};
        std::vector<std::uint8_t> b(2048);
        SockAddr src;
        socklen_t len = sizeof(src.u);
        const auto n = recvfrom(fd_, b.data(), b.size(), 0, src.raw(), &len);
        b.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        if (from) *from = src.endpoint();
        return b;
    }

  private:
    int fd_ = -1;
    Endpoint address_;
};

RelayConfig test_config() {
    RelayConfig c;
    c.address = "127.0.0.1";
    std::mt19937 r{std::random_device{}()};
    c.port_min = static_cast<std::uint16_t>(30000 + 2 * (r() % 10000));
    c.port_max = static_cast<std::uint16_t>(c.port_min + 199);
    c.buffers_per_worker = 256;
    return c;
}

RemoteSpec remote(const Endpoint& e) {
    RemoteSpec s;
    s.rtp = e;
    s.signalling = Endpoint::from_ip(e.ip(), 5060);
    return s;
}

struct Call {
    std::unique_ptr<Relay> relay;
    std::unique_ptr<MediaPort> a, b;
    Call() {
        auto r = Relay::start(test_config());
        if (!r) ADD_FAILURE() << r.error().message;
        relay = std::move(*r);
        a = relay->open(1).value();
        b = relay->open(1).value();
    }
};

TEST(Relay, RelaysBothWaysFromTheOtherLegsPort) {
    Call c;
    Phone alice, bob;
    c.a->set_remote(remote(alice.address()));
    c.b->set_remote(remote(bob.address()));
    c.a->forward_to(c.b.get());
    c.b->forward_to(c.a.get());
    std::uint32_t ssrc_seen = 0;
    std::uint16_t seq_seen = 0;
    for (int i = 0; i < 5; ++i) {
        alice.send(c.a->rtp_port(), 0x1234, static_cast<std::uint16_t>(i), 160u * i, 0x11);
        Endpoint from;
        auto p = bob.receive(2000, &from);
        ASSERT_EQ(p.size(), 172u) << "packet " << i;
        EXPECT_EQ(from.port, c.b->rtp_port());  // symmetric: sent from the port Bob sends to
        RtpHeader h(p.data(), p.size());
        EXPECT_EQ(h.ssrc(), 0x1234u);  // the first source passes as it is
        if (i > 0) {
            EXPECT_EQ(h.ssrc(), ssrc_seen);
            EXPECT_EQ(h.sequence(), static_cast<std::uint16_t>(seq_seen + 1));
        }
        ssrc_seen = h.ssrc();
        seq_seen = h.sequence();
        EXPECT_EQ(p[12], 0x11);  // the payload is untouched
        EXPECT_EQ(p[171], 0x11);
    }
    // A new source on Alice's side (her phone restarted its stream): Bob's stream goes on.
    alice.send(c.a->rtp_port(), 0x5678, 9000, 777777, 0x33);
    auto next = bob.receive(2000);
    ASSERT_EQ(next.size(), 172u);
    RtpHeader nh(next.data(), next.size());
    EXPECT_EQ(nh.ssrc(), 0x1234u);
    EXPECT_EQ(nh.sequence(), static_cast<std::uint16_t>(seq_seen + 1));
    EXPECT_TRUE(nh.marker());
    EXPECT_EQ(next[12], 0x33);
    bob.send(c.b->rtp_port(), 0x9999, 7, 0, 0x22);
    Endpoint from;
    auto back = alice.receive(2000, &from);
    ASSERT_EQ(back.size(), 172u);
    EXPECT_EQ(from.port, c.a->rtp_port());
    EXPECT_EQ(back[12], 0x22);
    // Counters reach the shard's snapshot within a publication period.
    PortStats s;
    for (int i = 0; i < 50 && s.packets_sent < 6; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        s = c.b->stats();
    }
    EXPECT_EQ(s.packets_sent, 6u);
    EXPECT_EQ(s.packets_received, 1u);
    ASSERT_TRUE(s.latched.has_value());
    EXPECT_EQ(*s.latched, bob.address());
    EXPECT_EQ(c.relay->totals().packets_relayed, 7u);
}

// The range is counted: what is left (for the B2BUA's admission of new calls), exhaustion as an
// error that says so, and pairs coming back when their ports close.
TEST(Relay, CountsThePortPairsLeftAndRefusesWhenTheRangeIsUsedUp) {
    RelayConfig cfg = test_config();
    cfg.port_max = static_cast<std::uint16_t>(cfg.port_min + 7);  // four pairs
    auto relay = Relay::start(cfg).value();
    EXPECT_EQ(relay->available(), 4u);
    std::vector<std::unique_ptr<MediaPort>> ports;
    for (int i = 0; i < 4; ++i) {
        auto p = relay->open(1);
        if (!p) break;  // a pair taken by another program on this machine: fewer to open
        ports.push_back(std::move(*p));
    }
    EXPECT_EQ(relay->available(), 4u - ports.size());
    if (ports.size() == 4) {
        auto none = relay->open(1);
        ASSERT_FALSE(none);
        EXPECT_NE(none.error().message.find("no free RTP port"), std::string::npos);
    }
    const std::size_t opened = ports.size();
    ports.pop_back();
    EXPECT_EQ(relay->available(), 4u - opened + 1);
    ports.clear();
    EXPECT_EQ(relay->available(), 4u);
}

TEST(Relay, PhoneBehindNatGetsMediaWhereItReallySendsFrom) {
    Call c;
    Phone alice_rtp, bob;
    Endpoint sdp_says = alice_rtp.address();
    sdp_says.port = static_cast<std::uint16_t>(sdp_says.port ^ 1);  // not where it sends from
    c.a->set_remote(remote(sdp_says));
    c.b->set_remote(remote(bob.address()));
    c.a->forward_to(c.b.get());
    c.b->forward_to(c.a.get());
    alice_rtp.send(c.a->rtp_port(), 1, 1, 0);
    ASSERT_EQ(bob.receive(2000).size(), 172u);
    bob.send(c.b->rtp_port(), 2, 1, 0);
    EXPECT_EQ(alice_rtp.receive(2000).size(), 172u);  // latched to the real source
}

TEST(Relay, AStrangerCannotInjectOrHijack) {
    Call c;
    Phone alice, bob, stranger("127.0.0.2");
    c.a->set_remote(remote(alice.address()));
    c.b->set_remote(remote(bob.address()));
    c.a->forward_to(c.b.get());
    c.b->forward_to(c.a.get());
    stranger.send(c.a->rtp_port(), 66, 1, 0);
    EXPECT_TRUE(bob.receive(300).empty());
    alice.send(c.a->rtp_port(), 1, 1, 0);
    EXPECT_EQ(bob.receive(2000).size(), 172u);
    bob.send(c.b->rtp_port(), 2, 1, 0);
    EXPECT_EQ(alice.receive(2000).size(), 172u);
    EXPECT_TRUE(stranger.receive(200).empty());
}

TEST(Relay, HoldStopsOneDirectionAndResumeRestoresIt) {
    Call c;
    Phone alice, bob;
    c.a->set_remote(remote(alice.address()));
    RemoteSpec held = remote(bob.address());
    held.send = false;  // Alice put Bob on hold (sendonly): Bob receives nothing
    c.b->set_remote(held);
    c.a->forward_to(c.b.get());
    c.b->forward_to(c.a.get());
    alice.send(c.a->rtp_port(), 1, 1, 0);
    EXPECT_TRUE(bob.receive(300).empty());
    c.b->set_remote(remote(bob.address()));
    alice.send(c.a->rtp_port(), 1, 2, 160);
    auto p = bob.receive(2000);
    ASSERT_EQ(p.size(), 172u);
}

TEST(Relay, ReportsPerLegAndReadsTheFarEndsReports) {
    RelayConfig cfg = test_config();
    cfg.rtcp_interval_ms = 200;
    auto relay = Relay::start(cfg).value();
    auto a = relay->open(1).value();
    auto b = relay->open(1).value();
    Phone alice, bob;
    Phone alice_rtcp("127.0.0.1", static_cast<std::uint16_t>(alice.address().port + 1));
    Phone bob_rtcp("127.0.0.1", static_cast<std::uint16_t>(bob.address().port + 1));
    RemoteSpec ra = remote(alice.address()), rb = remote(bob.address());
    ra.rtcp = alice_rtcp.address();
    rb.rtcp = bob_rtcp.address();
    a->set_remote(ra);
    b->set_remote(rb);
    a->forward_to(b.get());
    b->forward_to(a.get());
    // Alice sends 10 packets of which two never arrive (sequence numbers 4 and 7).
    int sent = 0;
    for (std::uint16_t seq = 1; seq <= 12; ++seq) {
        if (seq == 4 || seq == 7) continue;
        alice.send(a->rtp_port(), 0x1234, seq, 160u * seq);
        ++sent;
        ASSERT_EQ(bob.receive(2000).size(), 172u);
    }
    // Bob gets a sender report about the stream relayed to him...
    std::optional<Report> sr;
    for (int i = 0; i < 20 && !(sr && sr->sender); ++i) {
        auto bytes = bob_rtcp.receive(500);
        if (bytes.empty()) continue;
        auto r = parse_compound(bytes);
        ASSERT_TRUE(r) << r.error().message;
        sr = *r;
    }
    ASSERT_TRUE(sr && sr->sender);
    EXPECT_EQ(sr->ssrc, 0x1234u);
    EXPECT_EQ(sr->sender->packet_count, static_cast<std::uint32_t>(sent));
    EXPECT_TRUE(sr->cname.has_value());
    // ...and Alice a receiver report about hers, with the two lost packets.
    std::optional<Report> rr;
    for (int i = 0; i < 20 && !(rr && rr->block_count == 1); ++i) {
        auto bytes = alice_rtcp.receive(500);
        if (!bytes.empty()) rr = parse_compound(bytes).value();
    }
    ASSERT_TRUE(rr && rr->block_count == 1);
    EXPECT_EQ(rr->blocks[0].ssrc, 0x1234u);
    EXPECT_EQ(rr->blocks[0].cumulative_lost, 2);
    EXPECT_EQ(rr->blocks[0].extended_highest_seq, 12u);
    // Bob answers with a receiver report on our sender report: the round trip is measured.
    Report bob_rr;
    bob_rr.ssrc = 0x9999;
    ReportBlock block;
    block.ssrc = 0x1234;
    block.fraction_lost = 64;  // a quarter
    block.lsr = middle_32(sr->sender->ntp_timestamp);
    block.dlsr = 0;
    bob_rr.add_block(block);
    std::array<std::uint8_t, kMaxCompoundSize> out{};
    const std::size_t n = write_compound(out, bob_rr, "bob");
    ASSERT_GT(n, 0u);
    bob_rtcp.send_bytes(static_cast<std::uint16_t>(b->rtp_port() + 1), {out.data(), n});
    PortStats s;
    for (int i = 0; i < 50 && !s.rtt_ms; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        s = b->stats();
    }
    ASSERT_TRUE(s.rtt_ms.has_value());
    EXPECT_GE(*s.rtt_ms, 0.0);
    EXPECT_LT(*s.rtt_ms, 5000.0);  // since our report went out, not garbage
    ASSERT_TRUE(s.remote_loss_fraction.has_value());
    EXPECT_DOUBLE_EQ(*s.remote_loss_fraction, 0.25);
    EXPECT_EQ(a->stats().packets_lost, 2u);
}

// The power of `freq` in `pcm` (Goertzel), relative to the signal's total power.
double tone_share(std::span<const std::int16_t> pcm, double freq, int rate) {
    const double w = 2 * M_PI * freq / rate;
    double s1 = 0, s2 = 0, total = 0;
    for (std::int16_t x : pcm) {
        const double s0 = x + 2 * std::cos(w) * s1 - s2;
        s2 = s1;
        s1 = s0;
        total += static_cast<double>(x) * x;
    }
    const double power = s1 * s1 + s2 * s2 - 2 * std::cos(w) * s1 * s2;
    return total > 0 ? 2 * power / (total * static_cast<double>(pcm.size())) : 0;
}

PayloadFormat pcmu() {
    return {0, "PCMU", 8000, 1, ""};
}
PayloadFormat opus() {
    return {111, "opus", 48000, 2, "useinbandfec=1"};
}

TEST(Relay, TranscodesBetweenLegsThatShareNoCodec) {
    Call c;
    Phone alice, bob;
    c.a->set_remote(remote(alice.address()));
    RemoteSpec rb = remote(bob.address());
    rb.clock_rate = 48000;
    c.b->set_remote(rb);
    c.a->set_codecs({{pcmu()}, pcmu(), std::nullopt});  // Alice speaks PCMU
    c.b->set_codecs({{opus()}, opus(), std::nullopt});  // Bob speaks Opus
    c.a->forward_to(c.b.get());
    c.b->forward_to(c.a.get());

    // Alice sends 1 s of a 440 Hz tone in PCMU; Bob decodes what arrives as Opus.
    auto bob_decoder = codec::make_decoder(codec::CodecId::opus, 48000).value();
    std::vector<std::int16_t> heard;
    std::uint32_t last_ts = 0;
    int packets = 0;
    for (int i = 0; i < 50; ++i) {
        std::vector<std::uint8_t> p(172);
        p[0] = 0x80;
        store16(&p[2], static_cast<std::uint16_t>(i));
        store32(&p[4], 160u * i);
        store32(&p[8], 0xa11ce);
        for (int k = 0; k < 160; ++k)
            p[12 + k] = codec::linear_to_ulaw(static_cast<std::int16_t>(
                8000 * std::sin(2 * M_PI * 440 * (160 * i + k) / 8000.0)));
        alice.send_bytes(c.a->rtp_port(), p);
        auto got = bob.receive(2000);
        ASSERT_FALSE(got.empty()) << "packet " << i;
        RtpHeader h(got.data(), got.size());
        EXPECT_EQ(h.payload_type(), 111);
        if (packets > 0) {
            EXPECT_EQ(h.timestamp() - last_ts, 960u);  // 20 ms at 48 kHz
        }
        last_ts = h.timestamp();
        ++packets;
        std::vector<std::int16_t> pcm(5760);
        const int n = bob_decoder->decode(h.payload(), pcm);
        ASSERT_GT(n, 0);
        heard.insert(heard.end(), pcm.begin(), pcm.begin() + n);
    }
    // Past Opus's start-up: the tone dominates what Bob hears.
    std::span<const std::int16_t> steady(heard.data() + 9600, heard.size() - 9600);
    EXPECT_GT(tone_share(steady, 440, 48000), 0.8);

    // Bob answers in Opus with 1 kHz; Alice receives PCMU.
    auto bob_encoder = codec::make_encoder(codec::CodecId::opus).value();
    std::vector<std::int16_t> alice_heard;
    for (int i = 0; i < 50; ++i) {
        std::vector<std::int16_t> pcm(960);
        for (int k = 0; k < 960; ++k)
            pcm[k] = static_cast<std::int16_t>(8000 *
                                               std::sin(2 * M_PI * 1000 * (960 * i + k) / 48000.0));
        std::vector<std::uint8_t> p(12 + 4000);
        const int n = bob_encoder->encode(pcm, {p.data() + 12, 4000});
        ASSERT_GT(n, 0);
        p.resize(12 + static_cast<std::size_t>(n));
        p[0] = 0x80;
        p[1] = 111;
        store16(&p[2], static_cast<std::uint16_t>(100 + i));
        store32(&p[4], 960u * i);
        store32(&p[8], 0xb0b);
        bob.send_bytes(c.b->rtp_port(), p);
        auto got = alice.receive(2000);
        ASSERT_EQ(got.size(), 172u) << "packet " << i;
        EXPECT_EQ(got[1] & 0x7f, 0);
        for (int k = 12; k < 172; ++k) alice_heard.push_back(codec::ulaw_to_linear(got[k]));
    }
    std::span<const std::int16_t> steady_a(alice_heard.data() + 1600, alice_heard.size() - 1600);
    EXPECT_GT(tone_share(steady_a, 1000, 8000), 0.8);
    PortStats s;
    for (int i = 0; i < 50 && s.packets_transcoded < 50; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        s = c.b->stats();
    }
    EXPECT_EQ(s.packets_transcoded, 50u);
}

TEST(Relay, SameCodecUnderDifferentPayloadTypesIsRelayedRenumbered) {
    Call c;
    Phone alice, bob;
    c.a->set_remote(remote(alice.address()));
    c.b->set_remote(remote(bob.address()));
    PayloadFormat opus_a = opus(), opus_b = opus();
    opus_b.payload_type = 96;
    c.a->set_codecs({{opus_a}, opus_a, std::nullopt});
    c.b->set_codecs({{opus_b}, opus_b, std::nullopt});
    c.a->forward_to(c.b.get());
    c.b->forward_to(c.a.get());
    std::vector<std::uint8_t> p(60, 0x42);
    p[0] = 0x80;
    p[1] = 111;
    alice.send_bytes(c.a->rtp_port(), p);
    auto got = bob.receive(2000);
    ASSERT_EQ(got.size(), 60u);
    EXPECT_EQ(got[1] & 0x7f, 96);
    EXPECT_EQ(got[30], 0x42);  // untouched payload
    // A payload type Alice never negotiated is not passed on.
    p[1] = 8;
    alice.send_bytes(c.a->rtp_port(), p);
    EXPECT_TRUE(bob.receive(300).empty());
}

TEST(Relay, PlaysATone) {
    Call c;
    Phone alice, bob;
    c.a->set_remote(remote(alice.address()));
    c.b->set_remote(remote(bob.address()));
    c.a->set_codecs({{pcmu()}, pcmu(), std::nullopt});
    c.b->set_codecs({{pcmu()}, pcmu(), std::nullopt});
    c.a->forward_to(c.b.get());
    c.b->forward_to(c.a.get());
    // Ringback (US: 440 + 480 Hz, 2 s on) to Alice while Bob's phone rings.
    c.a->play(std::make_unique<dsp::ToneSource>(dsp::find_tone("US", dsp::Tone::ringback).value()));
    std::vector<std::int16_t> heard;
    std::uint16_t last_seq = 0;
    std::uint32_t last_ts = 0;
    for (int i = 0; i < 25; ++i) {
        auto got = alice.receive(2000);
        ASSERT_EQ(got.size(), 172u) << "frame " << i;
        RtpHeader h(got.data(), got.size());
        EXPECT_EQ(h.payload_type(), 0);
        if (i > 0) {
            EXPECT_EQ(h.sequence(), static_cast<std::uint16_t>(last_seq + 1));
            EXPECT_EQ(h.timestamp() - last_ts, 160u);
        }
        last_seq = h.sequence();
        last_ts = h.timestamp();
        for (int k = 12; k < 172; ++k) heard.push_back(codec::ulaw_to_linear(got[k]));
        // Bob's early packets do not reach Alice while the tone plays.
        if (i == 10) bob.send(c.b->rtp_port(), 0xb0b, 1, 0, 0x22);
    }
    EXPECT_GT(tone_share(heard, 440, 8000) + tone_share(heard, 480, 8000), 0.9);
    // The tone stops; Bob's media follows on in the same stream.
    c.a->play(nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    while (!alice.receive(50).empty()) {
    }
    bob.send(c.b->rtp_port(), 0xb0b, 2, 160, 0x22);
    auto got = alice.receive(2000);
    ASSERT_EQ(got.size(), 172u);
    EXPECT_EQ(got[12], 0x22);
    RtpHeader h(got.data(), got.size());
    EXPECT_TRUE(h.marker());
    EXPECT_GT(static_cast<std::uint16_t>(h.sequence() - last_seq), 0);
    EXPECT_LT(static_cast<std::uint16_t>(h.sequence() - last_seq), 10);
}

TEST(Relay, APromptThatPlayedToItsEndSaysSoAndAStoppedOneDoesNot) {
    Call c;
    Phone alice;
    c.a->set_remote(remote(alice.address()));
    c.a->set_codecs({{pcmu()}, pcmu(), std::nullopt});
    auto prompt = std::make_shared<dsp::Prompt>();
    prompt->rate = 8000;
    prompt->samples.assign(8000 * 3 / 10, 1000);  // 300 ms
    std::atomic<int> ended{0}, stopped{0};
    c.a->play(std::make_unique<dsp::PromptSource>(prompt), [&] { ++stopped; });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    c.a->play(std::make_unique<dsp::PromptSource>(prompt), [&] { ++ended; });  // replaces it
    int frames = 0;
    while (!alice.receive(200).empty()) ++frames;
    EXPECT_GE(frames, 18);  // the rest of the first and all of the second
    for (int i = 0; i < 50 && ended == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(ended.load(), 1);
    EXPECT_EQ(stopped.load(), 0) << "a replaced prompt did not play to its end";
}

TEST(Relay, Rfc4733DigitsReachALegWithoutTelephoneEventInBand) {
    Call c;
    Phone alice, bob;
    c.a->set_remote(remote(alice.address()));
    c.b->set_remote(remote(bob.address()));
    const PayloadFormat te{101, "telephone-event", 8000, 1, "0-15"};
    c.a->set_codecs({{pcmu()}, pcmu(), te});            // Alice sends RFC 4733
    c.b->set_codecs({{pcmu()}, pcmu(), std::nullopt});  // Bob's SDP has no telephone-event
    c.a->forward_to(c.b.get());
    c.b->forward_to(c.a.get());
    auto detector = dsp::DtmfDetector::create().value();
    std::string digits;
    auto listen = [&](int frames) {
        for (int i = 0; i < frames; ++i) {
            auto got = bob.receive(150);  // nothing comes between digits: do not wait long
            if (got.size() != 172) continue;
            std::array<std::int16_t, 160> pcm{};
            for (int k = 0; k < 160; ++k) pcm[k] = codec::ulaw_to_linear(got[12 + k]);
            detector.process(pcm);
            while (auto e = detector.pop())
                if (!e->end) digits.push_back(e->digit);
        }
        // Between digits Alice is silent and nothing is relayed: the detector hears silence.
        std::array<std::int16_t, 160> silence{};
        for (int i = 0; i < 10; ++i) detector.process(silence);
        while (auto e = detector.pop())
            if (!e->end) digits.push_back(e->digit);
    };
    // Alice presses 5 then 9: each an event of 120 ms (6 packets, then the end three times).
    std::uint16_t seq = 1;
    for (char digit : {'5', '9'}) {
        const std::uint32_t start = 8000u * seq;
        for (int k = 1; k <= 9; ++k) {
            dsp::TelephoneEvent e{static_cast<std::uint8_t>(*dsp::event_for_digit(digit)), k > 6,
                                  10, static_cast<std::uint16_t>(160 * std::min(k, 6))};
            auto payload = dsp::write_telephone_event(e);
            std::vector<std::uint8_t> p(16);
            p[0] = 0x80;
            p[1] = static_cast<std::uint8_t>(101 | (k == 1 ? 0x80 : 0));
            store16(&p[2], seq++);
            store32(&p[4], start);
            store32(&p[8], 0xa11ce);
            std::copy(payload.begin(), payload.end(), p.begin() + 12);
            alice.send_bytes(c.a->rtp_port(), p);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        listen(12);
    }
    listen(10);
    EXPECT_EQ(digits, "59");
}

TEST(Relay, InBandDigitsReachALegWithTelephoneEventAsEvents) {
    Call c;
    Phone alice, bob;
    c.a->set_remote(remote(alice.address()));
    c.b->set_remote(remote(bob.address()));
    const PayloadFormat te{101, "telephone-event", 8000, 1, "0-15"};
    c.a->set_codecs({{pcmu()}, pcmu(), std::nullopt});  // Alice's SDP has no telephone-event
    c.b->set_codecs({{pcmu()}, pcmu(), te});            // Bob takes RFC 4733
    c.a->forward_to(c.b.get());
    c.b->forward_to(c.a.get());
    // Alice: 200 ms of silence, 200 ms of '7' (852 + 1209 Hz) in-band, 300 ms of silence.
    dsp::DtmfGenerator keypad(8000);
    std::vector<std::vector<std::uint8_t>> received;
    for (int i = 0; i < 35; ++i) {
        if (i == 10) {
            ASSERT_TRUE(keypad.play('7', 200));
        }
        std::array<std::int16_t, 160> pcm{};
        keypad.generate(pcm);
        std::vector<std::uint8_t> p(172);
        p[0] = 0x80;
        store16(&p[2], static_cast<std::uint16_t>(i));
        store32(&p[4], 160u * i);
        store32(&p[8], 0xa11ce);
        for (int k = 0; k < 160; ++k) p[12 + k] = codec::linear_to_ulaw(pcm[k]);
        alice.send_bytes(c.a->rtp_port(), p);
        auto got = bob.receive(2000);
        ASSERT_FALSE(got.empty()) << "packet " << i;
        received.push_back(std::move(got));
    }
    std::vector<dsp::TelephoneEvent> events;
    std::vector<std::uint32_t> stamps;
    bool first_marked = false;
    for (const auto& got : received) {
        RtpHeader h(const_cast<std::uint8_t*>(got.data()), got.size());
        if (h.payload_type() != 101) {
            EXPECT_EQ(h.payload_type(), 0);
            continue;
        }
        if (events.empty()) first_marked = h.marker();
        events.push_back(dsp::parse_telephone_event(h.payload()).value());
        stamps.push_back(h.timestamp());
    }
    ASSERT_GE(events.size(), 6u) << "the digit as RFC 4733 events";
    EXPECT_TRUE(first_marked);
    for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].event, 7);
        EXPECT_EQ(stamps[i], stamps[0]) << "one timestamp for the whole event";
    }
    ASSERT_GE(events.size(), 3u);
    for (std::size_t i = events.size() - 3; i < events.size(); ++i) EXPECT_TRUE(events[i].end);
    EXPECT_FALSE(events.front().end);
    EXPECT_GT(events.back().duration, 800);  // at least 100 ms of the 200 ms digit
}

// Digits the watcher saw, filled on the relay's thread.
struct DigitLog {
    std::mutex mu;
    std::string digits;
    std::function<void(char)> sink() {
        return [this](char d) {
            std::lock_guard lock(mu);
            digits.push_back(d);
        };
    }
    std::string get() {
        std::lock_guard lock(mu);
        return digits;
    }
};

TEST(Relay, WatchedDigitsAreReportedOncePerPressFromEventsAndInBand) {
    Call c;
    Phone alice, bob;
    c.a->set_remote(remote(alice.address()));
    c.b->set_remote(remote(bob.address()));
    const PayloadFormat te{101, "telephone-event", 8000, 1, "0-15"};
    c.a->set_codecs({{pcmu()}, pcmu(), te});            // Alice presses keys as RFC 4733
    c.b->set_codecs({{pcmu()}, pcmu(), std::nullopt});  // Bob only in-band
    DigitLog from_alice, from_bob;
    c.a->watch_digits(from_alice.sink());
    c.b->watch_digits(from_bob.sink());  // and nothing is forwarded: watching needs no bridge

    // Alice: '4' then '#', each a start, two updates and the end three times (one timestamp).
    std::uint16_t seq = 1;
    for (char digit : {'4', '#'}) {
        const std::uint32_t start = 8000u * seq;
        for (int k = 1; k <= 6; ++k) {
            dsp::TelephoneEvent e{static_cast<std::uint8_t>(*dsp::event_for_digit(digit)), k > 3,
                                  10, static_cast<std::uint16_t>(160 * std::min(k, 3))};
            auto payload = dsp::write_telephone_event(e);
            std::vector<std::uint8_t> p(16);
            p[0] = 0x80;
            p[1] = static_cast<std::uint8_t>(101 | (k == 1 ? 0x80 : 0));
            store16(&p[2], seq++);
            store32(&p[4], start);
            store32(&p[8], 0xa11ce);
            std::copy(payload.begin(), payload.end(), p.begin() + 12);
            alice.send_bytes(c.a->rtp_port(), p);
        }
    }
    // Bob: '8' in-band for 120 ms between silences.
    dsp::DtmfGenerator keypad(8000);
    for (int i = 0; i < 25; ++i) {
        if (i == 5) ASSERT_TRUE(keypad.play('8', 120));
        std::array<std::int16_t, 160> pcm{};
        keypad.generate(pcm);
        std::vector<std::uint8_t> p(172);
        p[0] = 0x80;
        store16(&p[2], static_cast<std::uint16_t>(i));
        store32(&p[4], 160u * i);
        store32(&p[8], 0xb0b);
        for (int k = 0; k < 160; ++k) p[12 + k] = codec::linear_to_ulaw(pcm[k]);
        bob.send_bytes(c.b->rtp_port(), p);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    for (int i = 0; i < 100 && (from_alice.get().size() < 2 || from_bob.get().empty()); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(from_alice.get(), "4#");
    EXPECT_EQ(from_bob.get(), "8");

    c.a->watch_digits(nullptr);  // stops
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    dsp::TelephoneEvent e{1, false, 10, 160};
    auto payload = dsp::write_telephone_event(e);
    std::vector<std::uint8_t> p(16);
    p[0] = 0x80;
    p[1] = 101 | 0x80;
    store16(&p[2], seq++);
    store32(&p[4], 999999);
    store32(&p[8], 0xa11ce);
    std::copy(payload.begin(), payload.end(), p.begin() + 12);
    alice.send_bytes(c.a->rtp_port(), p);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(from_alice.get(), "4#");
}

TEST(Relay, SentDigitsGoOutAsEventsOrInBandAsTheLegNegotiated) {
    Call c;
    Phone alice, bob;
    c.a->set_remote(remote(alice.address()));
    c.b->set_remote(remote(bob.address()));
    const PayloadFormat te{101, "telephone-event", 8000, 1, "0-15"};
    c.a->set_codecs({{pcmu()}, pcmu(), te});
    c.b->set_codecs({{pcmu()}, pcmu(), std::nullopt});
    c.a->send_digit('6', 200);
    c.b->send_digit('2', 200);

    // Alice: RFC 4733 events for '6', one timestamp, the first marked, three ends.
    std::vector<dsp::TelephoneEvent> events;
    std::vector<std::uint32_t> stamps;
    bool first_marked = false;
    for (int i = 0; i < 30; ++i) {
        auto got = alice.receive(300);
        if (got.empty()) break;
        RtpHeader h(got.data(), got.size());
        ASSERT_EQ(h.payload_type(), 101);
        if (events.empty()) first_marked = h.marker();
        events.push_back(dsp::parse_telephone_event(h.payload()).value());
        stamps.push_back(h.timestamp());
        if (events.back().end && events.size() >= 3 && events[events.size() - 3].end) break;
    }
    ASSERT_GE(events.size(), 6u);
    EXPECT_TRUE(first_marked);
    for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].event, 6);
        EXPECT_EQ(stamps[i], stamps[0]);
    }
    for (std::size_t i = events.size() - 3; i < events.size(); ++i) EXPECT_TRUE(events[i].end);
    EXPECT_GE(events.back().duration, 1440);  // about 200 ms at 8 kHz

    // Bob: the tone pair of '2' in PCMU.
    auto detector = dsp::DtmfDetector::create().value();
    std::string heard;
    for (int i = 0; i < 30; ++i) {
        auto got = bob.receive(300);
        if (got.empty()) break;
        ASSERT_EQ(got.size(), 172u);
        std::array<std::int16_t, 160> pcm{};
        for (int k = 0; k < 160; ++k) pcm[k] = codec::ulaw_to_linear(got[12 + k]);
        detector.process(pcm);
        while (auto ev = detector.pop())
            if (!ev->end) heard.push_back(ev->digit);
    }
    EXPECT_EQ(heard, "2");
}

TEST(Relay, RecordsEachLegOnItsOwnChannelOfAStereoWav) {
    Call c;
    Phone alice, bob;
    c.a->set_remote(remote(alice.address()));
    RemoteSpec rb = remote(bob.address());
    rb.clock_rate = 48000;
    c.b->set_remote(rb);
    c.a->set_codecs({{pcmu()}, pcmu(), std::nullopt});
    c.b->set_codecs({{opus()}, opus(), std::nullopt});
    c.a->forward_to(c.b.get());
    c.b->forward_to(c.a.get());
    const std::string dir = ::testing::TempDir() + "sb-record-" + std::to_string(getpid());
    const std::string path = dir + "/2026/call-1.wav";
    std::filesystem::remove_all(dir);
    auto recording = c.relay->start_recording(path);
    ASSERT_TRUE(recording) << recording.error().message;
    EXPECT_FALSE(c.relay->start_recording(path)) << "never overwrites a recording";
    c.a->record(recording->get(), 0);
    c.b->record(recording->get(), 1);

    // 1.5 s in real time: Alice 440 Hz in PCMU, Bob 1000 Hz in Opus.
    auto bob_encoder = codec::make_encoder(codec::CodecId::opus).value();
    auto next = std::chrono::steady_clock::now();
    for (int i = 0; i < 75; ++i) {
        std::vector<std::uint8_t> pa(172);
        pa[0] = 0x80;
        store16(&pa[2], static_cast<std::uint16_t>(i));
        store32(&pa[4], 160u * i);
        store32(&pa[8], 0xa11ce);
        for (int k = 0; k < 160; ++k)
            pa[12 + k] = codec::linear_to_ulaw(static_cast<std::int16_t>(
                8000 * std::sin(2 * M_PI * 440 * (160 * i + k) / 8000.0)));
        alice.send_bytes(c.a->rtp_port(), pa);
        std::vector<std::int16_t> pcm(960);
        for (int k = 0; k < 960; ++k)
            pcm[k] = static_cast<std::int16_t>(8000 *
                                               std::sin(2 * M_PI * 1000 * (960 * i + k) / 48000.0));
        std::vector<std::uint8_t> pb(12 + 4000);
        const int n = bob_encoder->encode(pcm, {pb.data() + 12, 4000});
        ASSERT_GT(n, 0);
        pb.resize(12 + static_cast<std::size_t>(n));
        pb[0] = 0x80;
        pb[1] = 111;
        store16(&pb[2], static_cast<std::uint16_t>(500 + i));
        store32(&pb[4], 960u * i);
        store32(&pb[8], 0xb0b);
        bob.send_bytes(c.b->rtp_port(), pb);
        next += std::chrono::milliseconds(20);
        std::this_thread::sleep_until(next);
        while (!alice.receive(0).empty()) {
        }
        while (!bob.receive(0).empty()) {
        }
    }
    recording->reset();  // ends it: the recorder completes the file
    std::this_thread::sleep_for(std::chrono::milliseconds(150));

    std::ifstream f(path, std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                    std::istreambuf_iterator<char>());
    ASSERT_GT(bytes.size(), 44u);
    EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "RIFF");
    EXPECT_EQ(bytes[22], 2);                        // channels
    EXPECT_EQ(bytes[24] | (bytes[25] << 8), 8000);  // rate
    const std::uint32_t data = bytes[40] | (bytes[41] << 8) | (bytes[42] << 16) |
                               (static_cast<std::uint32_t>(bytes[43]) << 24);
    EXPECT_EQ(data, bytes.size() - 44) << "the header's size was completed";
    std::vector<std::int16_t> left, right;
    for (std::size_t i = 44; i + 3 < bytes.size(); i += 4) {
        left.push_back(static_cast<std::int16_t>(bytes[i] | (bytes[i + 1] << 8)));
        right.push_back(static_cast<std::int16_t>(bytes[i + 2] | (bytes[i + 3] << 8)));
    }
    EXPECT_NEAR(static_cast<double>(left.size()) / 8000, 1.5, 0.3);
    // The middle second: each channel carries its leg's tone and not the other's. (Most of its
    // power, not all: on a loaded machine this test's own sending slips, and the recorder, which
    // writes a frame per channel every 20 ms of its own clock, fills what came late with
    // concealment or silence; 0.72 was seen once.)
    ASSERT_GT(left.size(), 10000u);
    std::span<const std::int16_t> l(left.data() + 2000, 8000), r(right.data() + 2000, 8000);
    EXPECT_GT(tone_share(l, 440, 8000), 0.5);
    EXPECT_LT(tone_share(l, 1000, 8000), 0.01);
    EXPECT_GT(tone_share(r, 1000, 8000), 0.5);
    EXPECT_LT(tone_share(r, 440, 8000), 0.01);
    std::filesystem::remove_all(dir);
}

// The WAV header's data size of the file at `path` (0 when it is not there or not complete).
std::uint32_t wav_data_size(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::vector<std::uint8_t> b((std::istreambuf_iterator<char>(f)),
                                std::istreambuf_iterator<char>());
    if (b.size() < 44) return 0;
    return b[40] | (b[41] << 8) | (b[42] << 16) | (static_cast<std::uint32_t>(b[43]) << 24);
}

TEST(Relay, RecordingsLeaveTheirFloorOfFreeSpace) {
    const std::string dir = ::testing::TempDir() + "sb-record-floor-" + std::to_string(getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto free_mb = [&] { return std::filesystem::space(dir).available / (1024 * 1024); };
    if (free_mb() < 600) GTEST_SKIP() << "less than 600 MB free here";

    // A floor above what is free: no recording starts, and the error says why.
    RelayConfig high = test_config();
    high.recording_min_free_mb = free_mb() + 100 * 1024;
    auto relay = Relay::start(high).value();
    auto refused = relay->start_recording(dir + "/refused.wav");
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("recordings_min_free_mb"), std::string::npos)
        << refused.error().message;
    EXPECT_FALSE(std::filesystem::exists(dir + "/refused.wav"));

    // A floor 200 MB below what is free: it starts; then 400 MB of the disk are taken (reserved
    // at once by fallocate) and within a second or two the recording ends with its file complete.
    RelayConfig low = test_config();
    low.recording_min_free_mb = free_mb() - 200;
    relay = Relay::start(low).value();
    const std::string path = dir + "/call.wav";
    auto recording = relay->start_recording(path);
    ASSERT_TRUE(recording) << recording.error().message;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(wav_data_size(path), 0u) << "in progress: the header is completed at the end";
    const std::string filler = dir + "/filler";
    const int fd = open(filler.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(posix_fallocate(fd, 0, off_t{400} * 1024 * 1024), 0);
    close(fd);
    std::uint32_t size = 0;
    for (int i = 0; i < 40 && size == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        size = wav_data_size(path);
    }
    std::filesystem::remove(filler);
    EXPECT_GT(size, 0u) << "the recording went on below its floor";
    std::filesystem::remove_all(dir);
}

TEST(Relay, InBandDigitsReachATranscodedLegAsEventsOnItsTimeline) {
    Call c;
    Phone alice, bob;
    c.a->set_remote(remote(alice.address()));
    RemoteSpec rb = remote(bob.address());
    rb.clock_rate = 48000;
    c.b->set_remote(rb);
    const PayloadFormat te{101, "telephone-event", 48000, 1, "0-15"};
    c.a->set_codecs({{pcmu()}, pcmu(), std::nullopt});  // Alice: PCMU, keys in-band
    c.b->set_codecs({{opus()}, opus(), te});            // Bob: Opus, RFC 4733 at 48 kHz
    c.a->forward_to(c.b.get());
    c.b->forward_to(c.a.get());
    dsp::DtmfGenerator keypad(8000);
    std::vector<std::vector<std::uint8_t>> received;
    for (int i = 0; i < 35; ++i) {
        if (i == 10) {
            ASSERT_TRUE(keypad.play('7', 200));
        }
        std::array<std::int16_t, 160> pcm{};
        keypad.generate(pcm);
        std::vector<std::uint8_t> p(172);
        p[0] = 0x80;
        store16(&p[2], static_cast<std::uint16_t>(i));
        store32(&p[4], 160u * i);
        store32(&p[8], 0xa11ce);
        for (int k = 0; k < 160; ++k) p[12 + k] = codec::linear_to_ulaw(pcm[k]);
        alice.send_bytes(c.a->rtp_port(), p);
        auto got = bob.receive(2000);
        ASSERT_FALSE(got.empty()) << "packet " << i;
        received.push_back(std::move(got));
    }
    std::vector<dsp::TelephoneEvent> events;
    std::vector<std::uint32_t> stamps;
    std::vector<std::uint16_t> sequences;
    std::uint32_t audio_before = 0;
    for (const auto& got : received) {
        RtpHeader h(const_cast<std::uint8_t*>(got.data()), got.size());
        sequences.push_back(h.sequence());
        if (h.payload_type() != 101) {
            EXPECT_EQ(h.payload_type(), 111);
            if (events.empty()) audio_before = h.timestamp();
            continue;
        }
        events.push_back(dsp::parse_telephone_event(h.payload()).value());
        stamps.push_back(h.timestamp());
    }
    ASSERT_GE(events.size(), 6u) << "the digit as RFC 4733 events";
    for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].event, 7);
        EXPECT_EQ(stamps[i], stamps[0]);
    }
    EXPECT_EQ(stamps[0], audio_before + 960) << "the event starts where the next frame would";
    for (std::size_t i = events.size() - 3; i < events.size(); ++i) EXPECT_TRUE(events[i].end);
    EXPECT_GT(events.back().duration, 4800);  // at least 100 ms of the 200 ms digit, at 48 kHz
    for (std::size_t i = 1; i < sequences.size(); ++i)
        EXPECT_EQ(static_cast<std::uint16_t>(sequences[i] - sequences[i - 1]), 1)
            << "one stream: the events take the audio's slots";
}

TEST(Relay, EventsReachALegWhoseTelephoneEventClockDiffersRescaled) {
    Call c;
    Phone alice, bob;
    c.a->set_remote(remote(alice.address()));
    RemoteSpec rb = remote(bob.address());
    rb.clock_rate = 48000;
    c.b->set_remote(rb);
    c.a->set_codecs({{pcmu()}, pcmu(), PayloadFormat{101, "telephone-event", 8000, 1, "0-15"}});
    c.b->set_codecs({{opus()}, opus(), PayloadFormat{110, "telephone-event", 48000, 1, "0-15"}});
    c.a->forward_to(c.b.get());
    c.b->forward_to(c.a.get());
    dsp::TelephoneEvent e{9, false, 10, 800};  // '9', 100 ms at 8 kHz
    auto payload = dsp::write_telephone_event(e);
    std::vector<std::uint8_t> p(16);
    p[0] = 0x80;
    p[1] = 101 | 0x80;
    store16(&p[2], 7);
    store32(&p[4], 8000);
    store32(&p[8], 0xa11ce);
    std::copy(payload.begin(), payload.end(), p.begin() + 12);
    alice.send_bytes(c.a->rtp_port(), p);
    auto got = bob.receive(2000);
    ASSERT_EQ(got.size(), 16u);
    RtpHeader h(got.data(), got.size());
    EXPECT_EQ(h.payload_type(), 110);
    auto event = dsp::parse_telephone_event(h.payload()).value();
    EXPECT_EQ(event.event, 9);
    EXPECT_EQ(event.duration, 4800) << "100 ms at 48 kHz";
}

TEST(Relay, ClosedPortsAreReleasedAndTheRangeIsBounded) {
    RelayConfig cfg = test_config();
    cfg.port_max = static_cast<std::uint16_t>(cfg.port_min + 7);  // four pairs
    auto relay = Relay::start(cfg).value();
    std::vector<std::unique_ptr<MediaPort>> ports;
    for (int i = 0; i < 4; ++i) {
        auto p = relay->open(static_cast<std::uint64_t>(i));
        ASSERT_TRUE(p) << p.error().message;
        EXPECT_EQ((*p)->rtp_port() % 2, 0);
        ports.push_back(std::move(*p));
    }
    auto fifth = relay->open(9);
    ASSERT_FALSE(fifth);
    EXPECT_NE(fifth.error().message.find("no free RTP port"), std::string::npos);
    ports.pop_back();
    // The worker closes the sockets asynchronously: the pair comes back within moments.
    bool reopened = false;
    for (int i = 0; i < 100 && !reopened; ++i) {
        reopened = relay->open(9).has_value();
        if (!reopened) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(reopened);
}

TEST(Relay, RejectsABadConfiguration) {
    RelayConfig c;
    c.address = "pbx.example.com";
    EXPECT_FALSE(Relay::start(c));
    c.address = "127.0.0.1";
    c.port_min = 5000;
    c.port_max = 4000;
    EXPECT_FALSE(Relay::start(c));
}

}  // namespace
}  // namespace sb::media::rtp
