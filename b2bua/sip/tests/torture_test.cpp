// Every RFC 4475 and RFC 5118 torture message through the parser, with the verdict the parser
// itself must reach (the UAS checks that come after parsing, 416/420/415..., are tested against
// the live server by the conformance runner).
#include <gtest/gtest.h>

#include <map>

#include "sb/sip/message.h"
#include "sb/sip/name_addr.h"
#include "test_util.h"

namespace sb::sip {
namespace {

using testing::read_file;

const std::string kDir = SB_CONFORMANCE_DIR;

// Expected parser status: -1 parses fine, 0 dropped silently, else the error status.
const std::map<std::string, int> kExpected = {
    {"wsinv.dat", -1},      {"intmeth.dat", -1},    {"esc01.dat", -1},     {"escnull.dat", -1},
    {"esc02.dat", -1},      {"lwsdisp.dat", -1},    {"longreq.dat", -1},   {"dblreq.dat", -1},
    {"semiuri.dat", -1},    {"transports.dat", -1}, {"mpart01.dat", -1},   {"unreason.dat", -1},
    {"noreason.dat", -1},   {"badinv01.dat", 400},  {"clerr.dat", 400},    {"ncl.dat", 400},
    {"scalar02.dat", 400},  {"scalarlg.dat", 0},    {"quotbal.dat", 400},  {"ltgtruri.dat", 400},
    {"lwsruri.dat", 400},   {"lwsstart.dat", 400},  {"trws.dat", 400},     {"escruri.dat", 400},
    {"baddate.dat", -1},    {"regbadct.dat", -1},   {"badaspec.dat", 400}, {"baddn.dat", 400},
    {"badvers.dat", 505},   {"mismatch01.dat", 400}, {"mismatch02.dat", 501}, {"bigcode.dat", 0},
    {"badbranch.dat", -1},  {"insuf.dat", 400},     {"unkscm.dat", -1},    {"novelsc.dat", -1},
    {"unksm2.dat", -1},     {"bext01.dat", -1},     {"invut.dat", -1},     {"regaut01.dat", -1},
    {"multi01.dat", 400},   {"mcl01.dat", 400},     {"bcast.dat", -1},     {"zeromf.dat", -1},
    {"cparam01.dat", -1},   {"cparam02.dat", -1},   {"regescrt.dat", -1},  {"sdp01.dat", -1},
    {"inv2543.dat", -1},
    {"rfc5118/ipv6-good.dat", -1},
    {"rfc5118/ipv6-bad.dat", 400},
    {"rfc5118/port-ambiguous.dat", -1},
    {"rfc5118/port-unambiguous.dat", -1},
    {"rfc5118/via-received-param-with-delim.dat", -1},
    {"rfc5118/via-received-param-no-delim.dat", -1},
    {"rfc5118/ipv6-in-sdp.dat", -1},
    {"rfc5118/mult-ip-in-header.dat", -1},
    {"rfc5118/mult-ip-in-sdp.dat", -1},
    {"rfc5118/ipv4-mapped-ipv6.dat", -1},
    {"rfc5118/ipv6-bug-abnf-3-colons.dat", -1},
    {"rfc5118/ipv6-correct-abnf-2-colons.dat", -1},
};

TEST(Torture, EveryManifestMessageHasAnExpectation) {
    std::string manifest = read_file(kDir + "/MANIFEST.tsv");
    ASSERT_FALSE(manifest.empty()) << "missing " << kDir << "/MANIFEST.tsv (../shared must be a sibling)";
    std::size_t rows = 0;
    std::size_t pos = manifest.find('\n') + 1;  // skip the header row
    while (pos < manifest.size()) {
        std::size_t eol = manifest.find('\n', pos);
        std::string line = manifest.substr(pos, eol - pos);
        pos = eol == std::string::npos ? manifest.size() : eol + 1;
        if (line.empty()) continue;
        std::string file = line.substr(0, line.find('\t'));
        EXPECT_TRUE(kExpected.count(file)) << file;
        ++rows;
    }
    EXPECT_EQ(rows, kExpected.size());
}

class TortureMessage : public ::testing::TestWithParam<std::pair<const std::string, int>> {};

TEST_P(TortureMessage, ParserVerdict) {
    const auto& [file, expected] = GetParam();
    std::string bytes = read_file(kDir + "/" + file);
    ASSERT_FALSE(bytes.empty()) << file;
    Message m;
    auto r = parse_message(bytes, Framing::datagram, Limits{}, m);
    if (expected < 0) {
        EXPECT_TRUE(r.has_value()) << file << ": " << (r ? "" : r.error().reason);
    } else {
        ASSERT_FALSE(r.has_value()) << file << " parsed but should fail with " << expected;
        EXPECT_EQ(r.error().status, expected) << file << ": " << r.error().reason;
        // Every rejected request can be answered (insuf.dat's answer lacks the headers it lacks).
        if (expected != 0) EXPECT_TRUE(m.can_respond()) << file;
    }
}

INSTANTIATE_TEST_SUITE_P(Rfc4475, TortureMessage, ::testing::ValuesIn(kExpected),
                         [](const auto& info) {
                             std::string n = info.param.first;
                             for (char& c : n)
                                 if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                             return n;
                         });

TEST(Torture, WsinvValues) {
    Message m;
    ASSERT_TRUE(parse_message(read_file(kDir + "/wsinv.dat"), Framing::datagram, Limits{}, m));
    EXPECT_EQ(m.method(), Method::INVITE);
    EXPECT_EQ(m.cseq(), 9u);
    EXPECT_EQ(m.cseq_method(), Method::INVITE);
    EXPECT_EQ(m.max_forwards(), 68);
    EXPECT_EQ(m.call_id(), "wsinv.ndaksdj@192.0.2.1");
    EXPECT_EQ(m.to_tag(), "1918181833n");
    EXPECT_EQ(m.from_tag(), "98asjd8");
    EXPECT_EQ(m.top_via().branch, "390skdjuw");
    EXPECT_EQ(m.top_via().host, "192.0.2.2");
    EXPECT_EQ(m.top_via().transport, "UDP");
    EXPECT_EQ(m.body().size(), 150u);
    auto* nf = m.find("NewFangledHeader");
    ASSERT_NE(nf, nullptr);
    EXPECT_EQ(nf->value.substr(0, 16), "newfangled value");
    EXPECT_NE(nf->value.find("continued newfangled value"), std::string_view::npos);
    EXPECT_EQ(nf->value.find('\r'), std::string_view::npos);
    auto* subject = m.find(HeaderId::subject);  // "s :" compact form, empty value
    ASSERT_NE(subject, nullptr);
    EXPECT_EQ(subject->value, "");
    auto from = parse_name_addr(m.from());
    ASSERT_TRUE(from);
    EXPECT_EQ(from->display_name_text(), "J Rosenberg \\\"");
}

TEST(Torture, LongreqCountsAllVias) {
    Message m;
    ASSERT_TRUE(parse_message(read_file(kDir + "/longreq.dat"), Framing::datagram, Limits{}, m));
    EXPECT_EQ(m.via_count(), 34u);
    EXPECT_EQ(m.top_via().host, "sip33.example.com");
}

TEST(Torture, DblreqKeepsOnlyTheFirstMessage) {
    Message m;
    ASSERT_TRUE(parse_message(read_file(kDir + "/dblreq.dat"), Framing::datagram, Limits{}, m));
    EXPECT_EQ(m.method(), Method::REGISTER);
    EXPECT_EQ(m.body().size(), 0u);
}

TEST(Torture, EscnullKeepsTheEscapedNul) {
    Message m;
    ASSERT_TRUE(parse_message(read_file(kDir + "/escnull.dat"), Framing::datagram, Limits{}, m));
    auto to = parse_name_addr(m.to());
    ASSERT_TRUE(to);
    auto uri = parse_uri(to->uri);
    ASSERT_TRUE(uri);
    std::string user = unescape(uri->user);
    EXPECT_NE(user.find('\0'), std::string::npos);
}

TEST(Torture, Esc02IsAnExtensionMethod) {
    Message m;
    ASSERT_TRUE(parse_message(read_file(kDir + "/esc02.dat"), Framing::datagram, Limits{}, m));
    EXPECT_EQ(m.method(), Method::extension);
    EXPECT_EQ(m.method_text(), "RE%47IST%45R");
}

TEST(Torture, Ipv6ReceivedParams) {
    Message m;
    ASSERT_TRUE(parse_message(read_file(kDir + "/rfc5118/via-received-param-with-delim.dat"),
                              Framing::datagram, Limits{}, m));
    EXPECT_EQ(m.top_via().received.front(), '[');
    EXPECT_EQ(m.top_via().host.front(), '[');
}

TEST(Torture, ErrorsKeepWhatAResponseNeeds) {
    Message m;
    auto r = parse_message(read_file(kDir + "/mismatch01.dat"), Framing::datagram, Limits{}, m);
    ASSERT_FALSE(r);
    EXPECT_TRUE(m.can_respond());
    auto v = parse_message(read_file(kDir + "/badvers.dat"), Framing::datagram, Limits{}, m);
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().status, 505);
}

}  // namespace
}  // namespace sb::sip
