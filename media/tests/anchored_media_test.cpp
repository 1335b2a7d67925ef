#include "sb/media/anchored_media.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sb::media {
namespace {

// What the session did to one port; kept after the port closes.
struct PortLog {
    std::uint16_t port = 0;
    std::uint64_t group = 0;
    std::vector<rtp::RemoteSpec> remotes;  // every set_remote, in order
    std::vector<rtp::PortCodecs> codecs;   // every set_codecs, in order
    std::vector<bool> plays;               // every play(): a source, or nullptr (stop)
    std::uint16_t forward = 0;             // rtp_port() of the forwarding target, 0: none
    std::string room;                      // the conference it is in, "" if none
    int recording_channel = -1;            // -1: not recorded
    bool open = true;
};

class FakePortSource;

class FakePort final : public rtp::MediaPort {
  public:
    FakePort(FakePortSource& source, PortLog& log) : source_(source), log_(log) {}
    ~FakePort() override;
    std::uint16_t rtp_port() const override { return log_.port; }
    void set_remote(const rtp::RemoteSpec& remote) override { log_.remotes.push_back(remote); }
    void set_codecs(const rtp::PortCodecs& codecs) override { log_.codecs.push_back(codecs); }
    void play(std::unique_ptr<dsp::AudioSource> source) override {
        log_.plays.push_back(source != nullptr);
    }
    void forward_to(rtp::MediaPort* to) override;
    rtp::PortStats stats() const override { return {}; }
    bool join_conference(std::string_view room, const ConferenceOptions&) override {
        log_.room = room;
        return true;
    }
    void leave_conference() override { log_.room.clear(); }
    void record(rtp::Recording* r, int channel) override {
        log_.recording_channel = r ? channel : -1;
    }
    std::uint64_t group() const { return log_.group; }

  private:
    FakePortSource& source_;
    PortLog& log_;
};

// Hands out 20000, 20002, ... and checks the MediaPort contract: a target in the same group, and
// nothing forwarding to a port when it closes.
class FakePortSource final : public rtp::PortSource {
  public:
    Result<std::unique_ptr<rtp::MediaPort>> open(std::uint64_t group) override {
        if (exhausted) return fail("port range exhausted");
        auto log = std::make_unique<PortLog>();
        log->port = static_cast<std::uint16_t>(20000 + 2 * logs_.size());
        log->group = group;
        PortLog& l = *logs_.emplace(log->port, std::move(log)).first->second;
        return std::unique_ptr<rtp::MediaPort>(std::make_unique<FakePort>(*this, l));
    }
    const std::string& address() const override { return address_; }
    std::size_t available() const override { return exhausted ? 0 : left; }
    Result<std::unique_ptr<rtp::Recording>> start_recording(const std::string& path) override {
        struct FakeRecording final : rtp::Recording {
            std::string p;
            const std::string& path() const override { return p; }
        };
        auto r = std::make_unique<FakeRecording>();
        r->p = path;
        return std::unique_ptr<rtp::Recording>(std::move(r));
    }

    const PortLog& log(std::uint16_t port) const {
        static const PortLog none;
        auto it = logs_.find(port);
        EXPECT_NE(it, logs_.end()) << "port " << port << " never opened";
        return it == logs_.end() ? none : *it->second;
    }
    std::size_t opened() const { return logs_.size(); }
    bool forwarded_to(std::uint16_t port) const {
        return std::any_of(logs_.begin(), logs_.end(), [&](const auto& l) {
            return l.second->open && l.second->forward == port;
        });
    }
    void closed(PortLog& l) {
        l.open = false;
        if (forwarded_to(l.port)) dangling = true;
    }

    bool exhausted = false;
    std::size_t left = 100;    // what available() says while not exhausted
    bool dangling = false;     // a port closed while another still forwarded to it
    bool cross_group = false;  // a port forwarded to one of another call

  private:
    std::string address_ = "203.0.113.1";
    std::map<std::uint16_t, std::unique_ptr<PortLog>> logs_;
};

FakePort::~FakePort() {
    source_.closed(log_);
}

void FakePort::forward_to(rtp::MediaPort* to) {
    if (to && static_cast<FakePort*>(to)->group() != log_.group) source_.cross_group = true;
    log_.forward = to ? to->rtp_port() : 0;
}

// A phone's SDP: one audio stream at ip:port, `rest` being the m= line's formats and what
// follows.
std::string phone(std::string_view ip, int port, std::string_view rest, int version = 1) {
    std::string s = "v=0\r\no=- 4242 " + std::to_string(version) + " IN IP4 " + std::string(ip) +
                    "\r\ns=-\r\nc=IN IP4 " + std::string(ip) + "\r\nt=0 0\r\n";
    return s + "m=audio " + std::to_string(port) + " RTP/AVP " + std::string(rest);
}

// Alice offers opus, G.729 (unsupported), PCMU, G.722 without rtpmap, DTMF, and video.
const std::string kAliceOffer = phone("192.0.2.10", 4000,
                                      "111 18 0 9 101\r\n"
                                      "a=rtpmap:111 opus/48000/2\r\n"
                                      "a=fmtp:111 useinbandfec=1\r\n"
                                      "a=rtpmap:18 G729/8000\r\n"
                                      "a=rtpmap:101 telephone-event/8000\r\n"
                                      "a=fmtp:101 0-15\r\n"
                                      "m=video 4002 RTP/AVP 96\r\n"
                                      "a=rtpmap:96 H264/90000\r\n");
const std::string kBobAnswer = phone("198.51.100.20", 6000,
                                     "0 101\r\n"
                                     "a=rtpmap:101 telephone-event/8000\r\n"
                                     "a=fmtp:101 0-15\r\n");

class AnchoredMediaTest : public ::testing::Test {
  protected:
    void TearDown() override {
        session.reset();
        EXPECT_FALSE(ports.dangling) << "a port closed while another forwarded to it";
        EXPECT_FALSE(ports.cross_group);
    }

    sdp::Session parsed(const Result<std::string>& r) {
        EXPECT_TRUE(r) << r.error().message;
        if (!r) return {};
        auto s = sdp::parse(*r);
        EXPECT_TRUE(s) << s.error().message << "\n" << *r;
        return s ? *s : sdp::Session{};
    }
    sdp::Session offer(LegId from, LegId to, std::string_view text) {
        return parsed(session->offer(from, to, text));
    }
    sdp::Session answer(LegId from, LegId to, std::string_view text) {
        return parsed(session->answer(from, to, text));
    }
    const rtp::RemoteSpec& remote(std::uint16_t port) {
        const PortLog& l = ports.log(port);
        static const rtp::RemoteSpec none;
        EXPECT_FALSE(l.remotes.empty()) << "no set_remote on " << port;
        return l.remotes.empty() ? none : l.remotes.back();
    }
    std::uint16_t forward(std::uint16_t port) { return ports.log(port).forward; }

    // Alice (leg 0, port 20000) calls Bob (leg 1, port 20002), who answers PCMU and DTMF.
    void basic_call() {
        offer(0, 1, kAliceOffer);
        answer(1, 0, kBobAnswer);
    }

    FakePortSource ports;
    AnchoredMedia engine{ports};
    std::unique_ptr<MediaSession> session = engine.create_session();
};

Endpoint ep(std::string_view ip, std::uint16_t port) {
    return *Endpoint::from_ip(ip, port);
}

TEST_F(AnchoredMediaTest, OfferToBobCarriesOurAddressBobsPortAndAlicesSupportedCodecs) {
    sdp::Session o = offer(0, 1, kAliceOffer);
    ASSERT_EQ(o.media.size(), 1u) << "video is not relayed";
    const sdp::Media& m = o.media[0];
    EXPECT_EQ(m.type, "audio");
    EXPECT_EQ(m.port, 20002) << "Alice's port opened first, Bob's second";
    ASSERT_TRUE(o.connection_of(m));
    EXPECT_EQ(o.connection_of(m)->address, "203.0.113.1");
    EXPECT_EQ(o.origin.address, "203.0.113.1");
    EXPECT_EQ(m.formats, (std::vector<std::string>{"111", "0", "9", "8", "101"}))
        << "Alice's order and payload types, G.729 dropped, then PCMA (which we transcode "
           "to), telephone-event last";
    ASSERT_TRUE(m.rtpmap(111));
    EXPECT_EQ(m.rtpmap(111)->encoding, "opus");
    EXPECT_EQ(m.rtpmap(111)->channels, 2);
    ASSERT_TRUE(m.rtpmap(101));
    EXPECT_EQ(m.rtpmap(101)->encoding, "telephone-event");
    EXPECT_NE(std::find(m.fmtps.begin(), m.fmtps.end(), std::pair<int, std::string>{101, "0-15"}),
              m.fmtps.end())
        << "Alice's own fmtp, not ours";
    EXPECT_EQ(o.direction_of(m), sdp::Direction::sendrecv);
    EXPECT_EQ(m.ptime, 20);

    // Alice can receive as soon as she offers.
    const rtp::RemoteSpec& a = remote(20000);
    EXPECT_EQ(a.rtp, ep("192.0.2.10", 4000));
    EXPECT_EQ(a.rtcp, ep("192.0.2.10", 4001));
    EXPECT_EQ(a.clock_rate, 48000) << "opus";
    EXPECT_TRUE(a.send);
    EXPECT_TRUE(a.receive);
    EXPECT_TRUE(ports.log(20002).remotes.empty()) << "Bob's far end is unknown yet";
    EXPECT_EQ(forward(20000), 0);
    EXPECT_EQ(forward(20002), 0);
}

TEST_F(AnchoredMediaTest, AnswerToAliceCarriesHerPortAndBobsCodecAndMediaFlowsBothWays) {
    offer(0, 1, kAliceOffer);
    sdp::Session a = answer(1, 0, kBobAnswer);
    ASSERT_EQ(a.media.size(), 2u) << "one m= line per offered stream (RFC 3264 6)";
    EXPECT_EQ(a.media[0].port, 20000);
    EXPECT_EQ(a.media[0].formats, (std::vector<std::string>{"0", "101"}));
    EXPECT_EQ(a.connection_of(a.media[0])->address, "203.0.113.1");
    EXPECT_EQ(a.direction_of(a.media[0]), sdp::Direction::sendrecv);
    EXPECT_EQ(a.media[1].type, "video");
    EXPECT_EQ(a.media[1].port, 0) << "video rejected";

    const rtp::RemoteSpec& b = remote(20002);
    EXPECT_EQ(b.rtp, ep("198.51.100.20", 6000));
    EXPECT_EQ(b.rtcp, ep("198.51.100.20", 6001));
    EXPECT_EQ(b.clock_rate, 8000) << "PCMU";
    EXPECT_EQ(remote(20000).clock_rate, 8000) << "Alice is now sent PCMU";
    EXPECT_EQ(forward(20000), 20002);
    EXPECT_EQ(forward(20002), 20000);
    EXPECT_EQ(ports.opened(), 2u);
}

TEST_F(AnchoredMediaTest, G722ClockIsRfc3551s8000) {
    offer(0, 1, kAliceOffer);
    sdp::Session a = answer(1, 0, phone("198.51.100.20", 6000, "9\r\n"));
    EXPECT_EQ(a.media[0].formats, (std::vector<std::string>{"9"}));
    EXPECT_EQ(remote(20002).clock_rate, 8000);
    EXPECT_EQ(remote(20000).clock_rate, 8000);
}

TEST_F(AnchoredMediaTest, ForkedEarlyMediaComesFromTheLatestAnswerAndTheLoserIsReleased) {
    sdp::Session o1 = offer(0, 1, kAliceOffer);
    sdp::Session o2 = offer(0, 2, kAliceOffer);
    EXPECT_EQ(o1.media[0].port, 20002);
    EXPECT_EQ(o2.media[0].port, 20004);
    EXPECT_NE(o1.origin.session_id, o2.origin.session_id) << "each leg its own o=";
    EXPECT_EQ(ports.opened(), 3u) << "one port for Alice, shared by the forks";

    sdp::Session early1 = answer(1, 0, kBobAnswer);
    EXPECT_EQ(forward(20000), 20002);
    EXPECT_EQ(forward(20002), 20000);
    sdp::Session early2 =
        answer(2, 0, phone("198.51.100.30", 7000, "111\r\na=rtpmap:111 opus/48000/2\r\n"));
    EXPECT_EQ(early2.media[0].port, 20000);
    EXPECT_EQ(early2.origin.session_id, early1.origin.session_id) << "Alice's o= for all forks";
    EXPECT_EQ(early2.media[0].formats, (std::vector<std::string>{"111"}));
    EXPECT_EQ(forward(20000), 20004);
    EXPECT_EQ(forward(20004), 20000) << "the latest early media";
    EXPECT_EQ(forward(20002), 0) << "one source towards Alice";
    EXPECT_EQ(remote(20000).clock_rate, 48000);

    // Bob's 200 wins; the other fork is cancelled.
    sdp::Session final_answer = answer(1, 0, kBobAnswer);
    EXPECT_EQ(final_answer.media[0].formats, (std::vector<std::string>{"0", "101"}));
    EXPECT_EQ(forward(20000), 20002);
    EXPECT_EQ(forward(20002), 20000);
    session->release_leg(2);
    EXPECT_FALSE(ports.log(20004).open);
    EXPECT_FALSE(ports.forwarded_to(20004));
    EXPECT_FALSE(ports.dangling);
    EXPECT_EQ(forward(20000), 20002) << "the winner keeps working";

    // And goes on: Bob holds the call.
    offer(1, 0, phone("198.51.100.20", 6000, "0\r\na=sendonly\r\n", 2));
    sdp::Session held = answer(0, 1, phone("192.0.2.10", 4000, "0\r\na=recvonly\r\n", 2));
    EXPECT_EQ(held.media[0].port, 20002);
    EXPECT_EQ(forward(20002), 20000);
    EXPECT_EQ(forward(20000), 0);
}

TEST_F(AnchoredMediaTest, ReleasingTheLatestEarlyForkFallsBackToTheEarlierOne) {
    offer(0, 1, kAliceOffer);
    offer(0, 2, kAliceOffer);
    answer(1, 0, kBobAnswer);
    answer(2, 0, phone("198.51.100.30", 7000, "0\r\n"));
    EXPECT_EQ(forward(20000), 20004);
    session->release_leg(2);  // that fork answered 486 after its 183
    EXPECT_FALSE(ports.forwarded_to(20004));
    EXPECT_EQ(forward(20000), 20002);
    EXPECT_EQ(forward(20002), 20000);
    session->release_leg(7);  // unknown: nothing happens
    EXPECT_EQ(forward(20000), 20002);
}

TEST_F(AnchoredMediaTest, LateOfferFromTheWinnerIsAnsweredByTheCallersAck) {
    // The INVITE had no SDP: Bob's 200 carries the offer, Alice's ACK the answer.
    sdp::Session o = offer(1, 0, phone("198.51.100.20", 6000, "8 0\r\n"));
    EXPECT_EQ(o.media[0].port, 20002) << "Bob's port opened first";
    EXPECT_EQ(o.media[0].formats, (std::vector<std::string>{"8", "0", "96", "9", "97"}))
        << "Bob's codecs, then ours: opus on the first free dynamic type, G.722 on its own, "
           "telephone-event (Bob has none: the relay turns Alice's digits into tones)";
    EXPECT_EQ(remote(20000).rtp, ep("198.51.100.20", 6000));
    sdp::Session a = answer(0, 1, phone("192.0.2.10", 4000, "0\r\n"));
    ASSERT_EQ(a.media.size(), 1u);
    EXPECT_EQ(a.media[0].port, 20000);
    EXPECT_EQ(a.media[0].formats, (std::vector<std::string>{"0"}));
    EXPECT_EQ(remote(20002).rtp, ep("192.0.2.10", 4000));
    EXPECT_EQ(forward(20000), 20002);
    EXPECT_EQ(forward(20002), 20000);
}

TEST_F(AnchoredMediaTest, HoldForwardsOneWayAndResumeRestoresBoth) {
    basic_call();
    std::string hold = phone("192.0.2.10", 4000, "0 101\r\na=sendonly\r\n", 2);
    sdp::Session o = offer(0, 1, hold);
    EXPECT_EQ(o.direction_of(o.media[0]), sdp::Direction::sendonly) << "hold passes through";
    EXPECT_FALSE(remote(20000).send) << "Alice must not be sent to at once";
    EXPECT_TRUE(remote(20000).receive);
    EXPECT_EQ(forward(20002), 0);

    sdp::Session a = answer(1, 0, phone("198.51.100.20", 6000, "0 101\r\na=recvonly\r\n", 2));
    EXPECT_EQ(a.direction_of(a.media[0]), sdp::Direction::recvonly);
    EXPECT_TRUE(remote(20002).send);
    EXPECT_FALSE(remote(20002).receive);
    EXPECT_EQ(forward(20000), 20002) << "music on hold still flows to Bob";
    EXPECT_EQ(forward(20002), 0);

    std::string resume = phone("192.0.2.10", 4000, "0 101\r\na=sendrecv\r\n", 3);
    o = offer(0, 1, resume);
    EXPECT_EQ(o.direction_of(o.media[0]), sdp::Direction::sendrecv);
    a = answer(1, 0, phone("198.51.100.20", 6000, "0 101\r\n", 3));
    EXPECT_EQ(a.direction_of(a.media[0]), sdp::Direction::sendrecv);
    EXPECT_TRUE(remote(20000).send && remote(20000).receive);
    EXPECT_TRUE(remote(20002).send && remote(20002).receive);
    EXPECT_EQ(forward(20000), 20002);
    EXPECT_EQ(forward(20002), 20000);
}

TEST_F(AnchoredMediaTest, InactiveHoldStopsBothWays) {
    basic_call();
    sdp::Session o = offer(0, 1, phone("192.0.2.10", 4000, "0\r\na=inactive\r\n", 2));
    EXPECT_EQ(o.direction_of(o.media[0]), sdp::Direction::inactive);
    sdp::Session a = answer(1, 0, phone("198.51.100.20", 6000, "0\r\na=inactive\r\n", 2));
    EXPECT_EQ(a.direction_of(a.media[0]), sdp::Direction::inactive);
    EXPECT_FALSE(remote(20000).send || remote(20000).receive);
    EXPECT_EQ(forward(20000), 0);
    EXPECT_EQ(forward(20002), 0);
}

TEST_F(AnchoredMediaTest, OldStyleHoldWithAZeroAddressIsOfferedAsSendonly) {
    basic_call();
    sdp::Session o = offer(0, 1, phone("0.0.0.0", 4000, "0\r\n", 2));  // RFC 3264 8.4
    EXPECT_EQ(o.direction_of(o.media[0]), sdp::Direction::sendonly);
    EXPECT_EQ(o.connection_of(o.media[0])->address, "203.0.113.1");
    EXPECT_FALSE(remote(20000).rtp);
    EXPECT_FALSE(remote(20000).rtcp);
    EXPECT_FALSE(remote(20000).send);
    EXPECT_EQ(forward(20002), 0);
}

TEST_F(AnchoredMediaTest, TheAnsweredDirectionReachesTheOfferer) {
    offer(0, 1, kAliceOffer);
    sdp::Session a = answer(1, 0, phone("198.51.100.20", 6000, "0\r\na=sendonly\r\n"));
    EXPECT_EQ(a.direction_of(a.media[0]), sdp::Direction::sendonly) << "Bob only sends";
    EXPECT_FALSE(remote(20002).send);
    EXPECT_FALSE(remote(20000).receive);
    EXPECT_EQ(forward(20002), 20000);
    EXPECT_EQ(forward(20000), 0);
}

TEST_F(AnchoredMediaTest, ANewAddressOrPortMovesTheRemoteButNeverOurPort) {
    basic_call();
    sdp::Session o = offer(1, 0, phone("198.51.100.21", 6100, "0 101\r\na=rtcp:6200\r\n", 2));
    EXPECT_EQ(o.media[0].port, 20000);
    EXPECT_EQ(remote(20002).rtp, ep("198.51.100.21", 6100)) << "applied with the offer";
    EXPECT_EQ(remote(20002).rtcp, ep("198.51.100.21", 6200)) << "a=rtcp (RFC 3605)";
    sdp::Session a = answer(0, 1, phone("192.0.2.10", 4000, "0 101\r\n", 2));
    EXPECT_EQ(a.media[0].port, 20002);
    EXPECT_EQ(a.connection_of(a.media[0])->address, "203.0.113.1");
    EXPECT_EQ(forward(20000), 20002);
    EXPECT_EQ(forward(20002), 20000);
    EXPECT_EQ(ports.opened(), 2u);
}

TEST_F(AnchoredMediaTest, ACodecChangeIsRenegotiated) {
    basic_call();
    sdp::Session o = offer(0, 1,
                           phone("192.0.2.10", 4000,
                                 "8 101\r\n"
                                 "a=rtpmap:101 telephone-event/8000\r\n",
                                 2));
    EXPECT_EQ(o.media[0].formats, (std::vector<std::string>{"8", "96", "9", "0", "101"}));
    EXPECT_EQ(o.media[0].port, 20002);
    sdp::Session a = answer(1, 0, phone("198.51.100.20", 6000, "8\r\n", 2));
    EXPECT_EQ(a.media[0].formats, (std::vector<std::string>{"8"}));
    EXPECT_EQ(a.media[0].port, 20000);
    EXPECT_EQ(remote(20002).clock_rate, 8000);
}

TEST_F(AnchoredMediaTest, TheAnswerToAliceKeepsHerPayloadTypesWhenBobRenumbers) {
    offer(0, 1, kAliceOffer);
    // RFC 3264 6.1 says SHOULD keep 111; Bob renumbers opus to 96.
    sdp::Session a =
        answer(1, 0, phone("198.51.100.20", 6000, "96\r\na=rtpmap:96 opus/48000/2\r\n"));
    EXPECT_EQ(a.media[0].formats, (std::vector<std::string>{"111"}));
    EXPECT_EQ(remote(20002).clock_rate, 48000);
}

TEST_F(AnchoredMediaTest, VideoAndSecureAudioAreNotRelayed) {
    std::string s =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
        "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
        "m=audio 5002 RTP/SAVP 0\r\n"
        "m=audio 5004 RTP/AVP 8\r\n";
    sdp::Session o = offer(0, 1, s);
    ASSERT_EQ(o.media.size(), 1u);
    EXPECT_EQ(o.media[0].type, "audio");
    EXPECT_EQ(o.media[0].protocol, "RTP/AVP");
    EXPECT_EQ(o.media[0].formats, (std::vector<std::string>{"8", "96", "9", "0", "97"}));
    EXPECT_EQ(remote(20000).rtp, ep("192.0.2.10", 5004));

    sdp::Session a = answer(1, 0, phone("198.51.100.20", 6000, "8\r\n"));
    ASSERT_EQ(a.media.size(), 3u);
    EXPECT_EQ(a.media[0].port, 0);
    EXPECT_EQ(a.media[1].port, 0);
    EXPECT_EQ(a.media[2].port, 20000);
    EXPECT_EQ(a.media[2].formats, (std::vector<std::string>{"8"}));

    auto only_secure =
        session->offer(0, 1,
                       "v=0\r\no=- 1 2 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
                       "m=audio 5002 RTP/SAVP 0\r\n");
    EXPECT_FALSE(only_secure);
}

// A phone's SDP of two audio streams (RFC 3264 6 answers each on its own): the first at `port`
// with only a codec we lack, the second at port + 2 with PCMU and telephone-event, then
// `attributes` (a direction, say) for the second.
std::string unknown_then_pcmu(std::string_view ip, int port, std::string_view attributes,
                              int version = 1) {
    return phone(ip, port,
                 "96\r\na=rtpmap:96 foo/8000\r\nm=audio " + std::to_string(port + 2) +
                     " RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n" +
                     std::string(attributes),
                 version);
}

// The anchored stream is the first audio stream we share a voice codec with, not the first audio
// stream: the offer used to be refused (488) although its second stream could be answered.
TEST_F(AnchoredMediaTest, ALaterAudioStreamIsAnchoredWhenTheFirstSharesNoCodec) {
    sdp::Session o = offer(0, 1, unknown_then_pcmu("192.0.2.10", 4000, ""));
    ASSERT_EQ(o.media.size(), 1u) << "one stream relayed";
    EXPECT_EQ(o.media[0].port, 20002);
    EXPECT_EQ(o.media[0].formats, (std::vector<std::string>{"0", "96", "9", "8", "101"}))
        << "the second stream's PCMU, what we transcode to, telephone-event";
    ASSERT_TRUE(o.media[0].rtpmap(96));
    EXPECT_EQ(o.media[0].rtpmap(96)->encoding, "opus") << "nothing of the first stream's foo";
    EXPECT_EQ(remote(20000).rtp, ep("192.0.2.10", 4002)) << "Alice is sent to the second stream";
    EXPECT_EQ(remote(20000).rtcp, ep("192.0.2.10", 4003));
    EXPECT_EQ(remote(20000).clock_rate, 8000);

    sdp::Session a = answer(1, 0, kBobAnswer);
    ASSERT_EQ(a.media.size(), 2u) << "one m= line per offered stream (RFC 3264 6)";
    EXPECT_EQ(a.media[0].port, 0) << "the stream we cannot take is rejected";
    EXPECT_EQ(a.media[0].formats, (std::vector<std::string>{"96"}));
    EXPECT_EQ(a.media[1].port, 20000);
    EXPECT_EQ(a.media[1].formats, (std::vector<std::string>{"0", "101"}));
    EXPECT_EQ(a.direction_of(a.media[1]), sdp::Direction::sendrecv);
    EXPECT_EQ(ports.log(20000).codecs.back().send->encoding, "PCMU");
    EXPECT_EQ(forward(20000), 20002);
    EXPECT_EQ(forward(20002), 20000);

    // Hold and resume re-offer the same two streams: the second one holds.
    o = offer(0, 1, unknown_then_pcmu("192.0.2.10", 4000, "a=sendonly\r\n", 2));
    EXPECT_EQ(o.direction_of(o.media[0]), sdp::Direction::sendonly) << "hold passes through";
    EXPECT_FALSE(remote(20000).send);
    a = answer(1, 0, phone("198.51.100.20", 6000, "0 101\r\na=recvonly\r\n", 2));
    ASSERT_EQ(a.media.size(), 2u);
    EXPECT_EQ(a.media[0].port, 0);
    EXPECT_EQ(a.media[1].port, 20000);
    EXPECT_EQ(a.direction_of(a.media[1]), sdp::Direction::recvonly);
    EXPECT_EQ(forward(20000), 20002);
    EXPECT_EQ(forward(20002), 0);

    o = offer(0, 1, unknown_then_pcmu("192.0.2.10", 4000, "", 3));
    EXPECT_EQ(o.direction_of(o.media[0]), sdp::Direction::sendrecv);
    a = answer(1, 0, phone("198.51.100.20", 6000, "0 101\r\n", 3));
    ASSERT_EQ(a.media.size(), 2u);
    EXPECT_EQ(a.media[1].port, 20000);
    EXPECT_EQ(a.direction_of(a.media[1]), sdp::Direction::sendrecv);
    EXPECT_EQ(forward(20000), 20002);
    EXPECT_EQ(forward(20002), 20000);
    EXPECT_EQ(ports.opened(), 2u);
}

// Bob's 200 carries the offer (the INVITE had none), his audio in its second stream: our answer
// to him rejects the first and takes the second.
// The B2BUA reads hold and resume from the stream the session would anchor.
TEST_F(AnchoredMediaTest, TheAnchoredStreamOfAnSdpIsTheOneItWouldRelay) {
    EXPECT_EQ(session->anchored_stream(unknown_then_pcmu("192.0.2.10", 4000, "")),
              std::optional<std::size_t>(1));
    EXPECT_EQ(session->anchored_stream(kAliceOffer), std::optional<std::size_t>(0));
    EXPECT_EQ(session->anchored_stream("not sdp"), std::nullopt);
}

TEST_F(AnchoredMediaTest, TheCalleesLateOfferMayHaveItsAudioInALaterStream) {
    sdp::Session o = offer(1, 0, unknown_then_pcmu("198.51.100.20", 6000, ""));
    ASSERT_EQ(o.media.size(), 1u);
    EXPECT_EQ(o.media[0].formats[0], "0");
    EXPECT_EQ(remote(20000).rtp, ep("198.51.100.20", 6002));
    sdp::Session a = answer(0, 1, phone("192.0.2.10", 4000, "0\r\n"));
    ASSERT_EQ(a.media.size(), 2u);
    EXPECT_EQ(a.media[0].port, 0);
    EXPECT_EQ(a.media[1].port, 20000);
    EXPECT_EQ(a.media[1].formats, (std::vector<std::string>{"0"}));
    EXPECT_EQ(remote(20002).rtp, ep("192.0.2.10", 4000));
    EXPECT_EQ(forward(20000), 20002);
    EXPECT_EQ(forward(20002), 20000);
}

// Our own answers (ringback, a prompt, music on hold) pick the same stream.
TEST_F(AnchoredMediaTest, ALocalAnswerTakesTheFirstAudioStreamItCanAnswer) {
    sdp::Session e = parsed(session->early_answer(0, unknown_then_pcmu("192.0.2.10", 4000, "")));
    ASSERT_EQ(e.media.size(), 2u);
    EXPECT_EQ(e.media[0].port, 0);
    EXPECT_EQ(e.media[1].port, 20000);
    EXPECT_EQ(e.media[1].formats, (std::vector<std::string>{"0", "101"}));
    EXPECT_EQ(remote(20000).rtp, ep("192.0.2.10", 4002));

    sdp::Session hold = parsed(
        session->local_answer(0, unknown_then_pcmu("192.0.2.10", 4000, "a=sendonly\r\n", 2)));
    ASSERT_EQ(hold.media.size(), 2u);
    EXPECT_EQ(hold.media[0].port, 0);
    EXPECT_EQ(hold.media[1].port, 20000);
    EXPECT_EQ(hold.direction_of(hold.media[1]), sdp::Direction::recvonly);
    EXPECT_FALSE(remote(20000).send);

    // A re-offer with no stream we can answer is refused (488), and the session goes on with the
    // offer before it (RFC 3264 8).
    auto refused =
        session->local_answer(0, phone("192.0.2.10", 4000,
                                       "96\r\na=rtpmap:96 foo/8000\r\nm=audio 4002 RTP/AVP 101\r\n"
                                       "a=rtpmap:101 telephone-event/8000\r\n",
                                       3));
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("codec in common"), std::string::npos)
        << refused.error().message;
    sdp::Session again = parsed(session->early_answer(0, ""));
    EXPECT_EQ(again.media[1].port, 20000);
    EXPECT_EQ(again.direction_of(again.media[1]), sdp::Direction::recvonly);
}

// sdp::write gives back every line parse kept (x=, i=, u=...), but what one leg sends never
// reaches the other: our offers and answers are built afresh, from the codecs alone.
TEST_F(AnchoredMediaTest, ALegsOtherLinesNeverReachTheOtherLeg) {
    auto marked = [](std::string_view ip, int port, std::string_view formats) {
        std::string s = "v=0\r\no=- 4242 1 IN IP4 " + std::string(ip) +
                        "\r\ns=-\r\ni=inject-i\r\nu=http://inject.example/\r\n"
                        "e=inject@example.com\r\np=+1 555 0100 inject\r\nc=IN IP4 " +
                        std::string(ip) + "\r\nb=AS:99\r\nt=0 0\r\nx=inject-x\r\na=tool:inject\r\n";
        return s + "m=audio " + std::to_string(port) + " RTP/AVP " + std::string(formats) +
               "\r\ni=inject-i\r\nb=TIAS:99999\r\nu=http://inject.example/m\r\n"
               "x=inject-x\r\na=label:inject\r\n";
    };
    auto clean = [](const Result<std::string>& r) {
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_EQ(r->find("inject"), std::string::npos) << *r;
        for (std::string_view type : {"\ni=", "\nu=", "\ne=", "\np=", "\nb=", "\nx="})
            EXPECT_EQ(r->find(type), std::string::npos) << type << " in\n" << *r;
    };
    clean(session->offer(0, 1, marked("192.0.2.10", 4000, "0 8")));
    clean(session->answer(1, 0, marked("198.51.100.20", 6000, "0")));
    clean(session->offer(1, 0, marked("198.51.100.20", 6000, "8")));  // re-offers too
    clean(session->answer(0, 1, marked("192.0.2.10", 4000, "8")));
    clean(session->local_answer(0, marked("192.0.2.10", 4000, "0")));
}

TEST_F(AnchoredMediaTest, AnOfferWithNoSupportedCodecIsAnError) {
    auto g729 = session->offer(0, 1, phone("192.0.2.10", 4000, "18\r\na=rtpmap:18 G729/8000\r\n"));
    ASSERT_FALSE(g729);
    EXPECT_NE(g729.error().message.find("codec"), std::string::npos) << g729.error().message;
    EXPECT_EQ(g729.error().code, media_error::not_acceptable) << "the B2BUA answers 488";
    auto dtmf_only = session->offer(
        0, 1, phone("192.0.2.10", 4000, "101\r\na=rtpmap:101 telephone-event/8000\r\n"));
    EXPECT_FALSE(dtmf_only) << "telephone-event carries no voice";
    auto no_stream = session->offer(0, 1,
                                    phone("192.0.2.10", 4000,
                                          "96\r\na=rtpmap:96 foo/8000\r\n"
                                          "m=audio 4002 RTP/AVP 101\r\n"
                                          "a=rtpmap:101 telephone-event/8000\r\n"));
    ASSERT_FALSE(no_stream) << "no audio stream can be answered";
    EXPECT_NE(no_stream.error().message.find("codec"), std::string::npos);
    EXPECT_EQ(ports.opened(), 0u) << "nothing opened for a refused offer";
}

TEST_F(AnchoredMediaTest, MalformedSdpIsAnErrorNamingTheLine) {
    auto r = session->offer(0, 1, "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\nm=audio x RTP/AVP 0\r\n");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("SDP line 3"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().code, media_error::not_acceptable);
    EXPECT_FALSE(session->offer(0, 1, "not sdp"));
    offer(0, 1, kAliceOffer);
    auto bad_answer = session->answer(1, 0, "v=1\r\n");
    ASSERT_FALSE(bad_answer);
    EXPECT_NE(bad_answer.error().message.find("SDP line 1"), std::string::npos);
    EXPECT_EQ(forward(20000), 0) << "a bad answer connects nothing";
}

TEST_F(AnchoredMediaTest, AnAnswerWithoutAnOfferIsAnError) {
    EXPECT_FALSE(session->answer(1, 0, kBobAnswer)) << "nothing offered at all";
    offer(0, 1, kAliceOffer);
    EXPECT_FALSE(session->answer(2, 0, kBobAnswer)) << "leg 2 was never sent an offer";
    EXPECT_FALSE(session->answer(0, 1, kBobAnswer)) << "Alice offered; she does not answer";
    EXPECT_FALSE(session->answer(1, 2, kBobAnswer)) << "Bob's offer came from leg 0";
    EXPECT_FALSE(session->offer(1, 1, kBobAnswer)) << "a leg does not offer to itself";
    session->release_leg(0);
    EXPECT_FALSE(session->answer(1, 0, kBobAnswer)) << "the offerer is gone";
    EXPECT_FALSE(ports.forwarded_to(20000));
}

TEST_F(AnchoredMediaTest, AnAnswerAcceptingNothingWeOfferedIsAnError) {
    offer(0, 1, kAliceOffer);
    auto r = session->answer(1, 0, phone("198.51.100.20", 0, "0\r\n"));
    EXPECT_FALSE(r) << "audio rejected";
    r = session->answer(1, 0, phone("198.51.100.20", 6000, "18\r\na=rtpmap:18 G729/8000\r\n"));
    EXPECT_FALSE(r) << "G.729 was not offered";
}

TEST_F(AnchoredMediaTest, AnswerInACodecTheOffererLacksIsTranscoded) {
    offer(0, 1, kAliceOffer);  // opus, PCMU, G.722, telephone-event
    // Bob takes PCMA, which only we offered: Alice keeps her first choice, the relay converts.
    sdp::Session a = answer(1, 0,
                            phone("198.51.100.20", 6000,
                                  "8 101\r\n"
                                  "a=rtpmap:101 telephone-event/8000\r\n"));
    EXPECT_EQ(a.media[0].formats, (std::vector<std::string>{"111", "101"}));
    const PortLog& alice = ports.log(20000);
    const PortLog& bob = ports.log(20002);
    ASSERT_FALSE(alice.codecs.empty());
    ASSERT_FALSE(bob.codecs.empty());
    ASSERT_TRUE(alice.codecs.back().send && bob.codecs.back().send);
    EXPECT_EQ(alice.codecs.back().send->encoding, "opus");
    EXPECT_EQ(alice.codecs.back().send->payload_type, 111);
    EXPECT_EQ(bob.codecs.back().send->encoding, "PCMA");
    EXPECT_EQ(bob.codecs.back().send->payload_type, 8);
    ASSERT_TRUE(alice.codecs.back().telephone_event && bob.codecs.back().telephone_event);
    EXPECT_EQ(alice.remotes.back().clock_rate, 48000);
    EXPECT_EQ(bob.remotes.back().clock_rate, 8000);
    EXPECT_EQ(alice.forward, 20002);
    EXPECT_EQ(bob.forward, 20000);
}

TEST_F(AnchoredMediaTest, EarlyAnswerForRingbackIsKeptByTheCalleesAnswer) {
    offer(0, 1, kAliceOffer);
    auto early = session->early_answer(0, "");
    ASSERT_TRUE(early) << early.error().message;
    sdp::Session e = parsed(early);
    EXPECT_EQ(e.media[0].port, 20000);
    EXPECT_EQ(e.media[0].formats, (std::vector<std::string>{"111", "101"}))
        << "Alice's first codec and telephone-event";
    session->play_tone(0, dsp::Tone::ringback);
    const PortLog& alice = ports.log(20000);
    ASSERT_EQ(alice.plays, (std::vector<bool>{true}));
    ASSERT_FALSE(alice.codecs.empty());
    EXPECT_EQ(alice.codecs.back().send->encoding, "opus");
    // Bob answers in PCMU: Alice's answer is the one she already has; the tone stops.
    auto final_answer = session->answer(1, 0, kBobAnswer);
    ASSERT_TRUE(final_answer);
    EXPECT_EQ(*final_answer, *early) << "the same SDP, the same version (RFC 3264 8)";
    EXPECT_EQ(alice.plays, (std::vector<bool>{true, false}));
    EXPECT_EQ(ports.log(20002).codecs.back().send->encoding, "PCMU");
    EXPECT_EQ(alice.forward, 20002);
    EXPECT_EQ(ports.log(20002).forward, 20000);
}

TEST_F(AnchoredMediaTest, EarlyAnswerNeedsAnOffer) {
    EXPECT_FALSE(session->early_answer(0, ""));
    EXPECT_FALSE(session->early_answer(0, "v=0\r\nnot sdp"));
    DirectMedia direct;
    EXPECT_FALSE(direct.create_session()->early_answer(0, kAliceOffer));
}

TEST_F(AnchoredMediaTest, EarlyAnswerBeforeAnyBridgeTakesTheCallersOffer) {
    auto early = session->early_answer(0, kAliceOffer);  // a prompt before any bridge
    ASSERT_TRUE(early) << early.error().message;
    EXPECT_EQ(parsed(early).media[0].formats, (std::vector<std::string>{"111", "101"}));
    EXPECT_EQ(ports.log(20000).remotes.back().rtp, Endpoint::from_ip("192.0.2.10", 4000));
    // The bridge that follows offers Alice's SDP to Bob, and his answer keeps hers.
    offer(0, 1, kAliceOffer);
    auto final_answer = session->answer(1, 0, kBobAnswer);
    ASSERT_TRUE(final_answer);
    EXPECT_EQ(*final_answer, *early);
}

TEST_F(AnchoredMediaTest, ALegAnsweredLocallyJoinsAConferenceAndForwardsNowhere) {
    ASSERT_FALSE(session->join_conference(0, "sales", {})) << "no port, no answer yet";
    auto early = session->early_answer(0, kAliceOffer);
    ASSERT_TRUE(early);
    EXPECT_FALSE(session->join_conference(0, "no spaces", {}));
    ASSERT_TRUE(session->join_conference(0, "sales", {}));
    EXPECT_EQ(ports.log(20000).room, "sales");
    // A bridge meanwhile would pair the legs; nothing forwards to or from a leg in a room.
    offer(0, 1, kAliceOffer);
    answer(1, 0, kBobAnswer);
    EXPECT_EQ(ports.log(20000).forward, 0);
    EXPECT_EQ(ports.log(20002).forward, 0);
    session->leave_conference(0);
    EXPECT_EQ(ports.log(20000).room, "");
    EXPECT_EQ(ports.log(20000).forward, 20002) << "out of the room, the bridge forwards again";
}

TEST_F(AnchoredMediaTest, ARecordingTakesTheCallerLeftAndEveryOtherLegRight) {
    offer(0, 1, kAliceOffer);  // ports 20000 (caller) and 20002
    ASSERT_TRUE(session->start_recording("/tmp/x.wav"));
    EXPECT_FALSE(session->start_recording("/tmp/y.wav")) << "one recording at a time";
    EXPECT_EQ(ports.log(20000).recording_channel, 0);
    EXPECT_EQ(ports.log(20002).recording_channel, 1);
    offer(0, 2, kAliceOffer);  // a fork opened later is recorded too
    EXPECT_EQ(ports.log(20004).recording_channel, 1);
    session->stop_recording();
    EXPECT_EQ(ports.log(20000).recording_channel, -1);
    EXPECT_EQ(ports.log(20004).recording_channel, -1);
}

TEST_F(AnchoredMediaTest, ALegMayHaveATonePlanOfItsOwn) {
    EXPECT_TRUE(session->set_tone_country(0, "GB"));
    EXPECT_FALSE(session->set_tone_country(0, "XX")) << "an unknown country is refused";
    ASSERT_TRUE(session->early_answer(0, kAliceOffer));
    session->play_tone(0, dsp::Tone::ringback);
    EXPECT_EQ(ports.log(20000).plays, (std::vector<bool>{true}));
}

TEST_F(AnchoredMediaTest, ALocalAnswerFollowsHoldAndResumeAndKeepsTheCodec) {
    sdp::Session first = parsed(session->early_answer(0, kAliceOffer));
    ASSERT_EQ(first.media[0].formats, (std::vector<std::string>{"111", "101"}));
    // Hold (RFC 3264 8.4): Alice re-offers sendonly, PCMU first now; we answer recvonly and
    // keep Opus, the codec in use.
    sdp::Session hold =
        parsed(session->local_answer(0, phone("192.0.2.10", 4000,
                                              "0 111 101\r\na=rtpmap:111 opus/48000/2\r\n"
                                              "a=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n",
                                              2)));
    EXPECT_EQ(hold.media[0].formats, (std::vector<std::string>{"111", "101"}));
    EXPECT_EQ(hold.direction_of(hold.media[0]), sdp::Direction::recvonly);
    EXPECT_EQ(hold.media[0].port, first.media[0].port) << "the leg keeps its port";
    EXPECT_FALSE(ports.log(20000).remotes.back().send) << "nothing is sent to a holding phone";
    // Resume from a new address, PCMU only.
    sdp::Session resume = parsed(session->local_answer(0, phone("192.0.2.11", 4100, "0\r\n", 3)));
    EXPECT_EQ(resume.media[0].formats, (std::vector<std::string>{"0"}));
    EXPECT_EQ(resume.direction_of(resume.media[0]), sdp::Direction::sendrecv);
    EXPECT_EQ(ports.log(20000).remotes.back().rtp, Endpoint::from_ip("192.0.2.11", 4100));
    EXPECT_EQ(ports.log(20000).codecs.back().send->encoding, "PCMU");
    EXPECT_FALSE(session->local_answer(0, phone("192.0.2.11", 4100, "18\r\n", 4)))
        << "no codec in common: 488";
}

TEST_F(AnchoredMediaTest, WithoutTranscodingOnlyTheOfferersCodecsAreOffered) {
    AnchoredMediaOptions options;
    options.transcode = false;
    AnchoredMedia relay_only(ports, options);
    session = relay_only.create_session();
    sdp::Session o = offer(0, 1, kAliceOffer);
    EXPECT_EQ(o.media[0].formats, (std::vector<std::string>{"111", "0", "9", "101"}));
    session.reset();  // before the engine it came from
}

TEST_F(AnchoredMediaTest, OriginVersionMovesOnlyWhenWhatWeSendChanges) {
    sdp::Session o1 = offer(0, 1, kAliceOffer);
    sdp::Session a1 = answer(1, 0, kBobAnswer);
    sdp::Session a2 = answer(1, 0, kBobAnswer);  // the 200 repeats the 183's answer
    EXPECT_EQ(a2.origin.session_version, a1.origin.session_version) << "RFC 3264 8";
    EXPECT_EQ(a2.origin.session_id, a1.origin.session_id);

    sdp::Session a3 = answer(1, 0, phone("198.51.100.20", 6000, "9\r\n"));
    EXPECT_EQ(std::stoull(a3.origin.session_version), std::stoull(a1.origin.session_version) + 1);
    EXPECT_EQ(a3.origin.session_id, a1.origin.session_id);

    sdp::Session o2 = offer(0, 1, phone("192.0.2.10", 4000, "0\r\na=sendonly\r\n", 2));
    EXPECT_EQ(std::stoull(o2.origin.session_version), std::stoull(o1.origin.session_version) + 1);
    EXPECT_EQ(o2.origin.session_id, o1.origin.session_id) << "session id stable per leg";
    EXPECT_NE(o1.origin.session_id, a1.origin.session_id) << "each leg its own session id";

    // Bob re-offers: Alice is sent an offer, a change from the answer she had.
    sdp::Session o3 = offer(1, 0, phone("198.51.100.20", 6000, "0\r\n", 2));
    EXPECT_EQ(std::stoull(o3.origin.session_version), std::stoull(a3.origin.session_version) + 1);
    EXPECT_EQ(o3.origin.session_id, a1.origin.session_id);
}

TEST_F(AnchoredMediaTest, PtimePassesThroughOrDefaults) {
    sdp::Session o = offer(0, 1, phone("192.0.2.10", 4000, "0\r\na=ptime:30\r\n"));
    EXPECT_EQ(o.media[0].ptime, 30);
    sdp::Session a = answer(1, 0, phone("198.51.100.20", 6000, "0\r\na=ptime:30\r\n"));
    EXPECT_EQ(a.media[0].ptime, 30);
    o = offer(1, 0, phone("198.51.100.20", 6000, "0\r\n", 2));
    EXPECT_EQ(o.media[0].ptime, 20) << "AnchoredMediaOptions::ptime";
}

TEST_F(AnchoredMediaTest, TheSignallingAddressReachesThePort) {
    session->set_signalling(0, ep("192.0.2.99", 5060));
    offer(0, 1, kAliceOffer);
    EXPECT_EQ(remote(20000).signalling, ep("192.0.2.99", 5060));
    session->set_signalling(1, ep("198.51.100.99", 5060));
    EXPECT_TRUE(ports.log(20002).remotes.empty()) << "nothing to apply before Bob's SDP";
    answer(1, 0, kBobAnswer);
    EXPECT_EQ(remote(20002).signalling, ep("198.51.100.99", 5060));
    session->set_signalling(1, ep("198.51.100.98", 5060));
    EXPECT_EQ(remote(20002).signalling, ep("198.51.100.98", 5060));
    EXPECT_EQ(remote(20002).rtp, ep("198.51.100.20", 6000));
}

TEST_F(AnchoredMediaTest, ExhaustedPortsAreAnError) {
    ports.exhausted = true;
    auto r = session->offer(0, 1, kAliceOffer);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("port range exhausted"), std::string::npos);
    EXPECT_EQ(r.error().code, media_error::no_resources);
    EXPECT_FALSE(engine.has_capacity());
}

// A new call needs a port pair per leg: one pair left is not enough.
TEST_F(AnchoredMediaTest, CapacityIsTwoPortPairsLeft) {
    EXPECT_TRUE(engine.has_capacity());
    ports.left = 2;
    EXPECT_TRUE(engine.has_capacity());
    ports.left = 1;
    EXPECT_FALSE(engine.has_capacity());
}

TEST_F(AnchoredMediaTest, EachSessionHasItsOwnGroup) {
    auto other = engine.create_session();
    offer(0, 1, kAliceOffer);
    ASSERT_TRUE(other->offer(0, 1, kAliceOffer));
    EXPECT_EQ(ports.log(20000).group, ports.log(20002).group);
    EXPECT_EQ(ports.log(20004).group, ports.log(20006).group);
    EXPECT_NE(ports.log(20000).group, ports.log(20004).group);
}

TEST_F(AnchoredMediaTest, OptionsChooseTheCodecs) {
    AnchoredMediaOptions options;
    options.codecs = {{"PCMA", 8000, 1, 8, ""}};
    options.ptime = 0;
    AnchoredMedia pcma_only(ports, options);
    auto s = pcma_only.create_session();
    sdp::Session o = parsed(s->offer(0, 1, phone("192.0.2.10", 4000, "0 8\r\n")));
    EXPECT_EQ(o.media[0].formats, (std::vector<std::string>{"8"}));
    EXPECT_FALSE(o.media[0].ptime);
    EXPECT_FALSE(s->offer(0, 1, phone("192.0.2.10", 4000, "0\r\n", 2)));
}

}  // namespace
}  // namespace sb::media
