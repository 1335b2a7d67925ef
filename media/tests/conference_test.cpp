// Conference rooms in the relay, on real loopback sockets: "phones" (plain UDP sockets) in
// different codecs send tones in real time, and each must hear the others' and not its own.
#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "sb/media/codec/codec.h"
#include "sb/media/dsp/prompt.h"
#include "sb/media/dsp/telephone_event.h"
#include "sb/media/rtp/relay.h"
#include "sb/media/rtp/rtcp.h"
#include "sb/media/rtp/rtp_header.h"
#include "sb/media/rtp/sock_addr.h"

namespace sb::media::rtp {
namespace {

using codec::CodecId;

RelayConfig test_config() {
    RelayConfig c;
    c.address = "127.0.0.1";
    std::mt19937 r{std::random_device{}()};
    c.port_min = static_cast<std::uint16_t>(30000 + 2 * (r() % 10000));
    c.port_max = static_cast<std::uint16_t>(c.port_min + 199);
    c.buffers_per_worker = 256;
    c.workers = 2;  // rooms and ports on different workers
    return c;
}

PayloadFormat format_of(CodecId id) {
    switch (id) {
        case CodecId::pcmu:
            return {0, "PCMU", 8000, 1, ""};
        case CodecId::pcma:
            return {8, "PCMA", 8000, 1, ""};
        case CodecId::g722:
            return {9, "G722", 8000, 1, ""};
        case CodecId::opus:
            return {111, "opus", 48000, 2, "useinbandfec=1"};
    }
    return {};
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

// A loopback UDP socket on a port of its own.
int bound_socket(Endpoint& address) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    SockAddr a = SockAddr::from(*Endpoint::from_ip("127.0.0.1", 0));
    EXPECT_EQ(bind(fd, a.raw(), a.size()), 0);
    socklen_t len = sizeof(sockaddr_in);
    getsockname(fd, a.raw(), &len);
    address = a.endpoint();
    return fd;
}

// A phone in the room: a socket, a codec both ways, a tone it sends and what it hears; and, if
// asked, an RTCP socket of its own (named in its SDP) and the reports that reach it.
class Participant {
  public:
    // What arrived on the RTCP socket, and how many RTP packets had arrived by then.
    struct ReceivedReport {
        Report report;
        int rtp_received = 0;
        std::uint32_t last_rtp_timestamp = 0;
    };

    Participant(Relay& relay, std::uint64_t group, CodecId codec, double tone_hz, bool rtcp = false)
        : codec_(codec), tone_hz_(tone_hz), format_(format_of(codec)) {
        fd_ = bound_socket(address_);
        port_ = relay.open(group).value();
        RemoteSpec spec;
        spec.rtp = address_;
        if (rtcp) {
            rtcp_fd_ = bound_socket(rtcp_address_);
            spec.rtcp = rtcp_address_;
        }
        spec.signalling = Endpoint::from_ip("127.0.0.1", 5060);
        spec.clock_rate = format_.clock_rate;
        port_->set_remote(spec);
        PortCodecs codecs{{format_}, format_, PayloadFormat{101, "telephone-event", 8000, 1, ""}};
        if (codec == CodecId::opus) codecs.telephone_event->clock_rate = 48000;
        port_->set_codecs(codecs);
        encoder_ = codec::make_encoder(codec).value();
        decoder_ = codec::make_decoder(codec).value();
    }
    ~Participant() {
        close(fd_);
        if (rtcp_fd_ >= 0) close(rtcp_fd_);
    }

    MediaPort& port() { return *port_; }
    void hang_up() { port_.reset(); }
    int rate() const { return decoder_->sample_rate(); }

    // One 20 ms packet of its tone (or of silence).
    void send_frame(bool silent = false) {
        const int rate = encoder_->sample_rate();
        std::vector<std::int16_t> pcm(static_cast<std::size_t>(rate / 50));
        for (std::size_t k = 0; k < pcm.size(); ++k, ++sample_)
            pcm[k] = silent ? 0
                            : static_cast<std::int16_t>(
                                  6000 * std::sin(2 * M_PI * tone_hz_ * sample_ / rate));
        std::vector<std::uint8_t> p(kRtpHeaderSize + 4000);
        const int n = encoder_->encode(pcm, {p.data() + kRtpHeaderSize, 4000});
        ASSERT_GT(n, 0);
        p.resize(kRtpHeaderSize + static_cast<std::size_t>(n));
        p[0] = 0x80;
        p[1] = static_cast<std::uint8_t>(format_.payload_type);
        store16(&p[2], sequence_++);
        store32(&p[4], timestamp_);
        store32(&p[8], ssrc());
        timestamp_ += static_cast<std::uint32_t>(format_.clock_rate / 50);
        send(p);
    }
    // An RFC 4733 event for `digit`: a start, and three end packets.
    void press(char digit) {
        const auto event = *dsp::event_for_digit(digit);
        for (int i = 0; i < 4; ++i) {
            dsp::TelephoneEvent e{event, i > 0, 10, static_cast<std::uint16_t>(400 * (i + 1))};
            auto payload = dsp::write_telephone_event(e);
            std::vector<std::uint8_t> p(kRtpHeaderSize);
            p[0] = 0x80;
            p[1] = static_cast<std::uint8_t>(101 | (i == 0 ? 0x80 : 0));
            store16(&p[2], sequence_++);
            store32(&p[4], timestamp_);
            store32(&p[8], ssrc());
            p.insert(p.end(), payload.begin(), payload.end());
            send(p);
        }
    }
    // Decodes whatever arrived, then reads the reports that came (RTP first: a report counts
    // packets the room sent before it).
    void drain() {
        for (;;) {
            pollfd pfd{fd_, POLLIN, 0};
            if (poll(&pfd, 1, 0) != 1) break;
            std::vector<std::uint8_t> b(2048);
            const auto n = recv(fd_, b.data(), b.size(), 0);
            if (n <= 0) break;
            RtpHeader h(b.data(), static_cast<std::size_t>(n));
            if (!h.valid() || h.payload_type() != format_.payload_type) continue;
            ++received_;
            received_ssrc_ = h.ssrc();
            last_timestamp_ = h.timestamp();
            arrivals_.push_back({h.timestamp(), h.marker(), std::chrono::steady_clock::now()});
            std::vector<std::int16_t> pcm(codec::kMaxFrameSamples);
            const int m = decoder_->decode(h.payload(), pcm);
            if (m > 0) heard_.insert(heard_.end(), pcm.begin(), pcm.begin() + m);
        }
        for (;;) {
            pollfd pfd{rtcp_fd_, POLLIN, 0};
            if (rtcp_fd_ < 0 || poll(&pfd, 1, 0) != 1) return;
            std::vector<std::uint8_t> b(2048);
            const auto n = recv(rtcp_fd_, b.data(), b.size(), 0);
            if (n <= 0) return;
            auto r = parse_compound({b.data(), static_cast<std::size_t>(n)});
            ASSERT_TRUE(r) << r.error().message;
            // Only its own port's: the one with a block about what it sends (another port's
            // reports go to that phone's RTP port + 1, which this socket might happen to be).
            if (r->block_count == 1 && r->blocks[0].ssrc == ssrc())
                reports_.push_back({*r, received_, last_timestamp_});
        }
    }
    // Sends a report from its RTCP socket to its port's RTCP port.
    void send_report(const Report& r) {
        std::array<std::uint8_t, kMaxCompoundSize> out{};
        const std::size_t n = write_compound(out, r, "participant");
        ASSERT_GT(n, 0u);
        SockAddr to = SockAddr::from(
            *Endpoint::from_ip("127.0.0.1", static_cast<std::uint16_t>(port_->rtp_port() + 1)));
        ASSERT_EQ(sendto(rtcp_fd_, out.data(), n, 0, to.raw(), to.size()), static_cast<ssize_t>(n));
    }
    std::uint32_t ssrc() const { return 0x5eed0000u + static_cast<std::uint32_t>(tone_hz_); }
    std::uint32_t received_ssrc() const { return received_ssrc_; }  // of the last RTP packet
    // Each RTP packet received: its timestamp, marker bit and when it arrived.
    struct Arrival {
        std::uint32_t timestamp = 0;
        bool marker = false;
        std::chrono::steady_clock::time_point at;
    };
    const std::vector<Arrival>& arrivals() const { return arrivals_; }
    // Puts the room on hold (the phone's SDP says sendonly: we send it nothing), or resumes.
    void hold(bool on) {
        RemoteSpec spec;
        spec.rtp = address_;
        if (rtcp_fd_ >= 0) spec.rtcp = rtcp_address_;
        spec.signalling = Endpoint::from_ip("127.0.0.1", 5060);
        spec.clock_rate = format_.clock_rate;
        spec.send = !on;
        port_->set_remote(spec);
    }
    const std::vector<ReceivedReport>& reports() const { return reports_; }
    void forget_reports() { reports_.clear(); }
    // The last `seconds` of what it heard.
    std::span<const std::int16_t> heard_last(double seconds) const {
        const auto n = static_cast<std::size_t>(seconds * rate());
        return n > heard_.size() ? std::span<const std::int16_t>(heard_)
                                 : std::span<const std::int16_t>(heard_).last(n);
    }
    void forget() { heard_.clear(); }
    int received() const { return received_; }
    double tone_hz() const { return tone_hz_; }

  private:
    void send(const std::vector<std::uint8_t>& p) {
        SockAddr to = SockAddr::from(*Endpoint::from_ip("127.0.0.1", port_->rtp_port()));
        ASSERT_EQ(sendto(fd_, p.data(), p.size(), 0, to.raw(), to.size()),
                  static_cast<ssize_t>(p.size()));
    }

    CodecId codec_;
    double tone_hz_;
    PayloadFormat format_;
    int fd_ = -1;
    Endpoint address_;
    int rtcp_fd_ = -1;
    Endpoint rtcp_address_;
    std::unique_ptr<MediaPort> port_;
    std::unique_ptr<codec::Encoder> encoder_;
    std::unique_ptr<codec::Decoder> decoder_;
    std::uint16_t sequence_ = 1000;
    std::uint32_t timestamp_ = 0;
    std::uint64_t sample_ = 0;
    std::vector<std::int16_t> heard_;
    int received_ = 0;
    std::uint32_t received_ssrc_ = 0;
    std::uint32_t last_timestamp_ = 0;
    std::vector<ReceivedReport> reports_;
    std::vector<Arrival> arrivals_;
};

// Runs the room in real time for `frames` of 20 ms: everyone sends (unless silent) and listens.
void talk(std::vector<Participant*> people, int frames, std::vector<bool> silent = {}) {
    auto next = std::chrono::steady_clock::now();
    for (int i = 0; i < frames; ++i) {
        for (std::size_t k = 0; k < people.size(); ++k)
            people[k]->send_frame(k < silent.size() && silent[k]);
        next += std::chrono::milliseconds(20);
        std::this_thread::sleep_until(next);
        for (auto* p : people) p->drain();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (auto* p : people) p->drain();
}

std::unique_ptr<Relay> start_relay(RelayConfig config = test_config()) {
    auto r = Relay::start(config);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return std::move(*r);
}

TEST(Conference, EachOfThreePhonesInDifferentCodecsHearsTheOtherTwoAndNotItself) {
    auto relay = start_relay();
    Participant alice(*relay, 1, CodecId::pcmu, 500);
    Participant bob(*relay, 2, CodecId::g722, 1100);
    Participant carol(*relay, 3, CodecId::opus, 1700);
    for (auto* p : {&alice, &bob, &carol}) ASSERT_TRUE(p->port().join_conference("standup", {}));
    talk({&alice, &bob, &carol}, 75);
    for (auto* listener : {&alice, &bob, &carol}) {
        SCOPED_TRACE(listener->tone_hz());
        EXPECT_GT(listener->received(), 60);     // one frame per tick, from the room
        auto heard = listener->heard_last(0.8);  // past the join chimes
        for (auto* speaker : {&alice, &bob, &carol}) {
            const double share = tone_share(heard, speaker->tone_hz(), listener->rate());
            if (speaker == listener)
                EXPECT_LT(share, 0.02) << "hears itself";
            else
                EXPECT_GT(share, 0.15) << "does not hear " << speaker->tone_hz();
        }
    }
}

TEST(Conference, TheMuteKeyTogglesWhetherTheOthersHearAParticipant) {
    auto relay = start_relay();
    Participant alice(*relay, 1, CodecId::pcmu, 500);
    Participant bob(*relay, 2, CodecId::pcma, 1100);
    ASSERT_TRUE(alice.port().join_conference("room-7", {}));
    ASSERT_TRUE(bob.port().join_conference("room-7", {}));
    talk({&alice, &bob}, 30);
    EXPECT_GT(tone_share(bob.heard_last(0.3), 500, 8000), 0.5);

    alice.press('*');  // muted
    bob.forget();
    talk({&alice, &bob}, 30);
    EXPECT_LT(tone_share(bob.heard_last(0.4), 500, 8000), 0.02) << "a muted participant is heard";
    EXPECT_GT(tone_share(alice.heard_last(0.4), 1100, 8000), 0.3) << "muted, it still hears";

    alice.press('*');  // unmuted
    bob.forget();
    talk({&alice, &bob}, 30);
    EXPECT_GT(tone_share(bob.heard_last(0.3), 500, 8000), 0.5);
}

TEST(Conference, AMuteKeyPressedOutOfBandTogglesMuteToo) {
    auto relay = start_relay();
    Participant alice(*relay, 1, CodecId::pcmu, 500);
    Participant bob(*relay, 2, CodecId::pcmu, 1100);
    ASSERT_TRUE(alice.port().join_conference("info-keys", {}));
    ASSERT_TRUE(bob.port().join_conference("info-keys", {}));
    talk({&alice, &bob}, 25);
    EXPECT_GT(tone_share(bob.heard_last(0.3), 500, 8000), 0.5);

    alice.port().conference_key('5');  // not the mute key: nothing changes
    bob.forget();
    talk({&alice, &bob}, 25);
    EXPECT_GT(tone_share(bob.heard_last(0.3), 500, 8000), 0.5);

    alice.port().conference_key('*');  // as SIP INFO would bring it
    bob.forget();
    talk({&alice, &bob}, 25);
    EXPECT_LT(tone_share(bob.heard_last(0.3), 500, 8000), 0.02) << "a muted participant is heard";
}

TEST(Conference, AParticipantJoiningMutedIsNotHeardAndOneWhoLeftIsGone) {
    auto relay = start_relay();
    Participant alice(*relay, 1, CodecId::pcmu, 500);
    Participant bob(*relay, 2, CodecId::pcmu, 1100);
    Participant carol(*relay, 3, CodecId::pcmu, 1700);
    ConferenceOptions listen_only;
    listen_only.muted = true;
    ASSERT_TRUE(alice.port().join_conference("town-hall", {}));
    ASSERT_TRUE(bob.port().join_conference("town-hall", listen_only));
    ASSERT_TRUE(carol.port().join_conference("town-hall", {}));
    talk({&alice, &bob, &carol}, 40);
    EXPECT_LT(tone_share(alice.heard_last(0.4), 1100, 8000), 0.02);
    EXPECT_GT(tone_share(alice.heard_last(0.4), 1700, 8000), 0.3);

    carol.hang_up();  // closing the port leaves the room
    alice.forget();
    talk({&alice, &bob}, 40);
    EXPECT_LT(tone_share(alice.heard_last(0.4), 1700, 8000), 0.02);

    // A port that leaves explicitly goes back to relaying (nothing here): it hears no room.
    bob.port().leave_conference();
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    bob.drain();
    const int before = bob.received();
    talk({&alice, &bob}, 15);
    EXPECT_EQ(bob.received(), before);
}

// RTCP of a leg in a room (relay_rtcp.cpp): what the phone hears is the room's stream, so our
// reports must speak for it, and the phone's reports about it give the leg its round trip.
TEST(Conference, ALegsReportsSpeakForTheRoomsStreamAndItsReportsAboutItAreRead) {
    RelayConfig config = test_config();
    config.rtcp_interval_ms = 200;
    auto relay = start_relay(config);
    Participant alice(*relay, 1, CodecId::opus, 500, /*rtcp=*/true);
    Participant bob(*relay, 2, CodecId::pcmu, 1100);
    Participant carol(*relay, 3, CodecId::g722, 1700);
    for (auto* p : {&alice, &bob, &carol}) ASSERT_TRUE(p->port().join_conference("rtcp", {}));
    talk({&alice, &bob, &carol}, 75);
    ASSERT_GT(alice.received(), 50);
    const std::uint32_t room_ssrc = alice.received_ssrc();

    // Sender reports about the stream Alice hears: its SSRC, what it sent so far, its timeline.
    std::vector<Participant::ReceivedReport> srs;
    for (const auto& r : alice.reports())
        if (r.report.sender) srs.push_back(r);
    ASSERT_GE(srs.size(), 2u) << "no sender reports about the room's stream";
    for (const auto& r : srs) {
        EXPECT_EQ(r.report.ssrc, room_ssrc);
        const auto count = static_cast<int>(r.report.sender->packet_count);
        // The report came after the packets it counts (give or take one in flight), and before
        // those that arrived since it was sent (a drain every 20 ms, on a busy machine).
        EXPECT_LE(count, r.rtp_received + 3);
        EXPECT_GE(count, r.rtp_received - 15);
        EXPECT_GT(r.report.sender->octet_count, 0u);
        // Its RTP timestamp is now on the room's timeline: near the last packet's (48 kHz).
        const auto ahead =
            static_cast<std::int32_t>(r.report.sender->rtp_timestamp - r.last_rtp_timestamp);
        EXPECT_LT(std::abs(ahead), 48000 / 2);
    }
    EXPECT_GT(srs.back().report.sender->packet_count, srs.front().report.sender->packet_count);

    // Alice answers on the last one: a round trip, and the loss and jitter she sees.
    Report rr;
    rr.ssrc = alice.ssrc();
    ReportBlock block;
    block.ssrc = room_ssrc;
    block.fraction_lost = 64;  // a quarter
    block.jitter = 4800;       // 100 ms at Opus's 48 kHz
    block.lsr = middle_32(srs.back().report.sender->ntp_timestamp);
    rr.add_block(block);
    alice.send_report(rr);
    PortStats s;
    for (int i = 0; i < 50 && !s.rtt_ms; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        s = alice.port().stats();
    }
    ASSERT_TRUE(s.rtt_ms.has_value()) << "the report about the room's stream was not read";
    EXPECT_GE(*s.rtt_ms, 0.0);
    EXPECT_LT(*s.rtt_ms, 5000.0);  // since that report went out, not garbage
    ASSERT_TRUE(s.remote_loss_fraction.has_value());
    EXPECT_DOUBLE_EQ(*s.remote_loss_fraction, 0.25);
    ASSERT_TRUE(s.remote_jitter_ms.has_value());
    EXPECT_NEAR(*s.remote_jitter_ms, 100.0, 0.01);

    // Out of the room, the port's reports speak for its own stream again (it sends nothing).
    alice.port().leave_conference();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    alice.drain();
    alice.forget_reports();
    talk({&alice, &bob}, 25);
    ASSERT_FALSE(alice.reports().empty());
    for (const auto& r : alice.reports()) {
        EXPECT_NE(r.report.ssrc, room_ssrc);
        EXPECT_FALSE(r.report.sender.has_value());
    }
}

// A prompt of `seconds` of a tone at 16 kHz.
std::shared_ptr<const dsp::Prompt> tone_prompt(double hz, double seconds) {
    auto p = std::make_shared<dsp::Prompt>();
    p->rate = 16000;
    p->samples.resize(static_cast<std::size_t>(seconds * p->rate));
    for (std::size_t i = 0; i < p->samples.size(); ++i)
        p->samples[i] = static_cast<std::int16_t>(8000 * std::sin(2 * M_PI * hz * i / p->rate));
    return p;
}

// RFC 3550 5.1: the room's stream to a phone keeps its clock through a hold; the first packet
// after it is marked, so the phone's jitter buffer starts a talkspurt rather than wait for a
// stream that seems half a second late.
TEST(Conference, AStreamsTimestampsKeepPaceThroughAHoldAndTheFirstPacketAfterIsMarked) {
    auto relay = start_relay();
    Participant alice(*relay, 1, CodecId::pcmu, 500);
    Participant bob(*relay, 2, CodecId::pcmu, 1100);
    ASSERT_TRUE(alice.port().join_conference("pace", {}));
    ASSERT_TRUE(bob.port().join_conference("pace", {}));
    talk({&alice, &bob}, 25);
    bob.hold(true);
    talk({&alice, &bob}, 30);  // 0.6 s that the room does not send to Bob
    bob.hold(false);
    talk({&alice, &bob}, 25);

    const auto& a = bob.arrivals();
    ASSERT_GT(a.size(), 30u);
    std::size_t after = 0;  // the first packet after the longest silence
    for (std::size_t i = 1; i < a.size(); ++i)
        if (after == 0 || a[i].at - a[i - 1].at > a[after].at - a[after - 1].at) after = i;
    const double silent_s = std::chrono::duration<double>(a[after].at - a[after - 1].at).count();
    ASSERT_GT(silent_s, 0.4) << "Bob was sent nothing while on hold";
    const std::uint32_t units = a[after].timestamp - a[after - 1].timestamp;
    EXPECT_NEAR(static_cast<double>(units), silent_s * 8000, 8000 * 0.1)
        << "the timestamp moved " << units << " units over " << silent_s << " s";
    EXPECT_TRUE(a[after].marker);
    EXPECT_FALSE(a[after + 1].marker);
}

TEST(Conference, TheFirstToJoinHearsTheAlonePromptThenMusicUntilSomeoneComes) {
    auto relay = start_relay();
    Participant alice(*relay, 1, CodecId::pcmu, 500);
    Participant bob(*relay, 2, CodecId::pcmu, 1100);
    ConferenceOptions options;
    options.alone_prompt = tone_prompt(700, 0.4);
    options.music_when_alone = tone_prompt(1300, 1.0);
    ASSERT_TRUE(alice.port().join_conference("lonely", options));
    talk({&alice}, 15, {true});  // 0.3 s: inside the prompt
    EXPECT_GT(tone_share(alice.heard_last(0.2), 700, 8000), 0.5) << "no alone prompt";
    alice.forget();
    talk({&alice}, 40, {true});  // the prompt ended: music, over and over
    EXPECT_GT(tone_share(alice.heard_last(0.5), 1300, 8000), 0.5) << "no music while alone";
    EXPECT_LT(tone_share(alice.heard_last(0.5), 700, 8000), 0.02) << "the prompt played again";

    ASSERT_TRUE(bob.port().join_conference("lonely", options));
    alice.forget();
    bob.forget();
    talk({&alice, &bob}, 40, {true, false});
    EXPECT_LT(tone_share(alice.heard_last(0.4), 1300, 8000), 0.02) << "music with company";
    EXPECT_GT(tone_share(alice.heard_last(0.4), 1100, 8000), 0.5) << "does not hear bob";
    EXPECT_LT(tone_share(bob.heard_last(0.4), 700, 8000), 0.02) << "bob was not alone";
    EXPECT_LT(tone_share(bob.heard_last(0.4), 1300, 8000), 0.02) << "bob hears the music";

    bob.hang_up();  // alone again: the music comes back
    alice.forget();
    talk({&alice}, 40, {true});
    EXPECT_GT(tone_share(alice.heard_last(0.4), 1300, 8000), 0.5) << "no music once alone again";
}

TEST(Conference, RejectsBadRoomNames) {
    auto relay = start_relay();
    auto port = relay->open(1).value();
    EXPECT_FALSE(port->join_conference("", {}));
    EXPECT_FALSE(port->join_conference("a room", {}));
    EXPECT_FALSE(port->join_conference("../etc", {}));
    EXPECT_FALSE(port->join_conference(std::string(65, 'r'), {}));
    EXPECT_TRUE(port->join_conference(std::string(64, 'r'), {}));
}

}  // namespace
}  // namespace sb::media::rtp
