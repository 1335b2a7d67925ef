// The response destination rule (RFC 3261 18.2.2, RFC 3581) and the message builders.
#include "fixture.h"
#include "sb/txn/message_builders.h"
#include "sb/txn/response_route.h"

namespace sb::txn::testing {
namespace {

sip::Via via_of(std::string_view value) {
    auto v = sip::parse_via(value);
    EXPECT_TRUE(v.has_value());
    return *v;
}

TEST(ResponseFlow, UdpWithoutRportUsesSourceIpAndViaPort) {
    sb::Flow in = udp_flow("192.0.2.10:33000");
    sb::Flow out = response_flow(via_of("SIP/2.0/UDP phone.example.com:5070;branch=z9hG4bK1"), in);
    EXPECT_EQ(out.remote.to_string(), "192.0.2.10:5070");  // received address, sent-by port
    EXPECT_EQ(out.local, in.local);
    EXPECT_EQ(out.transport, TransportKind::udp);
}

TEST(ResponseFlow, UdpWithoutRportOrPortUses5060) {
    sb::Flow out = response_flow(via_of("SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1"), udp_flow("192.0.2.10:33000"));
    EXPECT_EQ(out.remote.to_string(), "192.0.2.10:5060");
}

TEST(ResponseFlow, UdpWithRportUsesSourceIpAndPort) {
    sb::Flow out = response_flow(via_of("SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK1"), udp_flow("203.0.113.9:61000"));
    EXPECT_EQ(out.remote.to_string(), "203.0.113.9:61000");  // behind NAT: where it really came from
}

TEST(ResponseFlow, MaddrIsNotFollowed) {
    sb::Flow out = response_flow(via_of("SIP/2.0/UDP 192.0.2.10:5070;maddr=203.0.113.66;branch=z9hG4bK1"),
                                 udp_flow("192.0.2.10:5070"));
    EXPECT_EQ(out.remote.to_string(), "192.0.2.10:5070");
}

TEST(ResponseFlow, StreamsAnswerOnTheSameConnection) {
    sb::Flow in = tcp_flow(42);
    sb::Flow out = response_flow(via_of("SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bK1"), in);
    EXPECT_EQ(out, in);
    EXPECT_EQ(out.connection_id, 42u);
}

TEST(ResponseFlow, Ipv6SourceKeepsItsFamily) {
    sb::Flow in = udp_flow("[2001:db8::5]:40000");
    sb::Flow out = response_flow(via_of("SIP/2.0/UDP [2001:db8::5]:5062;branch=z9hG4bK1"), in);
    EXPECT_EQ(out.remote.to_string(), "[2001:db8::5]:5062");
}

TEST(Builders, ResponseCopiesTheTransactionHeadersAndAddsTheTag) {
    Req inv;
    inv.rport = true;
    sip::Message req = inv.msg();
    std::string bytes = build_response(req, 486, {}, "t1", udp_flow("192.0.2.10:40000"), "Retry-After: 3\r\n");
    sip::Message r = parse(bytes);
    EXPECT_EQ(r.status(), 486);
    EXPECT_EQ(r.reason(), "Busy Here");
    EXPECT_EQ(r.to_tag(), "t1");
    EXPECT_EQ(r.call_id(), inv.call_id);
    EXPECT_EQ(r.cseq_method(), sip::Method::INVITE);
    EXPECT_EQ(r.top_via().branch, inv.branch);
    EXPECT_EQ(r.top_via().rport, "40000");
    EXPECT_EQ(r.value(sip::HeaderId::retry_after), "3");
}

TEST(Builders, AckAndCancelFollowTheRfc) {
    Req inv;
    inv.extra = "Route: <sip:p1.example.com;lr>\nContact: <sip:100@192.0.2.10>\n";
    sip::Message invite = inv.msg();
    sip::Message resp = parse(response(inv, 404, "nf1"));
    sip::Message ack = parse(build_ack(invite, resp));
    EXPECT_EQ(ack.method(), sip::Method::ACK);
    EXPECT_EQ(ack.request_uri_text(), inv.uri);
    EXPECT_EQ(ack.to_tag(), "nf1");
    EXPECT_EQ(ack.cseq_method(), sip::Method::ACK);
    EXPECT_EQ(ack.value(sip::HeaderId::route), "<sip:p1.example.com;lr>");
    EXPECT_EQ(ack.find(sip::HeaderId::contact), nullptr);  // only what 17.1.1.3 asks for

    sip::Message cancel = parse(build_cancel(invite));
    EXPECT_EQ(cancel.method(), sip::Method::CANCEL);
    EXPECT_EQ(cancel.to(), invite.to());
    EXPECT_EQ(cancel.from(), invite.from());
    EXPECT_EQ(cancel.cseq(), invite.cseq());
    EXPECT_EQ(cancel.top_via().branch, inv.branch);
}

TEST(Builders, StatelessTagIsStablePerRequest) {
    Req a, b;
    b.branch = "z9hG4bKother";
    EXPECT_EQ(stateless_to_tag(a.msg()), stateless_to_tag(a.msg()));
    EXPECT_NE(stateless_to_tag(a.msg()), stateless_to_tag(b.msg()));
    EXPECT_TRUE(sip::is_token(stateless_to_tag(a.msg())));
}

}  // namespace
}  // namespace sb::txn::testing

#include "../src/keyed_hash.h"

namespace sb::txn::testing {
namespace {

TEST(KeyedHash, SipHash24MatchesTheReferenceVector) {
    // The SipHash paper, appendix A: key 00..0f, message 00..0e.
    SipKey key{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
    std::string msg;
    for (int i = 0; i < 15; ++i) msg.push_back(static_cast<char>(i));
    EXPECT_EQ((siphash<2, 4>(key, msg)), 0xa129ca6149be45e5ull);
}

TEST(KeyedHash, DependsOnTheKey) {
    EXPECT_NE(keyed_hash(SipKey{1, 2}, "z9hG4bKabc"), keyed_hash(SipKey{1, 3}, "z9hG4bKabc"));
    EXPECT_NE(keyed_hash(SipKey{1, 2}, "z9hG4bKabc"), keyed_hash(SipKey{1, 2}, "z9hG4bKabd"));
}

}  // namespace
}  // namespace sb::txn::testing
