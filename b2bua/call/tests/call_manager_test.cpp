// The CallManager end to end on fakes: a real TransactionLayer on a FakeClock, a recording Sender,
// a scripted Router, direct media and real registrar services. Every test asserts on the SIP the
// B2BUA sent to the caller (A) and to the registered phones (B-legs).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include "fixture.h"

namespace sb::call {
// For comparing and printing outcomes in assertions (found by ADL).
inline bool operator==(const Outcome& x, const Outcome& y) {
    return x.result == y.result && x.code == y.code;
}
inline std::ostream& operator<<(std::ostream& os, const Outcome& o) {
    return os << to_string(o.result) << "/" << o.code;
}
}  // namespace sb::call

namespace sb::call::testing {
namespace {

std::string sdp_with(std::string_view base, std::string_view from, std::string_view to) {
    std::string s(base);
    s.replace(s.find(from), from.size(), to);
    return s;
}

std::vector<std::int64_t> times_of(const std::vector<const RecordingSender::Sent*>& v) {
    std::vector<std::int64_t> out;
    for (const auto* s : v) out.push_back(s->at_ms);
    return out;
}

// --- Basic call --------------------------------------------------------------------------------

TEST_F(CallTest, BasicCallRingsTheCalleeWithItsOwnDialogAndTheCallersOffer) {
    caller_invites();
    ASSERT_EQ(script.started.size(), 1u);
    EXPECT_EQ(script.caller_number, "1001");
    EXPECT_EQ(script.callee_number, "1002");
    EXPECT_FALSE(script.extension_number) << "a trusted peer's call has no calling extension";

    ASSERT_EQ(sent_to(p1002.address, "INVITE ").size(), 1u);
    const sip::Message* inv = invite_to(p1002);
    EXPECT_EQ(inv->request_uri_text(), p1002.contact());
    EXPECT_EQ(inv->body(), kSdpA);
    EXPECT_EQ(inv->value(sip::HeaderId::content_type), "application/sdp");
    EXPECT_NE(inv->call_id(), a.call_id) << "a B-leg has its own Call-ID";
    EXPECT_FALSE(inv->from_tag().empty());
    EXPECT_NE(inv->from_tag(), a.from_tag) << "a B-leg has its own From tag";
    EXPECT_EQ(shard_of_tag(inv->from_tag()), std::optional<std::size_t>(0));
    EXPECT_TRUE(inv->to_tag().empty());
    EXPECT_EQ(inv->max_forwards(), 69) << "RFC 3261 16.6 step 3: Max-Forwards decremented";
    EXPECT_EQ(inv->cseq(), 1u);
    EXPECT_EQ(inv->cseq_method(), sip::Method::INVITE);
    EXPECT_NE(inv->from().find("sip:1001@"), std::string_view::npos) << inv->from();
    EXPECT_NE(inv->find(sip::HeaderId::contact), nullptr);
}

TEST_F(CallTest, BasicCallRelaysRingingAndAnswerAndAcksTheCallee) {
    caller_invites();
    const sip::Message* inv = invite_to(p1002);
    ASSERT_NE(inv, nullptr);

    phone_answers(p1002, 180);
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180}));
    EXPECT_TRUE(script.outcomes.empty());

    phone_answers(p1002, 200, kSdpB);
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180, 200}));
    const sip::Message* ringing = first_to(a.address, "SIP/2.0 180");
    const sip::Message* ok = last_to(a.address, "SIP/2.0 200");
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->body(), kSdpB) << "the caller gets the callee's answer";
    EXPECT_EQ(ok->call_id(), a.call_id);
    EXPECT_EQ(ok->from_tag(), a.from_tag);
    EXPECT_FALSE(ok->to_tag().empty());
    EXPECT_EQ(ok->to_tag(), ringing->to_tag()) << "one dialog towards the caller";
    EXPECT_NE(ok->to_tag(), p1002.tag) << "the callee's tag must not leak to the caller";
    EXPECT_NE(ok->find(sip::HeaderId::contact), nullptr);

    const sip::Message* ack = last_to(p1002.address, "ACK ");
    ASSERT_NE(ack, nullptr) << "RFC 3261 13.2.2.4: the 2xx is ACKed";
    EXPECT_EQ(ack->call_id(), inv->call_id());
    EXPECT_EQ(ack->from_tag(), inv->from_tag());
    EXPECT_EQ(ack->to_tag(), p1002.tag);
    EXPECT_EQ(ack->cseq(), 1u);
    EXPECT_EQ(ack->cseq_method(), sip::Method::ACK);
    EXPECT_EQ(ack->request_uri_text(), p1002.contact()) << "ACK goes to the 2xx's Contact";
    EXPECT_NE(ack->top_via().branch, inv->top_via().branch)
        << "the ACK for a 2xx is its own transaction";

    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::answered, 200}}));
    EXPECT_EQ(calls->active_calls(), 1u);
}

// --- The caller's 2xx and its ACK (RFC 3261 13.3.1.4) -----------------------------------------

TEST_F(CallTest, CallersTwoHundredIsRetransmittedUntilItsAck) {
    answered_call();
    run_until(4000);
    auto oks = sent_to(a.address, "SIP/2.0 200");
    EXPECT_EQ(times_of(oks), (std::vector<std::int64_t>{0, 500, 1500, 3500}))
        << "T1, then doubling";
    for (const auto* s : oks)
        EXPECT_EQ(s->bytes, oks.front()->bytes) << "a retransmission is the same response";

    caller_acks();
    run_for(60s);
    EXPECT_EQ(count_to(a.address, "SIP/2.0 200"), 4u) << "no retransmission after the ACK";
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u);
    EXPECT_EQ(requests_to(p1002.address, "BYE"), 0u);
    EXPECT_EQ(calls->active_calls(), 1u);
}

TEST_F(CallTest, NoAckForTheCallersTwoHundredEndsTheCallWithByeToBothLegs) {
    answered_call();
    run_until(31'999);
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u);
    EXPECT_EQ(requests_to(p1002.address, "BYE"), 0u);
    auto times = times_of(sent_to(a.address, "SIP/2.0 200"));
    ASSERT_GE(times.size(), 6u);
    for (std::size_t i = 1; i < times.size(); ++i) {
        EXPECT_GT(times[i] - times[i - 1], 0);
        EXPECT_LE(times[i] - times[i - 1], 4000) << "the interval is capped at T2";
    }
    EXPECT_EQ(times[4] - times[3], 4000);

    run_until(33'000);
    EXPECT_EQ(requests_to(a.address, "BYE"), 1u)
        << "13.3.1.4: after 64*T1 without ACK the session ends";
    EXPECT_EQ(requests_to(p1002.address, "BYE"), 1u);
    auto bye_b = sent_to(p1002.address, "BYE ");
    ASSERT_FALSE(bye_b.empty());
    EXPECT_GE(bye_b.front()->at_ms, 32'000);
}

// --- Hanging up ---------------------------------------------------------------------------------

TEST_F(CallTest, ResponsesThatMakeTheCallersDialogCarryItsRecordRoute) {
    // RFC 3261 12.1.1: every Record-Route value of the INVITE, in order, in the 1xx and 2xx.
    const std::string rr =
        "Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr;ftag=x>\r\n"
        "Record-Route: <sip:192.0.2.99:5070;lr>\r\n";
    caller_invites(kSdpA, rr);
    phone_answers(p1002, 180);
    phone_answers(p1002, 200, kSdpB);
    for (std::string_view start : {"SIP/2.0 180", "SIP/2.0 200"}) {
        const sip::Message* resp = last_to(a.address, start);
        ASSERT_NE(resp, nullptr) << start;
        std::vector<std::string> values;
        for (const sip::HeaderField& f : resp->headers())
            if (f.id == sip::HeaderId::record_route) values.emplace_back(f.value);
        EXPECT_EQ(values, (std::vector<std::string>{
                              "<sip:p1.example.com;lr>, <sip:p2.example.com;lr;ftag=x>",
                              "<sip:192.0.2.99:5070;lr>"}))
            << start;
    }
    caller_acks();
    // And our requests in that dialog follow the route set (12.2.1.1).
    phone_sends(p1002, "BYE", 1);
    const sip::Message* bye = last_to(a.address, "BYE ");
    ASSERT_NE(bye, nullptr);
    std::vector<std::string> routes;
    bye->for_each_value(sip::HeaderId::route, [&](std::string_view v) {
        routes.emplace_back(v);
        return true;
    });
    EXPECT_EQ(routes,
              (std::vector<std::string>{"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr;ftag=x>",
                                        "<sip:192.0.2.99:5070;lr>"}));
}

TEST_F(CallTest, FailureResponsesCarryNoRecordRoute) {
    caller_invites(kSdpA, "Record-Route: <sip:p1.example.com;lr>\r\n");
    phone_answers(p1002, 486);
    const sip::Message* busy = last_to(a.address, "SIP/2.0 486");
    ASSERT_NE(busy, nullptr);
    EXPECT_EQ(busy->find(sip::HeaderId::record_route), nullptr) << "no dialog: nothing to route";
}

TEST_F(CallTest, ByeFromCallerIsRelayedToCallee) {
    established_call();
    const sip::Message* inv = invite_to(p1002);
    caller_byes();

    EXPECT_EQ(statuses_to_caller(sip::Method::BYE), (std::vector<int>{200}));
    const sip::Message* bye = last_to(p1002.address, "BYE ");
    ASSERT_NE(bye, nullptr);
    EXPECT_EQ(bye->call_id(), inv->call_id());
    EXPECT_EQ(bye->from_tag(), inv->from_tag());
    EXPECT_EQ(bye->to_tag(), p1002.tag);
    EXPECT_EQ(bye->cseq(), 2u);
    EXPECT_EQ(bye->request_uri_text(), p1002.contact());
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u) << "the caller hung up itself";

    phone_answers_request(p1002, "BYE", 200);
    turn();
    EXPECT_EQ(calls->active_calls(), 0u);
    ASSERT_EQ(records.records.size(), 1u);
    const CallRecord& r = records.records.front();
    EXPECT_EQ(r.a_status, 200);
    EXPECT_EQ(r.call_id, a.call_id);
    EXPECT_EQ(r.caller, "1001");
    EXPECT_EQ(r.callee, "1002");
    EXPECT_NE(r.answered_at, 0);
    EXPECT_EQ(r.end_reason, "caller hung up");
    ASSERT_EQ(r.legs.size(), 1u);
    EXPECT_EQ(r.legs[0].destination, "1002");
    EXPECT_EQ(r.legs[0].status, 200);
}

TEST_F(CallTest, ByeFromCalleeIsRelayedToCaller) {
    established_call();
    phone_sends(p1002, "BYE", 1);

    auto to_b = sent_to(p1002.address, "SIP/2.0 200");
    ASSERT_FALSE(to_b.empty());
    EXPECT_EQ(to_b.back()->msg.cseq_method(), sip::Method::BYE)
        << "the callee's BYE is answered 200";
    const sip::Message* bye = last_to(a.address, "BYE ");
    ASSERT_NE(bye, nullptr);
    EXPECT_EQ(bye->call_id(), a.call_id);
    EXPECT_EQ(bye->from_tag(), caller_dialog_tag()) << "our tag in the caller's dialog";
    EXPECT_EQ(bye->to_tag(), a.from_tag);
    EXPECT_EQ(bye->request_uri_text(), "sip:1001@" + a.address) << "the caller's Contact";
    EXPECT_EQ(requests_to(p1002.address, "BYE"), 0u) << "the callee hung up itself";

    Phone caller{"1001", a.address, a.from_tag};
    receive(response_text(*bye, caller, 200), caller.flow());
    turn();
    ASSERT_EQ(records.records.size(), 1u);
    EXPECT_EQ(records.records[0].end_reason, "callee hung up");
}

// --- Failures of the bridge -------------------------------------------------------------------

TEST_F(CallTest, BusyCalleeGivesTheCallerBusy) {
    caller_invites();
    phone_answers(p1002, 180);
    phone_answers(p1002, 486);
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::busy, 486}}));
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180, 486}));
    EXPECT_EQ(count_to(p1002.address, "ACK "), 1u) << "17.1.1.3: the non-2xx is ACKed";
    EXPECT_EQ(requests_to(p1002.address, "CANCEL"), 0u);

    turn();
    ASSERT_EQ(records.records.size(), 1u);
    EXPECT_EQ(records.records[0].a_status, 486);
    ASSERT_EQ(records.records[0].legs.size(), 1u);
    EXPECT_EQ(records.records[0].legs[0].status, 486);
}

class ToneBeforeFailureTest : public CallTest {
  protected:
    // The callee answers `status`; with busy_tone_seconds = 3 the caller hears `tone` as early
    // media first, then gets `to_caller`.
    void check(int status, const std::string& tone, int to_caller) {
        CallConfig config = default_config();
        config.busy_tone_s = 3;
        build(config);
        media.anchors = true;
        caller_invites();
        phone_answers(p1002, status);
        EXPECT_TRUE(media.saw(tone));
        const std::string final_line = "SIP/2.0 " + std::to_string(to_caller);
        EXPECT_EQ(count_to(a.address, final_line), 0u) << "the tone first";
        run_until(now_ms() + 3000);
        EXPECT_EQ(count_to(a.address, final_line), 1u);
    }
};

TEST_F(ToneBeforeFailureTest, ABusyCalleeGivesTheBusyTone) {
    check(486, "play_tone 0 busy", 486);
}

TEST_F(ToneBeforeFailureTest, AFailedServerGivesTheCongestionTone) {
    check(503, "play_tone 0 congestion", 500);  // 503 is not passed on (RFC 3261 16.7)
}

TEST_F(CallTest, BridgeTimeoutCancelsTheCalleeAndTheCallerGets480) {
    script.timeout_s = 5;
    caller_invites();
    const sip::Message* inv = invite_to(p1002);
    phone_answers(p1002, 180);
    run_until(4999);
    EXPECT_EQ(requests_to(p1002.address, "CANCEL"), 0u);
    EXPECT_TRUE(script.outcomes.empty());

    run_until(5000);
    const sip::Message* cancel = last_to(p1002.address, "CANCEL ");
    ASSERT_NE(cancel, nullptr);
    EXPECT_EQ(cancel->top_via().branch, inv->top_via().branch) << "RFC 3261 9.1";
    EXPECT_EQ(cancel->call_id(), inv->call_id());
    EXPECT_EQ(cancel->cseq(), 1u);
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::noanswer, 480}}));
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180, 480}))
        << "the router finished after noanswer";

    phone_answers_request(p1002, "CANCEL", 200);
    phone_answers(p1002, 487);
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180, 480}));
    turn();
    ASSERT_EQ(records.records.size(), 1u);
    EXPECT_EQ(records.records[0].a_status, 480);
    ASSERT_EQ(records.records[0].legs.size(), 1u);
    EXPECT_EQ(records.records[0].legs[0].status, 487);
}

TEST_F(CallTest, RouterMayBridgeAgainAfterNoAnswerAndTheCallerHearsNothingMeanwhile) {
    script.timeout_s = 5;
    script.bridges = {{"1002"}, {"1005"}};
    caller_invites();
    phone_answers(p1002, 180);
    run_until(5000);
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::noanswer, 480}}));
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180}))
        << "routing goes on: no final response yet";
    ASSERT_NE(invite_to(p1005), nullptr);
    phone_answers(p1005, 200, kSdpB);
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180, 200}));
    EXPECT_EQ(script.outcomes.back(), (Outcome{BridgeResult::answered, 200}));
}

// --- Forking (several bindings of one extension) -----------------------------------------------

TEST_F(CallTest, ForkingFirstTwoHundredWinsAndTheOtherForkIsCancelled) {
    script.bridges = {{"1003"}};
    caller_invites();
    const sip::Message* inv_a = invite_to(p1003a);
    const sip::Message* inv_b = invite_to(p1003b);
    ASSERT_NE(inv_a, nullptr);
    ASSERT_NE(inv_b, nullptr);
    EXPECT_NE(inv_a->call_id(), inv_b->call_id()) << "each B-leg is its own dialog";
    EXPECT_NE(inv_a->from_tag(), inv_b->from_tag());
    EXPECT_EQ(inv_a->request_uri_text(), p1003a.contact());
    EXPECT_EQ(inv_b->request_uri_text(), p1003b.contact());

    phone_answers(p1003a, 180);
    phone_answers(p1003b, 180);
    phone_answers(p1003b, 200, kSdpB);

    const sip::Message* ok = last_to(a.address, "SIP/2.0 200");
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->body(), kSdpB);
    EXPECT_EQ(count_to(p1003b.address, "ACK "), 1u);
    EXPECT_EQ(requests_to(p1003b.address, "CANCEL"), 0u);
    const sip::Message* cancel = last_to(p1003a.address, "CANCEL ");
    ASSERT_NE(cancel, nullptr) << "the losing fork is cancelled";
    EXPECT_EQ(cancel->top_via().branch, inv_a->top_via().branch);
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::answered, 200}}));

    phone_answers_request(p1003a, "CANCEL", 200);
    phone_answers(p1003a, 487);
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180, 200}));
    caller_acks();
    caller_byes();
    phone_answers_request(p1003b, "BYE", 200);
    turn();
    ASSERT_EQ(records.records.size(), 1u);
    const CallRecord& r = records.records[0];
    ASSERT_EQ(r.legs.size(), 2u);
    auto leg_for = [&](const Phone& p) {
        auto it = std::find_if(r.legs.begin(), r.legs.end(),
                               [&](const LegRecord& l) { return l.target == p.contact(); });
        return it == r.legs.end() ? LegRecord{} : *it;
    };
    EXPECT_EQ(leg_for(p1003b).status, 200);
    EXPECT_EQ(leg_for(p1003a).status, 487);
    EXPECT_EQ(leg_for(p1003a).destination, "1003");
}

TEST_F(CallTest, ForkingLateTwoHundredAfterCancelIsAckedThenReleasedWithBye) {
    script.bridges = {{"1003"}};
    caller_invites();
    phone_answers(p1003a, 180);
    phone_answers(p1003b, 180);
    phone_answers(p1003a, 200, kSdpB);
    ASSERT_EQ(requests_to(p1003b.address, "CANCEL"), 1u);
    phone_answers_request(p1003b, "CANCEL", 200);

    // The CANCEL crossed the phone's answer.
    std::string late_sdp = sdp_with(kSdpB, "192.0.2.20", "192.0.2.32");
    phone_answers(p1003b, 200, late_sdp);

    auto to_b = sent_to(p1003b.address);
    auto ack_at = std::find_if(to_b.begin(), to_b.end(),
                               [](auto* s) { return s->bytes.starts_with("ACK "); });
    auto bye_at = std::find_if(to_b.begin(), to_b.end(),
                               [](auto* s) { return s->bytes.starts_with("BYE "); });
    ASSERT_NE(ack_at, to_b.end()) << "the late 2xx is ACKed";
    ASSERT_NE(bye_at, to_b.end()) << "and its dialog ended";
    EXPECT_LT(ack_at - to_b.begin(), bye_at - to_b.begin()) << "ACK first, then BYE";
    EXPECT_EQ((*ack_at)->msg.to_tag(), p1003b.tag);
    EXPECT_EQ((*ack_at)->msg.cseq(), 1u);
    EXPECT_EQ((*bye_at)->msg.to_tag(), p1003b.tag);
    EXPECT_EQ((*bye_at)->msg.call_id(), invite_to(p1003b)->call_id());
    EXPECT_EQ((*bye_at)->msg.request_uri_text(), p1003b.contact());

    for (const auto* s : sent_to(a.address, "SIP/2.0 200"))
        EXPECT_EQ(s->msg.body(), kSdpB) << "only the winner's answer";
    EXPECT_EQ(requests_to(p1003a.address, "BYE"), 0u) << "the winner stays up";
    EXPECT_EQ(calls->active_calls(), 1u);

    // The loser retransmits its 2xx (its ACK got lost): ACKed again, no second BYE.
    phone_answers(p1003b, 200, late_sdp);
    EXPECT_EQ(count_to(p1003b.address, "ACK "), 2u);
    EXPECT_EQ(requests_to(p1003b.address, "BYE"), 1u);
}

TEST_F(CallTest, ForkingSixHundredFromOneForkCancelsTheOther) {
    script.bridges = {{"1003"}};
    caller_invites();
    phone_answers(p1003a, 180);
    phone_answers(p1003b, 180);
    phone_answers(p1003a, 603);

    EXPECT_EQ(requests_to(p1003b.address, "CANCEL"), 1u) << "RFC 3261 16.7 step 5";
    ASSERT_EQ(script.outcomes.size(), 1u);
    EXPECT_EQ(script.outcomes[0].code, 603);
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180, 603}));
    phone_answers_request(p1003b, "CANCEL", 200);
    phone_answers(p1003b, 487);
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180, 603}));
}

// --- Sequential bridges ------------------------------------------------------------------------

TEST_F(CallTest, SequentialRingsTheSecondOnlyAfterTheFirstFailed) {
    script.bridges = {{"1002", "1005"}};
    script.sequential = true;
    script.timeout_s = 5;
    caller_invites();
    ASSERT_NE(invite_to(p1002), nullptr);
    EXPECT_EQ(invite_to(p1005), nullptr) << "one destination at a time";
    phone_answers(p1002, 180);
    phone_answers(p1002, 486);
    ASSERT_NE(invite_to(p1005), nullptr) << "the next destination after the first one's failure";
    EXPECT_TRUE(script.outcomes.empty()) << "one bridge: one outcome at the end";
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180}));

    phone_answers(p1005, 200, kSdpB);
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::answered, 200}}));
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180, 200}));
}

TEST_F(CallTest, SequentialRingsTheSecondAfterTheFirstsTimeout) {
    script.bridges = {{"1002", "1005"}};
    script.sequential = true;
    script.timeout_s = 5;
    caller_invites();
    phone_answers(p1002, 180);
    run_until(4999);
    EXPECT_EQ(invite_to(p1005), nullptr);
    run_until(5000);
    EXPECT_EQ(requests_to(p1002.address, "CANCEL"), 1u);
    ASSERT_NE(invite_to(p1005), nullptr);
    EXPECT_TRUE(script.outcomes.empty());

    phone_answers(p1005, 180);
    run_until(10'000);
    EXPECT_EQ(requests_to(p1005.address, "CANCEL"), 1u);
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::noanswer, 480}}));
    EXPECT_EQ(statuses_to_caller().back(), 480);
}

// --- Destinations that cannot ring
// ----------------------------------------------------------------

TEST_F(CallTest, UnknownExtensionIsUnavailable404) {
    script.bridges = {{"9999"}};
    caller_invites();
    EXPECT_TRUE(script.outcomes.empty()) << "the outcome never comes from inside Router::start";
    turn();
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::unavailable, 404}}));
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{404}));
    for (const auto& s : sender.sent) EXPECT_FALSE(s.bytes.starts_with("INVITE ")) << s.bytes;
}

TEST_F(CallTest, ExtensionWithoutBindingIsUnavailable480) {
    script.bridges = {{"1004"}};
    caller_invites();
    turn();
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::unavailable, 480}}));
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{480}));
    for (const auto& s : sender.sent) EXPECT_FALSE(s.bytes.starts_with("INVITE ")) << s.bytes;
}

// An offer the media engine cannot relay: nothing it takes (488, what the phone can act on by
// offering other codecs), or no media port left (503), never an INVITE to the callee.
TEST_F(CallTest, ACallerOfferWithNothingWeTakeIs488) {
    media.offer_error =
        Error{media::media_error::not_acceptable, "no audio stream with a codec in common"};
    script.bridges = {{"1003"}};  // two bindings: both fail the same way
    caller_invites();
    turn();
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::failed, 488}}));
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{488}));
    for (const auto& s : sender.sent) EXPECT_FALSE(s.bytes.starts_with("INVITE ")) << s.bytes;
}

// (The destination's 503 reaches the caller as 500, as any 503 does: RFC 3261 16.7.)
TEST_F(CallTest, NoMediaPortLeftIs503ForTheDestination) {
    media.offer_error = Error{media::media_error::no_resources, "no media port: range exhausted"};
    script.bridges = {{"1002"}};
    caller_invites();
    turn();
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::unavailable, 503}}));
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{500}));
}

// No media ports left: a new call is refused at once with 503 and Retry-After, before the
// dialplan or any phone; calls are taken again once ports are free.
TEST_F(CallTest, NoMediaCapacityRefusesNewCallsWith503) {
    media.capacity = false;
    caller_invites();
    const sip::Message* refused = last_to(a.address, "SIP/2.0 503");
    ASSERT_NE(refused, nullptr);
    EXPECT_NE(refused->find(sip::HeaderId::retry_after), nullptr);
    EXPECT_EQ(media.sessions, 0);
    EXPECT_EQ(requests_to(p1002.address, "INVITE"), 0u);
    EXPECT_EQ(calls->active_calls(), 0u);

    media.capacity = true;
    a.branch = "z9hG4bKa-invite-again";
    a.call_id = "again@192.0.2.10";
    caller_invites();
    EXPECT_NE(invite_to(p1002), nullptr) << "ports free again: the call goes through";
}

// A callee's 200 whose SDP we cannot take: the callee is ACKed and released with BYE, the
// caller never gets a 200 without an answer, and the destination counts as 488.
TEST_F(CallTest, ACalleesAnswerWeCannotTakeReleasesItAndCountsAs488) {
    script.bridges = {{"1002"}};
    caller_invites();
    phone_answers(p1002, 180);
    media.answer_error = Error{media::media_error::not_acceptable, "the answer accepts nothing"};
    phone_answers(p1002, 200, kSdpB);
    EXPECT_EQ(count_to(p1002.address, "ACK "), 1u);
    EXPECT_EQ(requests_to(p1002.address, "BYE"), 1u);
    EXPECT_TRUE(media.saw("release 1"));
    turn();
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::failed, 488}}));
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180, 488}));
    phone_answers_request(p1002, "BYE", 200);
    turn();
    ASSERT_EQ(records.records.size(), 1u);
    ASSERT_EQ(records.records[0].legs.size(), 1u);
    EXPECT_EQ(records.records[0].legs[0].status, 488);
    EXPECT_NE(records.records[0].legs[0].reason.find("refused"), std::string::npos);
}

// --- CANCEL from the caller
// ------------------------------------------------------------------------

TEST_F(CallTest, CallerCancelWhileRinging) {
    caller_invites();
    const sip::Message* inv = invite_to(p1002);
    phone_answers(p1002, 180);
    caller_cancels();

    EXPECT_EQ(statuses_to_caller(sip::Method::CANCEL), (std::vector<int>{200}));
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{180, 487}));
    const sip::Message* cancel = last_to(p1002.address, "CANCEL ");
    ASSERT_NE(cancel, nullptr);
    EXPECT_EQ(cancel->top_via().branch, inv->top_via().branch);
    EXPECT_EQ(script.cancelled, (std::vector<std::uint64_t>{script.started.at(0)}))
        << "the router is told";

    phone_answers_request(p1002, "CANCEL", 200);
    phone_answers(p1002, 487);
    turn();
    EXPECT_EQ(calls->active_calls(), 0u);
    ASSERT_EQ(records.records.size(), 1u);
    EXPECT_EQ(records.records[0].a_status, 487);
    EXPECT_EQ(records.records[0].end_reason, "caller cancelled");
}

// --- Requests within the dialog
// -------------------------------------------------------------------

TEST_F(CallTest, ReInviteFromCallerIsRelayedWithTheCalleesDialog) {
    established_call();
    const sip::Message* first = invite_to(p1002, 1);
    std::string hold = sdp_with(kSdpA, "a=sendrecv", "a=sendonly");
    caller_reinvites(hold);

    const sip::Message* re = invite_to(p1002, 2);
    ASSERT_NE(re, nullptr);
    EXPECT_EQ(re->call_id(), first->call_id());
    EXPECT_EQ(re->from_tag(), first->from_tag());
    EXPECT_EQ(re->to_tag(), p1002.tag);
    EXPECT_EQ(re->request_uri_text(), p1002.contact());
    EXPECT_EQ(re->body(), hold);
    EXPECT_NE(re->top_via().branch, first->top_via().branch);

    std::string held = sdp_with(kSdpB, "a=sendrecv", "a=recvonly");
    phone_answers(p1002, *re, 200, held);

    std::vector<const sip::Message*> oks;
    for (const auto* s : sent_to(a.address, "SIP/2.0 200"))
        if (s->msg.cseq() == 2) oks.push_back(&s->msg);
    ASSERT_EQ(oks.size(), 1u);
    EXPECT_EQ(oks[0]->cseq_method(), sip::Method::INVITE);
    EXPECT_EQ(oks[0]->body(), held);
    EXPECT_EQ(oks[0]->to_tag(), caller_dialog_tag());
    const sip::Message* ack = last_to(p1002.address, "ACK ");
    ASSERT_NE(ack, nullptr);
    EXPECT_EQ(ack->cseq(), 2u) << "the callee's 2xx to the re-INVITE is ACKed";

    caller_acks(2);
    run_for(40s);
    std::size_t n = 0;
    for (const auto* s : sent_to(a.address, "SIP/2.0 200")) n += s->msg.cseq() == 2;
    EXPECT_EQ(n, 1u) << "ACKed: not retransmitted";
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u);
    EXPECT_EQ(requests_to(p1002.address, "BYE"), 0u);
}

// The callee's answer to a relayed re-INVITE that the media engine refuses: the caller gets 488
// and keeps its session, never the callee's own SDP; the callee's 2xx is ACKed.
TEST_F(CallTest, ARelayedReInvitesAnswerWeCannotTakeIs488NotTheCalleesSdp) {
    established_call();
    caller_reinvites(sdp_with(kSdpA, "o=alice 1 1", "o=alice 1 2"));
    const sip::Message* re = invite_to(p1002, 2);
    ASSERT_NE(re, nullptr);
    media.answer_error = Error{media::media_error::not_acceptable, "the answer accepts nothing"};
    phone_answers(p1002, *re, 200, sdp_with(kSdpB, "o=bob 1 1", "o=bob 1 2"));
    const sip::Message* refused = last_to(a.address, "SIP/2.0 488");
    ASSERT_NE(refused, nullptr);
    EXPECT_EQ(refused->cseq(), 2u);
    for (const auto* s : sent_to(a.address, "SIP/2.0 200"))
        EXPECT_EQ(s->msg.body().find("o=bob 1 2"), std::string_view::npos) << s->msg.body();
    const sip::Message* ack = last_to(p1002.address, "ACK ");
    ASSERT_NE(ack, nullptr);
    EXPECT_EQ(ack->cseq(), 2u);
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u) << "the call goes on with the session it had";
    EXPECT_EQ(requests_to(p1002.address, "BYE"), 0u);
}

TEST_F(CallTest, GlareSecondReInviteWhileOneIsPendingGets491) {
    established_call();
    std::string hold = sdp_with(kSdpA, "a=sendrecv", "a=sendonly");
    caller_reinvites(hold);  // CSeq 2, pending at the callee
    ASSERT_NE(invite_to(p1002, 2), nullptr);
    caller_reinvites(hold);  // CSeq 3
    std::vector<int> cseq3;
    for (const auto* s : sent_to(a.address, "SIP/2.0 "))
        if (s->msg.cseq() == 3) cseq3.push_back(s->msg.status());
    EXPECT_EQ(cseq3, (std::vector<int>{491})) << "RFC 3261 14.1";
    EXPECT_EQ(invite_to(p1002, 3), nullptr);
    EXPECT_EQ(requests_to(p1002.address, "INVITE"), 2u);

    // The first one still completes.
    phone_answers(p1002, *invite_to(p1002, 2), 200, kSdpB);
    std::vector<int> cseq2;
    for (const auto* s : sent_to(a.address, "SIP/2.0 "))
        if (s->msg.cseq() == 2 && s->msg.status() != 100) cseq2.push_back(s->msg.status());
    EXPECT_EQ(cseq2, (std::vector<int>{200}));
}

TEST_F(CallTest, GlareCalleesReInviteCrossingOursGets491) {
    // The callee's re-INVITE arrives while the caller's, which we relayed to it, is pending:
    // RFC 3261 14.1 glare, answered 491 rather than relayed (two offer/answer exchanges would
    // cross through the media session).
    established_call();
    std::string hold = sdp_with(kSdpA, "a=sendrecv", "a=sendonly");
    caller_reinvites(hold);  // relayed to the callee as CSeq 2, pending there
    ASSERT_NE(invite_to(p1002, 2), nullptr);

    phone_sends(p1002, "INVITE", 1, kSdpB);  // the callee's own re-INVITE crosses ours
    bool got_491 = false;
    for (const auto* s : sent_to(p1002.address, "SIP/2.0 491"))
        got_491 |= s->msg.cseq_method() == sip::Method::INVITE;
    EXPECT_TRUE(got_491);
    EXPECT_EQ(requests_to(a.address, "INVITE"), 0u) << "not relayed to the caller";
}

// --- Late offer (the caller's INVITE has no SDP) -----------------------------------------------

TEST_F(CallTest, LateOfferCalleesOfferGoesToCallerAndTheAckCarriesTheCallersAnswer) {
    caller_invites("");
    const sip::Message* inv = invite_to(p1002);
    ASSERT_NE(inv, nullptr);
    EXPECT_TRUE(inv->body().empty());
    phone_answers(p1002, 180);
    phone_answers(p1002, 200, kSdpB);

    const sip::Message* ok = last_to(a.address, "SIP/2.0 200");
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->body(), kSdpB) << "the callee's offer";
    EXPECT_EQ(count_to(p1002.address, "ACK "), 0u) << "the ACK waits for the caller's answer";
    // The callee retransmits its 2xx meanwhile: still no answer to ACK with.
    phone_answers(p1002, 200, kSdpB);
    EXPECT_EQ(count_to(p1002.address, "ACK "), 0u);

    caller_acks(1, kSdpA);
    const sip::Message* ack = last_to(p1002.address, "ACK ");
    ASSERT_NE(ack, nullptr);
    EXPECT_EQ(ack->cseq(), 1u);
    EXPECT_EQ(ack->body(), kSdpA);
    EXPECT_EQ(ack->value(sip::HeaderId::content_type), "application/sdp");
    EXPECT_EQ(ack->to_tag(), p1002.tag);
}

// The caller's answer in its ACK that the media engine refuses: the callee's 2xx is still ACKed
// (it would retransmit forever), and with an offer left unanswered the call ends on both sides.
TEST_F(CallTest, LateOfferAnAnswerInTheAckWeCannotTakeEndsTheCall) {
    caller_invites("");
    ASSERT_NE(invite_to(p1002), nullptr);
    phone_answers(p1002, 200, kSdpB);
    media.answer_error = Error{media::media_error::not_acceptable, "the answer accepts nothing"};
    caller_acks(1, kSdpA);
    const sip::Message* ack = last_to(p1002.address, "ACK ");
    ASSERT_NE(ack, nullptr);
    EXPECT_TRUE(ack->body().empty()) << "never the caller's own SDP";
    EXPECT_EQ(requests_to(p1002.address, "BYE"), 1u);
    EXPECT_EQ(requests_to(a.address, "BYE"), 1u);
}

TEST_F(CallTest, LateOfferTheCalleesRefreshOffersTheAnswerItGotInTheAck) {
    caller_invites("");
    phone_answers(p1002, 200, kSdpB, "Session-Expires: 90;refresher=uac\r\nRequire: timer\r\n");
    caller_acks(1, kSdpA);
    ASSERT_EQ(last_to(p1002.address, "ACK ")->body(), kSdpA);
    run_until(45'000);
    const sip::Message* re = invite_to(p1002, 2);
    ASSERT_NE(re, nullptr);
    EXPECT_EQ(re->body(), kSdpA) << "an offer, so that its 2xx needs no answer in our ACK";
}

// --- Timers of an established call ----------------------------------------------------------

TEST_F(CallTest, SessionTimerWithoutRefreshFromCalleeEndsTheCall) {
    // The session expires on a leg we only watch (refresher=uas on the B-leg): both legs get
    // BYE, the silent one too (RFC 4028 10: the side that notices the expiry sends BYE).
    established_call("Session-Expires: 90;refresher=uas\r\nRequire: timer\r\n");
    run_until(59'000);
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u);
    EXPECT_EQ(requests_to(p1002.address, "BYE"), 0u);
    EXPECT_EQ(requests_to(p1002.address, "INVITE"), 1u) << "the callee refreshes, not us";
    EXPECT_EQ(requests_to(p1002.address, "UPDATE"), 0u);

    run_until(90'000);
    EXPECT_EQ(requests_to(a.address, "BYE"), 1u) << "the session expired (RFC 4028 10)";
    EXPECT_EQ(requests_to(p1002.address, "BYE"), 1u);
}

TEST_F(CallTest, SessionTimerRefreshFromCalleeKeepsTheCall) {
    established_call("Session-Expires: 90;refresher=uas\r\nRequire: timer\r\n");
    run_until(40'000);
    phone_sends(p1002, "INVITE", 1, kSdpB);  // the refresh, relayed to the caller
    const sip::Message* re = last_to(a.address, "INVITE ");
    ASSERT_NE(re, nullptr);
    Phone caller{"1001", a.address, a.from_tag};
    receive(response_text(*re, caller, 200, kSdpA), caller.flow());
    EXPECT_EQ(count_to(a.address, "ACK "), 1u);
    phone_sends(p1002, "ACK", 1);
    // Refreshed at 40 s: expires at 130 s; the watcher's BYE comes 30 s before that.
    run_until(99'000);
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u);
    EXPECT_EQ(requests_to(p1002.address, "BYE"), 0u);
}

TEST_F(CallTest, SessionTimerWeRefreshTheCalleeWhenItAsksUsTo) {
    established_call("Session-Expires: 90;refresher=uac\r\nRequire: timer\r\n");
    run_until(44'999);
    EXPECT_EQ(requests_to(p1002.address, "INVITE"), 1u);
    run_until(45'000);
    const sip::Message* re = invite_to(p1002, 2);
    ASSERT_NE(re, nullptr) << "RFC 4028 10: the refresher refreshes at half the interval";
    EXPECT_EQ(re->to_tag(), p1002.tag);
    EXPECT_NE(re->value(sip::HeaderId::session_expires).find("90"), std::string_view::npos);
    EXPECT_EQ(re->body(), kSdpA) << "the same session description again";
    phone_answers(p1002, *re, 200, kSdpB, "Session-Expires: 90;refresher=uac\r\n");
    const sip::Message* ack = last_to(p1002.address, "ACK ");
    ASSERT_NE(ack, nullptr);
    EXPECT_EQ(ack->cseq(), 2u);
    EXPECT_EQ(requests_to(a.address, "INVITE"), 0u) << "a refresh is not relayed";
}

TEST_F(CallTest, MaxCallDurationEndsTheCallWithByeToBothLegs) {
    CallConfig config = default_config();
    config.max_call_duration = 60s;
    build(config);
    established_call();
    run_until(59'999);
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u);
    EXPECT_EQ(requests_to(p1002.address, "BYE"), 0u);
    run_until(60'000);
    EXPECT_EQ(requests_to(a.address, "BYE"), 1u);
    EXPECT_EQ(requests_to(p1002.address, "BYE"), 1u);
}

// --- Who may call, and what the router says -----------------------------------------------------

TEST_F(CallTest, InviteWithoutCredentialsFromUntrustedAddressIsChallenged) {
    a.address = std::string(kStranger);
    caller_invites();
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{407}));
    const sip::Message* challenge = last_to(a.address, "SIP/2.0 407");
    ASSERT_NE(challenge, nullptr);
    const sip::HeaderField* pa = challenge->find(sip::HeaderId::proxy_authenticate);
    ASSERT_NE(pa, nullptr);
    EXPECT_NE(pa->value.find("realm=\"switchboard\""), std::string_view::npos) << pa->value;
    EXPECT_NE(pa->value.find("nonce=\""), std::string_view::npos) << pa->value;
    EXPECT_TRUE(script.started.empty());
    for (const auto& s : sender.sent) EXPECT_FALSE(s.bytes.starts_with("INVITE ")) << s.bytes;
    EXPECT_EQ(calls->active_calls(), 0u);
}

TEST_F(CallTest, RouterFailureAnswers500) {
    script.start = RouterScript::Start::fail;
    caller_invites();
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{500}));
    for (const auto& s : sender.sent) EXPECT_FALSE(s.bytes.starts_with("INVITE ")) << s.bytes;
    turn();
    ASSERT_EQ(records.records.size(), 1u);
    EXPECT_EQ(records.records[0].a_status, 500);
    EXPECT_NE(records.records[0].end_reason.find("fake.lua:1: boom"), std::string::npos);
}

TEST_F(CallTest, RouterHangupAnswersItsCode) {
    script.start = RouterScript::Start::hangup;
    script.hangup_code = 403;
    caller_invites();
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{403}));
}

TEST_F(CallTest, RouterFinishingWithoutBridgeAnswers404) {
    script.start = RouterScript::Start::finish;
    caller_invites();
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{404}));
}

// --- Answered by the B2BUA itself: call:answer(), call:conference() ------------------------------

using Action = RouterScript::Action;

// A prompt directory with hold.wav: 0.1 s of silence, 8 kHz mono 16-bit PCM.
std::filesystem::path prompt_dir() {
    auto dir = std::filesystem::path(::testing::TempDir()) / "sb_call_prompts";
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
    std::ofstream(dir / "hold.wav", std::ios::binary).write(b.data(), std::streamsize(b.size()));
    return dir;
}

CollectRequest collect_request(int max, int timeout_s, int first_timeout_s, char terminator = '#') {
    CollectRequest r;
    r.max_digits = max;
    r.timeout_s = timeout_s;
    r.first_timeout_s = first_timeout_s;
    r.terminator = terminator;
    return r;
}

class LocalAnswerTest : public CallTest {
  protected:
    void SetUp() override {
        CallTest::SetUp();
        media.anchors = true;
        script.start = RouterScript::Start::actions;
    }
    std::vector<int> statuses_for_cseq(std::uint32_t cseq) const {
        std::vector<int> out;
        for (const Sent* s : sent_to(a.address, "SIP/2.0 "))
            if (s->msg.cseq() == cseq && s->msg.status() != 100) out.push_back(s->msg.status());
        return out;
    }
    const sip::Message* last_response_for_cseq(std::uint32_t cseq) const {
        const sip::Message* found = nullptr;
        for (const Sent* s : sent_to(a.address, "SIP/2.0 "))
            if (s->msg.cseq() == cseq && s->msg.status() != 100) found = &s->msg;
        return found;
    }
};

TEST_F(LocalAnswerTest, AnswerSendsOurEarlySdpAndRetransmitsUntilTheAck) {
    script.actions = {{Action::answer}, {Action::wait}};
    caller_invites();
    EXPECT_EQ(script.answers, (std::vector<bool>{true}));
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{200}));
    const sip::Message* ok = last_to(a.address, "SIP/2.0 200");
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->body(), kSdpPbx) << "the answer early media would have carried";
    EXPECT_EQ(ok->value(sip::HeaderId::content_type), "application/sdp");
    EXPECT_NE(ok->find(sip::HeaderId::contact), nullptr);
    EXPECT_FALSE(ok->to_tag().empty());
    EXPECT_EQ(shard_of_tag(ok->to_tag()), std::optional<std::size_t>(0));
    EXPECT_TRUE(media.saw("early_answer 0"));
    for (const auto& sent : sender.sent)
        EXPECT_FALSE(sent.bytes.starts_with("INVITE ")) << sent.bytes;

    run_until(4000);
    EXPECT_EQ(times_of(sent_to(a.address, "SIP/2.0 200")),
              (std::vector<std::int64_t>{0, 500, 1500, 3500}))
        << "RFC 3261 13.3.1.4";
    caller_acks();
    run_for(60s);
    EXPECT_EQ(count_to(a.address, "SIP/2.0 200"), 4u) << "no retransmission after the ACK";
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u) << "the script still runs: the call stays up";
    EXPECT_EQ(calls->active_calls(), 1u);

    caller_byes();
    EXPECT_EQ(statuses_to_caller(sip::Method::BYE), (std::vector<int>{200}));
    EXPECT_EQ(script.cancelled.size(), 1u) << "the caller's BYE ends the routing";
    turn();
    EXPECT_EQ(calls->active_calls(), 0u);
    ASSERT_EQ(records.records.size(), 1u);
    EXPECT_EQ(records.records[0].a_status, 200);
    EXPECT_NE(records.records[0].answered_at, 0);
    EXPECT_EQ(records.records[0].end_reason, "caller hung up");
}

TEST_F(LocalAnswerTest, RecordingNamesAFileByDateAndPartiesAndEndsWithTheCall) {
    script.actions = {{Action::record}, {Action::record}, {Action::answer}, {Action::wait}};
    caller_invites();
    EXPECT_EQ(script.records, (std::vector<bool>{true, true})) << "a second start is harmless";
    auto started = std::find_if(media.events.begin(), media.events.end(), [](const auto& e) {
        return e.rfind("record recordings/", 0) == 0;
    });
    ASSERT_NE(started, media.events.end());
    EXPECT_EQ(std::count_if(media.events.begin(), media.events.end(),
                            [](const auto& e) { return e.rfind("record rec", 0) == 0; }),
              1);
    // recordings/YYYY/MM/DD/YYYYmmdd-HHMMSS-<caller>-<callee>-<shard>-<id>.wav
    const std::string path = started->substr(7);
    EXPECT_NE(path.find("-1002-"), std::string::npos) << path;
    EXPECT_EQ(path.substr(path.size() - 4), ".wav");
    EXPECT_EQ(std::count(path.begin(), path.end(), '/'), 4) << path;
    caller_acks();
    caller_byes();
    EXPECT_TRUE(media.saw("record stop")) << "the file completes when the call ends";
    turn();
    ASSERT_EQ(records.records.size(), 1u);
    EXPECT_EQ(records.records[0].recording, path);
}

TEST_F(LocalAnswerTest, RecordingFailsWithoutAnchoredMedia) {
    media.anchors = false;
    script.actions = {{Action::record}, {Action::hangup}};
    caller_invites();
    EXPECT_EQ(script.records, (std::vector<bool>{false}));
}

TEST_F(LocalAnswerTest, AnswerFailsWithoutAnchoredMediaOrWithoutAnOffer) {
    media.anchors = false;
    script.actions = {{Action::answer}, {Action::wait}};
    caller_invites();
    EXPECT_EQ(script.answers, (std::vector<bool>{false}));
    EXPECT_TRUE(statuses_to_caller().empty()) << "nothing but 100 Trying";

    build(default_config());
    media.anchors = true;
    script.answers.clear();
    script.next_action = 0;
    a.call_id = "acall-2@192.0.2.10";
    a.branch = "z9hG4bKa-invite-2";
    caller_invites("");  // no offer: ours would have to go in the 2xx
    EXPECT_EQ(script.answers, (std::vector<bool>{false}));
    EXPECT_TRUE(statuses_to_caller().empty());
}

TEST_F(LocalAnswerTest, ScriptEndingAfterAnswerHangsUpWithByeAfterTheAck) {
    script.actions = {{Action::answer}};
    caller_invites();
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{200}));
    run_for(1000ms);
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u) << "RFC 3261 15: not before the 2xx's ACK";
    EXPECT_EQ(count_to(a.address, "SIP/2.0 200"), 2u) << "the 2xx is still retransmitted";
    caller_acks();
    EXPECT_EQ(requests_to(a.address, "BYE"), 1u) << "nobody is left to talk to";
    run_for(10s);
    EXPECT_EQ(count_to(a.address, "SIP/2.0 200"), 2u);
    const sip::Message* bye = last_to(a.address, "BYE ");
    ASSERT_NE(bye, nullptr);
    Phone caller{"1001", a.address, a.from_tag};
    receive(response_text(*bye, caller, 200), caller.flow());
    turn();
    EXPECT_EQ(calls->active_calls(), 0u);
    ASSERT_EQ(records.records.size(), 1u);
    EXPECT_EQ(records.records[0].end_reason, "routing ended (answered by the dialplan)");
}

TEST_F(LocalAnswerTest, HangupAfterAnswerWithoutAckSendsByeWhenTheTwoHundredGivesUp) {
    script.actions = {{Action::answer}, {Action::hangup}};
    caller_invites();
    run_until(31'999);
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u);
    run_until(33'000);
    EXPECT_EQ(requests_to(a.address, "BYE"), 1u) << "the server transaction timed out (15)";
}

TEST_F(LocalAnswerTest, PlaybackAfterAnswerSendsNo183) {
    CallConfig config = default_config();
    config.prompts_dir = prompt_dir().string();
    build(config);
    script.actions = {{Action::answer}, {Action::playback, "hold"}, {Action::wait}};
    caller_invites();
    caller_acks();
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{200})) << "no 183 after the answer";
    EXPECT_TRUE(media.saw("play_prompt 0"));
    EXPECT_TRUE(script.outcomes.empty());
    media.end_prompt();
    run_for(20ms);
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::answered, 200}}))
        << "the prompt played to its end";
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{200}));
}

// --- The end of a prompt: the media engine's word (play_prompt_then), a timer as a safety net --

TEST_F(LocalAnswerTest, PlaybackResumesTheScriptWhenTheMediaEngineSaysThePromptEnded) {
    CallConfig config = default_config();
    config.prompts_dir = prompt_dir().string();
    build(config);
    script.actions = {{Action::answer}, {Action::playback, "hold"}, {Action::wait}};
    caller_invites();
    caller_acks();
    ASSERT_TRUE(media.prompt_ends[0]) << "played with play_prompt_then";
    run_for(1s);  // longer than the prompt (0.1 s): the relay's word counts, not its length
    EXPECT_TRUE(script.outcomes.empty());
    media.end_prompt();  // on a media thread: the shard takes it on its next drain
    EXPECT_TRUE(script.outcomes.empty());
    run_for(20ms);
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::answered, 200}}));
    run_for(10s);
    EXPECT_EQ(script.outcomes.size(), 1u) << "the safety timer was cancelled";
    EXPECT_FALSE(media.saw("stop_tone 0"));
}

TEST_F(LocalAnswerTest, AStaleEndOfAnEarlierPromptDoesNotEndTheNextOne) {
    CallConfig config = default_config();
    config.prompts_dir = prompt_dir().string();
    build(config);
    script.actions = {{Action::answer},
                      {Action::playback, "hold"},
                      {Action::collect, "hold", collect_request(1, 5, 5)},
                      {Action::playback, "hold"},
                      {Action::wait}};
    caller_invites();
    caller_acks();
    auto first = media.prompt_ends[0];
    first();
    first();  // reported twice (a media thread's retry, say): one end, one outcome
    run_for(20ms);
    ASSERT_EQ(script.outcomes.size(), 1u);

    // play_and_collect: a key stops its prompt, whose end a media thread reports anyway (it
    // played to its end as the key came); then the next playback starts.
    auto stopped = media.prompt_ends[0];
    media.press("5");
    run_for(20ms);
    ASSERT_EQ(script.outcomes.size(), 2u);
    EXPECT_EQ(script.outcomes[1].digits, "5");
    ASSERT_TRUE(media.prompt_ends[0]) << "the last playback plays";
    stopped();
    first();
    run_for(20ms);
    EXPECT_EQ(script.outcomes.size(), 2u) << "neither names the prompt playing now";
    media.end_prompt();
    run_for(20ms);
    EXPECT_EQ(script.outcomes.size(), 3u);
}

TEST_F(LocalAnswerTest, WithoutWordFromTheMediaEngineTheSafetyTimerEndsThePrompt) {
    CallConfig config = default_config();
    config.prompts_dir = prompt_dir().string();
    build(config);
    script.actions = {{Action::answer}, {Action::playback, "hold"}, {Action::wait}};
    caller_invites();
    caller_acks();
    // The prompt's 0.1 s and a 2 s margin: the engine is late, not silent, until then.
    run_for(2050ms);
    EXPECT_TRUE(script.outcomes.empty());
    run_for(100ms);
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::answered, 200}}));
    EXPECT_TRUE(media.saw("stop_tone 0")) << "whatever still plays is stopped";
    media.end_prompt();  // too late: nobody waits for it
    run_for(20ms);
    EXPECT_EQ(script.outcomes.size(), 1u);
}

TEST_F(LocalAnswerTest, AnEngineThatCannotReportEndsThePromptByItsLength) {
    media.reports_prompt_end = false;  // play_prompt_then false: play_prompt and a timer
    CallConfig config = default_config();
    config.prompts_dir = prompt_dir().string();
    build(config);
    script.actions = {{Action::answer}, {Action::playback, "hold"}, {Action::wait}};
    caller_invites();
    caller_acks();
    EXPECT_TRUE(media.saw("play_prompt 0"));
    EXPECT_FALSE(media.prompt_ends[0]);
    run_for(100ms);
    EXPECT_TRUE(script.outcomes.empty());
    run_for(100ms);  // 0.1 s and a frame
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::answered, 200}}));
    EXPECT_FALSE(media.saw("stop_tone 0"));
}

TEST_F(LocalAnswerTest, BridgeAfterAnswerSendsNoSecondTwoHundredToTheCaller) {
    script.actions = {{Action::answer}, {Action::bridge, "1002"}};
    caller_invites();
    caller_acks();
    const sip::Message* inv = invite_to(p1002);
    ASSERT_NE(inv, nullptr);
    EXPECT_EQ(inv->body(), kSdpA) << "the callee gets the caller's offer";

    phone_answers(p1002, 180);
    EXPECT_TRUE(media.saw("play_tone 0 ringback")) << "the answered caller hears ringback";
    phone_answers(p1002, 200, kSdpB);
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{200}));
    EXPECT_EQ(count_to(a.address, "SIP/2.0 200"), 1u) << "the caller keeps our answer";
    EXPECT_EQ(requests_to(a.address, "INVITE"), 0u) << "and needs no re-INVITE";
    EXPECT_EQ(count_to(p1002.address, "ACK "), 1u) << "the callee's 2xx is ACKed";
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::answered, 200}}));
    EXPECT_EQ(calls->active_calls(), 1u) << "the script ended; the bridged call stays up";
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u);

    // A re-INVITE from the caller now goes to the callee.
    caller_reinvites(sdp_with(kSdpA, "a=sendrecv", "a=sendonly"));
    EXPECT_NE(invite_to(p1002, 2), nullptr);
    EXPECT_FALSE(media.saw("local_answer 0"));
    phone_answers(p1002, *invite_to(p1002, 2), 200, kSdpB);
    caller_acks(a.cseq);

    phone_sends(p1002, "BYE", 1);
    const sip::Message* bye = last_to(a.address, "BYE ");
    ASSERT_NE(bye, nullptr) << "the callee's BYE ends the caller's side too";
    EXPECT_EQ(bye->to_tag(), a.from_tag);
    Phone caller{"1001", a.address, a.from_tag};
    receive(response_text(*bye, caller, 200), caller.flow());
    turn();
    ASSERT_EQ(records.records.size(), 1u);
    EXPECT_EQ(records.records[0].end_reason, "callee hung up");
    EXPECT_EQ(records.records[0].a_status, 200);
    EXPECT_NE(records.records[0].answered_at, 0);
}

TEST_F(LocalAnswerTest, CallerByeAfterBridgeEndsTheCallee) {
    script.actions = {{Action::answer}, {Action::bridge, "1002"}};
    caller_invites();
    caller_acks();
    phone_answers(p1002, 200, kSdpB);
    caller_byes();
    EXPECT_EQ(statuses_to_caller(sip::Method::BYE), (std::vector<int>{200}));
    EXPECT_EQ(requests_to(p1002.address, "BYE"), 1u);
    phone_answers_request(p1002, "BYE", 200);
    turn();
    EXPECT_EQ(calls->active_calls(), 0u);
    ASSERT_EQ(records.records.size(), 1u);
    EXPECT_EQ(records.records[0].end_reason, "caller hung up");
}

TEST_F(LocalAnswerTest, FailedBridgeAfterAnswerStopsTheRingbackAndTheScriptGoesOn) {
    script.actions = {{Action::answer}, {Action::bridge, "1002"}, {Action::wait}};
    caller_invites();
    caller_acks();
    phone_answers(p1002, 180);
    phone_answers(p1002, 486);
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::busy, 486}}));
    EXPECT_TRUE(media.saw("stop_tone 0"));
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{200})) << "no 486 to an answered caller";
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u);
}

TEST_F(LocalAnswerTest, CallerRequestsWithoutABridgeAreAnsweredLocally) {
    script.actions = {{Action::answer}, {Action::wait}};
    caller_invites();
    caller_acks();

    // Hold: a new offer, answered by the relay on the same port.
    std::string hold = sdp_with(kSdpA, "a=sendrecv", "a=sendonly");
    caller_reinvites(hold);
    EXPECT_TRUE(media.saw("local_answer 0"));
    EXPECT_EQ(statuses_for_cseq(a.cseq), (std::vector<int>{200}));
    const sip::Message* ok = last_response_for_cseq(a.cseq);
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->body(), kSdpPbxLocal);
    EXPECT_EQ(ok->cseq_method(), sip::Method::INVITE);
    EXPECT_EQ(ok->to_tag(), caller_dialog_tag());
    EXPECT_NE(ok->find(sip::HeaderId::contact), nullptr);
    for (const auto& sent : sender.sent)
        EXPECT_FALSE(sent.bytes.starts_with("INVITE ")) << sent.bytes;
    run_for(600ms);
    EXPECT_EQ(statuses_for_cseq(a.cseq).size(), 2u) << "its 2xx is retransmitted until the ACK";
    caller_acks(a.cseq);
    run_for(40s);
    EXPECT_EQ(statuses_for_cseq(a.cseq).size(), 2u);

    // A re-INVITE without an offer gets ours (the last one we sent).
    caller_reinvites("");
    ok = last_response_for_cseq(a.cseq);
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->status(), 200);
    EXPECT_EQ(ok->body(), kSdpPbxLocal);
    caller_acks(a.cseq, kSdpA);

    // An UPDATE without an offer (a session refresh) gets a 200 without SDP (RFC 3311 5.2).
    from_caller(caller_in_dialog("UPDATE", ++a.cseq));
    ok = last_response_for_cseq(a.cseq);
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->status(), 200);
    EXPECT_TRUE(ok->body().empty());

    // An offer the relay cannot take.
    caller_reinvites("v=0\r\no=alice 1 3 IN IP4 192.0.2.10\r\ns=-\r\nt=0 0\r\n");
    EXPECT_EQ(statuses_for_cseq(a.cseq), (std::vector<int>{488}));

    from_caller(caller_in_dialog("INFO", ++a.cseq, {}, "Content-Type: application/dtmf-relay\r\n"));
    EXPECT_EQ(statuses_for_cseq(a.cseq), (std::vector<int>{200}));
    from_caller(caller_in_dialog("MESSAGE", ++a.cseq));
    EXPECT_EQ(statuses_for_cseq(a.cseq), (std::vector<int>{405}));
    const sip::Message* refused = last_response_for_cseq(a.cseq);
    ASSERT_NE(refused, nullptr);
    EXPECT_NE(refused->find("Allow"), nullptr) << "RFC 3261 21.4.6";

    EXPECT_EQ(requests_to(a.address, "BYE"), 0u);
    EXPECT_EQ(calls->active_calls(), 1u);
}

TEST_F(LocalAnswerTest, TheAnswerInTheAckToOurOfferReachesTheMediaEngine) {
    // Answered, then collecting keys until a bridge: the callee is offered what the caller has.
    script.actions = {{Action::answer},
                      {Action::collect, "", collect_request(1, 5, 5)},
                      {Action::bridge, "1002"}};
    caller_invites();
    caller_acks();

    // An ACK with SDP to a 2xx that answered an offer is no answer to anything.
    caller_reinvites(kSdpA);
    caller_acks(a.cseq, kSdpB);
    EXPECT_EQ(media.local_offers, (std::vector<std::string>{std::string(kSdpA)}));

    // RFC 3261 14.2: a re-INVITE without an offer gets ours; the caller answers in the ACK
    // (here from a new port: what a phone may change in an answer).
    caller_reinvites("");
    const sip::Message* ok = last_response_for_cseq(a.cseq);
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->body(), kSdpPbxLocal) << "our offer: the last SDP we sent";
    EXPECT_EQ(media.local_offers.size(), 1u) << "nothing for the engine before the answer";
    const std::string answer = sdp_with(kSdpA, "m=audio 4000", "m=audio 4002");
    run_for(600ms);  // our 2xx is retransmitted, and the caller ACKs each one
    caller_acks(a.cseq, answer);
    caller_acks(a.cseq, answer);
    EXPECT_EQ(media.local_offers, (std::vector<std::string>{std::string(kSdpA), answer}))
        << "taken once";

    // An ACK that lacks the answer (RFC 3261 13.2.1: it MUST carry it): the media stays.
    caller_reinvites("");
    caller_acks(a.cseq);
    EXPECT_EQ(media.local_offers.size(), 2u);
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u);

    // The bridge offers the callee the caller's SDP as the engine last took it.
    run_for(5s);
    ASSERT_EQ(script.outcomes.size(), 1u);
    const sip::Message* inv = invite_to(p1002);
    ASSERT_NE(inv, nullptr);
    EXPECT_EQ(inv->body(), answer);
}

TEST_F(LocalAnswerTest, ConferenceJoinsTheRoomAndTheCallersByeLeavesIt) {
    ConferenceRequest options;
    options.muted = true;
    options.mute_key = '#';
    options.chimes = false;
    script.actions = {{Action::conference, "sales", options}};
    caller_invites();
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{200})) << "answered to join";
    EXPECT_EQ(last_to(a.address, "SIP/2.0 200")->body(), kSdpPbx);
    EXPECT_TRUE(media.saw("join 0 sales muted=1 key=# chimes=0"));
    EXPECT_LT(media.index_of("early_answer 0"),
              media.index_of("join 0 sales muted=1 key=# chimes=0"));
    turn();
    EXPECT_TRUE(script.outcomes.empty()) << "the script stays in the room";
    caller_acks();
    run_for(3600s);
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u);
    EXPECT_FALSE(media.saw("leave 0"));

    caller_byes();
    EXPECT_EQ(statuses_to_caller(sip::Method::BYE), (std::vector<int>{200}));
    EXPECT_TRUE(media.saw("leave 0"));
    EXPECT_EQ(script.cancelled.size(), 1u);
    turn();
    EXPECT_EQ(calls->active_calls(), 0u);
    ASSERT_EQ(records.records.size(), 1u);
    EXPECT_EQ(records.records[0].a_status, 200);
    EXPECT_EQ(records.records[0].end_reason, "caller hung up");
}

TEST_F(LocalAnswerTest, ConferenceTakesTheAlonePromptAndTheMusicFromThePromptDirectory) {
    CallConfig config = default_config();
    config.prompts_dir = prompt_dir().string();
    config.music_on_hold = "hold";
    build(config);
    // The default alone prompt is missing here: the caller joins without one.
    script.actions = {{Action::conference, "sales"}};
    caller_invites();
    EXPECT_TRUE(media.saw("join 0 sales muted=0 key=* chimes=1"));

    // A named prompt (hold.wav: 800 samples), and music while alone.
    ConferenceRequest options;
    options.alone_prompt = "hold";
    options.music_when_alone = true;
    script.actions = {{Action::conference, "sales", options}};
    script.next_action = 0;
    a.call_id = "acall-alone-2@192.0.2.10";
    a.branch = "z9hG4bKa-alone-2";
    caller_invites();
    EXPECT_TRUE(media.saw("join 0 sales muted=0 key=* chimes=1 alone=800 music"));

    // A named prompt that is missing keeps nobody out of the room.
    options.alone_prompt = "no-such-prompt";
    options.music_when_alone = false;
    script.actions = {{Action::conference, "sales", options}};
    script.next_action = 0;
    a.call_id = "acall-alone-3@192.0.2.10";
    a.branch = "z9hG4bKa-alone-3";
    caller_invites();
    EXPECT_EQ(
        std::count(media.events.begin(), media.events.end(), "join 0 sales muted=0 key=* chimes=1"),
        2);
}

TEST_F(LocalAnswerTest, ConferenceThatCannotJoinResumesTheScriptWithFailure) {
    media.join_ok = false;
    script.actions = {{Action::conference, "sales"}, {Action::wait}};
    caller_invites();
    EXPECT_TRUE(script.outcomes.empty()) << "never from inside Router::start";
    turn();
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::failed, 500}}));
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{200})) << "it was answered to join";

    // Media not anchored: not even answered.
    build(default_config());
    media.anchors = false;
    script.outcomes.clear();
    script.next_action = 0;
    a.call_id = "acall-2@192.0.2.10";
    a.branch = "z9hG4bKa-invite-2";
    caller_invites();
    turn();
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::failed, 500}}));
    EXPECT_TRUE(statuses_to_caller().empty());
}

TEST_F(LocalAnswerTest, ConferenceRefusesABadRoomName) {
    script.actions = {{Action::conference, "no spaces"}, {Action::wait}};
    caller_invites();
    turn();
    EXPECT_EQ(script.outcomes, (std::vector<Outcome>{{BridgeResult::failed, 500}}));
    EXPECT_TRUE(statuses_to_caller().empty()) << "refused before answering";
    EXPECT_TRUE(media.events.empty());
}

// --- Keys the caller presses: collect_digits(), play_and_collect() ----------------------------

TEST_F(LocalAnswerTest, CollectDigitsEndsAtTheTerminatorWithTheKeysBeforeIt) {
    script.actions = {
        {Action::answer}, {Action::collect, "", collect_request(4, 5, 10)}, {Action::wait}};
    caller_invites();
    caller_acks();
    EXPECT_TRUE(media.saw("watch 0"));
    media.press("12");  // on a media thread: the shard takes the keys on its next drain
    EXPECT_TRUE(script.outcomes.empty());
    run_for(20ms);
    EXPECT_TRUE(script.outcomes.empty()) << "two keys of four, no terminator yet";
    media.press("#");
    run_for(20ms);
    ASSERT_EQ(script.outcomes.size(), 1u);
    EXPECT_EQ(script.outcomes[0], (Outcome{BridgeResult::answered, 200}));
    EXPECT_EQ(script.outcomes[0].digits, "12") << "the terminator is not part of the keys";
    EXPECT_TRUE(media.saw("unwatch 0")) << "nobody collects now";
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{200})) << "no 183 once answered";
    EXPECT_FALSE(media.saw("play_prompt 0"));
}

TEST_F(LocalAnswerTest, CollectDigitsTimesOutFirstAndBetweenKeys) {
    script.actions = {{Action::answer},
                      {Action::collect, "", collect_request(4, 3, 10)},
                      {Action::collect, "", collect_request(4, 3, 10)},
                      {Action::wait}};
    caller_invites();
    caller_acks();
    // No key at all: first_timeout (10 s), then an empty string.
    run_for(9900ms);
    EXPECT_TRUE(script.outcomes.empty());
    run_for(200ms);
    ASSERT_EQ(script.outcomes.size(), 1u);
    EXPECT_EQ(script.outcomes[0], (Outcome{BridgeResult::answered, 200}));
    EXPECT_EQ(script.outcomes[0].digits, "");
    // One key, then nothing: timeout (3 s) after it.
    run_for(5s);
    media.press("7");
    run_for(20ms);
    run_for(2900ms);
    EXPECT_EQ(script.outcomes.size(), 1u) << "the 3 s run from the key, not from the start";
    run_for(200ms);
    ASSERT_EQ(script.outcomes.size(), 2u);
    EXPECT_EQ(script.outcomes[1].digits, "7");
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u);
}

TEST_F(LocalAnswerTest, CollectDigitsEndsAtMaxAndKeysNobodyCollectsAreDropped) {
    script.actions = {{Action::answer},
                      {Action::collect, "", collect_request(2, 5, 5)},
                      {Action::collect, "", collect_request(2, 5, 5, 0)},
                      {Action::wait}};
    caller_invites();
    caller_acks();
    auto stale = media.digit_sinks[0];
    media.press("1234");  // in one drain: the first collection takes two, and ends
    run_for(20ms);
    ASSERT_EQ(script.outcomes.size(), 1u);
    EXPECT_EQ(script.outcomes[0].digits, "12");
    // The script collected again at once; "34" came for the first collection: nobody's.
    stale('5');  // reported by a media thread as the first collection ended: nobody's either
    run_for(1s);
    media.press("9");
    run_for(20ms);
    EXPECT_EQ(script.outcomes.size(), 1u);
    run_for(5s);
    ASSERT_EQ(script.outcomes.size(), 2u);
    EXPECT_EQ(script.outcomes[1].digits, "9");
    EXPECT_EQ(media.digit_sinks[0], nullptr) << "unwatched once nothing collects";
}

TEST_F(LocalAnswerTest, PlayAndCollectBeforeAnswerIsEarlyMediaAndAKeyStopsThePrompt) {
    CallConfig config = default_config();
    config.prompts_dir = prompt_dir().string();
    build(config);
    script.actions = {{Action::collect, "hold", collect_request(3, 5, 5)},
                      {Action::collect, "hold", collect_request(1, 2, 2)},
                      {Action::wait}};
    caller_invites();
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{183})) << "as playback: early media";
    EXPECT_EQ(last_to(a.address, "SIP/2.0 183")->body(), kSdpPbx);
    EXPECT_TRUE(media.saw("play_prompt 0"));
    EXPECT_LT(media.index_of("watch 0"), media.index_of("play_prompt 0"))
        << "keys count from the prompt's start";
    media.press("4");
    run_for(20ms);
    EXPECT_TRUE(media.saw("stop_tone 0")) << "a key during the prompt stops it";
    media.press("2#");
    run_for(20ms);
    ASSERT_EQ(script.outcomes.size(), 1u);
    EXPECT_EQ(script.outcomes[0].digits, "42");

    // The second prompt plays to its end; the first timeout (2 s) runs from there.
    media.end_prompt();
    run_for(20ms);
    const auto since = now_ms();
    run_for(1950ms);
    EXPECT_EQ(script.outcomes.size(), 1u);
    run_for(100ms);
    ASSERT_EQ(script.outcomes.size(), 2u);
    EXPECT_EQ(script.outcomes[1].digits, "");
    EXPECT_GE(now_ms() - since, 2000);
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{183})) << "still not answered";
}

TEST_F(LocalAnswerTest, PlayAndCollectWaitsForTheFirstKeyFromThePromptsReportedEnd) {
    CallConfig config = default_config();
    config.prompts_dir = prompt_dir().string();
    build(config);
    script.actions = {
        {Action::answer}, {Action::collect, "hold", collect_request(1, 2, 2)}, {Action::wait}};
    caller_invites();
    caller_acks();
    run_for(1s);  // the relay is still playing it, whatever the file's length says
    media.end_prompt();
    run_for(20ms);
    const auto ended = now_ms();
    run_for(1950ms);
    EXPECT_TRUE(script.outcomes.empty()) << "2 s from the end, not from the start";
    run_for(100ms);
    ASSERT_EQ(script.outcomes.size(), 1u);
    EXPECT_EQ(script.outcomes[0].digits, "");
    EXPECT_GE(now_ms() - ended, 2000);
}

TEST_F(LocalAnswerTest, CollectDigitsThatCannotStartFailsWithWhy) {
    script.actions = {{Action::collect, "no-such-prompt", collect_request(1, 5, 5)},
                      {Action::collect, "", collect_request(1, 5, 5)},
                      {Action::wait}};
    media.anchors = false;  // direct media: no port sees the caller's keys
    caller_invites();
    EXPECT_TRUE(script.outcomes.empty()) << "never from inside Router::start";
    turn();
    ASSERT_EQ(script.outcomes.size(), 2u);
    EXPECT_EQ(script.outcomes[0], (Outcome{BridgeResult::failed, 500}));
    EXPECT_NE(script.outcomes[0].reason.find("no-such-prompt"), std::string::npos)
        << script.outcomes[0].reason;
    EXPECT_EQ(script.outcomes[1], (Outcome{BridgeResult::failed, 500}));
    EXPECT_EQ(script.outcomes[1].reason, "media is not anchored, or the caller made no offer");
    EXPECT_TRUE(statuses_to_caller().empty()) << "no 183 for a collection that never began";
    EXPECT_FALSE(media.saw("watch 0"));
}

TEST_F(LocalAnswerTest, CallerHangingUpWhileCollectingEndsTheCollection) {
    script.actions = {{Action::answer}, {Action::collect, "", collect_request(4, 5, 5)}};
    caller_invites();
    caller_acks();
    auto sink = media.digit_sinks[0];
    caller_byes();
    EXPECT_TRUE(media.saw("unwatch 0"));
    EXPECT_EQ(script.cancelled.size(), 1u);
    sink('1');  // a key in flight as the call ended
    run_for(10s);
    EXPECT_TRUE(script.outcomes.empty());
    EXPECT_EQ(calls->active_calls(), 0u);
}

// --- Keys in SIP INFO (application/dtmf-relay, application/dtmf) -------------------------------

class InfoTest : public LocalAnswerTest {
  protected:
    // The status and reason of the B2BUA's (last) response to the caller's request of CSeq
    // `cseq`, or to the phone's INFO of that CSeq.
    std::string caller_response(std::uint32_t cseq) const {
        const sip::Message* found = last_response_for_cseq(cseq);
        return found ? std::to_string(found->status()) + " " + std::string(found->reason()) : "";
    }
    std::string phone_response(const Phone& p, std::uint32_t cseq) const {
        std::string out;
        for (const Sent* s : sent_to(p.address, "SIP/2.0 "))
            if (s->msg.cseq() == cseq && s->msg.cseq_method() == sip::Method::INFO)
                out = std::to_string(s->msg.status()) + " " + std::string(s->msg.reason());
        return out;
    }
    void caller_info(std::string_view body, std::string_view type = "application/dtmf-relay") {
        from_caller(caller_in_dialog("INFO", ++a.cseq, body, {}, type));
    }
    void bridged() {
        script.start = RouterScript::Start::bridge;
        established_call();
    }
};

TEST_F(InfoTest, KeysByInfoReachTheOtherLegThroughTheMediaEngine) {
    bridged();
    caller_info("Signal=5\r\nDuration=160\r\n");
    EXPECT_EQ(caller_response(a.cseq), "200 OK");
    EXPECT_TRUE(media.saw("send_digit 1 5 160")) << "as RFC 4733 or in-band, as 1002 takes it";
    EXPECT_EQ(requests_to(p1002.address, "INFO"), 0u) << "not relayed as INFO";
    caller_info("signal = b\nduration=4000\n");  // lenient in case, spaces and line ends
    EXPECT_EQ(caller_response(a.cseq), "200 OK");
    EXPECT_TRUE(media.saw("send_digit 1 B 4000"));
    caller_info("*\r\n", "application/dtmf");
    EXPECT_TRUE(media.saw("send_digit 1 * 250")) << "250 ms when the INFO says nothing";

    phone_sends(p1002, "INFO", 1, "Signal=#\r\nDuration=250\r\n", "application/dtmf-relay");
    EXPECT_EQ(phone_response(p1002, 1), "200 OK");
    EXPECT_TRUE(media.saw("send_digit 0 # 250"));
    EXPECT_EQ(count_to(a.address, "INFO "), 0u);

    // Other INFO bodies are the peers' business: relayed as before.
    caller_info("{\"fast_update\": true}", "application/json");
    const sip::Message* relayed = last_to(p1002.address, "INFO ");
    ASSERT_NE(relayed, nullptr);
    EXPECT_EQ(relayed->body(), "{\"fast_update\": true}");
}

TEST_F(InfoTest, MalformedKeyPressesGet400SayingWhy) {
    bridged();
    struct Case {
        std::string_view type;
        std::string body;
        std::string_view response;
    } cases[] = {
        {"application/dtmf-relay", "Signal=X\r\nDuration=160\r\n",
         "400 Bad Request (Signal is not one key of 0-9, *, #, A-D)"},
        {"application/dtmf-relay", "Signal=12\r\n",
         "400 Bad Request (Signal is not one key of 0-9, *, #, A-D)"},
        {"application/dtmf-relay", "Signal=5\r\nDuration=10\r\n",
         "400 Bad Request (Duration is not one number of 40 to 5000 ms)"},
        {"application/dtmf-relay", "Signal=5\r\nDuration=160ms\r\n",
         "400 Bad Request (Duration is not one number of 40 to 5000 ms)"},
        {"application/dtmf-relay", "Duration=160\r\n", "400 Bad Request (no Signal)"},
        {"application/dtmf-relay", "Signal=1\r\nSignal=2\r\n",
         "400 Bad Request (more than one Signal)"},
        {"application/dtmf-relay", "Signal=1\r\n" + std::string(600, 'x'),
         "400 Bad Request (body too long)"},
        {"Application/DTMF", "12", "400 Bad Request (the body is not one key of 0-9, *, #, A-D)"},
    };
    for (const Case& k : cases) {
        caller_info(k.body, k.type);
        EXPECT_EQ(caller_response(a.cseq), k.response) << k.body;
    }
    EXPECT_FALSE(media.saw("send_digit 1 5 160"));
    EXPECT_EQ(requests_to(p1002.address, "INFO"), 0u);
    EXPECT_EQ(calls->active_calls(), 1u) << "a bad INFO does not end the call";
}

TEST_F(InfoTest, WithDirectMediaKeysByInfoAreRelayedAsTheyAre) {
    media.anchors = false;  // send_digit fails: only the INFO can carry the key
    bridged();
    caller_info("Signal=7\r\nDuration=200\r\n");
    const sip::Message* relayed = last_to(p1002.address, "INFO ");
    ASSERT_NE(relayed, nullptr);
    EXPECT_EQ(relayed->body(), "Signal=7\r\nDuration=200\r\n");
    EXPECT_EQ(relayed->value(sip::HeaderId::content_type), "application/dtmf-relay");
    phone_answers(p1002, *relayed, 200);
    EXPECT_EQ(caller_response(a.cseq), "200 OK");
}

TEST_F(InfoTest, KeysByInfoAreCollected) {
    script.actions = {
        {Action::answer}, {Action::collect, "", collect_request(3, 5, 5)}, {Action::wait}};
    caller_invites();
    caller_acks();
    caller_info("Signal=4\r\nDuration=100\r\n");
    caller_info("2", "application/dtmf");
    EXPECT_TRUE(script.outcomes.empty());
    caller_info("Signal=#\r\n");
    ASSERT_EQ(script.outcomes.size(), 1u) << "INFO is taken on the shard: no drain to wait for";
    EXPECT_EQ(script.outcomes[0].digits, "42");
    EXPECT_EQ(caller_response(a.cseq), "200 OK");

    // Nobody collects now: the key is answered and dropped.
    caller_info("Signal=9\r\n");
    EXPECT_EQ(caller_response(a.cseq), "200 OK");
    run_for(10s);
    EXPECT_EQ(script.outcomes.size(), 1u);
    // An INFO we do not take, with nobody to relay it to: 415 with what we accept.
    caller_info("<xml/>", "application/media_control+xml");
    EXPECT_EQ(caller_response(a.cseq), "415 Unsupported Media Type");
    const sip::Message* refused = last_response_for_cseq(a.cseq);
    ASSERT_NE(refused, nullptr);
    const sip::HeaderField* accept = refused->find("Accept");
    ASSERT_NE(accept, nullptr) << "RFC 3261 21.4.13";
    EXPECT_EQ(accept->value, "application/dtmf-relay, application/dtmf");
}

TEST_F(InfoTest, AKeyByInfoStopsThePromptOfPlayAndCollectAndCounts) {
    CallConfig config = default_config();
    config.prompts_dir = prompt_dir().string();
    build(config);
    script.actions = {
        {Action::answer}, {Action::collect, "hold", collect_request(2, 5, 5)}, {Action::wait}};
    caller_invites();
    caller_acks();
    auto prompt_end = media.prompt_ends[0];
    caller_info("Signal=3\r\nDuration=100\r\n");
    EXPECT_EQ(caller_response(a.cseq), "200 OK");
    EXPECT_TRUE(media.saw("stop_tone 0")) << "a key during the prompt stops it";
    prompt_end();  // the stopped prompt's end, reported anyway: nobody's
    run_for(20ms);
    EXPECT_TRUE(script.outcomes.empty());
    caller_info("4", "application/dtmf");
    ASSERT_EQ(script.outcomes.size(), 1u);
    EXPECT_EQ(script.outcomes[0].digits, "34");
}

TEST_F(InfoTest, AKeyByInfoInAConferenceGoesToTheRoomAndLeavesTheCallInIt) {
    script.actions = {{Action::conference, "sales"}};
    caller_invites();
    caller_acks();
    EXPECT_FALSE(media.saw("conference_key 0 *"));
    caller_info("Signal=*\r\n");  // the mute key, as the room takes it from RTP
    EXPECT_EQ(caller_response(a.cseq), "200 OK");
    EXPECT_TRUE(media.saw("conference_key 0 *"));
    EXPECT_FALSE(media.saw("leave 0"));
    EXPECT_FALSE(media.saw("send_digit 0 * 250")) << "never played back to the caller";
    EXPECT_EQ(calls->active_calls(), 1u);
}

TEST_F(InfoTest, KeysByInfoAreCollectedBeforeTheAnswer) {
    script.actions = {{Action::collect, "", collect_request(1, 5, 5)}, {Action::wait}};
    caller_invites();
    EXPECT_EQ(statuses_to_caller(), (std::vector<int>{183}));
    caller_info("Signal=1\r\n");  // within the early dialog of our 183 (RFC 6086 allows it)
    ASSERT_EQ(script.outcomes.size(), 1u);
    EXPECT_EQ(script.outcomes[0].digits, "1");
}

// --- Music on hold ----------------------------------------------------------------------------

class MusicOnHoldTest : public CallTest {
  protected:
    void SetUp() override {
        CallTest::SetUp();
        media.anchors = true;
        CallConfig config = default_config();
        config.prompts_dir = prompt_dir().string();
        config.music_on_hold = "hold";
        build(config);
    }
    std::size_t count_events(std::string_view line) const {
        return std::count(media.events.begin(), media.events.end(), line);
    }
    // Our response to the caller's request of CSeq `cseq` (the last one).
    const sip::Message* caller_response(std::uint32_t cseq) const {
        const sip::Message* found = nullptr;
        for (const Sent* s : sent_to(a.address, "SIP/2.0 "))
            if (s->msg.cseq() == cseq && s->msg.status() != 100) found = &s->msg;
        return found;
    }
    const sip::Message* phone_response(const Phone& p, std::uint32_t cseq) const {
        const sip::Message* found = nullptr;
        for (const Sent* s : sent_to(p.address, "SIP/2.0 "))
            if (s->msg.cseq() == cseq && s->msg.cseq_method() == sip::Method::INVITE &&
                s->msg.status() != 100)
                found = &s->msg;
        return found;
    }
    void expect_hold_relayed(std::string music, bool anchors);
};

TEST_F(MusicOnHoldTest, CallerHoldIsAnsweredByUsAndTheCalleeHearsMusicUntilResume) {
    established_call();
    const std::string hold = sdp_with(kSdpA, "a=sendrecv", "a=sendonly");
    caller_reinvites(hold);
    const sip::Message* ok = caller_response(a.cseq);
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->status(), 200);
    EXPECT_EQ(ok->body(), kSdpPbxLocal) << "our own answer to the hold";
    EXPECT_EQ(ok->to_tag(), caller_dialog_tag());
    EXPECT_NE(ok->find(sip::HeaderId::contact), nullptr);
    EXPECT_TRUE(media.saw("local_answer 0"));
    EXPECT_TRUE(media.saw("play_music 1"));
    EXPECT_EQ(invite_to(p1002, 2), nullptr) << "the held phone is never re-INVITEd";
    EXPECT_EQ(requests_to(p1002.address, "INVITE"), 1u);
    run_for(600ms);
    EXPECT_EQ(count_to(a.address, "SIP/2.0 200"), 3u) << "retransmitted until its ACK";
    caller_acks(a.cseq);

    // The same hold again (a session refresh): answered, the music goes on as it was.
    caller_reinvites(hold);
    EXPECT_EQ(caller_response(a.cseq)->status(), 200);
    caller_acks(a.cseq);
    EXPECT_EQ(count_events("play_music 1"), 1u);

    // The held phone's own offer while it hears music: answered by us too, so that no relayed
    // answer pairs the legs anew and stops the music.
    phone_sends(p1002, "INVITE", 1, kSdpB);
    const sip::Message* phone_ok = phone_response(p1002, 1);
    ASSERT_NE(phone_ok, nullptr);
    EXPECT_EQ(phone_ok->status(), 200);
    EXPECT_EQ(phone_ok->body(), kSdpPbxLocal);
    EXPECT_TRUE(media.saw("local_answer 1"));
    EXPECT_FALSE(media.saw("stop_tone 1"));
    EXPECT_EQ(requests_to(a.address, "INVITE"), 0u);
    phone_sends(p1002, "ACK", 1);

    // Resume: answered by us, the music stops; still no re-INVITE to the callee.
    caller_reinvites(kSdpA);
    EXPECT_EQ(caller_response(a.cseq)->status(), 200);
    EXPECT_EQ(count_events("local_answer 0"), 3u);
    EXPECT_TRUE(media.saw("stop_tone 1"));
    EXPECT_EQ(requests_to(p1002.address, "INVITE"), 1u);
    caller_acks(a.cseq);

    // With nobody on hold, offers are relayed again.
    caller_reinvites(sdp_with(kSdpA, "o=alice 1 1", "o=alice 1 2"));
    EXPECT_NE(invite_to(p1002, 2), nullptr);
    EXPECT_EQ(requests_to(a.address, "BYE"), 0u);
    EXPECT_EQ(requests_to(p1002.address, "BYE"), 0u);
}

// Hold is read from the stream the engine anchors: here the second audio stream, since the first
// offers only a codec the engine does not take; that first one staying sendrecv is no resume.
TEST_F(MusicOnHoldTest, HoldIsReadFromTheStreamTheEngineAnchors) {
    established_call();
    const std::string two_streams =
        "v=0\r\no=alice 1 2 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
        "m=audio 3998 RTP/AVP 96\r\na=rtpmap:96 x-unknown/8000\r\na=sendrecv\r\n"
        "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
    media.anchored_line = 1;
    caller_reinvites(two_streams);
    EXPECT_EQ(caller_response(a.cseq)->status(), 200);
    EXPECT_TRUE(media.saw("play_music 1")) << "the anchored stream is sendonly: a hold";
    EXPECT_EQ(requests_to(p1002.address, "INVITE"), 1u);
    caller_acks(a.cseq);

    // An engine that names no stream: the first audio stream decides, sendrecv, no hold.
    media.anchored_line.reset();
    media.events.clear();
    caller_reinvites(sdp_with(two_streams, "o=alice 1 2", "o=alice 1 3"));
    EXPECT_TRUE(media.saw("stop_tone 1")) << "read as a resume";
}

TEST_F(MusicOnHoldTest, CalleeHoldWithTheOldZeroAddressPlaysTheCallerMusic) {
    established_call();
    // RFC 2543 hold: c=0.0.0.0, still sendrecv.
    phone_sends(p1002, "INVITE", 1, sdp_with(kSdpB, "c=IN IP4 192.0.2.20", "c=IN IP4 0.0.0.0"));
    const sip::Message* ok = phone_response(p1002, 1);
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->status(), 200);
    EXPECT_TRUE(media.saw("local_answer 1"));
    EXPECT_TRUE(media.saw("play_music 0"));
    EXPECT_EQ(requests_to(a.address, "INVITE"), 0u);
    phone_sends(p1002, "ACK", 1);

    phone_sends(p1002, "INVITE", 2, sdp_with(kSdpB, "a=sendrecv", "a=recvonly"));
    EXPECT_EQ(phone_response(p1002, 2)->status(), 200);
    EXPECT_TRUE(media.saw("stop_tone 0")) << "recvonly: it takes media again";
    EXPECT_EQ(requests_to(a.address, "INVITE"), 0u);
}

// Without music to play the hold goes to the other phone, as before music on hold existed.
void MusicOnHoldTest::expect_hold_relayed(std::string music, bool anchors) {
    CallConfig config = default_config();
    config.prompts_dir = prompt_dir().string();
    config.music_on_hold = std::move(music);
    build(config);
    media.anchors = anchors;
    established_call();
    caller_reinvites(sdp_with(kSdpA, "a=sendrecv", "a=sendonly"));
    const sip::Message* relayed = invite_to(p1002, 2);
    ASSERT_NE(relayed, nullptr);
    EXPECT_EQ(relayed->body(), sdp_with(kSdpA, "a=sendrecv", "a=sendonly"));
    EXPECT_FALSE(media.saw("local_answer 0"));
    EXPECT_FALSE(media.saw("play_music 1"));
    phone_answers(p1002, *relayed, 200, sdp_with(kSdpB, "a=sendrecv", "a=recvonly"));
    EXPECT_EQ(caller_response(a.cseq)->body(), sdp_with(kSdpB, "a=sendrecv", "a=recvonly"));
}

TEST_F(MusicOnHoldTest, WithMusicOnHoldOffTheHoldIsRelayed) {
    expect_hold_relayed("", true);
}

TEST_F(MusicOnHoldTest, WithMusicThatDoesNotLoadTheHoldIsRelayed) {
    expect_hold_relayed("no-such-music", true);
}

TEST_F(MusicOnHoldTest, WithDirectMediaTheHoldIsRelayed) {
    expect_hold_relayed("hold", false);
}

}  // namespace
TEST_F(LocalAnswerTest, TheAnswerInTheTwoHundredToOurRefreshReachesTheMediaEngine) {
    script.actions = {{Action::answer}, {Action::wait}};
    caller_invites(kSdpA, "Session-Expires: 90\r\n");  // no timer support: we refresh
    caller_acks();
    run_until(45'000);
    const sip::Message* re = last_to(a.address, "INVITE ");
    ASSERT_NE(re, nullptr) << "RFC 4028 10: the refresher refreshes at half the interval";
    EXPECT_EQ(re->body(), kSdpPbx) << "our last SDP, offered again";
    const std::string answer = sdp_with(kSdpA, "m=audio 4000", "m=audio 4002");
    Phone caller{"1001", a.address, a.from_tag};
    receive(response_text(*re, caller, 200, answer), caller.flow());
    EXPECT_EQ(count_to(a.address, "ACK "), 1u);
    receive(response_text(*re, caller, 200, answer), caller.flow());  // retransmitted
    EXPECT_EQ(count_to(a.address, "ACK "), 2u);
    EXPECT_EQ(media.local_offers, (std::vector<std::string>{answer})) << "taken once";
    run_until(90'500);
    const sip::Message* next = last_to(a.address, "INVITE ");
    ASSERT_NE(next, re);
    EXPECT_EQ(next->body(), kSdpPbxLocal) << "the SDP the engine made of the answer";
}

TEST_F(MusicOnHoldTest, WhileOnHoldTheAnswerInTheAckToOurOfferReachesTheMediaEngine) {
    established_call();
    caller_reinvites(sdp_with(kSdpA, "a=sendrecv", "a=sendonly"));
    caller_acks(a.cseq);
    ASSERT_TRUE(media.saw("play_music 1"));
    caller_reinvites("");  // answered by us while the callee hears music: our last SDP
    EXPECT_EQ(caller_response(a.cseq)->body(), kSdpPbxLocal);
    const std::string answer = sdp_with(kSdpA, "a=sendrecv", "a=recvonly");
    caller_acks(a.cseq, answer);
    ASSERT_EQ(media.local_offers.size(), 2u);
    EXPECT_EQ(media.local_offers[1], answer);
    EXPECT_EQ(requests_to(p1002.address, "INVITE"), 1u) << "the held callee hears nothing of it";
    EXPECT_EQ(count_to(p1002.address, "ACK "), 1u);
}

}  // namespace sb::call::testing
