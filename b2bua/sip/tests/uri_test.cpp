#include <gtest/gtest.h>

#include "sb/sip/uri.h"

namespace sb::sip {
namespace {

TEST(Uri, FullSipUri) {
    auto u = parse_uri("sips:alice:secret@[2001:db8::10]:5071;transport=tcp;lr?subject=x&priority=urgent");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->scheme, UriScheme::sips);
    EXPECT_EQ(u->user, "alice");
    EXPECT_EQ(u->password, "secret");
    EXPECT_EQ(u->host, "[2001:db8::10]");
    EXPECT_EQ(u->port, 5071);
    EXPECT_EQ(u->param("transport"), "tcp");
    EXPECT_EQ(u->param("lr"), "");
    EXPECT_FALSE(u->param("maddr"));
    EXPECT_EQ(u->headers, "subject=x&priority=urgent");
}

TEST(Uri, HostOnlyAndDefaults) {
    auto u = parse_uri("sip:example.com");
    ASSERT_TRUE(u);
    EXPECT_FALSE(u->has_userinfo);
    EXPECT_EQ(u->port_or_default(), 5060);
    EXPECT_EQ(parse_uri("sips:example.com")->port_or_default(), 5061);
}

TEST(Uri, UserWithSemicolonAndEscapes) {
    auto u = parse_uri("sip:user;par=u%40example.net@example.com");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->user, "user;par=u%40example.net");
    EXPECT_EQ(unescape(u->user), "user;par=u@example.net");
}

TEST(Uri, OtherSchemesAreOpaque) {
    auto t = parse_uri("tel:+1-201-555-0123");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->scheme, UriScheme::tel);
    EXPECT_EQ(t->opaque, "+1-201-555-0123");
    auto s = parse_uri("soap.beep://192.0.2.103:3002");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->scheme, UriScheme::other);
}

TEST(Uri, Rejects) {
    for (const char* bad : {"sip:", "sip:@host", "sip:user@", "sip:host:99999", "sip:host:x",
                            "sip:2001:db8::10", "sip:[2001:db8::10", "sip:a b@c", "<sip:a@b>",
                            "sip:a@b;", "sip:a@b;x=<", "sip:a@b?", "sip:a@b%zz", "1sip:a"}) {
        EXPECT_FALSE(parse_uri(bad)) << bad;
    }
}

TEST(Uri, Equivalence) {
    // RFC 3261 19.1.4 examples.
    auto eq = [](const char* a, const char* b) { return uri_equivalent(*parse_uri(a), *parse_uri(b)); };
    EXPECT_TRUE(eq("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
    EXPECT_TRUE(eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
    EXPECT_TRUE(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5"));
    EXPECT_TRUE(eq("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                   "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
    EXPECT_TRUE(eq("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                   "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
    EXPECT_FALSE(eq("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
    EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
    EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
    EXPECT_FALSE(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
    EXPECT_FALSE(eq("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
}

}  // namespace
}  // namespace sb::sip

namespace sb::sip {
namespace {
TEST(Uri, EquivalenceIsReflexiveWithRepeatedParams) {  // found by the fuzzer
    auto u = parse_uri("sip:a@b;x=1;x=2;transport=udp;transport=tcp");
    ASSERT_TRUE(u);
    EXPECT_TRUE(uri_equivalent(*u, *u));
}
}  // namespace
}  // namespace sb::sip
