// Client transactions: RFC 3261 17.1.1 (INVITE, with RFC 6026 Accepted), 17.1.2 (non-INVITE),
// 17.1.1.3 (ACK for non-2xx), 9.1 (CANCEL).
#include <set>

#include "fixture.h"

namespace sb::txn::testing {
namespace {

class ClientTxnTest : public TxnTest {
protected:
    RecordingClientUser user;

    // Our outgoing request, as the B2BUA builds it.
    Req outgoing(std::string method = "INVITE", std::string transport = "UDP") {
        Req r;
        r.method = std::move(method);
        r.transport = std::move(transport);
        r.via_host = "198.51.100.1";
        r.via_port = "5060";
        r.branch = layer->make_branch();
        r.uri = "sip:bob@192.0.2.20:5060";
        r.call_id = "b2b-leg-1";
        r.cseq = 101;
        r.extra = "Route: <sip:proxy1.example.com;lr>\nRoute: <sip:proxy2.example.com;lr>\n";
        return r;
    }
    sb::Flow dest(TransportKind k = TransportKind::udp) {
        sb::Flow f = k == TransportKind::udp ? udp_flow("192.0.2.20:5060") : tcp_flow(0);
        return f;
    }
    ClientTxnId start(const Req& r, sb::Flow f) {
        auto id = layer->start_client(r.text(), sip::method_from_text(r.method), r.branch, f, user);
        EXPECT_TRUE(id.has_value());
        return id ? *id : ClientTxnId{};
    }
};

// --- Non-INVITE (17.1.2) ----------------------------------------------------------------------

TEST_F(ClientTxnTest, NonInviteUdpTimerEDoublesToT2AndTimerFTimesOut) {
    Req reg = outgoing("REGISTER");
    ClientTxnId id = start(reg, dest());
    run_until(40000);
    EXPECT_EQ(sender.times("REGISTER"),
              (std::vector<std::int64_t>{0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500}));
    ASSERT_EQ(user.timeouts.size(), 1u);  // Timer F = 64*T1
    EXPECT_EQ(user.timeouts[0], id);
    EXPECT_EQ(layer->client_size(), 0u);
    EXPECT_EQ(sender.sent[0].flow, dest());
}

TEST_F(ClientTxnTest, NonInviteTimerFFiresAt64T1) {
    start(outgoing("OPTIONS"), dest());
    run_until(31999);
    EXPECT_TRUE(user.timeouts.empty());
    run_until(32000);
    EXPECT_EQ(user.timeouts.size(), 1u);
}

TEST_F(ClientTxnTest, NonInviteProvisionalMakesTimerERunAtT2) {
    Req bye = outgoing("BYE");
    start(bye, dest());
    run_until(600);  // sent at 0 and 500; next due at 1500
    receive(response(bye, 100));
    run_until(20000);
    // In Proceeding, E fires every T2 (17.1.2.2).
    EXPECT_EQ(sender.times("BYE"), (std::vector<std::int64_t>{0, 500, 1500, 5500, 9500, 13500, 17500}));
    EXPECT_EQ(user.statuses(), (std::vector<int>{100}));
}

TEST_F(ClientTxnTest, NonInviteFinalCompletesAbsorbsRetransmissionsAndTimerKEnds) {
    Req reg = outgoing("REGISTER");
    ClientTxnId id = start(reg, dest());
    run_until(100);
    receive(response(reg, 200));
    ASSERT_EQ(user.responses.size(), 1u);
    EXPECT_EQ(user.responses[0].id, id);
    receive(response(reg, 200));  // retransmission: absorbed in Completed
    EXPECT_EQ(user.responses.size(), 1u);
    run_until(100 + 5000 - 1);  // Timer K = T4
    EXPECT_EQ(layer->client_size(), 1u);
    EXPECT_EQ(sender.count("REGISTER"), 1u);  // no retransmission after the response
    run_until(100 + 5000);
    EXPECT_EQ(layer->client_size(), 0u);
    EXPECT_TRUE(user.timeouts.empty());
}

TEST_F(ClientTxnTest, NonInviteOverTcpNoTimerEAndTimerKIsZero) {
    Req reg = outgoing("REGISTER", "TCP");
    start(reg, dest(TransportKind::tcp));
    run_until(31999);
    EXPECT_EQ(sender.count("REGISTER"), 1u);  // reliable: no retransmissions
    receive(response(reg, 200), tcp_flow());
    EXPECT_EQ(user.statuses(), (std::vector<int>{200}));
    EXPECT_EQ(layer->client_size(), 0u);

    start(outgoing("REGISTER", "TCP"), dest(TransportKind::tcp));
    run_for(32000ms);  // Timer F runs over TCP too
    EXPECT_EQ(user.timeouts.size(), 1u);
}

// --- INVITE (17.1.1) --------------------------------------------------------------------------

TEST_F(ClientTxnTest, InviteUdpTimerADoublesWithoutCapAndTimerBTimesOut) {
    ClientTxnId id = start(outgoing(), dest());
    run_until(40000);
    EXPECT_EQ(sender.times("INVITE"), (std::vector<std::int64_t>{0, 500, 1500, 3500, 7500, 15500, 31500}));
    ASSERT_EQ(user.timeouts.size(), 1u);  // Timer B = 64*T1
    EXPECT_EQ(user.timeouts[0], id);
    EXPECT_EQ(layer->client_size(), 0u);
}

TEST_F(ClientTxnTest, InviteTimerBFiresAt64T1) {
    start(outgoing(), dest());
    run_until(31999);
    EXPECT_TRUE(user.timeouts.empty());
    run_until(32000);
    EXPECT_EQ(user.timeouts.size(), 1u);
}

TEST_F(ClientTxnTest, ConfigurableT1ScalesTheTimers) {
    TxnConfig c;
    c.t1 = Duration(100);
    configure(c);
    start(outgoing(), dest());
    run_until(10000);
    EXPECT_EQ(sender.times("INVITE"), (std::vector<std::int64_t>{0, 100, 300, 700, 1500, 3100, 6300}));
    EXPECT_EQ(user.timeouts.size(), 1u);  // B = 64 * 100 ms
}

TEST_F(ClientTxnTest, InviteOverTcpNoTimerAButTimerB) {
    start(outgoing("INVITE", "TCP"), dest(TransportKind::tcp));
    run_until(31999);
    EXPECT_EQ(sender.count("INVITE"), 1u);
    run_until(32000);
    EXPECT_EQ(user.timeouts.size(), 1u);
}

TEST_F(ClientTxnTest, InviteProvisionalStopsRetransmissionsAndTimerB) {
    Req inv = outgoing();
    start(inv, dest());
    run_until(600);
    receive(response(inv, 180));
    run_until(120000);
    EXPECT_EQ(sender.count("INVITE"), 2u);
    EXPECT_TRUE(user.timeouts.empty());  // no Timer B in Proceeding: it may ring for long
    receive(response(inv, 183));
    EXPECT_EQ(user.statuses(), (std::vector<int>{180, 183}));
}

TEST_F(ClientTxnTest, InviteWithoutFinalResponseEndsAtTheConfiguredBound) {
    TxnConfig c;
    c.max_invite_pending = std::chrono::seconds(90);
    configure(c);
    Req inv = outgoing();
    start(inv, dest());
    receive(response(inv, 180));
    run_until(89999);
    EXPECT_TRUE(user.timeouts.empty());
    run_until(90000);
    EXPECT_EQ(user.timeouts.size(), 1u);
    EXPECT_EQ(layer->client_size(), 0u);
}

TEST_F(ClientTxnTest, InviteNon2xxIsAckedByTheTransaction) {
    Req inv = outgoing();
    ClientTxnId id = start(inv, dest());
    receive(response(inv, 180));
    run_until(2000);
    receive(response(inv, 486, "busy3"));
    ASSERT_EQ(user.statuses(), (std::vector<int>{180, 486}));
    EXPECT_EQ(user.responses[1].id, id);

    ASSERT_EQ(sender.count("ACK"), 1u);
    EXPECT_EQ(sender.sent.back().flow, dest());  // where the INVITE went
    sip::Message ack = sender.last();
    // 17.1.1.3: Request-URI, Call-ID, From, CSeq number and Route of the INVITE; its top Via only;
    // To of the response.
    EXPECT_EQ(ack.method(), sip::Method::ACK);
    EXPECT_EQ(ack.request_uri_text(), inv.uri);
    EXPECT_EQ(ack.call_id(), inv.call_id);
    EXPECT_EQ(ack.from_tag(), inv.from_tag);
    EXPECT_EQ(ack.to_tag(), "busy3");
    EXPECT_EQ(ack.cseq(), 101u);
    EXPECT_EQ(ack.cseq_method(), sip::Method::ACK);
    EXPECT_EQ(ack.via_count(), 1u);
    EXPECT_EQ(ack.top_via().branch, inv.branch);
    std::vector<std::string_view> routes;
    ack.for_each_value(sip::HeaderId::route, [&](std::string_view v) {
        routes.push_back(v);
        return true;
    });
    EXPECT_EQ(routes, (std::vector<std::string_view>{"<sip:proxy1.example.com;lr>", "<sip:proxy2.example.com;lr>"}));
    EXPECT_EQ(ack.max_forwards(), 70);
    EXPECT_TRUE(ack.body().empty());

    // A retransmitted 486 is ACKed again and not passed up; Timer D ends it.
    run_until(3000);
    receive(response(inv, 486, "busy3"));
    EXPECT_EQ(sender.count("ACK"), 2u);
    EXPECT_EQ(user.responses.size(), 2u);
    run_until(2000 + 32000 - 1);
    EXPECT_EQ(layer->client_size(), 1u);
    run_until(2000 + 32000);  // Timer D = 32 s from the final response
    EXPECT_EQ(layer->client_size(), 0u);
    EXPECT_TRUE(user.timeouts.empty());
}

TEST_F(ClientTxnTest, InviteNon2xxOverTcpTimerDIsZero) {
    Req inv = outgoing("INVITE", "TCP");
    start(inv, dest(TransportKind::tcp));
    receive(response(inv, 603), tcp_flow());
    EXPECT_EQ(sender.count("ACK"), 1u);
    EXPECT_EQ(layer->client_size(), 0u);
    EXPECT_EQ(user.statuses(), (std::vector<int>{603}));
}

TEST_F(ClientTxnTest, Invite2xxIsAcceptedEvery2xxGoesToTheTuUntilTimerM) {
    Req inv = outgoing();
    ClientTxnId id = start(inv, dest());
    run_until(100);
    receive(response(inv, 200, "forkA"));
    receive(response(inv, 200, "forkA"));  // retransmission: the TU must ACK it again
    receive(response(inv, 200, "forkB"));  // another fork: another dialog
    receive(response(inv, 486, "forkC"));  // non-2xx after a 2xx: ignored
    ASSERT_EQ(user.statuses(), (std::vector<int>{200, 200, 200}));
    EXPECT_EQ(user.responses[2].id, id);
    EXPECT_EQ(sender.count("ACK"), 0u);  // the 2xx ACK is the TU's (13.2.2.4)
    run_until(1000);
    EXPECT_EQ(sender.count("INVITE"), 1u);  // no more Timer A
    run_until(100 + 32000 - 1);
    EXPECT_EQ(layer->client_size(), 1u);
    run_until(100 + 32000);  // Timer M = 64*T1
    EXPECT_EQ(layer->client_size(), 0u);
    receive(response(inv, 200, "forkA"));  // now stray: dropped
    EXPECT_EQ(user.responses.size(), 3u);
    EXPECT_TRUE(user.timeouts.empty());
}

// --- Transport errors (17.1.4) ------------------------------------------------------------------

TEST_F(ClientTxnTest, FirstSendFailingFailsStartClient) {
    sender.fail = true;
    Req inv = outgoing();
    auto r = layer->start_client(inv.text(), sip::Method::INVITE, inv.branch, dest(), user);
    EXPECT_FALSE(r.has_value());
    EXPECT_EQ(layer->client_size(), 0u);
    EXPECT_EQ(wheel.size(), 0u);
    EXPECT_TRUE(user.transport_errors.empty());
}

TEST_F(ClientTxnTest, RetransmissionFailureIsReported) {
    ClientTxnId id = start(outgoing("OPTIONS"), dest());
    sender.fail = true;
    run_until(500);
    ASSERT_EQ(user.transport_errors.size(), 1u);
    EXPECT_EQ(user.transport_errors[0], id);
    EXPECT_EQ(layer->client_size(), 0u);
    run_until(40000);
    EXPECT_TRUE(user.timeouts.empty());
}

TEST_F(ClientTxnTest, AckFailureIsReportedAfterTheResponse) {
    Req inv = outgoing();
    ClientTxnId id = start(inv, dest());
    sender.fail = true;
    receive(response(inv, 404));
    EXPECT_EQ(user.statuses(), (std::vector<int>{404}));
    ASSERT_EQ(user.transport_errors.size(), 1u);
    EXPECT_EQ(user.transport_errors[0], id);
    EXPECT_EQ(layer->client_size(), 0u);
}

// --- CANCEL (9.1) ------------------------------------------------------------------------------

TEST_F(ClientTxnTest, CancelInProceedingSendsCancelAndTheInviteEndsWith487) {
    Req inv = outgoing();
    ClientTxnId invite_id = start(inv, dest());
    receive(response(inv, 180, "ring"));
    RecordingClientUser cancel_user;
    auto cancel_id = layer->cancel_client(invite_id, cancel_user);
    ASSERT_TRUE(cancel_id.has_value());
    EXPECT_NE(*cancel_id, invite_id);

    ASSERT_EQ(sender.count("CANCEL"), 1u);
    sip::Message cancel = sender.last();
    EXPECT_EQ(sender.sent.back().flow, dest());
    EXPECT_EQ(cancel.request_uri_text(), inv.uri);
    EXPECT_EQ(cancel.top_via().branch, inv.branch);  // same branch, its own transaction
    EXPECT_EQ(cancel.via_count(), 1u);
    EXPECT_EQ(cancel.cseq(), 101u);
    EXPECT_EQ(cancel.cseq_method(), sip::Method::CANCEL);
    EXPECT_EQ(cancel.to_tag(), "");  // the INVITE's To
    EXPECT_EQ(cancel.call_id(), inv.call_id);
    EXPECT_NE(cancel.value(sip::HeaderId::route).find("proxy1"), std::string_view::npos);
    EXPECT_EQ(layer->client_size(), 2u);

    // Asking again gives the same CANCEL.
    auto again = layer->cancel_client(invite_id, cancel_user);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, *cancel_id);
    EXPECT_EQ(sender.count("CANCEL"), 1u);

    // The CANCEL retransmits over UDP like any non-INVITE (Timer E).
    run_until(500);
    EXPECT_EQ(sender.count("CANCEL"), 2u);

    receive(response(inv.as("CANCEL"), 200, "ring"));
    ASSERT_EQ(cancel_user.statuses(), (std::vector<int>{200}));
    EXPECT_EQ(cancel_user.responses[0].id, *cancel_id);
    receive(response(inv, 487, "ring"));
    EXPECT_EQ(user.statuses(), (std::vector<int>{180, 487}));
    EXPECT_EQ(sender.count("ACK"), 1u);
}

TEST_F(ClientTxnTest, CancelWaitsForAProvisionalResponse) {
    Req inv = outgoing();
    ClientTxnId invite_id = start(inv, dest());
    RecordingClientUser cancel_user;
    auto cancel_id = layer->cancel_client(invite_id, cancel_user);
    ASSERT_TRUE(cancel_id.has_value());
    run_until(1000);
    EXPECT_EQ(sender.count("CANCEL"), 0u);  // 9.1: not before a provisional response
    EXPECT_EQ(sender.count("INVITE"), 2u);  // the INVITE still retransmits (0, 500)
    receive(response(inv, 100));
    EXPECT_EQ(sender.count("CANCEL"), 1u);
    receive(response(inv.as("CANCEL"), 200));
    EXPECT_EQ(cancel_user.responses.size(), 1u);
    EXPECT_EQ(cancel_user.responses[0].id, *cancel_id);
}

TEST_F(ClientTxnTest, PendingCancelIsDroppedWhenAFinalResponseComesFirst) {
    Req inv = outgoing();
    ClientTxnId invite_id = start(inv, dest());
    RecordingClientUser cancel_user;
    ASSERT_TRUE(layer->cancel_client(invite_id, cancel_user).has_value());
    receive(response(inv, 486));
    EXPECT_EQ(sender.count("CANCEL"), 0u);
    EXPECT_TRUE(cancel_user.responses.empty());
    EXPECT_FALSE(layer->cancel_client(invite_id, cancel_user).has_value());  // has a final response
}

TEST_F(ClientTxnTest, InviteGivesUp64T1AfterCancelWithoutFinalResponse) {
    Req inv = outgoing();
    ClientTxnId invite_id = start(inv, dest());
    receive(response(inv, 180));
    run_until(1000);
    RecordingClientUser cancel_user;
    ASSERT_TRUE(layer->cancel_client(invite_id, cancel_user).has_value());
    receive(response(inv.as("CANCEL"), 200));
    run_until(1000 + 32000 - 1);
    EXPECT_TRUE(user.timeouts.empty());
    run_until(1000 + 32000);
    ASSERT_EQ(user.timeouts.size(), 1u);
    EXPECT_EQ(user.timeouts[0], invite_id);
}

TEST_F(ClientTxnTest, CancelOfNonInviteOrGoneFails) {
    ClientTxnId opt = start(outgoing("OPTIONS"), dest());
    EXPECT_FALSE(layer->cancel_client(opt, user).has_value());
    EXPECT_FALSE(layer->cancel_client(ClientTxnId{999}, user).has_value());
}

// --- The rest of the client API ------------------------------------------------------------------

TEST_F(ClientTxnTest, StopClientSilencesEverything) {
    Req inv = outgoing();
    ClientTxnId id = start(inv, dest());
    EXPECT_TRUE(layer->stop_client(id));
    EXPECT_FALSE(layer->stop_client(id));
    run_until(40000);
    EXPECT_EQ(sender.count("INVITE"), 1u);
    receive(response(inv, 486));
    EXPECT_TRUE(user.responses.empty());
    EXPECT_TRUE(user.timeouts.empty());
    EXPECT_EQ(sender.count("ACK"), 0u);
}

TEST_F(ClientTxnTest, TuMayStopTheTransactionFromItsCallback) {
    Req inv = outgoing("INVITE", "TCP");
    ClientTxnId id = start(inv, dest(TransportKind::tcp));
    user.on_response_hook = [&](ClientTxnId got, const sip::Message& r) {
        layer->stop_client(got);
        EXPECT_EQ(r.call_id(), inv.call_id);  // the response is still valid
    };
    receive(response(inv, 180), tcp_flow());
    EXPECT_EQ(layer->client_size(), 0u);
    EXPECT_FALSE(layer->stop_client(id));
}

TEST_F(ClientTxnTest, StartClientRejectsAckDuplicatesAndOverLimit) {
    TxnConfig c;
    c.max_client_transactions = 1;
    configure(c);
    Req ack = outgoing("ACK");
    EXPECT_FALSE(layer->start_client(ack.text(), sip::Method::ACK, ack.branch, dest(), user).has_value());
    Req inv = outgoing();
    ASSERT_TRUE(layer->start_client(inv.text(), sip::Method::INVITE, inv.branch, dest(), user).has_value());
    Req bye = outgoing("BYE");
    auto over = layer->start_client(bye.text(), sip::Method::BYE, bye.branch, dest(), user);
    ASSERT_FALSE(over.has_value());
    EXPECT_EQ(over.error().code, 503);
    EXPECT_EQ(sender.count("BYE"), 0u);

    configure(TxnConfig{});
    ASSERT_TRUE(layer->start_client(inv.text(), sip::Method::INVITE, inv.branch, dest(), user).has_value());
    EXPECT_FALSE(layer->start_client(inv.text(), sip::Method::INVITE, inv.branch, dest(), user).has_value());
}

TEST_F(ClientTxnTest, MakeBranchIsUniqueCookiedAndPrefixed) {
    std::set<std::string> seen;
    for (int i = 0; i < 10000; ++i) {
        std::string b = layer->make_branch();
        ASSERT_TRUE(b.starts_with("z9hG4bK"));
        ASSERT_TRUE(sip::is_token(b));
        ASSERT_TRUE(seen.insert(b).second);
    }
    TxnConfig c;
    c.branch_prefix = "s3.";
    configure(c);
    EXPECT_TRUE(layer->make_branch().starts_with("z9hG4bKs3."));
    // Two layers (two shards) do not produce the same branches.
    EXPECT_EQ(seen.count(layer->make_branch()), 0u);
}

}  // namespace
}  // namespace sb::txn::testing
