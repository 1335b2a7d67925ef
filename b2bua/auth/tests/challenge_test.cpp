// WWW-Authenticate / Proxy-Authenticate values (RFC 7616 3.3, RFC 8760 2.4).
#include "sb/auth/challenge.h"

#include <gtest/gtest.h>

#include <vector>

namespace sb::auth {
namespace {

TEST(Challenge, FormatsOneChallenge) {
    EXPECT_EQ(make_challenge("pbx.example.com", "abc", "op", Algorithm::sha256, false),
              "Digest realm=\"pbx.example.com\", nonce=\"abc\", opaque=\"op\", algorithm=SHA-256, qop=\"auth\"");
    EXPECT_EQ(make_challenge("r", "n", "", Algorithm::md5, true),
              "Digest realm=\"r\", nonce=\"n\", algorithm=MD5, qop=\"auth\", stale=true");
    EXPECT_EQ(make_challenge("r", "n", "", Algorithm::sha512_256_sess, false),
              "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256-sess, qop=\"auth\"");
}

TEST(Challenge, EscapesQuotesAndDropsControlCharacters) {
    EXPECT_EQ(make_challenge("a\"b\\c\r\nX-Injected: 1", "n", "", Algorithm::md5, false),
              "Digest realm=\"a\\\"b\\\\cX-Injected: 1\", nonce=\"n\", algorithm=MD5, qop=\"auth\"");
}

TEST(Challenge, OneChallengePerAlgorithmMostPreferredFirst) {
    std::vector<Algorithm> configured = {Algorithm::md5, Algorithm::sha256, Algorithm::md5};
    auto list = make_challenges("r", "n", "", configured, true);
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0], "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256, qop=\"auth\", stale=true");
    EXPECT_EQ(list[1], "Digest realm=\"r\", nonce=\"n\", algorithm=MD5, qop=\"auth\", stale=true");

    std::vector<Algorithm> all = {Algorithm::md5_sess, Algorithm::md5, Algorithm::sha256_sess,
                                  Algorithm::sha512_256, Algorithm::sha256};
    auto ordered = make_challenges("r", "n", "", all, false);
    ASSERT_EQ(ordered.size(), 5u);
    EXPECT_NE(ordered[0].find("algorithm=SHA-512-256,"), std::string::npos);
    EXPECT_NE(ordered[1].find("algorithm=SHA-256,"), std::string::npos);
    EXPECT_NE(ordered[2].find("algorithm=SHA-256-sess,"), std::string::npos);
    EXPECT_NE(ordered[3].find("algorithm=MD5,"), std::string::npos);
    EXPECT_NE(ordered[4].find("algorithm=MD5-sess,"), std::string::npos);

    EXPECT_TRUE(make_challenges("r", "n", "", {}, false).empty());
}

}  // namespace
}  // namespace sb::auth
