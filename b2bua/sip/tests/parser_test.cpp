#include <gtest/gtest.h>

#include "sb/sip/message.h"
#include "sb/sip/name_addr.h"
#include "test_util.h"

namespace sb::sip {
namespace {

using testing::crlf;

const char* kInvite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport\n"
    "Via: SIP/2.0/TCP proxy.example.com:5070;branch=z9hG4bK1, SIP/2.0/UDP [2001:db8::1]:5062;branch=z9hG4bK2\n"
    "Max-Forwards: 70\n"
    "To: Bob <sip:bob@biloxi.example.com>\n"
    "From: \"Alice A.\" <sip:alice@atlanta.example.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n"
    "CSeq: 314159 INVITE\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>, <sip:alice@192.0.2.4>;q=0.5\n"
    "Content-Type: application/sdp\n"
    "Content-Length: 4\n"
    "\n"
    "v=0\n";

Result<void, SipError> parse(const std::string& text, Message& m, Framing f = Framing::datagram,
                             Limits limits = {}) {
    return parse_message(text, f, limits, m);
}

TEST(Parser, BasicInvite) {
    Message m;
    std::string text = crlf(kInvite);
    ASSERT_TRUE(parse(text, m));
    EXPECT_TRUE(m.is_request());
    EXPECT_EQ(m.method(), Method::INVITE);
    EXPECT_EQ(m.request_uri().user, "bob");
    EXPECT_EQ(m.request_uri().host, "biloxi.example.com");
    EXPECT_EQ(m.via_count(), 3u);
    EXPECT_EQ(m.top_via().branch, "z9hG4bK776asdhds");
    EXPECT_TRUE(m.top_via().has_rport);
    EXPECT_TRUE(m.top_via().rfc3261_branch());
    EXPECT_EQ(m.call_id(), "a84b4c76e66710@pc33.atlanta.example.com");
    EXPECT_EQ(m.cseq(), 314159u);
    EXPECT_EQ(m.cseq_method(), Method::INVITE);
    EXPECT_EQ(m.from_tag(), "1928301774");
    EXPECT_EQ(m.to_tag(), "");
    EXPECT_EQ(m.max_forwards(), 70);
    EXPECT_EQ(m.body(), "v=0\r");
    EXPECT_EQ(m.value(HeaderId::content_type), "application/sdp");
    std::vector<std::string_view> contacts;
    m.for_each_value(HeaderId::contact, [&](std::string_view v) {
        contacts.push_back(v);
        return true;
    });
    ASSERT_EQ(contacts.size(), 2u);
    EXPECT_EQ(contacts[1], "<sip:alice@192.0.2.4>;q=0.5");
    EXPECT_TRUE(m.can_respond());
}

TEST(Parser, CompactFormsAndCase) {
    Message m;
    std::string text = crlf(
        "OPTIONS sip:a@b.example SIP/2.0\n"
        "v: SIP/2.0/UDP h.example;branch=z9hG4bKx\n"
        "f: <sip:c@d.example>;tag=1\n"
        "t: sip:a@b.example\n"
        "i: abc\n"
        "cSeQ: 1 OPTIONS\n"
        "l: 0\n\n");
    ASSERT_TRUE(parse(text, m));
    EXPECT_EQ(m.call_id(), "abc");
    EXPECT_EQ(m.from_tag(), "1");
    ASSERT_NE(m.find("Content-Length"), nullptr);
    EXPECT_EQ(m.find("content-length")->value, "0");
    EXPECT_EQ(m.find(HeaderId::via)->name, "v");
}

TEST(Parser, Response) {
    Message m;
    std::string text = crlf(
        "SIP/2.0 180 Ringing\n"
        "Via: SIP/2.0/UDP h.example;branch=z9hG4bKx\n"
        "From: <sip:c@d.example>;tag=1\n"
        "To: <sip:a@b.example>;tag=2\n"
        "Call-ID: abc\n"
        "CSeq: 7 INVITE\n"
        "Content-Length: 0\n\n");
    ASSERT_TRUE(parse(text, m));
    EXPECT_FALSE(m.is_request());
    EXPECT_EQ(m.status(), 180);
    EXPECT_EQ(m.reason(), "Ringing");
    EXPECT_EQ(m.cseq_method(), Method::INVITE);
    EXPECT_EQ(m.to_tag(), "2");
}

TEST(Parser, MissingHeadersGive400) {
    Message m;
    auto r = parse(crlf("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\n"
                        "From: <sip:c@d>;tag=1\nCall-ID: x\nCSeq: 1 OPTIONS\n\n"),
                   m);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().status, 400);
    EXPECT_STREQ(r.error().reason, "Missing To header");
}

TEST(Parser, ResponsesWithErrorsAreDropped) {
    Message m;
    auto r = parse(crlf("SIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\n\n"), m);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().status, 0);
}

TEST(Parser, LimitsAreEnforced) {
    Message m;
    std::string base = "OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\n"
                       "From: <sip:c@d>;tag=1\nTo: <sip:a@b>\nCall-ID: x\nCSeq: 1 OPTIONS\n";
    Limits small;
    small.max_headers = 8;
    std::string many = base;
    for (int i = 0; i < 10; ++i) many += "X-H: " + std::to_string(i) + "\n";
    auto r = parse(crlf(many + "\n"), m, Framing::datagram, small);
    ASSERT_FALSE(r);
    EXPECT_STREQ(r.error().reason, "Too many headers");
    EXPECT_TRUE(m.can_respond());

    Limits vias;
    vias.max_vias = 3;
    std::string v = base + "Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\n"
                           "Via: SIP/2.0/UDP c;branch=z9hG4bK3\n\n";
    r = parse(crlf(v), m, Framing::datagram, vias);
    ASSERT_FALSE(r);
    EXPECT_STREQ(r.error().reason, "Too many Via headers");

    Limits line;
    line.max_line_length = 100;
    r = parse(crlf(base + "X-Long: " + std::string(200, 'a') + "\n\n"), m, Framing::datagram, line);
    ASSERT_FALSE(r);
    EXPECT_STREQ(r.error().reason, "Header line too long");
    r = parse(crlf(base + "X-Folded: a\n " + std::string(60, 'b') + "\n " + std::string(60, 'c') + "\n\n"),
              m, Framing::datagram, line);
    ASSERT_FALSE(r);

    Limits size;
    size.max_message_size = 64;
    r = parse(crlf(base + "\n"), m, Framing::datagram, size);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().status, 513);
}

TEST(Parser, ManyHeadersOverflowInlineStorage) {
    Message m;
    std::string text = "OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\n"
                       "From: <sip:c@d>;tag=1\nTo: <sip:a@b>\nCall-ID: x\nCSeq: 1 OPTIONS\n";
    for (int i = 0; i < 60; ++i) text += "X-H" + std::to_string(i) + ": v" + std::to_string(i) + "\n";
    text += "Max-Forwards: 9\n\n";
    ASSERT_TRUE(parse(crlf(text), m));
    EXPECT_EQ(m.headers().size(), 66u);
    EXPECT_EQ(m.find("X-H59")->value, "v59");
    EXPECT_EQ(m.max_forwards(), 9);
    Message moved = std::move(m);
    EXPECT_EQ(moved.find("X-H0")->value, "v0");
    EXPECT_EQ(moved.call_id(), "x");
}

TEST(Parser, MoveKeepsViews) {
    Message m;
    ASSERT_TRUE(parse(crlf(kInvite), m));
    Message n = std::move(m);
    EXPECT_EQ(n.call_id(), "a84b4c76e66710@pc33.atlanta.example.com");
    EXPECT_EQ(n.find(HeaderId::contact)->value.substr(0, 5), "<sip:");
}

TEST(Parser, StreamNeedsContentLength) {
    Message m;
    auto r = parse(crlf("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/TCP h;branch=z9hG4bKx\n"
                        "From: <sip:c@d>;tag=1\nTo: <sip:a@b>\nCall-ID: x\nCSeq: 1 OPTIONS\n\n"),
                   m, Framing::stream);
    ASSERT_FALSE(r);
    EXPECT_STREQ(r.error().reason, "Missing Content-Length");
}

TEST(Parser, GarbageNeverCrashes) {
    Message m;
    const char* inputs[] = {"", "\r\n", "x", "INVITE", "INVITE sip:a SIP/2.0", "SIP/2.0",
                            "SIP/2.0 99 x\r\n\r\n", ":\r\n\r\n", "INVITE sip:a@b SIP/2.0\r\n :x\r\n\r\n"};
    for (const char* in : inputs) {
        auto r = parse(in, m);
        EXPECT_FALSE(r) << in;
    }
}

TEST(NameAddr, Forms) {
    auto a = parse_name_addr("\"A \\\"q\\\" B\" <sip:a@b;lr>;tag=x;expires=5");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->display_name_text(), "A \"q\" B");
    EXPECT_EQ(a->uri, "sip:a@b;lr");
    EXPECT_EQ(a->tag(), "x");
    EXPECT_EQ(a->param("expires"), "5");
    auto b = parse_name_addr("sip:a@b;tag=y");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->uri, "sip:a@b");
    EXPECT_EQ(b->tag(), "y");
    auto c = parse_name_addr("Bob Smith <sip:bob@b>");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->display_name, "Bob Smith");
    EXPECT_FALSE(parse_name_addr("\"unterminated <sip:a@b>"));
    EXPECT_FALSE(parse_name_addr("<sip:a@b"));
    EXPECT_FALSE(parse_name_addr("sip:a@b?x=y"));
    EXPECT_FALSE(parse_name_addr("<sip:a@b>;;"));
}

TEST(Via, Forms) {
    auto v = parse_via("SIP / 2.0 / TCP [::1]:5061;branch=z9hG4bKa;received=[::2];rport=5");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->transport, "TCP");
    EXPECT_EQ(v->host, "[::1]");
    EXPECT_EQ(v->port, 5061);
    EXPECT_EQ(v->received, "[::2]");
    EXPECT_EQ(v->rport, "5");
    EXPECT_FALSE(parse_via("SIP/2.0/UDP"));
    EXPECT_FALSE(parse_via("SIP/2.0/UDP h:99999"));
    EXPECT_FALSE(parse_via("SIP//UDP h"));
    EXPECT_TRUE(parse_via("SIP/7.0/UDP h"));  // the version is judged on the request line (505)
    EXPECT_FALSE(parse_via("SIP/2.0/UDP h;branch="));
}

}  // namespace
}  // namespace sb::sip

namespace sb::sip {
namespace {
TEST(Parser, TagWithoutValueIsRejected) {  // found by the fuzzer: the response would carry two tags
    Message m;
    auto r = parse_message(crlf("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\n"
                                "From: <sip:c@d>;tag=1\nTo: <sip:a@b>;tag\nCall-ID: x\nCSeq: 1 OPTIONS\n\n"),
                           Framing::datagram, Limits{}, m);
    ASSERT_FALSE(r);
    EXPECT_STREQ(r.error().reason, "Bad tag parameter");
    EXPECT_TRUE(m.can_respond());
    EXPECT_NE(m.find(HeaderId::call_id), nullptr);  // the index is complete after an error too
}
}  // namespace
}  // namespace sb::sip
