#pragma once
// Test doubles for the B2BUA: a CallManager behind a real TransactionLayer, driven by a FakeClock
// and a TimerWheel, with a Sender that records (and parses) every message sent, a scripted Router,
// direct media, and real credential/location/authentication services. No sockets: every flow has
// a concrete local address, so the CallManager never asks the kernel for a source address. Media
// is a FakeMedia: direct media (SDP passes through) unless a test makes it anchor.
//
// The "network" is three kinds of fake party: the caller (A, a trusted peer by default), the
// registered phones (B-legs, reached through their bindings' `received` flows) and an untrusted
// address. Tests build the SIP text those parties send and feed it to TransactionLayer::receive.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sb/auth/ban_list.h"
#include "sb/auth/nonce_manager.h"
#include "sb/call/call_manager.h"
#include "sb/call/router.h"
#include "sb/common/clock.h"
#include "sb/common/timer_wheel.h"
#include "sb/media/media_session.h"
#include "sb/registrar/authenticator.h"
#include "sb/registrar/credential_cache.h"
#include "sb/registrar/location_service.h"
#include "sb/sip/message.h"
#include "sb/txn/server_user.h"
#include "sb/txn/transaction_layer.h"

namespace sb::call::testing {

using namespace std::chrono_literals;

inline constexpr std::string_view kLocal = "198.51.100.1:5060";     // the B2BUA
inline constexpr std::string_view kCaller = "192.0.2.10:5070";      // phone A (trusted)
inline constexpr std::string_view kStranger = "203.0.113.66:5060";  // not trusted

inline constexpr std::string_view kSdpA =
    "v=0\r\no=alice 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n";
inline constexpr std::string_view kSdpB =
    "v=0\r\no=bob 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
    "m=audio 5000 RTP/AVP 0\r\na=sendrecv\r\n";

// Our own SDP answers when FakeMedia anchors: to the caller's INVITE, and to a later offer.
inline constexpr std::string_view kSdpPbx =
    "v=0\r\no=- 7 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n"
    "m=audio 20000 RTP/AVP 0\r\na=sendrecv\r\n";
inline constexpr std::string_view kSdpPbxLocal =
    "v=0\r\no=- 7 2 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n"
    "m=audio 20000 RTP/AVP 0\r\na=recvonly\r\n";

// The media engine as the B2BUA sees it. SDP passes through as with DirectMedia; with `anchors`
// it also makes our own answers (kSdpPbx, kSdpPbxLocal), plays, joins rooms and watches keys.
// Every call the B2BUA makes on it beyond offer/answer is recorded as a line: "early_answer 0",
// "play_tone 0 ringback", "stop_tone 0", "play_prompt 0" (play_prompt_then too), "play_music 1",
// "local_answer 0",
// "join 0 sales muted=0 key=* chimes=1", "leave 0", "release 1", "watch 0", "unwatch 0",
// "send_digit 1 5 160".
//
// A second FakeMedia stands in as the engine of per-call direct media (CallServices::
// direct_media); `sessions` and `live_sessions` say which engine made the call's session, and
// `rewrites` makes an anchoring engine put its own address (kSdpPbx) into what it forwards, so
// that a test tells an anchored call's SDP from a direct one's.
struct FakeMedia final : media::MediaEngine {
    bool anchors = false;
    bool rewrites = false;
    bool join_ok = true;
    bool capacity = true;   // has_capacity()
    int sessions = 0;       // made so far
    int live_sessions = 0;  // not destroyed yet
    std::vector<std::string> events;
    // What watch_digits was given, per leg (empty: unwatched). press() calls it as a media
    // thread would; a test may keep a copy to press after the B2BUA unwatched.
    std::map<media::LegId, std::function<void(char)>> digit_sinks;
    // play_prompt_then reports a prompt's end (false: it returns false, as an engine that cannot
    // say, and the B2BUA falls back to play_prompt). What it was given, per leg, until the next
    // prompt: end_prompt() calls it as a media thread would; a test may keep a copy.
    bool reports_prompt_end = true;
    std::vector<std::string> local_offers;  // the SDP local_answer was given, in order
    std::map<media::LegId, std::function<void()>> prompt_ends;
    // What leg_media reports per leg, until the leg is released (as a relay's port closes).
    std::map<media::LegId, media::LegMedia> stats;
    std::set<media::LegId> released;
    // What offer() fails with, when set (a caller's offer with no codec we take, no port left).
    std::optional<Error> offer_error;
    // What answer() fails with, when set (a callee's answer accepting nothing we offered).
    std::optional<Error> answer_error;
    // The m= line anchored_stream names in any SDP (none: the engine does not choose).
    std::optional<std::size_t> anchored_line;

    void end_prompt(media::LegId leg = 0) {
        if (auto it = prompt_ends.find(leg); it != prompt_ends.end() && it->second) it->second();
    }

    void press(std::string_view keys, media::LegId leg = 0) {
        for (char k : keys)
            if (auto it = digit_sinks.find(leg); it != digit_sinks.end() && it->second)
                it->second(k);
    }

    bool saw(std::string_view line) const {
        return std::find(events.begin(), events.end(), line) != events.end();
    }
    std::size_t index_of(std::string_view line) const {
        return std::find(events.begin(), events.end(), line) - events.begin();
    }

    bool has_capacity() const override { return capacity; }

    std::unique_ptr<media::MediaSession> create_session() override {
        ++sessions;
        return std::make_unique<Session>(*this);
    }

  private:
    struct Session final : media::MediaSession {
        explicit Session(FakeMedia& m) : m(m) { ++m.live_sessions; }
        ~Session() override { --m.live_sessions; }
        FakeMedia& m;
        void log(std::string line) { m.events.push_back(std::move(line)); }

        Result<std::string> offer(media::LegId, media::LegId, std::string_view sdp) override {
            if (m.offer_error) return unexpected(*m.offer_error);
            return std::string(m.rewrites ? kSdpPbx : sdp);
        }
        Result<std::string> answer(media::LegId, media::LegId, std::string_view sdp) override {
            if (m.answer_error) return unexpected(*m.answer_error);
            return std::string(m.rewrites ? kSdpPbx : sdp);
        }
        void release_leg(media::LegId leg) override {
            log("release " + std::to_string(leg));
            m.released.insert(leg);
        }
        std::optional<std::size_t> anchored_stream(std::string_view) const override {
            return m.anchored_line;
        }
        std::optional<media::LegMedia> leg_media(media::LegId leg) const override {
            auto it = m.stats.find(leg);
            if (it == m.stats.end() || m.released.contains(leg)) return std::nullopt;
            return it->second;
        }
        Result<std::string> early_answer(media::LegId leg, std::string_view offer) override {
            if (!m.anchors || offer.empty()) return fail("not anchored");
            log("early_answer " + std::to_string(leg));
            return std::string(kSdpPbx);
        }
        void play_tone(media::LegId leg, media::dsp::Tone tone) override {
            log("play_tone " + std::to_string(leg) + " " +
                std::string(media::dsp::to_string(tone)));
        }
        void stop_tone(media::LegId leg) override { log("stop_tone " + std::to_string(leg)); }
        Status start_recording(const std::string& path) override {
            if (!m.anchors) return fail("not anchored");
            log("record " + path);
            return {};
        }
        void stop_recording() override { log("record stop"); }
        bool set_tone_country(media::LegId leg, std::string_view country) override {
            log("tones " + std::to_string(leg) + " " + std::string(country));
            return true;
        }
        bool play_prompt(media::LegId leg, std::shared_ptr<const media::dsp::Prompt>) override {
            log("play_prompt " + std::to_string(leg));
            m.prompt_ends.erase(leg);  // a prompt that says nothing replaces one that would
            return m.anchors;
        }
        bool play_prompt_then(media::LegId leg, std::shared_ptr<const media::dsp::Prompt> prompt,
                              std::function<void()> on_end) override {
            if (!m.anchors || !m.reports_prompt_end) return false;
            play_prompt(leg, std::move(prompt));
            m.prompt_ends[leg] = std::move(on_end);
            return true;
        }
        Result<std::string> local_answer(media::LegId leg, std::string_view offer) override {
            if (!m.anchors) return fail("not anchored");
            if (offer.find("m=audio") == std::string_view::npos) return fail("no audio");
            log("local_answer " + std::to_string(leg));
            m.local_offers.emplace_back(offer);
            return std::string(kSdpPbxLocal);
        }
        bool join_conference(media::LegId leg, std::string_view room,
                             const media::ConferenceOptions& o) override {
            log("join " + std::to_string(leg) + " " + std::string(room) +
                " muted=" + (o.muted ? "1" : "0") + " key=" + (o.mute_key ? o.mute_key : '-') +
                " chimes=" + (o.chimes ? "1" : "0") +
                (o.alone_prompt ? " alone=" + std::to_string(o.alone_prompt->samples.size()) : "") +
                (o.music_when_alone ? " music" : ""));
            return m.anchors && m.join_ok;
        }
        void leave_conference(media::LegId leg) override { log("leave " + std::to_string(leg)); }
        bool conference_key(media::LegId leg, char digit) override {
            log("conference_key " + std::to_string(leg) + " " + digit);
            return m.anchors;
        }
        bool play_music(media::LegId leg, std::shared_ptr<const media::dsp::Prompt>) override {
            log("play_music " + std::to_string(leg));
            return m.anchors;
        }
        bool watch_digits(media::LegId leg, std::function<void(char)> on_digit) override {
            if (!m.anchors) return false;
            log((on_digit ? "watch " : "unwatch ") + std::to_string(leg));
            m.digit_sinks[leg] = std::move(on_digit);
            return true;
        }
        bool send_digit(media::LegId leg, char digit, int duration_ms) override {
            log("send_digit " + std::to_string(leg) + " " + digit + " " +
                std::to_string(duration_ms));
            return m.anchors;
        }
    };
};

inline sip::Message parse_sip(std::string_view text) {
    sip::Message m;
    auto r = sip::parse_message(text, sip::Framing::datagram, sip::Limits{}, m);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().reason) << "\n" << text;
    return m;
}

inline Flow udp_flow_to(std::string_view remote) {
    Flow f;
    f.transport = TransportKind::udp;
    f.local = *Endpoint::from_string(kLocal);
    f.remote = *Endpoint::from_string(remote);
    return f;
}

// Every message the B2BUA sent, parsed, with where and when.
struct RecordingSender final : txn::Sender {
    struct Sent {
        Flow flow;
        std::string bytes;
        std::int64_t at_ms = 0;
        sip::Message msg;
    };
    explicit RecordingSender(const Clock& c) : clock(c) {}
    Status send(const Flow& flow, std::string_view bytes) override {
        Sent s{flow, std::string(bytes), clock.now().time_since_epoch().count(), parse_sip(bytes)};
        sent.push_back(std::move(s));
        return {};
    }
    const Clock& clock;
    std::deque<Sent> sent;  // a deque: pointers to elements stay valid
};

// A scripted dialplan: on start() it bridges (or hangs up, or fails), and on every resume() it
// records the outcome and runs the next bridge of the script, if any. With Start::actions it
// runs `actions` in order instead, up to each wait, and goes on after every outcome.
struct RouterScript {
    enum class Start { bridge, hangup, fail, finish, actions } start = Start::bridge;
    struct Action {
        // wait: waits for an outcome that no CallApi call will bring (collecting digits, say).
        // collect: collect_digits (arg "") or play_and_collect (arg: the prompt).
        enum Kind { answer, playback, bridge, conference, hangup, wait, collect, record };
        Action(Kind k, std::string a = {}, ConferenceRequest o = {})
            : kind(k), arg(std::move(a)), conference_options(o) {}
        Action(Kind k, std::string a, CollectRequest c)
            : kind(k), arg(std::move(a)), collect_options(c) {}
        Kind kind;
        std::string arg;  // the prompt, the destination or the room
        ConferenceRequest conference_options;
        CollectRequest collect_options;
    };
    std::vector<Action> actions;
    std::vector<bool> answers;                                // what each answer() returned
    std::vector<bool> records;                                // what each record() returned
    std::vector<std::vector<std::string>> bridges{{"1002"}};  // one per bridge() call, in order
    int timeout_s = 30;
    bool sequential = false;
    BridgeMedia media = BridgeMedia::automatic;  // of every bridge
    int hangup_code = 403;
    std::string hangup_reason = "Forbidden";

    // What happened.
    std::vector<std::uint64_t> started, cancelled;
    std::vector<Outcome> outcomes;
    std::string caller_number, callee_number;
    std::optional<std::string> extension_number;
    std::size_t next_bridge = 0;
    std::size_t next_action = 0;
};

class FakeRouter final : public Router {
  public:
    explicit FakeRouter(RouterScript& s) : s_(s) {}
    RouteStep start(std::uint64_t call_id, CallApi& api) override {
        s_.started.push_back(call_id);
        s_.caller_number = std::string(api.caller_number());
        s_.callee_number = std::string(api.callee_number());
        if (auto e = api.extension_number()) s_.extension_number = std::string(*e);
        api_ = &api;
        switch (s_.start) {
            case RouterScript::Start::bridge:
                return next_bridge();
            case RouterScript::Start::hangup:
                api.hangup(s_.hangup_code, s_.hangup_reason);
                return {RouteStep::State::finished, {}};
            case RouterScript::Start::fail:
                return {RouteStep::State::failed, "fake.lua:1: boom"};
            case RouterScript::Start::finish:
                return {RouteStep::State::finished, {}};
            case RouterScript::Start::actions:
                return next_actions();
        }
        return {RouteStep::State::failed, "unreachable"};
    }
    RouteStep resume(std::uint64_t, Outcome outcome) override {
        s_.outcomes.push_back(outcome);
        if (s_.start == RouterScript::Start::actions) return next_actions();
        if (outcome.result == BridgeResult::answered) return {RouteStep::State::finished, {}};
        return next_bridge();
    }
    void cancel(std::uint64_t call_id) override { s_.cancelled.push_back(call_id); }

  private:
    RouteStep next_actions() {
        using A = RouterScript::Action;
        while (s_.next_action < s_.actions.size()) {
            const A& a = s_.actions[s_.next_action++];
            switch (a.kind) {
                case A::answer:
                    s_.answers.push_back(api_->answer());
                    break;
                case A::playback:
                    api_->playback(a.arg);
                    return {RouteStep::State::waiting, {}};
                case A::bridge: {
                    std::string_view dest = a.arg;
                    api_->bridge(BridgeRequest{{&dest, 1}, s_.timeout_s, false, s_.media});
                    return {RouteStep::State::waiting, {}};
                }
                case A::conference:
                    api_->conference(a.arg, a.conference_options);
                    return {RouteStep::State::waiting, {}};
                case A::hangup:
                    api_->hangup(s_.hangup_code, s_.hangup_reason);
                    return {RouteStep::State::finished, {}};
                case A::wait:
                    return {RouteStep::State::waiting, {}};
                case A::collect:
                    api_->collect_digits(a.arg, a.collect_options);
                    return {RouteStep::State::waiting, {}};
                case A::record:
                    s_.records.push_back(api_->record_call(a.arg != "stop"));
                    break;
            }
        }
        return {RouteStep::State::finished, {}};
    }
    RouteStep next_bridge() {
        if (s_.next_bridge >= s_.bridges.size()) return {RouteStep::State::finished, {}};
        const std::vector<std::string>& dests = s_.bridges[s_.next_bridge++];
        std::vector<std::string_view> views(dests.begin(), dests.end());
        api_->bridge(BridgeRequest{views, s_.timeout_s, s_.sequential, s_.media});
        return {RouteStep::State::waiting, {}};
    }
    RouterScript& s_;
    CallApi* api_ = nullptr;
};

struct RecordingSink final : CallRecordSink {
    void record(CallRecord r) override { records.push_back(std::move(r)); }
    std::vector<CallRecord> records;
};

// The shard's txn::ServerUser, as b2bua/server/src/sip_server.cpp dispatches.
struct ShardDispatch final : txn::ServerUser {
    void on_request(txn::ServerTxnId id, const sip::Message& req, const Flow& flow) override {
        if (CallManager::handles(req)) {
            calls->on_request(id, req, flow);
            return;
        }
        unhandled.emplace_back(req.raw());
    }
    void on_ack(const sip::Message& ack, const Flow& flow) override { calls->on_ack(ack, flow); }
    void on_transport_error(txn::ServerTxnId id) override { calls->on_server_gone(id); }
    void on_timeout(txn::ServerTxnId id) override { calls->on_server_gone(id); }
    CallManager* calls = nullptr;
    std::vector<std::string> unhandled;
};

// A registered phone: its extension, its address, its To tag when it answers.
struct Phone {
    std::string number;
    std::string address;  // "ip:port"
    std::string tag;
    std::string contact() const { return "sip:" + number + "@" + address; }
    Flow flow() const { return udp_flow_to(address); }
};

class CallTest : public ::testing::Test {
  protected:
    FakeClock clock;
    TimerWheel wheel{clock.now()};
    RecordingSender sender{clock};
    ShardDispatch dispatch;
    txn::TransactionLayer txns{clock, wheel, sender, dispatch};

    registrar::CredentialCache credentials;
    registrar::LocationService locations;
    auth::NonceManager nonces{clock, "0123456789abcdef0123456789abcdef"};
    auth::BanList bans{clock, auth::BanConfig{}};
    registrar::Authenticator authenticator{registrar::AuthConfig{}, credentials, nonces, bans};
    FakeMedia media;
    FakeMedia direct_media;  // per-call direct media (CallServices::direct_media)
    RecordingSink records;
    RouterScript script;
    std::unique_ptr<CallManager> calls;

    // 1002: one phone; 1003: two phones (forking); 1004: an extension with no binding;
    // 1005: one phone (the second destination of sequential tests). 1001 is the caller.
    Phone p1002{"1002", "192.0.2.20:5060", "b1002"};
    Phone p1003a{"1003", "192.0.2.31:5060", "b1003a"};
    Phone p1003b{"1003", "192.0.2.32:5062", "b1003b"};
    Phone p1005{"1005", "192.0.2.50:5060", "b1005"};

    // The caller's side of the current call.
    struct Caller {
        std::string call_id = "acall-1@192.0.2.10";
        std::string from_tag = "atag1";
        std::string branch = "z9hG4bKa-invite-1";
        std::string from = "\"Alice\" <sip:1001@pbx.example.com>";
        std::string to = "<sip:1002@pbx.example.com>";
        std::string address{kCaller};
        std::uint32_t cseq = 1;
        int branch_counter = 0;
    } a;

    CallConfig default_config() const {
        CallConfig c;
        c.trusted_peers.push_back(*Endpoint::from_string(kCaller));
        return c;
    }

    void SetUp() override {
        for (const char* n : {"1001", "1002", "1003", "1004", "1005"}) {
            registrar::Credential c;
            c.number = n;
            c.display_name = std::string("Ext ") + n;
            c.realm = "switchboard";
            c.ha1_md5 = "00000000000000000000000000000000";
            credentials.upsert(c);
        }
        for (const Phone* p : {&p1002, &p1003a, &p1003b, &p1005}) bind(*p);
        build(default_config());
    }

    void bind(const Phone& p) {
        std::int64_t now = clock.unix_seconds();
        locations.update("sip:" + p.number, now, [&](std::vector<registrar::Binding>& bs) {
            registrar::Binding b;
            b.aor = "sip:" + p.number;
            b.contact = p.contact();
            b.expires_at = now + 3600;
            b.call_id = "reg-" + p.tag;
            b.cseq = 1;
            b.received = p.flow();
            bs.push_back(std::move(b));
        });
    }

    void build(CallConfig config) {
        calls.reset();
        CallServices services{clock, authenticator, locations,    credentials,
                              media, &records,      &direct_media};
        calls = std::make_unique<CallManager>(std::move(config), services, txns, sender, wheel,
                                              std::make_unique<FakeRouter>(script), 0);
        dispatch.calls = calls.get();
    }

    void TearDown() override {
        calls.reset();
        dispatch.calls = nullptr;
    }

    // --- Time -----------------------------------------------------------------------------------

    std::int64_t now_ms() const { return clock.now().time_since_epoch().count(); }
    // Runs the event loop as an ideal one would: every timer fires at its deadline.
    void run_until(std::int64_t ms) {
        for (;;) {
            auto next = wheel.next_deadline();
            if (!next || next->time_since_epoch().count() > ms) break;
            if (*next > clock.now()) clock.advance(*next - clock.now());
            wheel.advance(clock.now());
        }
        if (Duration(ms) > clock.now().time_since_epoch())
            clock.advance(Duration(ms) - clock.now().time_since_epoch());
        wheel.advance(clock.now());
    }
    void run_for(Duration d) { run_until(now_ms() + d.count()); }
    void turn() { run_for(Duration(0)); }  // one loop turn: zero-delay timers fire

    // --- What was sent
    // ----------------------------------------------------------------------------

    using Sent = RecordingSender::Sent;
    // Messages sent to `address` whose first line starts with `start` ("INVITE ", "SIP/2.0 200",
    // "").
    std::vector<const Sent*> sent_to(std::string_view address, std::string_view start = "",
                                     std::size_t from_index = 0) const {
        std::vector<const Sent*> out;
        for (std::size_t i = from_index; i < sender.sent.size(); ++i) {
            const Sent& s = sender.sent[i];
            if (s.flow.remote.to_string() == address &&
                std::string_view(s.bytes).starts_with(start))
                out.push_back(&s);
        }
        return out;
    }
    std::size_t count_to(std::string_view address, std::string_view start) const {
        return sent_to(address, start).size();
    }
    // Requests of `method` sent to `address`, retransmissions not counted (distinct branches).
    std::size_t requests_to(std::string_view address, std::string_view method) const {
        std::vector<std::string> branches;
        for (const Sent* s : sent_to(address, std::string(method) + " ")) {
            std::string b(s->msg.top_via().branch);
            if (std::find(branches.begin(), branches.end(), b) == branches.end())
                branches.push_back(b);
        }
        return branches.size();
    }
    const sip::Message* last_to(std::string_view address, std::string_view start) const {
        auto v = sent_to(address, start);
        return v.empty() ? nullptr : &v.back()->msg;
    }
    const sip::Message* first_to(std::string_view address, std::string_view start) const {
        auto v = sent_to(address, start);
        return v.empty() ? nullptr : &v.front()->msg;
    }
    // Final and provisional statuses (not 100) of responses sent to the caller for CSeq method `m`.
    std::vector<int> statuses_to_caller(sip::Method m = sip::Method::INVITE) const {
        std::vector<int> out;
        for (const Sent* s : sent_to(a.address, "SIP/2.0 "))
            if (s->msg.cseq_method() == m && s->msg.status() != 100 &&
                s->msg.call_id() == a.call_id && (out.empty() || out.back() != s->msg.status()))
                out.push_back(s->msg.status());
        return out;
    }
    // The To tag the B2BUA gave the caller's dialog (from any response to the caller's INVITE).
    std::string caller_dialog_tag() const {
        for (const Sent* s : sent_to(a.address, "SIP/2.0 "))
            if (s->msg.call_id() == a.call_id && !s->msg.to_tag().empty())
                return std::string(s->msg.to_tag());
        return {};
    }

    // --- The caller ---------------------------------------------------------------------------

    void receive(const std::string& text, const Flow& flow) { txns.receive(parse_sip(text), flow); }
    void from_caller(const std::string& text) { receive(text, udp_flow_to(a.address)); }

    static std::string body_lines(std::string_view body,
                                  std::string_view content_type = "application/sdp") {
        std::string s;
        if (!body.empty()) s += "Content-Type: " + std::string(content_type) + "\r\n";
        s += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
        s += body;
        return s;
    }

    std::string caller_invite_text(std::string_view body = kSdpA,
                                   std::string_view extra = {}) const {
        std::string s = "INVITE sip:1002@pbx.example.com SIP/2.0\r\n";
        s += "Via: SIP/2.0/UDP " + a.address + ";branch=" + a.branch + "\r\n";
        s += "Max-Forwards: 70\r\n";
        s += "From: " + a.from + ";tag=" + a.from_tag + "\r\n";
        s += "To: " + a.to + "\r\n";
        s += "Call-ID: " + a.call_id + "\r\n";
        s += "CSeq: 1 INVITE\r\n";
        s += "Contact: <sip:1001@" + a.address + ">\r\n";
        s += extra;
        s += body_lines(body);
        return s;
    }
    void caller_invites(std::string_view body = kSdpA, std::string_view extra = {}) {
        from_caller(caller_invite_text(body, extra));
    }

    // A request from the caller within its dialog (To tag = the B2BUA's).
    std::string caller_in_dialog(std::string_view method, std::uint32_t cseq,
                                 std::string_view body = {}, std::string_view extra = {},
                                 std::string_view content_type = "application/sdp") {
        std::string branch =
            "z9hG4bKa-" + std::string(method) + "-" + std::to_string(++a.branch_counter);
        std::string s = std::string(method) + " sip:sb@" + std::string(kLocal) + " SIP/2.0\r\n";
        s += "Via: SIP/2.0/UDP " + a.address + ";branch=" + branch + "\r\n";
        s += "Max-Forwards: 70\r\n";
        s += "From: " + a.from + ";tag=" + a.from_tag + "\r\n";
        s += "To: " + a.to + ";tag=" + caller_dialog_tag() + "\r\n";
        s += "Call-ID: " + a.call_id + "\r\n";
        s += "CSeq: " + std::to_string(cseq) + " " + std::string(method) + "\r\n";
        if (method == "INVITE") s += "Contact: <sip:1001@" + a.address + ">\r\n";
        s += extra;
        s += body_lines(body, content_type);
        return s;
    }
    void caller_acks(std::uint32_t cseq = 1, std::string_view body = {}) {
        from_caller(caller_in_dialog("ACK", cseq, body));
    }
    void caller_byes() { from_caller(caller_in_dialog("BYE", ++a.cseq)); }
    void caller_reinvites(std::string_view body) {
        from_caller(caller_in_dialog("INVITE", ++a.cseq, body));
    }
    // CANCEL of the initial INVITE (RFC 3261 9.1: same branch, Call-ID, From, To, CSeq number).
    void caller_cancels() {
        std::string s = "CANCEL sip:1002@pbx.example.com SIP/2.0\r\n";
        s += "Via: SIP/2.0/UDP " + a.address + ";branch=" + a.branch + "\r\n";
        s += "Max-Forwards: 70\r\n";
        s += "From: " + a.from + ";tag=" + a.from_tag + "\r\n";
        s += "To: " + a.to + "\r\n";
        s += "Call-ID: " + a.call_id + "\r\n";
        s += "CSeq: 1 CANCEL\r\n";
        s += "Content-Length: 0\r\n\r\n";
        from_caller(s);
    }

    // --- The callees -------------------------------------------------------------------------

    // The latest INVITE (of CSeq `cseq`, 0: any) the B2BUA sent to the phone.
    const sip::Message* invite_to(const Phone& p, std::uint32_t cseq = 0) const {
        const sip::Message* found = nullptr;
        for (const Sent* s : sent_to(p.address, "INVITE "))
            if (cseq == 0 || s->msg.cseq() == cseq) found = &s->msg;
        return found;
    }

    // A response to `req` as the phone would send it: Via, From, To (with the phone's tag),
    // Call-ID and CSeq copied; a Contact for 1xx/2xx; an SDP body if given.
    static std::string response_text(const sip::Message& req, const Phone& p, int status,
                                     std::string_view body = {}, std::string_view extra = {}) {
        std::string s =
            "SIP/2.0 " + std::to_string(status) + " " + std::string(reason_of(status)) + "\r\n";
        for (const sip::HeaderField& f : req.headers())
            if (f.id == sip::HeaderId::via) s += "Via: " + std::string(f.value) + "\r\n";
        s += "From: " + std::string(req.from()) + "\r\n";
        s += "To: " + std::string(req.to());
        if (req.to_tag().empty() && status > 100) s += ";tag=" + p.tag;
        s += "\r\n";
        s += "Call-ID: " + std::string(req.call_id()) + "\r\n";
        s += "CSeq: " + std::string(req.cseq_raw()) + "\r\n";
        if (status > 100 && status < 300) s += "Contact: <" + p.contact() + ">\r\n";
        s += extra;
        s += body_lines(body);
        return s;
    }
    void phone_answers(const Phone& p, const sip::Message& req, int status,
                       std::string_view body = {}, std::string_view extra = {}) {
        receive(response_text(req, p, status, body, extra), p.flow());
    }
    // Answers the phone's (latest) INVITE.
    void phone_answers(const Phone& p, int status, std::string_view body = {},
                       std::string_view extra = {}) {
        const sip::Message* inv = invite_to(p);
        ASSERT_NE(inv, nullptr) << "no INVITE was sent to " << p.address;
        receive(response_text(*inv, p, status, body, extra), p.flow());
    }
    // A request from the phone within the dialog the B2BUA's INVITE formed.
    void phone_sends(const Phone& p, std::string_view method, std::uint32_t cseq,
                     std::string_view body = {},
                     std::string_view content_type = "application/sdp") {
        const sip::Message* inv = invite_to(p, 1);
        ASSERT_NE(inv, nullptr);
        std::string s = std::string(method) + " sip:sb@" + std::string(kLocal) + " SIP/2.0\r\n";
        s += "Via: SIP/2.0/UDP " + p.address + ";branch=z9hG4bKb-" + std::string(method) +
             std::to_string(cseq) + "\r\n";
        s += "Max-Forwards: 70\r\n";
        s += "From: " + std::string(inv->to()) + ";tag=" + p.tag + "\r\n";
        s += "To: " + std::string(inv->from()) + "\r\n";  // carries the B2BUA's tag
        s += "Call-ID: " + std::string(inv->call_id()) + "\r\n";
        s += "CSeq: " + std::to_string(cseq) + " " + std::string(method) + "\r\n";
        if (method == "INVITE") s += "Contact: <" + p.contact() + ">\r\n";
        s += body_lines(body, content_type);
        receive(s, p.flow());
    }
    // Answers the latest request of `method` the B2BUA sent to the phone (BYE, CANCEL ...).
    void phone_answers_request(const Phone& p, std::string_view method, int status) {
        const sip::Message* req = last_to(p.address, std::string(method) + " ");
        ASSERT_NE(req, nullptr) << "no " << method << " was sent to " << p.address;
        receive(response_text(*req, p, status), p.flow());
    }

    static std::string_view reason_of(int status) {
        switch (status) {
            case 100:
                return "Trying";
            case 180:
                return "Ringing";
            case 183:
                return "Session Progress";
            case 200:
                return "OK";
            case 480:
                return "Temporarily Unavailable";
            case 486:
                return "Busy Here";
            case 487:
                return "Request Terminated";
            case 491:
                return "Request Pending";
            case 603:
                return "Decline";
            default:
                return "Whatever";
        }
    }

    // --- Common openings ------------------------------------------------------------------------

    // A calls, 1002 rings and answers with kSdpB (and `extra` headers in its 200).
    void answered_call(std::string_view extra_200 = {}) {
        caller_invites();
        phone_answers(p1002, 180);
        phone_answers(p1002, 200, kSdpB, extra_200);
    }
    // ... and A acknowledges.
    void established_call(std::string_view extra_200 = {}) {
        answered_call(extra_200);
        caller_acks();
    }
};

}  // namespace sb::call::testing
