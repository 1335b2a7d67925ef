#include <gtest/gtest.h>

#include "sb/sip/message.h"
#include "sb/sip/writer.h"
#include "test_util.h"

namespace sb::sip {
namespace {

using testing::crlf;

Message parsed(const std::string& text) {
    Message m;
    auto r = parse_message(text, Framing::datagram, Limits{}, m);
    EXPECT_TRUE(r) << (r ? "" : r.error().reason);
    return m;
}

TEST(Writer, ResponseCopiesHeadersAndSetsReceivedRport) {
    Message req = parsed(crlf(
        "REGISTER sip:pbx.example SIP/2.0\n"
        "Via: SIP/2.0/UDP phone.example:5062;rport;branch=z9hG4bKabc\n"
        "Via: SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP b.example;branch=z9hG4bK2\n"
        "From: <sip:1001@pbx.example>;tag=f1\n"
        "To: <sip:1001@pbx.example>\n"
        "Call-ID: c1\n"
        "CSeq: 5 REGISTER\n"
        "Content-Length: 0\n\n"));
    std::string out;
    MessageWriter w(out);
    start_response(w, req, 401, "Unauthorized", "t9", Source{"192.0.2.7", 40000});
    w.header("WWW-Authenticate", "Digest realm=\"x\"");
    w.finish();
    Message resp = parsed(out);
    EXPECT_EQ(resp.status(), 401);
    EXPECT_EQ(resp.via_count(), 3u);
    EXPECT_EQ(resp.top_via().received, "192.0.2.7");
    EXPECT_EQ(resp.top_via().rport, "40000");
    EXPECT_EQ(resp.top_via().branch, "z9hG4bKabc");
    EXPECT_EQ(resp.to_tag(), "t9");
    EXPECT_EQ(resp.from_tag(), "f1");
    EXPECT_EQ(resp.cseq(), 5u);
    EXPECT_EQ(resp.cseq_method(), Method::REGISTER);
    EXPECT_EQ(resp.call_id(), "c1");
    EXPECT_EQ(resp.value(HeaderId::content_length), "0");
}

TEST(Writer, NoReceivedWhenSentByMatches) {
    Message req = parsed(crlf(
        "OPTIONS sip:pbx.example SIP/2.0\n"
        "Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKabc\n"
        "From: <sip:a@b>;tag=f1\nTo: <sip:c@d>;tag=existing\nCall-ID: c1\nCSeq: 1 OPTIONS\n\n"));
    std::string out;
    MessageWriter w(out);
    start_response(w, req, 200, "OK", "new", Source{"192.0.2.7", 5060});
    w.finish("text/plain", "hello");
    Message resp = parsed(out);
    EXPECT_EQ(resp.top_via().received, "");
    EXPECT_EQ(resp.to_tag(), "existing");
    EXPECT_EQ(resp.body(), "hello");
    EXPECT_EQ(resp.value(HeaderId::content_type), "text/plain");
}

TEST(Writer, Ipv6ReceivedIsBracketed) {
    Message req = parsed(crlf(
        "OPTIONS sip:pbx.example SIP/2.0\n"
        "Via: SIP/2.0/UDP host.example;branch=z9hG4bKabc\n"
        "From: <sip:a@b>;tag=f1\nTo: <sip:c@d>\nCall-ID: c1\nCSeq: 1 OPTIONS\n\n"));
    std::string out;
    MessageWriter w(out);
    start_response(w, req, 200, "OK", "t", Source{"2001:db8::1", 5060});
    w.finish();
    Message resp = parsed(out);
    EXPECT_EQ(resp.top_via().received, "[2001:db8::1]");
}

TEST(Writer, RequestRoundTrip) {
    std::string out;
    MessageWriter w(out);
    w.request_line("OPTIONS", "sip:a@b.example")
        .header("Via", "SIP/2.0/UDP h.example;branch=z9hG4bK1")
        .header(HeaderId::from, "<sip:x@y>;tag=1")
        .header_cat("To", "<sip:a@b.example>")
        .header("Call-ID", "id")
        .header("CSeq", "1 OPTIONS");
    w.finish();
    Message m = parsed(out);
    EXPECT_EQ(m.method(), Method::OPTIONS);
    EXPECT_EQ(m.from_tag(), "1");
}

TEST(Writer, Reasons) {
    EXPECT_EQ(default_reason(423), "Interval Too Brief");
    EXPECT_EQ(default_reason(299), "Unknown");
}

}  // namespace
}  // namespace sb::sip
