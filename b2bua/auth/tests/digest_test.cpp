// Digest computation and verification against the RFCs' worked examples.
#include "sb/auth/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace sb::auth {
namespace {

constexpr const char* kNonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
constexpr const char* kCnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

// The RFC 7616 3.9.1 request with the given algorithm token and response.
std::string rfc7616(const std::string& algorithm, const std::string& response) {
    return "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", "
           "algorithm=" + algorithm + ", nonce=\"" + kNonce + "\", nc=00000001, cnonce=\"" + kCnonce +
           "\", qop=auth, response=\"" + response + "\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
}

Credentials parsed(const std::string& v) {
    auto r = parse_credentials(v);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : Credentials{};
}

std::string ha1_of(Algorithm a, const char* realm = "http-auth@example.org", const char* pw = "Circle of Life") {
    auto h = ha1(a, "Mufasa", realm, pw);
    EXPECT_TRUE(h) << h.error().message;
    return h ? *h : std::string();
}

TEST(Digest, HashesMatchKnownVectors) {
    EXPECT_EQ(*hash_hex(HashKind::md5, "abc"), "900150983cd24fb0d6963f7d28e17f72");
    EXPECT_EQ(*hash_hex(HashKind::sha256, "abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // FIPS 180-4 SHA-512/256 (not SHA-512 truncated: different initial values).
    EXPECT_EQ(*hash_hex(HashKind::sha512_256, "abc"),
              "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
    EXPECT_EQ(ha1_of(Algorithm::md5), "3d78807defe7de2157e2b0b6573a855f");
    EXPECT_EQ(ha1_of(Algorithm::md5_sess), "3d78807defe7de2157e2b0b6573a855f");  // plain HA1 stored
    EXPECT_EQ(ha1_of(Algorithm::sha256), "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232");
}

TEST(Digest, Rfc7616Section391Md5) {
    Credentials c = parsed(rfc7616("MD5", "8ca523f5e9506fed4657c9700eebdbec"));
    auto want = expected_response(Algorithm::md5, ha1_of(Algorithm::md5), c, "GET");
    ASSERT_TRUE(want) << want.error().message;
    EXPECT_EQ(*want, "8ca523f5e9506fed4657c9700eebdbec");
    EXPECT_TRUE(verify(c, ha1_of(Algorithm::md5), "GET"));
}

TEST(Digest, Rfc7616Section391Sha256) {
    Credentials c = parsed(rfc7616("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"));
    auto want = expected_response(Algorithm::sha256, ha1_of(Algorithm::sha256), c, "GET");
    ASSERT_TRUE(want) << want.error().message;
    EXPECT_EQ(*want, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
    EXPECT_TRUE(verify(c, ha1_of(Algorithm::sha256), "GET"));
}

TEST(Digest, Rfc2617Section35) {
    Credentials c = parsed(
        "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
        "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", qop=auth, nc=00000001, "
        "cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", "
        "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
    std::string h = ha1_of(Algorithm::md5, "testrealm@host.com", "Circle Of Life");
    EXPECT_TRUE(verify(c, h, "GET"));
    EXPECT_FALSE(verify(c, h, "POST"));
}

// Same request, other algorithms: values computed independently (Python hashlib).
TEST(Digest, Sha512256AndSessVariants) {
    struct {
        const char* token;
        Algorithm a;
        const char* response;
    } cases[] = {
        {"SHA-512-256", Algorithm::sha512_256, "430d05014cecc49cab6fbe03176d41a1da86cbfe24a16580e22aaad928d960d0"},
        {"MD5-sess", Algorithm::md5_sess, "e783283f46242139c486a698fec7211d"},
        {"SHA-256-sess", Algorithm::sha256_sess, "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7"},
        {"SHA-512-256-sess", Algorithm::sha512_256_sess,
         "3f2a34f923c38b0fb26dce2fdfc2ce326c23cecf86fbb1444f3e51fbbc2cb92e"},
    };
    for (const auto& k : cases) {
        Credentials c = parsed(rfc7616(k.token, k.response));
        EXPECT_EQ(c.algorithm, k.a);
        EXPECT_TRUE(verify(c, ha1_of(k.a), "GET")) << k.token;
    }
}

TEST(Digest, ResponseHexIsCaseInsensitiveAndStoredHa1Too) {
    Credentials c = parsed(rfc7616("MD5", "8CA523F5E9506FED4657C9700EEBDBEC"));
    EXPECT_TRUE(verify(c, "3D78807DEFE7DE2157E2B0B6573A855F", "GET"));
}

TEST(Digest, WrongResponseIsAMismatch) {
    Credentials c = parsed(rfc7616("MD5", "8ca523f5e9506fed4657c9700eebdbed"));
    auto st = verify(c, ha1_of(Algorithm::md5), "GET");
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, static_cast<int>(DigestError::mismatch));
    EXPECT_FALSE(verify(parsed(rfc7616("MD5", "8ca523f5e9506fed4657c9700eebdbec")),
                        ha1_of(Algorithm::md5, "http-auth@example.org", "wrong"), "GET"));
    c.response = "8ca523f5";  // hand-built credentials: length differs
    EXPECT_EQ(verify(c, ha1_of(Algorithm::md5), "GET").error().code, static_cast<int>(DigestError::mismatch));
}

TEST(Digest, Rfc2069OnlyWhenAllowed) {
    Credentials c = parsed(
        "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", "
        "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", response=\"7b2cc3b30e75b4777ea31027084363fd\"");
    auto st = verify(c, ha1_of(Algorithm::md5), "GET");
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, static_cast<int>(DigestError::unsupported));
    EXPECT_EQ(st.error().message, "credentials without qop (RFC 2069) are not accepted");
    EXPECT_TRUE(verify(c, ha1_of(Algorithm::md5), "GET", VerifyOptions{.allow_rfc2069 = true}));

    c.algorithm = Algorithm::md5_sess;
    auto sess = verify(c, ha1_of(Algorithm::md5), "GET", VerifyOptions{.allow_rfc2069 = true});
    ASSERT_FALSE(sess);
    EXPECT_EQ(sess.error().code, static_cast<int>(DigestError::unsupported));
}

TEST(Digest, AuthIntIsRejectedClearly) {
    Credentials c = parsed(rfc7616("MD5", "8ca523f5e9506fed4657c9700eebdbec"));
    c.qop = Qop::auth_int;
    auto st = verify(c, ha1_of(Algorithm::md5), "GET");
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, static_cast<int>(DigestError::unsupported));
    EXPECT_EQ(st.error().message, "qop=auth-int is not supported");
}

TEST(Digest, StoredHa1MustMatchTheAlgorithm) {
    Credentials c = parsed(rfc7616("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"));
    auto st = verify(c, ha1_of(Algorithm::md5), "GET");  // an MD5 HA1 for a SHA-256 response
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, static_cast<int>(DigestError::bad_ha1));
    EXPECT_EQ(verify(c, std::string(64, 'z'), "GET").error().code, static_cast<int>(DigestError::bad_ha1));
}

TEST(Digest, UserHash) {  // RFC 7616 3.4.4: H(username:realm)
    auto h = user_hash(Algorithm::sha256, "Mufasa", "http-auth@example.org");
    ASSERT_TRUE(h);
    EXPECT_EQ(*h, *hash_hex(HashKind::sha256, "Mufasa:http-auth@example.org"));
}

}  // namespace
}  // namespace sb::auth
