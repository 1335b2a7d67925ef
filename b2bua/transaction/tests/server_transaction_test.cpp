// Server transactions: RFC 3261 17.2.1 (INVITE, with RFC 6026 Accepted) and 17.2.2 (non-INVITE).
#include "fixture.h"
#include "sb/txn/message_builders.h"

namespace sb::txn::testing {
namespace {

class ServerTxnTest : public TxnTest {
protected:
    // The TU's answer to server transaction `id`, built as a TU would.
    bool answer(ServerTxnId id, int status, std::string_view to_tag = "uas1") {
        const sip::Message* req = layer->request(id);
        std::string bytes = req ? build_response(*req, status, {}, to_tag, *layer->flow(id)) : "SIP/2.0 500 x\r\n\r\n";
        return layer->respond(id, std::move(bytes), status);
    }
};

// --- Non-INVITE (17.2.2) ------------------------------------------------------------------------

TEST_F(ServerTxnTest, NonInviteUdpKeepsFinalResponseForTimerJ) {
    Req reg;
    reg.method = "REGISTER";
    receive(reg);
    ASSERT_EQ(server_user.requests.size(), 1u);
    ServerTxnId id = last_server_id();
    EXPECT_TRUE(id);
    EXPECT_TRUE(sender.sent.empty());  // no 100 for non-INVITE

    receive(reg);  // retransmission in Trying: absorbed, the TU does not see it
    EXPECT_EQ(server_user.requests.size(), 1u);
    EXPECT_TRUE(sender.sent.empty());

    run_until(300);
    ASSERT_TRUE(answer(id, 200));
    EXPECT_EQ(sender.count("SIP/2.0 200"), 1u);
    EXPECT_FALSE(answer(id, 200));  // a second final response is refused

    receive(reg);  // retransmission in Completed: the final response again
    EXPECT_EQ(sender.count("SIP/2.0 200"), 2u);
    EXPECT_EQ(server_user.requests.size(), 1u);

    // Timer J = 64*T1 over UDP, then the transaction is gone: a late copy is a new request.
    run_until(300 + 32000 - 1);
    EXPECT_EQ(layer->server_size(), 1u);
    run_until(300 + 32000);
    EXPECT_EQ(layer->server_size(), 0u);
    receive(reg);
    EXPECT_EQ(server_user.requests.size(), 2u);
    EXPECT_NE(last_server_id(), id);  // ids are never reused
}

TEST_F(ServerTxnTest, NonInviteProvisionalIsResentOnRetransmission) {
    Req opt;
    opt.method = "OPTIONS";
    receive(opt);
    ServerTxnId id = last_server_id();
    ASSERT_TRUE(answer(id, 180));
    receive(opt);
    EXPECT_EQ(sender.count("SIP/2.0 180"), 2u);
    ASSERT_TRUE(answer(id, 200));
    receive(opt);
    EXPECT_EQ(sender.count("SIP/2.0 200"), 2u);
    EXPECT_EQ(sender.count("SIP/2.0 180"), 2u);
}

TEST_F(ServerTxnTest, NonInviteOverTcpEndsAtOnceTimerJIsZero) {
    Req reg;
    reg.method = "REGISTER";
    reg.transport = "TCP";
    receive(reg, tcp_flow());
    ServerTxnId id = last_server_id();
    ASSERT_TRUE(answer(id, 200));
    EXPECT_EQ(layer->server_size(), 0u);
    ASSERT_EQ(sender.sent.size(), 1u);
    EXPECT_EQ(sender.sent[0].flow, tcp_flow());  // on the same connection
    EXPECT_EQ(layer->request(id), nullptr);
}

TEST_F(ServerTxnTest, NonInviteSilentTuTimesOutAfter64T1AndLateAnswerIsHarmless) {
    Req msg;
    msg.method = "MESSAGE";
    receive(msg);
    ServerTxnId id = last_server_id();
    run_until(32000 - 1);
    EXPECT_TRUE(server_user.timeouts.empty());
    run_until(32000);
    ASSERT_EQ(server_user.timeouts.size(), 1u);
    EXPECT_EQ(server_user.timeouts[0], id);
    EXPECT_EQ(layer->server_size(), 0u);
    // The TU answers after its database round trip: the id finds nothing, nothing is sent.
    EXPECT_FALSE(layer->respond(id, "SIP/2.0 200 OK\r\n\r\n", 200));
    EXPECT_FALSE(layer->respond(ServerTxnId{12345}, "SIP/2.0 200 OK\r\n\r\n", 200));
    EXPECT_FALSE(layer->respond(ServerTxnId{}, "SIP/2.0 200 OK\r\n\r\n", 200));
    EXPECT_TRUE(sender.sent.empty());
}

TEST_F(ServerTxnTest, TuMayAnswerInsideOnRequestAndTheRequestStaysValid) {
    Req reg;
    reg.method = "REGISTER";
    reg.transport = "TCP";
    std::string call_id_after;
    server_user.on_request_hook = [&](ServerTxnId id, const sip::Message& req, const sb::Flow& flow) {
        layer->respond(id, build_response(req, 200, {}, "t", flow), 200);  // over TCP: terminates at once
        call_id_after = std::string(req.call_id());                          // still valid
    };
    receive(reg, tcp_flow());
    EXPECT_EQ(call_id_after, reg.call_id);
    EXPECT_EQ(layer->server_size(), 0u);
}

// --- INVITE (17.2.1) ------------------------------------------------------------------------------

TEST_F(ServerTxnTest, InviteSends100TryingAfter200msWhenTuIsSilent) {
    Req inv;
    receive(inv);
    run_until(199);
    EXPECT_TRUE(sender.sent.empty());
    run_until(200);
    ASSERT_EQ(sender.count("SIP/2.0 100 Trying"), 1u);
    sip::Message trying = sender.last();
    EXPECT_EQ(trying.to_tag(), "");  // 8.2.6.2: no tag needed on a 100
    EXPECT_EQ(trying.top_via().branch, inv.branch);
}

TEST_F(ServerTxnTest, InviteNo100WhenTuAnswersFirst) {
    Req inv;
    receive(inv);
    run_until(150);
    ASSERT_TRUE(answer(last_server_id(), 180));
    run_until(1000);
    EXPECT_EQ(sender.count("SIP/2.0 100"), 0u);
    EXPECT_EQ(sender.count("SIP/2.0 180"), 1u);
}

TEST_F(ServerTxnTest, InviteTryingDelayZeroSends100BeforeTheTuSeesIt) {
    TxnConfig c;
    c.trying_delay = Duration::zero();
    configure(c);
    Req inv;
    inv.extra = "Timestamp: 54\n";
    std::size_t sent_at_on_request = 99;
    server_user.on_request_hook = [&](ServerTxnId, const sip::Message&, const sb::Flow&) {
        sent_at_on_request = sender.sent.size();
    };
    receive(inv);
    EXPECT_EQ(sent_at_on_request, 1u);
    EXPECT_EQ(sender.last().status(), 100);
    EXPECT_EQ(sender.last().value(sip::HeaderId::timestamp), "54");  // 8.2.6.1
}

TEST_F(ServerTxnTest, InviteTryingDisabledButRetransmissionGets100) {
    TxnConfig c;
    c.trying_delay = Duration(-1);
    configure(c);
    Req inv;
    receive(inv);
    run_until(5000);
    EXPECT_TRUE(sender.sent.empty());
    receive(inv);  // the client retransmits: stop it with a 100 now
    EXPECT_EQ(sender.count("SIP/2.0 100"), 1u);
    EXPECT_EQ(server_user.requests.size(), 1u);
}

TEST_F(ServerTxnTest, InviteRetransmissionGetsTheLatestProvisional) {
    Req inv;
    receive(inv);
    ServerTxnId id = last_server_id();
    ASSERT_TRUE(answer(id, 180));
    ASSERT_TRUE(answer(id, 183));
    receive(inv);
    receive(inv);
    EXPECT_EQ(sender.count("SIP/2.0 180"), 1u);
    EXPECT_EQ(sender.count("SIP/2.0 183"), 3u);
    EXPECT_EQ(server_user.requests.size(), 1u);
}

TEST_F(ServerTxnTest, InviteNon2xxOverUdpTimerGDoublesToT2ThenTimerHReportsTimeout) {
    Req inv;
    receive(inv);
    ServerTxnId id = last_server_id();
    ASSERT_TRUE(answer(id, 486));
    // G: T1, then min(2*T1, T2) doubling to T2 = 4 s; H = 64*T1 = 32 s.
    run_until(40000);
    EXPECT_EQ(sender.times("SIP/2.0 486"),
              (std::vector<std::int64_t>{0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500}));
    ASSERT_EQ(server_user.timeouts.size(), 1u);
    EXPECT_EQ(server_user.timeouts[0], id);
    EXPECT_EQ(layer->server_size(), 0u);
}

TEST_F(ServerTxnTest, InviteTimerHFiresAt64T1) {
    Req inv;
    receive(inv);
    ASSERT_TRUE(answer(last_server_id(), 404));
    run_until(31999);
    EXPECT_TRUE(server_user.timeouts.empty());
    run_until(32000);
    EXPECT_EQ(server_user.timeouts.size(), 1u);
}

TEST_F(ServerTxnTest, AckForNon2xxIsAbsorbedStopsTimerGAndTimerIEnds) {
    Req inv;
    receive(inv);
    ServerTxnId id = last_server_id();
    ASSERT_TRUE(answer(id, 486, "uas1"));
    run_until(600);  // one retransmission at 500
    EXPECT_EQ(sender.count("SIP/2.0 486"), 2u);

    Req ack = inv.as("ACK");
    ack.to_tag = "uas1";
    receive(ack);  // same branch: part of the INVITE transaction (17.2.3)
    EXPECT_TRUE(server_user.acks.empty());
    receive(ack);  // retransmitted ACK in Confirmed: absorbed
    EXPECT_TRUE(server_user.acks.empty());
    receive(inv);  // a late INVITE copy in Confirmed: absorbed, nothing resent
    run_until(600 + 5000 - 1);  // Timer I = T4
    EXPECT_EQ(sender.count("SIP/2.0 486"), 2u);  // G stopped
    EXPECT_EQ(layer->server_size(), 1u);
    run_until(600 + 5000);
    EXPECT_EQ(layer->server_size(), 0u);
    EXPECT_TRUE(server_user.timeouts.empty());  // H never fired
}

TEST_F(ServerTxnTest, InviteRetransmissionInCompletedGetsTheFinalResponse) {
    Req inv;
    receive(inv);
    ASSERT_TRUE(answer(last_server_id(), 603));
    run_until(100);
    receive(inv);
    EXPECT_EQ(sender.times("SIP/2.0 603"), (std::vector<std::int64_t>{0, 100}));
    EXPECT_EQ(server_user.requests.size(), 1u);
}

TEST_F(ServerTxnTest, InviteOverTcpHasNoTimerGButTimerHAndZeroTimerI) {
    Req inv;
    inv.transport = "TCP";
    receive(inv, tcp_flow());
    ServerTxnId id = last_server_id();
    ASSERT_TRUE(answer(id, 486));
    run_until(31999);
    EXPECT_EQ(sender.count("SIP/2.0 486"), 1u);  // no retransmissions over a stream
    Req ack = inv.as("ACK");
    ack.to_tag = "uas1";
    receive(ack, tcp_flow());
    EXPECT_EQ(layer->server_size(), 0u);  // Timer I is zero
    EXPECT_TRUE(server_user.acks.empty());

    // And without an ACK, Timer H still fires over TCP.
    Req inv2 = inv;
    inv2.branch = "z9hG4bKother";
    receive(inv2, tcp_flow());
    ASSERT_TRUE(answer(last_server_id(), 486));
    run_for(32000ms);
    EXPECT_EQ(server_user.timeouts.size(), 1u);
}

TEST_F(ServerTxnTest, Invite2xxAcceptedAbsorbsRetransmissionsAndPassesAckToTu) {
    Req inv;
    receive(inv);
    ServerTxnId id = last_server_id();
    ASSERT_TRUE(answer(id, 200));
    EXPECT_EQ(sender.count("SIP/2.0 200"), 1u);

    receive(inv);  // RFC 6026: an INVITE copy after the 2xx is not a new call
    EXPECT_EQ(server_user.requests.size(), 1u);
    EXPECT_EQ(sender.count("SIP/2.0 200"), 1u);  // and the transaction does not resend the 2xx

    // The TU retransmits its 2xx itself (13.3.1.4) through the transaction.
    EXPECT_TRUE(answer(id, 200));
    EXPECT_EQ(sender.count("SIP/2.0 200"), 2u);
    EXPECT_FALSE(answer(id, 486));  // but nothing else

    // The ACK for a 2xx is its own transaction (new branch): to the TU.
    Req ack = inv.as("ACK");
    ack.branch = "z9hG4bKack2xx";
    ack.to_tag = "uas1";
    receive(ack);
    ASSERT_EQ(server_user.acks.size(), 1u);
    EXPECT_NE(server_user.acks[0].find("ACK sip:200@pbx.example.com"), std::string::npos);
    // Even one reusing the INVITE's branch goes to the TU while Accepted (RFC 6026 7.1).
    ack.branch = inv.branch;
    receive(ack);
    EXPECT_EQ(server_user.acks.size(), 2u);

    // Timer L = 64*T1.
    run_until(31999);
    EXPECT_EQ(layer->server_size(), 1u);
    run_until(32000);
    EXPECT_EQ(layer->server_size(), 0u);
    EXPECT_TRUE(server_user.timeouts.empty());
    EXPECT_FALSE(answer(id, 200));
}

TEST_F(ServerTxnTest, StrayAckGoesToTu) {
    Req ack;
    ack.method = "ACK";
    ack.to_tag = "x";
    receive(ack);
    EXPECT_EQ(server_user.acks.size(), 1u);
    EXPECT_TRUE(server_user.requests.empty());
    EXPECT_EQ(layer->server_size(), 0u);
}

TEST_F(ServerTxnTest, SilentTuOnInviteGets500AfterTheBoundAndOneTimeout) {
    TxnConfig c;
    c.max_invite_pending = std::chrono::seconds(60);
    configure(c);
    Req inv;
    receive(inv);
    ServerTxnId id = last_server_id();
    ASSERT_TRUE(answer(id, 180, "ring1"));
    run_until(60000);
    ASSERT_EQ(sender.count("SIP/2.0 500"), 1u);
    EXPECT_EQ(sender.last().to_tag(), "ring1");  // same dialog as the 180
    EXPECT_EQ(server_user.timeouts.size(), 1u);
    run_until(60000 + 32000);  // Timer H after the 500: no second report
    EXPECT_EQ(server_user.timeouts.size(), 1u);
    EXPECT_EQ(layer->server_size(), 0u);
}

// --- Transport errors (17.2.4) ---------------------------------------------------------------

TEST_F(ServerTxnTest, TransportErrorOnResponseIsReportedAfterRespondReturns) {
    Req inv;
    inv.transport = "TCP";
    receive(inv, tcp_flow());
    ServerTxnId id = last_server_id();
    sender.fail = true;  // the connection went away
    server_user.in_call = true;
    EXPECT_TRUE(answer(id, 180));
    server_user.in_call = false;
    EXPECT_FALSE(server_user.nested_callback);  // not from inside respond()
    EXPECT_EQ(layer->server_size(), 0u);         // but the transaction is gone already
    EXPECT_TRUE(server_user.transport_errors.empty());
    wheel.advance(clock.now());  // the next turn of the event loop delivers it
    ASSERT_EQ(server_user.transport_errors.size(), 1u);
    EXPECT_EQ(server_user.transport_errors[0], id);
    EXPECT_EQ(layer->server_size(), 0u);
    EXPECT_FALSE(answer(id, 200));
}

TEST_F(ServerTxnTest, TransportErrorWhileAnsweringInsideOnRequestIsReportedAfterIt) {
    Req reg;
    reg.method = "REGISTER";
    reg.transport = "TCP";
    sender.fail = true;
    server_user.on_request_hook = [&](ServerTxnId id, const sip::Message& req, const sb::Flow& flow) {
        server_user.in_call = true;
        layer->respond(id, build_response(req, 200, {}, "t", flow), 200);
        server_user.in_call = false;
    };
    receive(reg, tcp_flow());
    EXPECT_FALSE(server_user.nested_callback);
    EXPECT_EQ(server_user.transport_errors.size(), 1u);  // as receive() returns
}

TEST_F(ServerTxnTest, TransportErrorOnTimerGRetransmission) {
    Req inv;
    receive(inv);
    ServerTxnId id = last_server_id();
    ASSERT_TRUE(answer(id, 486));
    sender.fail = true;
    run_until(500);
    ASSERT_EQ(server_user.transport_errors.size(), 1u);
    EXPECT_EQ(server_user.transport_errors[0], id);
    EXPECT_EQ(layer->server_size(), 0u);
    run_until(40000);
    EXPECT_TRUE(server_user.timeouts.empty());
}

// --- Overload ----------------------------------------------------------------------------------

TEST_F(ServerTxnTest, BeyondMaxLiveNewRequestsGet503RetryAfterBeforeTheTu) {
    TxnConfig c;
    c.max_server_transactions = 2;
    c.retry_after_seconds = 7;
    configure(c);
    Req a, b, d;
    a.branch = "z9hG4bKa";
    b.branch = "z9hG4bKb";
    d.branch = "z9hG4bKd";
    d.rport = true;
    receive(a);
    receive(b);
    EXPECT_EQ(server_user.requests.size(), 2u);
    receive(d, udp_flow("192.0.2.99:40000"));
    EXPECT_EQ(server_user.requests.size(), 2u);  // the TU never saw it
    EXPECT_EQ(layer->server_size(), 2u);
    ASSERT_EQ(sender.sent.size(), 1u);
    sip::Message r = sender.last();
    EXPECT_EQ(r.status(), 503);
    EXPECT_EQ(r.value(sip::HeaderId::retry_after), "7");
    EXPECT_FALSE(r.to_tag().empty());
    EXPECT_EQ(r.top_via().branch, "z9hG4bKd");
    EXPECT_EQ(sender.sent[0].flow.remote.to_string(), "192.0.2.99:40000");  // rport: source port
    // Its retransmission gets the same answer (same To tag) and still no transaction.
    receive(d, udp_flow("192.0.2.99:40000"));
    EXPECT_EQ(parse(sender.sent[1].bytes).to_tag(), r.to_tag());
    // Retransmissions of admitted requests are still served.
    receive(a);
    EXPECT_EQ(sender.count("SIP/2.0 503"), 2u);
    EXPECT_EQ(server_user.requests.size(), 2u);
    // The ACK for the 503 is passed on like any unmatched ACK, creating nothing.
    Req ack = d.as("ACK");
    ack.to_tag = std::string(r.to_tag());
    receive(ack);
    EXPECT_EQ(layer->server_size(), 2u);
}

// --- Response destination (18.2.2, RFC 3581) --------------------------------------------------

TEST_F(ServerTxnTest, UdpResponsesGoToSourceIpAndViaPortOrRport) {
    Req plain;  // no rport: source IP, Via port
    plain.via_port = "5090";
    receive(plain, udp_flow("192.0.2.77:33333"));
    ASSERT_TRUE(answer(last_server_id(), 404));
    EXPECT_EQ(sender.sent.back().flow.remote.to_string(), "192.0.2.77:5090");
    EXPECT_EQ(sender.sent.back().flow.local.to_string(), "198.51.100.1:5060");

    Req nat = plain;
    nat.branch = "z9hG4bKnat";
    nat.rport = true;  // rport: source IP and port
    receive(nat, udp_flow("192.0.2.77:33333"));
    ASSERT_TRUE(answer(last_server_id(), 404));
    EXPECT_EQ(sender.sent.back().flow.remote.to_string(), "192.0.2.77:33333");
    sip::Message resp = sender.last();
    EXPECT_EQ(resp.top_via().rport, "33333");
    EXPECT_EQ(resp.top_via().received, "192.0.2.77");
}

// --- stop() -------------------------------------------------------------------------------------

TEST_F(ServerTxnTest, StopEndsEverythingQuietly) {
    Req inv;
    receive(inv);
    ServerTxnId id = last_server_id();
    ASSERT_TRUE(answer(id, 486));
    layer->stop();
    EXPECT_EQ(layer->size(), 0u);
    EXPECT_EQ(wheel.size(), 0u);
    run_until(60000);
    EXPECT_EQ(sender.sent.size(), 1u);
    EXPECT_TRUE(server_user.timeouts.empty());
    EXPECT_FALSE(answer(id, 486));
}

}  // namespace
}  // namespace sb::txn::testing

namespace sb::txn::testing {
namespace {

TEST_F(ServerTxnTest, CompletedNonInviteTransactionsDoNotCountAsLoad) {
    TxnConfig c;
    c.max_server_transactions = 2;
    c.max_completed_server_transactions = 3;
    configure(c);
    // Answered REGISTERs wait out Timer J but are no work in progress: more keep being admitted...
    for (int i = 0; i < 3; ++i) {
        Req r;
        r.method = "REGISTER";
        r.branch = "z9hG4bKreg" + std::to_string(i);
        receive(r);
        const sip::Message* req = layer->request(server_user.requests.back().id);
        ASSERT_NE(req, nullptr);
        ASSERT_TRUE(layer->respond(server_user.requests.back().id,
                                   build_response(*req, 200, {}, "t", udp_flow()), 200));
    }
    EXPECT_EQ(server_user.requests.size(), 3u);
    EXPECT_EQ(layer->server_size(), 3u);
    // ...until the cap on completed ones is reached.
    Req more;
    more.method = "REGISTER";
    more.branch = "z9hG4bKmore";
    receive(more);
    EXPECT_EQ(server_user.requests.size(), 3u);
    EXPECT_EQ(sender.last().status(), 503);
}

}  // namespace
}  // namespace sb::txn::testing
