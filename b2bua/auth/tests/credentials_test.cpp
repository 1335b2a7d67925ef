// Parsing of Authorization / Proxy-Authorization values (RFC 3261 22.4 and 25.1, RFC 7616 3.4).
#include "sb/auth/credentials.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace sb::auth {
namespace {

constexpr const char* kRfc7616Md5 =
    "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", "
    "algorithm=MD5, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, "
    "cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, "
    "response=\"8ca523f5e9506fed4657c9700eebdbec\", "
    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";

// The smallest valid credentials, followed by `extra`.
std::string minimal(const std::string& extra = "") {
    return "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:r\", "
           "response=\"0123456789abcdef0123456789abcdef\"" + extra;
}

std::string error_of(std::string_view value) {
    auto r = parse_credentials(value);
    EXPECT_FALSE(r) << "accepted: " << value;
    return r ? std::string() : r.error().message;
}

TEST(Credentials, ParsesRfc7616Example) {
    auto r = parse_credentials(kRfc7616Md5);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->username, "Mufasa");
    EXPECT_EQ(r->realm, "http-auth@example.org");
    EXPECT_EQ(r->uri, "/dir/index.html");
    EXPECT_EQ(r->algorithm, Algorithm::md5);
    EXPECT_EQ(r->nonce, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
    EXPECT_EQ(r->nc, 1u);
    EXPECT_EQ(r->nc_text, "00000001");
    EXPECT_EQ(r->cnonce, "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
    EXPECT_EQ(r->qop, Qop::auth);
    EXPECT_EQ(r->response, "8ca523f5e9506fed4657c9700eebdbec");
    EXPECT_TRUE(r->has_opaque);
    EXPECT_EQ(r->opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
    EXPECT_FALSE(r->userhash);
}

TEST(Credentials, AbsentAlgorithmMeansMd5AndSchemeIsCaseInsensitive) {
    auto r = parse_credentials("dIgEsT " + minimal().substr(7));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->algorithm, Algorithm::md5);
    EXPECT_EQ(r->qop, Qop::none);
    EXPECT_EQ(r->nc, 0u);
    EXPECT_FALSE(r->has_opaque);
}

TEST(Credentials, AcceptsLwsAndFoldingAroundEqualsAndCommas) {
    auto r = parse_credentials(
        "  Digest\r\n username = \"bob\"\t,\r\n\trealm=\r\n  \"pbx\" ,nonce\t=\"n1\",\r\n uri=\"sip:pbx\""
        " , response =\"0123456789ABCDEF0123456789abcdef\" ,qop= auth ,nc=0000000A,cnonce=\"c\"  ");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->username, "bob");
    EXPECT_EQ(r->realm, "pbx");
    EXPECT_EQ(r->nonce, "n1");
    EXPECT_EQ(r->nc, 10u);
    EXPECT_EQ(r->nc_text, "0000000A");  // hashed as sent
}

TEST(Credentials, FoldingInsideAQuotedValueBecomesOneSpace) {
    auto r = parse_credentials(minimal(", opaque=\"a\r\n   b\""));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->opaque, "a b");
}

TEST(Credentials, LineBreakWithoutFoldingIsRejected) {
    EXPECT_NE(error_of(minimal(",\r\nopaque=\"x\"")).find("line break"), std::string::npos);
    EXPECT_NE(error_of(minimal(", opaque=\"a\r\nb\"")).find("line break"), std::string::npos);
    EXPECT_FALSE(parse_credentials(minimal(",\ropaque=\"x\"")));
}

TEST(Credentials, UnescapesQuotedPairs) {
    auto r = parse_credentials(
        "Digest username=\"a\\\"b\\\\c\\d\", realm=\"r\", nonce=\"n\", uri=\"u\", "
        "response=\"0123456789abcdef0123456789abcdef\"");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->username, "a\"b\\cd");
}

TEST(Credentials, QuotedTokensAndUnknownParametersAreAccepted) {
    auto r = parse_credentials(minimal(", algorithm=\"md5\", qop=\"auth\", nc=00000002, cnonce=\"c\", "
                                       "foo=bar, x-ext=\"q,u=o\\\"te\", stale=true, userhash=TRUE"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->algorithm, Algorithm::md5);
    EXPECT_EQ(r->qop, Qop::auth);
    EXPECT_EQ(r->nc, 2u);
    EXPECT_TRUE(r->userhash);
}

TEST(Credentials, EmptyListElementsAreAccepted) {  // RFC 7235 7
    auto r = parse_credentials("Digest , username=\"u\",, realm=\"r\", nonce=\"n\", uri=\"u\", "
                               "response=\"0123456789abcdef0123456789abcdef\",");
    ASSERT_TRUE(r) << r.error().message;
}

TEST(Credentials, AllAlgorithmsParse) {
    const std::string sha(64, 'a');
    struct {
        const char* token;
        Algorithm a;
    } cases[] = {{"MD5-sess", Algorithm::md5_sess},         {"SHA-256", Algorithm::sha256},
                 {"sha-256-SESS", Algorithm::sha256_sess},  {"SHA-512-256", Algorithm::sha512_256},
                 {"SHA-512-256-sess", Algorithm::sha512_256_sess}};
    for (const auto& c : cases) {
        std::string v = std::string("Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"u\", "
                                    "qop=auth, nc=00000001, cnonce=\"c\", algorithm=") +
                        c.token + ", response=\"" + (c.a == Algorithm::md5_sess ? std::string(32, 'a') : sha) + "\"";
        auto r = parse_credentials(v);
        ASSERT_TRUE(r) << c.token << ": " << r.error().message;
        EXPECT_EQ(r->algorithm, c.a) << c.token;
    }
}

TEST(Credentials, RejectsDuplicates) {
    EXPECT_EQ(error_of(minimal(", realm=\"other\"")), "duplicate parameter 'realm'");
    EXPECT_EQ(error_of(minimal(", REALM=\"other\"")), "duplicate parameter 'REALM'");
    EXPECT_EQ(error_of(minimal(", foo=1, foo=2")), "duplicate parameter 'foo'");
}

TEST(Credentials, RejectsUnterminatedQuote) {
    EXPECT_EQ(error_of(minimal(", opaque=\"abc")), "unterminated quoted string in 'opaque'");
    EXPECT_EQ(error_of(minimal(", opaque=\"abc\\")), "unterminated quoted string in 'opaque'");
}

TEST(Credentials, BoundsValueSizeAndParameterCount) {
    EXPECT_TRUE(parse_credentials(minimal(", opaque=\"" + std::string(1024, 'x') + "\"")));
    EXPECT_EQ(error_of(minimal(", opaque=\"" + std::string(1025, 'x') + "\"")),
              "value of 'opaque' exceeds 1024 bytes");
    EXPECT_EQ(error_of(minimal(", foo=" + std::string(1025, 'x'))), "value of 'foo' exceeds 1024 bytes");
    // Escapes count after unescaping: 1024 escaped bytes are 1024 bytes.
    std::string escaped;
    for (int i = 0; i < 1024; ++i) escaped += "\\x";
    EXPECT_TRUE(parse_credentials(minimal(", opaque=\"" + escaped + "\"")));
    // A huge value is refused as soon as it passes the bound.
    EXPECT_FALSE(parse_credentials(minimal(", opaque=\"" + std::string(10'000'000, 'x') + "\"")));

    std::string extra;
    for (int i = 0; i < 27; ++i) extra += ", p" + std::to_string(i) + "=1";
    EXPECT_TRUE(parse_credentials(minimal(extra)));  // 5 + 27 = 32
    EXPECT_EQ(error_of(minimal(extra + ", one=more")), "more than 32 parameters");
    EXPECT_NE(error_of(minimal(", " + std::string(65, 'n') + "=1")).find("too long"), std::string::npos);
}

TEST(Credentials, RejectsMissingRequiredFields) {
    const char* names[] = {"username", "realm", "nonce", "uri", "response"};
    const char* values[] = {"\"u\"", "\"r\"", "\"n\"", "\"u\"", "\"0123456789abcdef0123456789abcdef\""};
    for (int skip = 0; skip < 5; ++skip) {
        std::string v = "Digest ";
        for (int i = 0; i < 5; ++i) {
            if (i == skip) continue;
            v += std::string(names[i]) + "=" + values[i] + ", ";
        }
        v += "foo=bar";
        EXPECT_EQ(error_of(v), std::string("missing required parameter '") + names[skip] + "'");
    }
}

TEST(Credentials, RejectsOtherSchemesAndEmptyValues) {
    EXPECT_EQ(error_of("Basic dXNlcjpwYXNz"), "unsupported authentication scheme 'Basic'");
    EXPECT_EQ(error_of(""), "missing authentication scheme");
    EXPECT_EQ(error_of("Digest"), "Digest credentials have no parameters");
    EXPECT_EQ(error_of("Digest   "), "Digest credentials have no parameters");
    EXPECT_EQ(error_of("Digestusername=\"u\""), "unsupported authentication scheme 'Digestusername'");
    EXPECT_EQ(error_of("Digest, username=\"u\""), "expected whitespace after scheme 'Digest'");
    EXPECT_EQ(error_of(minimal(", opaque=")), "parameter 'opaque' has an empty or invalid value");
    EXPECT_EQ(error_of(minimal(", opaque")), "parameter 'opaque' has no '='");
    EXPECT_EQ(error_of(minimal(" garbage")), "expected ',' after parameter 'response'");
    EXPECT_EQ(error_of("Digest =x"), "expected a parameter name at '=x'");
}

TEST(Credentials, ValidatesTokens) {
    EXPECT_EQ(error_of(minimal(", algorithm=SHA-1")), "unsupported algorithm 'SHA-1'");
    EXPECT_EQ(error_of(minimal(", qop=auth-conf, nc=00000001, cnonce=\"c\"")), "unsupported qop 'auth-conf'");
    EXPECT_EQ(error_of(minimal(", qop=auth, nc=1, cnonce=\"c\"")), "nc must be 8 hex digits, got '1'");
    EXPECT_EQ(error_of(minimal(", qop=auth, nc=0000000g, cnonce=\"c\"")), "nc must be 8 hex digits, got '0000000g'");
    EXPECT_EQ(error_of(minimal(", qop=auth, nc=00000000, cnonce=\"c\"")), "nc must start at 00000001");
    EXPECT_EQ(error_of(minimal(", qop=auth, nc=00000001")), "qop given without cnonce");
    EXPECT_EQ(error_of(minimal(", qop=auth, cnonce=\"c\"")), "qop given without nc");
    EXPECT_EQ(error_of(minimal(", userhash=maybe")), "userhash must be true or false, got 'maybe'");
    EXPECT_EQ(error_of(minimal(", algorithm=SHA-256")), "response must be 64 hex digits for SHA-256");
    EXPECT_EQ(error_of("Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"xyz\""),
              "response must be 32 hex digits for MD5");
    EXPECT_NE(error_of(minimal(", username*=UTF-8''J%C3%A4s%C3%B8n")).find("username*"), std::string::npos);
    auto r = parse_credentials(minimal(", qop=auth-int, nc=00000001, cnonce=\"c\""));
    ASSERT_TRUE(r);  // parsed; verify() refuses it with a clear error
    EXPECT_EQ(r->qop, Qop::auth_int);
}

TEST(Credentials, ErrorMessagesAreSafeReasonPhrases) {
    std::string hostile = "Digest \x01\x02\xff=1";
    auto r = parse_credentials(hostile);
    ASSERT_FALSE(r);
    for (char c : r.error().message) {
        EXPECT_TRUE(c >= 0x20 && c < 0x7f) << int(static_cast<unsigned char>(c));
    }
    auto r2 = parse_credentials(minimal(", algorithm=" + std::string(500, 'A')));
    ASSERT_FALSE(r2);
    EXPECT_LT(r2.error().message.size(), 80u);
    EXPECT_FALSE(parse_credentials(minimal(", opaque=\"a\x01z\"")));
    EXPECT_FALSE(parse_credentials(minimal(", opaque=\"a\x7fz\"")));
    EXPECT_TRUE(parse_credentials(minimal(", opaque=\"caf\xc3\xa9\"")));  // UTF8-NONASCII
}

// Not a fuzzer (tests/fuzz holds those), but a cheap guard in every run: mutated and truncated
// inputs never crash, and every error is a printable reason phrase.
TEST(Credentials, SurvivesRandomMutations) {
    std::mt19937 rng(7616);
    const std::string base = kRfc7616Md5;
    const char alphabet[] = "\"\\,= \t\r\nDigestauthnc0x\x01\xff";
    for (int i = 0; i < 20000; ++i) {
        std::string v = base;
        int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits; ++e) {
            std::size_t pos = rng() % (v.size() + 1);
            switch (rng() % 3) {
                case 0: v.insert(v.begin() + pos, alphabet[rng() % (sizeof alphabet - 1)]); break;
                case 1: if (pos < v.size()) v.erase(pos, 1); break;
                default: v.resize(pos); break;
            }
        }
        auto r = parse_credentials(v);
        if (!r) {
            for (char c : r.error().message) ASSERT_TRUE(c >= 0x20 && c < 0x7f) << v;
        }
    }
}

}  // namespace
}  // namespace sb::auth
