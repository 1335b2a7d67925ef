// Per-call direct media: a bridge takes the call's media direct (RTP between the phones) when
// the dialplan asks (bridge's media option) or the extensions say so (their media setting), as
// long as the PBX's media has done nothing for the caller yet. The system engine here anchors
// and rewrites SDP (FakeMedia::rewrites: its own address, kSdpPbx), so a callee's INVITE that
// carries the caller's own SDP (kSdpA) went direct; a second FakeMedia stands in as the direct
// engine (CallServices::direct_media).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include "fixture.h"
#include "sb/auth/digest.h"

namespace sb::call {
inline bool operator==(const Outcome& x, const Outcome& y) {
    return x.result == y.result && x.code == y.code;
}
inline std::ostream& operator<<(std::ostream& os, const Outcome& o) {
    return os << to_string(o.result) << "/" << o.code;
}
}  // namespace sb::call

namespace sb::call::testing {
namespace {

using Action = RouterScript::Action;

// A prompt directory with beep.wav: 0.1 s of silence, 8 kHz mono 16-bit PCM.
std::filesystem::path prompt_dir() {
    auto dir = std::filesystem::path(::testing::TempDir()) / "sb_call_direct_prompts";
    std::filesystem::create_directories(dir);
    std::vector<char> b(44 + 800 * 2, 0);
    auto put = [&](std::size_t at, std::uint32_t v, int n) {
        for (int i = 0; i < n; ++i) b[at + i] = static_cast<char>(v >> (8 * i));
    };
    std::memcpy(b.data(), "RIFF", 4);
    put(4, static_cast<std::uint32_t>(b.size() - 8), 4);
    std::memcpy(b.data() + 8, "WAVEfmt ", 8);
    put(16, 16, 4);
    put(20, 1, 2);  // PCM
    put(22, 1, 2);  // mono
    put(24, 8000, 4);
    put(28, 16000, 4);
    put(32, 2, 2);
    put(34, 16, 2);
    std::memcpy(b.data() + 36, "data", 4);
    put(40, 1600, 4);
    std::ofstream(dir / "beep.wav", std::ios::binary).write(b.data(), std::streamsize(b.size()));
    return dir;
}

class DirectMediaTest : public CallTest {
  protected:
    void SetUp() override {
        CallTest::SetUp();
        media.anchors = true;
        media.rewrites = true;
    }

    // Sets an extension's media setting ("direct", "anchor", nullopt: the system's) and, for
    // the caller, a password it authenticates with.
    void set_media(const char* number, std::optional<std::string> mode) {
        registrar::Credential c = *credentials.find(number);
        c.media = std::move(mode);
        if (std::string_view(number) == "1001")
            c.ha1_md5 = *auth::ha1(auth::Algorithm::md5, "1001", "switchboard", "secret");
        credentials.upsert(c);
    }

    // The caller calls as extension 1001 (from an address that is not trusted): challenged
    // with 407, it answers the MD5 challenge (RFC 3261 22.3).
    void extension_invites() {
        a.address = std::string(kStranger);
        caller_invites();
        const sip::Message* challenge = last_to(a.address, "SIP/2.0 407");
        ASSERT_NE(challenge, nullptr);
        std::string nonce;
        for (const sip::HeaderField& f : challenge->headers()) {
            if (f.id != sip::HeaderId::proxy_authenticate ||
                f.value.find("algorithm=MD5") == std::string_view::npos)
                continue;
            const auto start = f.value.find("nonce=\"") + 7;
            nonce = std::string(f.value.substr(start, f.value.find('"', start) - start));
        }
        ASSERT_FALSE(nonce.empty());
        auth::Credentials c;
        c.username = "1001";
        c.realm = "switchboard";
        c.nonce = nonce;
        c.uri = "sip:1002@pbx.example.com";
        c.algorithm = auth::Algorithm::md5;
        c.cnonce = "abcdef";
        c.qop = auth::Qop::auth;
        c.nc = 1;
        c.nc_text = "00000001";
        const std::string ha1 = *auth::ha1(c.algorithm, "1001", "switchboard", "secret");
        const std::string response = *auth::expected_response(c.algorithm, ha1, c, "INVITE");
        a.branch = "z9hG4bKa-invite-2";
        caller_invites(kSdpA,
                       "Proxy-Authorization: Digest username=\"1001\", "
                       "realm=\"switchboard\", nonce=\"" +
                           nonce + "\", uri=\"" + c.uri + "\", response=\"" + response +
                           "\", algorithm=MD5, cnonce=\"abcdef\", qop=auth, "
                           "nc=00000001\r\n");
        ASSERT_EQ(script.extension_number, std::optional<std::string>("1001"));
    }
};

TEST_F(DirectMediaTest, AnchoredByDefault) {
    caller_invites();
    const sip::Message* invite = invite_to(p1002);
    ASSERT_NE(invite, nullptr);
    EXPECT_EQ(invite->body(), kSdpPbx) << "the PBX's address, not the caller's";
    EXPECT_EQ(direct_media.sessions, 0);
    phone_answers(p1002, 200, kSdpB);
    caller_acks();
    caller_byes();
    phone_answers_request(p1002, "BYE", 200);
    turn();
    ASSERT_EQ(records.records.size(), 1u);
    EXPECT_FALSE(records.records[0].direct_media);
    EXPECT_EQ(describe(records.records[0]).find("media: direct"), std::string::npos);
}

TEST_F(DirectMediaTest, BridgeAskingDirectGivesTheCalleeTheCallersSdpUntouched) {
    script.media = BridgeMedia::direct;
    caller_invites();
    const sip::Message* invite = invite_to(p1002);
    ASSERT_NE(invite, nullptr);
    EXPECT_EQ(invite->body(), kSdpA);
    EXPECT_EQ(direct_media.sessions, 1);
    EXPECT_EQ(media.live_sessions, 0) << "the anchored session is released";

    // No ringback of ours: the 180 reaches the caller without SDP and its phone rings itself.
    phone_answers(p1002, 180);
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180}));
    const sip::Message* ringing = last_to(a.address, "SIP/2.0 180");
    ASSERT_NE(ringing, nullptr);
    EXPECT_TRUE(ringing->body().empty());
    EXPECT_FALSE(media.saw("early_answer 0"));
    EXPECT_FALSE(media.saw("play_tone 0 ringback"));

    phone_answers(p1002, 200, kSdpB);
    const sip::Message* ok = last_to(a.address, "SIP/2.0 200");
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->body(), kSdpB) << "the callee's own SDP";
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::answered, 200}}));
    caller_acks();
    caller_byes();
    phone_answers_request(p1002, "BYE", 200);
    turn();
    ASSERT_EQ(records.records.size(), 1u);
    EXPECT_TRUE(records.records[0].direct_media);
    EXPECT_NE(describe(records.records[0]).find("; media: direct"), std::string::npos)
        << describe(records.records[0]);
}

TEST_F(DirectMediaTest, BothExtensionsDirectTakeTheCallDirect) {
    set_media("1001", "direct");
    set_media("1002", "direct");
    extension_invites();
    const sip::Message* invite = invite_to(p1002);
    ASSERT_NE(invite, nullptr);
    EXPECT_EQ(invite->body(), kSdpA);
    EXPECT_EQ(direct_media.sessions, 1);
}

TEST_F(DirectMediaTest, AnExtensionNotDirectKeepsTheCallAnchored) {
    set_media("1001", "direct");
    set_media("1002", "anchor");
    extension_invites();
    ASSERT_NE(invite_to(p1002), nullptr);
    EXPECT_EQ(invite_to(p1002)->body(), kSdpPbx);
    EXPECT_EQ(direct_media.sessions, 0);
}

TEST_F(DirectMediaTest, AnExtensionWithTheSystemsSettingKeepsTheCallAnchored) {
    set_media("1001", "direct");  // 1002 keeps nullopt: the system's [media] mode (anchor)
    extension_invites();
    ASSERT_NE(invite_to(p1002), nullptr);
    EXPECT_EQ(invite_to(p1002)->body(), kSdpPbx);
    EXPECT_EQ(direct_media.sessions, 0);
}

TEST_F(DirectMediaTest, OneDestinationNotDirectKeepsTheWholeBridgeAnchored) {
    set_media("1001", "direct");
    set_media("1002", "direct");
    script.bridges = {{"1002", "1005"}};
    extension_invites();
    ASSERT_NE(invite_to(p1002), nullptr);
    EXPECT_EQ(invite_to(p1002)->body(), kSdpPbx);
    EXPECT_EQ(invite_to(p1005)->body(), kSdpPbx);
    EXPECT_EQ(direct_media.sessions, 0);
}

TEST_F(DirectMediaTest, ACallerThatIsNoExtensionKeepsTheCallAnchored) {
    set_media("1002", "direct");
    caller_invites();  // a trusted peer (a trunk): no calling extension
    ASSERT_NE(invite_to(p1002), nullptr);
    EXPECT_EQ(invite_to(p1002)->body(), kSdpPbx);
}

TEST_F(DirectMediaTest, TheDialplanMayAnchorACallOfDirectExtensions) {
    set_media("1001", "direct");
    set_media("1002", "direct");
    script.media = BridgeMedia::anchor;
    extension_invites();
    ASSERT_NE(invite_to(p1002), nullptr);
    EXPECT_EQ(invite_to(p1002)->body(), kSdpPbx);
    EXPECT_EQ(direct_media.sessions, 0);
}

TEST_F(DirectMediaTest, DirectAskedAfterAPlaybackStaysAnchored) {
    CallConfig config = default_config();
    config.prompts_dir = prompt_dir().string();
    build(config);
    script.start = RouterScript::Start::actions;
    script.media = BridgeMedia::direct;
    script.actions = {{Action::playback, "beep"}, {Action::bridge, "1002"}, {Action::wait}};
    caller_invites();
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{183})) << "the prompt as early media";
    media.end_prompt();
    run_for(20ms);
    ASSERT_NE(invite_to(p1002), nullptr) << "the bridge follows the prompt";
    EXPECT_EQ(invite_to(p1002)->body(), kSdpPbx) << "the caller has the PBX's SDP already";
    EXPECT_EQ(direct_media.sessions, 0);
    phone_answers(p1002, 200, kSdpB);
    EXPECT_EQ(last_to(a.address, "SIP/2.0 200")->body(), kSdpPbx);
}

TEST_F(DirectMediaTest, DirectBridgeThenRecordFails) {
    script.start = RouterScript::Start::actions;
    script.media = BridgeMedia::direct;
    script.actions = {{Action::bridge, "1002"}, {Action::record}, {Action::wait}};
    caller_invites();
    phone_answers(p1002, 200, kSdpB);
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::answered, 200}}));
    EXPECT_EQ(script.records, (std::vector<bool>{false})) << "no media of the PBX to record";
    caller_acks();
    EXPECT_EQ(calls->active_calls(), 1u) << "the call goes on";
    caller_byes();
    phone_answers_request(p1002, "BYE", 200);
    turn();
    ASSERT_EQ(records.records.size(), 1u);
    EXPECT_TRUE(records.records[0].recording.empty());
    EXPECT_TRUE(records.records[0].direct_media);
}

// A direct bridge that nobody answered, whose callee sent the caller no SDP, gives the call back
// to the PBX's media: the busy tone (and a prompt, voicemail, after it) work as ever.
TEST_F(DirectMediaTest, AnUnansweredDirectBridgeAnchorsTheCallAgain) {
    CallConfig config = default_config();
    config.busy_tone_s = 3;
    build(config);
    script.media = BridgeMedia::direct;
    caller_invites();
    EXPECT_EQ(invite_to(p1002)->body(), kSdpA);
    phone_answers(p1002, 180);
    phone_answers(p1002, 486);
    EXPECT_EQ(media.sessions, 2) << "a new anchored session";
    EXPECT_TRUE(media.saw("early_answer 0"));
    EXPECT_TRUE(media.saw("play_tone 0 busy"));
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180, 183}));
    run_for(3s);
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180, 183, 486}));
}

// Once the caller has the callee's own SDP (its early media, direct), the call stays direct:
// without a busy tone of ours, the 486 reaches the caller at once.
TEST_F(DirectMediaTest, ACallerWithTheCalleesEarlyMediaGetsTheBusyAtOnce) {
    CallConfig config = default_config();
    config.busy_tone_s = 3;
    build(config);
    script.media = BridgeMedia::direct;
    caller_invites();
    phone_answers(p1002, 183, kSdpB);
    const sip::Message* progress = last_to(a.address, "SIP/2.0 183");
    ASSERT_NE(progress, nullptr);
    EXPECT_EQ(progress->body(), kSdpB) << "the callee's early media, direct";
    phone_answers(p1002, 486);
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{183, 486}));
    EXPECT_FALSE(media.saw("play_tone 0 busy"));
    EXPECT_EQ(media.sessions, 1) << "not anchored again";
    turn();
    ASSERT_EQ(records.records.size(), 1u);
    EXPECT_EQ(records.records[0].a_status, 486);
}

// With [media] mode = "direct" the system's engine is direct already: nothing to switch.
TEST_F(DirectMediaTest, WithADirectSystemEngineNothingChanges) {
    media::DirectMedia system;
    calls.reset();
    CallServices services{clock,  authenticator, locations,    credentials,
                          system, &records,      &direct_media};
    calls = std::make_unique<CallManager>(default_config(), services, txns, sender, wheel,
                                          std::make_unique<FakeRouter>(script), 0);
    dispatch.calls = calls.get();
    script.media = BridgeMedia::direct;
    caller_invites();
    ASSERT_NE(invite_to(p1002), nullptr);
    EXPECT_EQ(invite_to(p1002)->body(), kSdpA);
    EXPECT_EQ(direct_media.sessions, 0);
    phone_answers(p1002, 200, kSdpB);
    caller_acks();
    caller_byes();
    phone_answers_request(p1002, "BYE", 200);
    turn();
    calls.reset();  // before `system` goes
    ASSERT_EQ(records.records.size(), 1u);
    EXPECT_FALSE(records.records[0].direct_media) << "the system's mode, not a per-call decision";
}

}  // namespace
}  // namespace sb::call::testing
