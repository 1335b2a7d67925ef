// Matching requests to server transactions (RFC 3261 17.2.3, 9.2) and responses to client
// transactions (17.1.3).
#include "fixture.h"
#include "sb/txn/message_builders.h"

namespace sb::txn::testing {
namespace {

class MatchingTest : public TxnTest {
protected:
    bool answer(ServerTxnId id, int status, std::string_view to_tag = "uas1") {
        const sip::Message* req = layer->request(id);
        if (req == nullptr) return false;
        return layer->respond(id, build_response(*req, status, {}, to_tag, *layer->flow(id)), status);
    }
};

TEST_F(MatchingTest, SameBranchDifferentSentByIsANewTransaction) {
    Req a;
    receive(a);
    Req b = a;
    b.via_host = "192.0.2.11";  // another host reusing the branch
    receive(b);
    EXPECT_EQ(server_user.requests.size(), 2u);
    Req c = a;
    c.via_port = "5071";
    receive(c);
    EXPECT_EQ(server_user.requests.size(), 3u);
    // Host comparison ignores case; a missing port is the default port.
    Req d;
    d.via_host = "PHONE.example.com";
    d.via_port = "";
    d.branch = "z9hG4bKhost";
    receive(d);
    Req e = d;
    e.via_host = "phone.EXAMPLE.com";
    e.via_port = "5060";
    receive(e);
    EXPECT_EQ(server_user.requests.size(), 4u);
}

TEST_F(MatchingTest, SameBranchDifferentCallIdIsANewTransaction) {
    // Two unrelated requests that reuse a branch (RFC 4475's torture messages do) must each be
    // answered, not treated as a retransmission of the other.
    Req a;
    a.method = "REGISTER";
    receive(a);
    Req b = a;
    b.call_id = "another-call@192.0.2.10";
    receive(b);
    EXPECT_EQ(server_user.requests.size(), 2u);
    // A real retransmission (same Call-ID) still matches.
    receive(a);
    EXPECT_EQ(server_user.requests.size(), 2u);
    // Same branch, Call-ID and CSeq but another Request-URI: another request (RFC 5118 4.3/4.4).
    Req c = a;
    c.uri = "sip:other@192.0.2.99";
    receive(c);
    EXPECT_EQ(server_user.requests.size(), 3u);
}

TEST_F(MatchingTest, SameBranchDifferentMethodIsANewTransaction) {
    Req inv;
    receive(inv);
    Req bye = inv.as("BYE");
    receive(bye);
    EXPECT_EQ(server_user.requests.size(), 2u);
    EXPECT_EQ(layer->server_size(), 2u);
}

TEST_F(MatchingTest, BranchComparisonIsExact) {
    Req a;
    a.branch = "z9hG4bKAbC";
    receive(a);
    Req b = a;
    b.branch = "z9hG4bKAbCd";
    receive(b);
    EXPECT_EQ(server_user.requests.size(), 2u);
}

TEST_F(MatchingTest, CancelGetsItsOwnTransactionAndFindsTheInvite) {
    Req inv;
    receive(inv);
    ServerTxnId invite_id = last_server_id();
    Req cancel = inv.as("CANCEL");
    receive(cancel);
    ASSERT_EQ(server_user.requests.size(), 2u);
    ServerTxnId cancel_id = last_server_id();
    EXPECT_NE(cancel_id, invite_id);
    EXPECT_EQ(layer->request(cancel_id)->method(), sip::Method::CANCEL);
    EXPECT_EQ(layer->find_cancelled_invite(cancel_id), invite_id);
    EXPECT_FALSE(layer->find_cancelled_invite(invite_id));  // not a CANCEL

    // The TU answers: 200 to the CANCEL, 487 to the INVITE.
    ASSERT_TRUE(answer(cancel_id, 200));
    ASSERT_TRUE(answer(invite_id, 487));
    receive(cancel);  // a retransmitted CANCEL gets its 200 again, not a new transaction
    EXPECT_EQ(sender.count("SIP/2.0 200"), 2u);
    EXPECT_EQ(server_user.requests.size(), 2u);
}

TEST_F(MatchingTest, CancelForUnknownInviteFindsNothing) {
    Req cancel;
    cancel.method = "CANCEL";
    cancel.branch = "z9hG4bKnothing";
    receive(cancel);
    ServerTxnId id = last_server_id();
    EXPECT_FALSE(layer->find_cancelled_invite(id));
    // A CANCEL from another sent-by does not cancel our INVITE either.
    Req inv;
    receive(inv);
    Req spoof = inv.as("CANCEL");
    spoof.via_host = "203.0.113.5";
    receive(spoof);
    EXPECT_FALSE(layer->find_cancelled_invite(last_server_id()));
}

// --- RFC 2543 peers: no magic cookie -----------------------------------------------------------

TEST_F(MatchingTest, Rfc2543RetransmissionsMatchByDialogFieldsAndTopVia) {
    Req inv;
    inv.branch = "";  // RFC 2543: no branch at all
    receive(inv);
    ServerTxnId id = last_server_id();
    ASSERT_TRUE(answer(id, 180));
    receive(inv);  // the same request again: a retransmission
    EXPECT_EQ(server_user.requests.size(), 1u);
    EXPECT_EQ(sender.count("SIP/2.0 180"), 2u);

    Req other_cseq = inv;
    other_cseq.cseq = 2;
    receive(other_cseq);
    Req other_uri = inv;
    other_uri.uri = "sip:201@pbx.example.com";
    receive(other_uri);
    Req other_from = inv;
    other_from.from_tag = "f2";
    receive(other_from);
    Req other_via = inv;
    other_via.via_port = "5071";
    receive(other_via);
    Req other_call = inv;
    other_call.call_id = "call-2";
    receive(other_call);
    EXPECT_EQ(server_user.requests.size(), 6u);  // each a new transaction
}

TEST_F(MatchingTest, Rfc2543BranchWithoutCookieIsComparedAsPartOfTheVia) {
    Req inv;
    inv.branch = "1";  // an old-style branch
    receive(inv);
    Req again = inv;
    receive(again);
    EXPECT_EQ(server_user.requests.size(), 1u);
    Req other = inv;
    other.branch = "2";
    receive(other);
    EXPECT_EQ(server_user.requests.size(), 2u);
}

TEST_F(MatchingTest, Rfc2543AckMatchesByTheToTagOfOurResponse) {
    Req inv;
    inv.branch = "";
    receive(inv);
    ServerTxnId id = last_server_id();
    ASSERT_TRUE(answer(id, 486, "busy7"));

    Req wrong = inv.as("ACK");
    wrong.to_tag = "other";  // not the tag we sent: not ours
    receive(wrong);
    EXPECT_EQ(server_user.acks.size(), 1u);

    Req ack = inv.as("ACK");
    ack.to_tag = "busy7";
    receive(ack);
    EXPECT_EQ(server_user.acks.size(), 1u);  // absorbed
    run_for(5000ms);                          // Timer I
    EXPECT_EQ(layer->server_size(), 0u);
    EXPECT_TRUE(server_user.timeouts.empty());
}

TEST_F(MatchingTest, Rfc2543CancelFindsTheInvite) {
    Req inv;
    inv.branch = "";
    receive(inv);
    ServerTxnId invite_id = last_server_id();
    Req cancel = inv.as("CANCEL");
    receive(cancel);
    ServerTxnId cancel_id = last_server_id();
    EXPECT_NE(cancel_id, invite_id);
    EXPECT_EQ(layer->find_cancelled_invite(cancel_id), invite_id);
    receive(cancel);  // retransmitted CANCEL: absorbed by the CANCEL's transaction
    EXPECT_EQ(server_user.requests.size(), 2u);
}

TEST_F(MatchingTest, Rfc2543TransactionIsErasedFromTheLegacyIndex) {
    Req opt;
    opt.method = "OPTIONS";
    opt.branch = "";
    opt.transport = "TCP";
    receive(opt, tcp_flow());
    ASSERT_TRUE(answer(last_server_id(), 200));  // TCP: Timer J = 0
    EXPECT_EQ(layer->server_size(), 0u);
    receive(opt, tcp_flow());  // now a new transaction
    EXPECT_EQ(server_user.requests.size(), 2u);
}

// --- Client side: branch + CSeq method (17.1.3) -------------------------------------------------

TEST_F(MatchingTest, ClientResponsesMatchByBranchAndCSeqMethod) {
    RecordingClientUser user;
    Req inv;
    inv.branch = layer->make_branch();
    auto id = layer->start_client(inv.text(), sip::Method::INVITE, inv.branch, udp_flow(), user);
    ASSERT_TRUE(id.has_value());

    receive(response(inv.as("CANCEL"), 200));  // same branch, CSeq method CANCEL: not this one
    Req other = inv;
    other.branch = "z9hG4bKsomeoneelse";
    receive(response(other, 180));             // another branch: not this one
    EXPECT_TRUE(user.responses.empty());

    receive(response(inv, 180));
    ASSERT_EQ(user.responses.size(), 1u);
    EXPECT_EQ(user.responses[0].id, *id);
}

TEST_F(MatchingTest, StrayResponsesAreDropped) {
    Req inv;
    receive(response(inv, 200));
    EXPECT_TRUE(sender.sent.empty());
    EXPECT_TRUE(server_user.requests.empty());
    EXPECT_TRUE(server_user.acks.empty());
}

}  // namespace
}  // namespace sb::txn::testing

namespace sb::txn::testing {
namespace {

TEST_F(MatchingTest, RetransmissionOnANewConnectionIsAnsweredThere) {
    Req a;  // an INVITE: its transaction outlives the final response even over TCP (Timer H)
    receive(a, tcp_flow(7));
    ASSERT_EQ(server_user.requests.size(), 1u);
    ASSERT_TRUE(answer(server_user.requests[0].id, 486));
    EXPECT_EQ(sender.sent.back().flow.connection_id, 7u);
    // The phone lost connection 7 and retransmits on connection 8: the response goes to 8.
    receive(a, tcp_flow(8));
    EXPECT_EQ(server_user.requests.size(), 1u);
    EXPECT_EQ(sender.sent.back().flow.connection_id, 8u);
}

}  // namespace
}  // namespace sb::txn::testing

namespace sb::txn::testing {
namespace {

TEST_F(MatchingTest, CompletedNonInviteReleasesItsRequestButStillMatches) {
    Req a;
    a.method = "REGISTER";
    receive(a);
    ASSERT_EQ(server_user.requests.size(), 1u);
    ServerTxnId id = server_user.requests[0].id;
    ASSERT_TRUE(answer(id, 200));
    EXPECT_EQ(layer->request(id), nullptr);  // compacted: only the key and the response remain
    std::size_t sends = sender.sent.size();
    receive(a);  // a retransmission: answered from the kept response, not passed to the TU
    EXPECT_EQ(server_user.requests.size(), 1u);
    ASSERT_EQ(sender.sent.size(), sends + 1);
    EXPECT_EQ(sender.last().status(), 200);
    Req other = a;
    other.call_id = "x@y";
    receive(other);
    EXPECT_EQ(server_user.requests.size(), 2u);
}

}  // namespace
}  // namespace sb::txn::testing
