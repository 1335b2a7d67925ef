#include <gtest/gtest.h>

#include "sb/sip/framing.h"

namespace sb::sip {
namespace {

const std::string kMsg =
    "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKx\r\nl: 5\r\n\r\nhello";

TEST(Framing, WholeMessage) {
    auto f = frame_stream(kMsg + "INVITE", Limits{});
    EXPECT_EQ(f.kind, Frame::message);
    EXPECT_EQ(f.length, kMsg.size());
}

TEST(Framing, PartialMessagesWait) {
    for (std::size_t n = 1; n < kMsg.size(); ++n)
        EXPECT_EQ(frame_stream(std::string_view(kMsg).substr(0, n), Limits{}).kind, Frame::need_more) << n;
}

TEST(Framing, KeepAlives) {
    EXPECT_EQ(frame_stream("\r\n\r\n", Limits{}).kind, Frame::ping);
    EXPECT_EQ(frame_stream("\r\n", Limits{}).kind, Frame::pong);
    EXPECT_EQ(frame_stream("\r\nOPTIONS", Limits{}).kind, Frame::pong);
    EXPECT_EQ(frame_stream("\r\n\r", Limits{}).kind, Frame::need_more);
}

TEST(Framing, Errors) {
    EXPECT_EQ(frame_stream("OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n", Limits{}).kind, Frame::error);
    EXPECT_EQ(frame_stream("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n", Limits{}).kind, Frame::error);
    EXPECT_EQ(frame_stream("OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\n", Limits{}).kind,
              Frame::error);
    Limits small;
    small.max_message_size = 100;
    EXPECT_EQ(frame_stream(std::string(200, 'a'), small).kind, Frame::error);
    EXPECT_EQ(frame_stream("OPTIONS sip:a@b SIP/2.0\r\nl: 500\r\n\r\n", small).kind, Frame::error);
}

}  // namespace
}  // namespace sb::sip
