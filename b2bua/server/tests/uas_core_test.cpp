#include <gtest/gtest.h>

#include "sb/server/uas_core.h"

namespace sb::server {
namespace {

sip::Message parse(std::string_view start, std::string_view extra = "", std::string_view body = "") {
    std::string method(start.substr(0, start.find(' ')));
    std::string text = std::string(start) + "\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\n"
                       "To: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 " + method + "\r\n" + std::string(extra) +
                       "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
    sip::Message m;
    auto r = sip::parse_message(text, sip::Framing::datagram, sip::Limits{}, m);
    EXPECT_TRUE(r) << (r ? "" : r.error().reason);
    return m;
}

TEST(UasCore, AcceptsPlainRequests) {
    EXPECT_FALSE(check_request(parse("OPTIONS sip:a@b SIP/2.0")));
    EXPECT_FALSE(check_request(parse("REGISTER sip:b SIP/2.0", "Require: path\r\n")));
    EXPECT_FALSE(check_request(parse("INVITE sip:a@b SIP/2.0", "Content-Type: application/sdp\r\n", "v=0\r\n")));
    EXPECT_FALSE(check_request(parse("INVITE tel:+15551234 SIP/2.0")));
}

TEST(UasCore, Rejections) {
    EXPECT_EQ(check_request(parse("FOO sip:a@b SIP/2.0"))->status, 501);
    EXPECT_EQ(check_request(parse("SUBSCRIBE sip:a@b SIP/2.0"))->status, 405);
    EXPECT_EQ(check_request(parse("OPTIONS mailto:a@b SIP/2.0"))->status, 416);
    auto m = parse("OPTIONS sip:a@b SIP/2.0", "Require: foo, path, bar\r\n");
    EXPECT_EQ(check_request(m)->status, 420);
    EXPECT_EQ(unsupported_tags(m), "foo, bar");
    EXPECT_EQ(check_request(parse("INVITE sip:a@b SIP/2.0", "Content-Type: text/plain\r\n", "hi"))->status, 415);
    EXPECT_EQ(check_request(parse("INVITE sip:a@b SIP/2.0", "Accept: text/nobodyknowsthis\r\n"))->status, 406);
    EXPECT_FALSE(check_request(parse("INVITE sip:a@b SIP/2.0", "Accept: text/plain, application/sdp\r\n")));
}

}  // namespace
}  // namespace sb::server
