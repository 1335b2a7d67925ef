#include "sb/dialog/dialog.h"

#include <gtest/gtest.h>

#include <string>

namespace sb::dialog {
namespace {

sip::Message parse(std::string text) {
    sip::Message m;
    auto r = sip::parse_message(text, sip::Framing::datagram, sip::Limits{}, m);
    EXPECT_TRUE(r) << text;
    return m;
}

const char* kInvite =
    "INVITE sip:2000@pbx.example SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKa1\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Alice\" <sip:1001@pbx.example>;tag=a-tag\r\n"
    "To: <sip:2000@pbx.example>\r\n"
    "Call-ID: c1@192.0.2.10\r\n"
    "CSeq: 7 INVITE\r\n"
    "Record-Route: <sip:p1.example;lr>, <sip:p2.example;lr>\r\n"
    "Contact: <sip:1001@192.0.2.10:5062;ob>;expires=60\r\n"
    "Content-Length: 0\r\n\r\n";

TEST(Dialog, UasDialogFromInvite) {
    sip::Message inv = parse(kInvite);
    auto d = uas_dialog(inv, "ours", Flow{}, "<sip:sb@192.0.2.1>");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->call_id, "c1@192.0.2.10");
    EXPECT_EQ(d->remote_tag, "a-tag");
    EXPECT_EQ(d->local_tag, "ours");
    EXPECT_EQ(d->remote_uri, "\"Alice\" <sip:1001@pbx.example>");
    EXPECT_EQ(d->local_uri, "<sip:2000@pbx.example>");
    EXPECT_EQ(d->remote_target, "sip:1001@192.0.2.10:5062;ob");
    ASSERT_EQ(d->route_set.size(), 2u);
    EXPECT_EQ(d->route_set[0], "<sip:p1.example;lr>");  // UAS: in order
    EXPECT_EQ(d->remote_cseq, 7u);
}

TEST(Dialog, UasDialogNeedsContact) {
    std::string text = kInvite;
    text.erase(text.find("Contact:"), text.find("Content-Length") - text.find("Contact:"));
    sip::Message inv = parse(text);
    EXPECT_FALSE(uas_dialog(inv, "ours", Flow{}, ""));
}

TEST(Dialog, ByeWithinUasDialog) {
    sip::Message inv = parse(kInvite);
    auto d = uas_dialog(inv, "ours", Flow{}, "<sip:sb@192.0.2.1>");
    ASSERT_TRUE(d);
    std::string bye =
        build_request(*d, {.method = "BYE", .branch = "z9hG4bKx", .sent_by = "192.0.2.1:5060"});
    sip::Message m = parse(bye);
    EXPECT_EQ(m.method(), sip::Method::BYE);
    EXPECT_EQ(m.request_uri_text(), "sip:1001@192.0.2.10:5062;ob");
    EXPECT_EQ(m.from_tag(), "ours");
    EXPECT_EQ(m.to_tag(), "a-tag");
    EXPECT_EQ(m.cseq(), 1u);  // our own CSeq space
    EXPECT_EQ(m.call_id(), "c1@192.0.2.10");
    EXPECT_EQ(m.top_via().branch, "z9hG4bKx");
    EXPECT_NE(bye.find("Route: <sip:p1.example;lr>\r\nRoute: <sip:p2.example;lr>\r\n"),
              std::string::npos);
    EXPECT_EQ(bye.find("Contact:"), std::string::npos);  // BYE carries none
}

TEST(Dialog, UacEstablishReversesRecordRouteAndTakesTarget) {
    Dialog d;
    d.call_id = "sb0-1";
    d.local_tag = "l";
    d.local_uri = "<sip:1001@pbx>";
    d.remote_uri = "<sip:1002@pbx>";
    d.remote_target = "sip:1002@192.0.2.20";
    d.local_cseq = 1;
    sip::Message resp = parse(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKb\r\n"
        "From: <sip:1001@pbx>;tag=l\r\nTo: <sip:1002@pbx>;tag=r\r\nCall-ID: sb0-1\r\nCSeq: 1 "
        "INVITE\r\n"
        "Record-Route: <sip:a;lr>\r\nRecord-Route: <sip:b;lr>\r\n"
        "Contact: <sip:1002@192.0.2.20:5070>\r\nContent-Length: 0\r\n\r\n");
    uac_establish(d, resp);
    EXPECT_EQ(d.remote_tag, "r");
    EXPECT_EQ(d.remote_target, "sip:1002@192.0.2.20:5070");
    ASSERT_EQ(d.route_set.size(), 2u);
    EXPECT_EQ(d.route_set[0], "<sip:b;lr>");
    std::string ack = build_ack(d, 1, {.branch = "z9hG4bKack", .sent_by = "192.0.2.1:5060"});
    sip::Message a = parse(ack);
    EXPECT_EQ(a.method(), sip::Method::ACK);
    EXPECT_EQ(a.cseq(), 1u);
    EXPECT_EQ(a.cseq_method(), sip::Method::ACK);
    EXPECT_EQ(a.to_tag(), "r");
    EXPECT_EQ(d.local_cseq, 1u);  // the ACK takes no new CSeq
    std::string reinvite = build_request(d, {.method = "INVITE",
                                             .branch = "z9hG4bKr",
                                             .sent_by = "h:1",
                                             .content_type = "application/sdp",
                                             .body = "v=0\r\n"});
    sip::Message r = parse(reinvite);
    EXPECT_EQ(r.cseq(), 2u);
    EXPECT_EQ(r.body(), "v=0\r\n");
    EXPECT_EQ(r.value(sip::HeaderId::content_type), "application/sdp");
}

TEST(Dialog, RemoteCSeqOrder) {
    Dialog d;
    EXPECT_TRUE(accept_remote_cseq(d, 5));
    EXPECT_TRUE(accept_remote_cseq(d, 6));
    EXPECT_FALSE(accept_remote_cseq(d, 4));
    EXPECT_EQ(d.remote_cseq, 6u);
}

}  // namespace
}  // namespace sb::dialog
