// Registrar logic with a fake clock, in-memory collaborators and real digest computations.
#include <gtest/gtest.h>

#include "sb/auth/credentials.h"
#include "sb/auth/digest.h"
#include "sb/registrar/registrar.h"
#include "sb/sip/name_addr.h"

namespace sb::registrar {
namespace {

struct FakeSink : BindingSink {
    std::vector<BindingChange> all;
    void persist(std::vector<BindingChange> c) override {
        for (auto& x : c) all.push_back(std::move(x));
    }
};

class RegistrarTest : public ::testing::Test {
protected:
    FakeClock clock;
    CredentialCache creds;
    auth::NonceManager nonces{clock, "0123456789abcdef0123456789abcdef"};
    auth::BanList bans{clock, auth::BanConfig{3, std::chrono::seconds(60), std::chrono::seconds(600)}};
    Authenticator authn{AuthConfig{}, creds, nonces, bans};
    LocationService locations;
    FakeSink sink;
    Registrar registrar{clock, RegistrarConfig{}, authn, locations, sink};
    Flow flow{TransportKind::udp, *Endpoint::from_string("127.0.0.1:5060"),
              *Endpoint::from_string("192.0.2.10:40000"), 0};
    int cseq = 1;

    void SetUp() override {
        Credential c;
        c.number = "1001";
        c.realm = "switchboard";
        c.ha1_md5 = *auth::ha1(auth::Algorithm::md5, "1001", "switchboard", "secret-pass");
        c.ha1_sha256 = *auth::ha1(auth::Algorithm::sha256, "1001", "switchboard", "secret-pass");
        creds.upsert(c);
    }

    std::string register_text(const std::string& contact_lines, const std::string& extra = "",
                              const std::string& call_id = "reg-1", const std::string& user = "1001") {
        return "REGISTER sip:pbx.example SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 192.0.2.10:40000;branch=z9hG4bK" + std::to_string(cseq) + ";rport\r\n"
               "From: <sip:" + user + "@pbx.example>;tag=ft\r\n"
               "To: <sip:" + user + "@pbx.example>\r\n"
               "Call-ID: " + call_id + "\r\n"
               "CSeq: " + std::to_string(cseq++) + " REGISTER\r\n" + contact_lines + extra +
               "Content-Length: 0\r\n\r\n";
    }

    sip::Message parse(const std::string& text) {
        sip::Message m;
        auto r = sip::parse_message(text, sip::Framing::datagram, sip::Limits{}, m);
        EXPECT_TRUE(r) << (r ? "" : r.error().reason);
        return m;
    }

    // Sends a REGISTER; if challenged, answers the challenge with `password` and `algorithm`.
    sip::Message do_register(const std::string& contacts, const std::string& extra = "",
                             const std::string& password = "secret-pass", const char* algorithm = "SHA-256",
                             const std::string& call_id = "reg-1", std::string* nonce_out = nullptr,
                             std::uint32_t nc = 1) {
        std::string out;
        sip::Message first = parse(register_text(contacts, extra, call_id));
        registrar.handle(first, flow, out);
        sip::Message challenge = parse(out);
        if (challenge.status() != 401) return challenge;
        std::string nonce;
        for (const auto& f : challenge.headers()) {
            if (f.id != sip::HeaderId::www_authenticate) continue;
            if (std::string_view(f.value).find(std::string("algorithm=") + algorithm) == std::string_view::npos) continue;
            auto start = f.value.find("nonce=\"") + 7;
            nonce = std::string(f.value.substr(start, f.value.find('"', start) - start));
        }
        EXPECT_FALSE(nonce.empty());
        if (nonce_out) *nonce_out = nonce;
        return answer(contacts, extra, password, algorithm, call_id, nonce, nc);
    }

    sip::Message answer(const std::string& contacts, const std::string& extra, const std::string& password,
                        const char* algorithm, const std::string& call_id, const std::string& nonce,
                        std::uint32_t nc) {
        auth::Credentials c;
        c.username = "1001";
        c.realm = "switchboard";
        c.nonce = nonce;
        c.uri = "sip:pbx.example";
        c.algorithm = *auth::parse_algorithm(algorithm);
        c.cnonce = "abcdef";
        c.qop = auth::Qop::auth;
        c.nc = nc;
        char ncbuf[9];
        std::snprintf(ncbuf, sizeof ncbuf, "%08x", nc);
        c.nc_text = ncbuf;
        std::string ha1 = *auth::ha1(c.algorithm, "1001", "switchboard", password);
        std::string response = *auth::expected_response(c.algorithm, ha1, c, "REGISTER");
        std::string authz = "Authorization: Digest username=\"1001\", realm=\"switchboard\", nonce=\"" + nonce +
                            "\", uri=\"sip:pbx.example\", response=\"" + response + "\", algorithm=" + algorithm +
                            ", cnonce=\"abcdef\", qop=auth, nc=" + ncbuf + "\r\n";
        std::string out;
        registrar.handle(parse(register_text(contacts, extra + authz, call_id)), flow, out);
        return parse(out);
    }
};

TEST_F(RegistrarTest, ChallengeOffersSha256ThenMd5) {
    std::string out;
    EXPECT_EQ(registrar.handle(parse(register_text("Contact: <sip:1001@192.0.2.10:40000>\r\n")), flow, out), 401);
    sip::Message r = parse(out);
    std::vector<std::string_view> challenges;
    for (const auto& f : r.headers())
        if (f.id == sip::HeaderId::www_authenticate) challenges.push_back(f.value);
    ASSERT_EQ(challenges.size(), 2u);
    EXPECT_NE(challenges[0].find("algorithm=SHA-256"), std::string_view::npos);
    EXPECT_NE(challenges[1].find("algorithm=MD5"), std::string_view::npos);
    EXPECT_FALSE(r.to_tag().empty());
    EXPECT_EQ(r.top_via().received, "192.0.2.10");
    EXPECT_EQ(r.top_via().rport, "40000");
}

TEST_F(RegistrarTest, RegistersWithSha256AndMd5) {
    for (const char* alg : {"SHA-256", "MD5"}) {
        sip::Message r = do_register("Contact: <sip:1001@192.0.2.10:40000>\r\n", "", "secret-pass", alg);
        EXPECT_EQ(r.status(), 200) << alg;
        EXPECT_NE(r.value(sip::HeaderId::contact).find("expires=3600"), std::string_view::npos);
    }
    EXPECT_EQ(locations.lookup("sip:1001", clock.unix_seconds()).size(), 1u);
    ASSERT_FALSE(sink.all.empty());
    EXPECT_EQ(sink.all.back().kind, BindingChange::upsert);
    EXPECT_EQ(sink.all.back().binding.received.remote.port, 40000);
}

TEST_F(RegistrarTest, WrongPasswordIsForbiddenAndBans) {
    for (int i = 0; i < 3; ++i) {
        sip::Message r = do_register("Contact: <sip:1001@192.0.2.10>\r\n", "", "wrong-pass");
        EXPECT_EQ(r.status(), 403);
    }
    EXPECT_TRUE(bans.is_banned("192.0.2.10"));
    EXPECT_TRUE(locations.lookup("sip:1001", clock.unix_seconds()).empty());
}

TEST_F(RegistrarTest, ReplayedNonceCountIsChallenged) {
    std::string nonce;
    ASSERT_EQ(do_register("Contact: <sip:1001@h>\r\n", "", "secret-pass", "SHA-256", "reg-1", &nonce).status(), 200);
    sip::Message replay = answer("Contact: <sip:1001@h>\r\n", "", "secret-pass", "SHA-256", "reg-1", nonce, 1);
    EXPECT_EQ(replay.status(), 401);
    sip::Message next = answer("Contact: <sip:1001@h>\r\n", "", "secret-pass", "SHA-256", "reg-1", nonce, 2);
    EXPECT_EQ(next.status(), 200);
}

TEST_F(RegistrarTest, StaleNonceSaysStale) {
    std::string nonce;
    ASSERT_EQ(do_register("Contact: <sip:1001@h>\r\n", "", "secret-pass", "SHA-256", "reg-1", &nonce).status(), 200);
    clock.advance(std::chrono::seconds(400));
    sip::Message r = answer("Contact: <sip:1001@h>\r\n", "", "secret-pass", "SHA-256", "reg-1", nonce, 2);
    EXPECT_EQ(r.status(), 401);
    EXPECT_NE(r.value(sip::HeaderId::www_authenticate).find("stale=true"), std::string_view::npos);
}

TEST_F(RegistrarTest, SeveralContactsExpiryAndQ) {
    sip::Message r = do_register("Contact: <sip:1001@a.example>;q=0.5, <sip:1001@b.example>;expires=120\r\n",
                                 "Expires: 600\r\n");
    ASSERT_EQ(r.status(), 200);
    std::vector<std::string> contacts;
    r.for_each_value(sip::HeaderId::contact, [&](std::string_view v) {
        contacts.emplace_back(v);
        return true;
    });
    ASSERT_EQ(contacts.size(), 2u);
    EXPECT_EQ(contacts[0], "<sip:1001@a.example>;expires=600;q=0.5");
    EXPECT_EQ(contacts[1], "<sip:1001@b.example>;expires=120");
    auto now = clock.unix_seconds();
    auto found = locations.lookup("sip:1001", now);
    ASSERT_EQ(found.size(), 2u);
    EXPECT_EQ(found[0].contact, "sip:1001@b.example");  // q 1.0 (absent) sorts first
    clock.advance(std::chrono::seconds(121));
    EXPECT_EQ(locations.lookup("sip:1001", clock.unix_seconds()).size(), 1u);
}

TEST_F(RegistrarTest, IntervalTooBrief) {
    sip::Message r = do_register("Contact: <sip:1001@a.example>;expires=10\r\n");
    EXPECT_EQ(r.status(), 423);
    EXPECT_EQ(r.value(sip::HeaderId::min_expires), "60");
}

TEST_F(RegistrarTest, UnregisterOneAndStar) {
    ASSERT_EQ(do_register("Contact: <sip:1001@a.example>, <sip:1001@b.example>\r\n").status(), 200);
    ASSERT_EQ(do_register("Contact: <sip:1001@a.example>;expires=0\r\n").status(), 200);
    EXPECT_EQ(locations.lookup("sip:1001", clock.unix_seconds()).size(), 1u);
    ASSERT_EQ(do_register("Contact: *\r\n", "Expires: 0\r\n").status(), 200);
    EXPECT_TRUE(locations.lookup("sip:1001", clock.unix_seconds()).empty());
    EXPECT_EQ(sink.all.back().kind, BindingChange::remove_all);
}

TEST_F(RegistrarTest, QueryReturnsBindingsWithoutChange) {
    ASSERT_EQ(do_register("Contact: <sip:1001@a.example>\r\n").status(), 200);
    std::size_t changes = sink.all.size();
    sip::Message r = do_register("");
    EXPECT_EQ(r.status(), 200);
    EXPECT_NE(r.value(sip::HeaderId::contact).find("sip:1001@a.example"), std::string_view::npos);
    EXPECT_EQ(sink.all.size(), changes);
}

TEST_F(RegistrarTest, BadRequests) {
    std::string out;
    EXPECT_EQ(registrar.handle(parse(register_text("Contact: *\r\n")), flow, out), 400);
    EXPECT_EQ(registrar.handle(parse(register_text("Contact: sip:1001@h?Route=x\r\n")), flow, out), 400);
    EXPECT_EQ(registrar.handle(parse(register_text("Contact: <sip:1001@h>;q=2\r\n")), flow, out), 400);
    EXPECT_EQ(registrar.handle(parse(register_text("Contact: <sip:1001@h>\r\n", "Expires: soon\r\n")), flow, out), 400);
}

TEST_F(RegistrarTest, InstanceIdAndPathAreKept) {
    sip::Message r = do_register("Contact: <sip:1001@a.example>;+sip.instance=\"<urn:uuid:1>\";reg-id=1\r\n",
                                 "Path: <sip:edge.example;lr>\r\n");
    ASSERT_EQ(r.status(), 200);
    EXPECT_EQ(r.value(sip::HeaderId::path), "<sip:edge.example;lr>");
    auto b = locations.lookup("sip:1001", clock.unix_seconds());
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].instance_id, "<urn:uuid:1>");
    EXPECT_EQ(b[0].reg_id, 1);
    ASSERT_EQ(b[0].path.size(), 1u);
    // Same instance from a new address replaces the binding instead of adding one.
    ASSERT_EQ(do_register("Contact: <sip:1001@c.example>;+sip.instance=\"<urn:uuid:1>\";reg-id=1\r\n").status(), 200);
    b = locations.lookup("sip:1001", clock.unix_seconds());
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].contact, "sip:1001@c.example");
}

TEST_F(RegistrarTest, CannotRegisterAnotherExtension) {
    Credential other;
    other.number = "1002";
    other.realm = "switchboard";
    other.ha1_md5 = *auth::ha1(auth::Algorithm::md5, "1002", "switchboard", "other-pass");
    other.ha1_sha256 = *auth::ha1(auth::Algorithm::sha256, "1002", "switchboard", "other-pass");
    creds.upsert(other);
    std::string out;
    // 1001's credentials on a REGISTER for 1002's AOR.
    registrar.handle(parse(register_text("Contact: <sip:x@h>\r\n", "", "reg-9", "1002")), flow, out);
    EXPECT_EQ(parse(out).status(), 401);
}

}  // namespace
}  // namespace sb::registrar

namespace sb::registrar {
namespace {
TEST_F(RegistrarTest, StaleNonceWithWrongPasswordIsForbiddenNotStale) {  // RFC 7616 3.3
    std::string nonce;
    ASSERT_EQ(do_register("Contact: <sip:1001@h>\r\n", "", "secret-pass", "SHA-256", "reg-1", &nonce).status(), 200);
    clock.advance(std::chrono::seconds(400));
    sip::Message r = answer("Contact: <sip:1001@h>\r\n", "", "wrong-pass", "SHA-256", "reg-1", nonce, 2);
    EXPECT_EQ(r.status(), 403);
}
}  // namespace
}  // namespace sb::registrar

namespace sb::registrar {
namespace {
TEST_F(RegistrarTest, PlainRefreshesAreWrittenOnlyWhenTheStoredExpiryLags) {
    ASSERT_EQ(do_register("Contact: <sip:1001@a.example>\r\n", "Expires: 3600\r\n").status(), 200);
    std::size_t writes = sink.all.size();
    clock.advance(std::chrono::seconds(60));  // a NAT keep-alive style refresh
    ASSERT_EQ(do_register("Contact: <sip:1001@a.example>\r\n", "Expires: 3600\r\n").status(), 200);
    EXPECT_EQ(sink.all.size(), writes);
    // The in-memory binding has the new expiry all the same.
    auto b = locations.lookup("sip:1001", clock.unix_seconds());
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].expires_at, clock.unix_seconds() + 3600);
    clock.advance(std::chrono::seconds(900));  // now the stored expiry lags by 960 s > 3600/4
    ASSERT_EQ(do_register("Contact: <sip:1001@a.example>\r\n", "Expires: 3600\r\n").status(), 200);
    ASSERT_EQ(sink.all.size(), writes + 1);
    EXPECT_EQ(sink.all.back().binding.expires_at, clock.unix_seconds() + 3600);
    // A changed attribute (q) is written at once.
    clock.advance(std::chrono::seconds(10));
    ASSERT_EQ(do_register("Contact: <sip:1001@a.example>;q=0.5\r\n", "Expires: 3600\r\n").status(), 200);
    EXPECT_EQ(sink.all.size(), writes + 2);
}
}  // namespace
}  // namespace sb::registrar
