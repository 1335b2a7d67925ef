#include "sb/db/registrations.h"
#include "test_cluster.h"

#include <gtest/gtest.h>

#include <ostream>

namespace sb::db {
// Readable failure output for EXPECT_EQ on bindings.
void PrintTo(const Binding& b, std::ostream* os) {
    *os << "{aor=" << b.aor << " contact=" << b.contact << " expires_at=" << b.expires_at
        << " q=" << (b.q ? std::to_string(*b.q) : "none") << " instance_id=" << b.instance_id
        << " reg_id=" << (b.reg_id ? std::to_string(*b.reg_id) : "none") << " path=[";
    for (const auto& p : b.path) *os << p << "|";
    *os << "] call_id=" << b.call_id << " cseq=" << b.cseq << " user_agent=" << b.user_agent
        << " received=" << b.received << " transport=" << b.transport << "}";
}

}  // namespace sb::db

namespace sb::db::test {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;

Binding binding(std::string aor, std::string contact, std::int64_t expires_at,
                std::int64_t cseq = 1) {
    Binding b;
    b.aor = std::move(aor);
    b.contact = std::move(contact);
    b.expires_at = expires_at;
    b.call_id = "call-" + b.contact;
    b.cseq = cseq;
    return b;
}

TEST_F(DbTest, UpsertRoundTripsEveryField) {
    Binding full = binding("sip:1001@pbx.example", "<sip:1001@192.0.2.10:5060;transport=udp>",
                           kNow + 3600, 42);
    full.q = 0.7f;
    full.instance_id = "<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";
    full.reg_id = 1;
    // Path values with characters that array literals must escape.
    full.path = {"<sip:edge1.example;lr>", "<sip:a,b\"c\\d@edge2.example;lr>", "{}", "NULL"};
    full.user_agent = "Yealink SIP-T46U 108.86.0.20";
    full.received = "198.51.100.7:40000";
    full.transport = "udp";
    Binding bare = binding("sip:1002@pbx.example", "<sip:1002@192.0.2.11>", kNow + 60);

    ASSERT_TRUE(upsert_bindings(conn(), {full, bare}));
    auto loaded = load_bindings(conn(), kNow);
    ASSERT_TRUE(loaded) << loaded.error().message;
    ASSERT_EQ(loaded->size(), 2u);
    EXPECT_EQ((*loaded)[0], full);
    EXPECT_EQ((*loaded)[1], bare);
    EXPECT_FALSE((*loaded)[1].q.has_value());
    EXPECT_FALSE((*loaded)[1].reg_id.has_value());
}

TEST_F(DbTest, UpsertUpdatesButNeverWithAnOlderRefresh) {
    const std::string aor = "sip:1001@pbx.example";
    ASSERT_TRUE(upsert_bindings(conn(), {binding(aor, "<sip:a>", kNow + 100, 5)}));
    ASSERT_TRUE(upsert_bindings(conn(), {binding(aor, "<sip:a>", kNow + 200, 6)}));
    auto loaded = load_bindings(conn(), kNow);
    ASSERT_TRUE(loaded);
    ASSERT_EQ(loaded->size(), 1u);
    EXPECT_EQ((*loaded)[0].expires_at, kNow + 200);
    EXPECT_EQ((*loaded)[0].cseq, 6);

    // A late batch carrying CSeq 5 of the same Call-ID must not win.
    ASSERT_TRUE(upsert_bindings(conn(), {binding(aor, "<sip:a>", kNow + 100, 5)}));
    loaded = load_bindings(conn(), kNow);
    ASSERT_TRUE(loaded);
    EXPECT_EQ((*loaded)[0].expires_at, kNow + 200);

    // A new Call-ID (the phone rebooted) replaces the binding whatever its CSeq.
    Binding rebooted = binding(aor, "<sip:a>", kNow + 300, 1);
    rebooted.call_id = "after-reboot";
    ASSERT_TRUE(upsert_bindings(conn(), {rebooted}));
    loaded = load_bindings(conn(), kNow);
    ASSERT_TRUE(loaded);
    EXPECT_EQ((*loaded)[0], rebooted);
}

TEST_F(DbTest, SameKeyTwiceInABatchKeepsTheLast) {
    const std::string aor = "sip:1001@pbx.example";
    ASSERT_TRUE(upsert_bindings(
        conn(), {binding(aor, "<sip:a>", kNow + 100, 1), binding(aor, "<sip:a>", kNow + 900, 2)}));
    auto loaded = load_bindings(conn(), kNow);
    ASSERT_TRUE(loaded);
    ASSERT_EQ(loaded->size(), 1u);
    EXPECT_EQ((*loaded)[0].expires_at, kNow + 900);
}

TEST_F(DbTest, LargeBatchInOneCall) {
    std::vector<Binding> batch;
    for (int i = 0; i < 500; ++i)
        batch.push_back(
            binding("sip:" + std::to_string(1000 + i) + "@pbx.example", "<sip:x>", kNow + 60));
    ASSERT_TRUE(upsert_bindings(conn(), batch));
    auto loaded = load_bindings(conn(), kNow);
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->size(), 500u);
    EXPECT_TRUE(upsert_bindings(conn(), {}));
}

TEST_F(DbTest, DeleteLoadUnexpiredAndPurge) {
    const std::string a = "sip:1001@pbx.example", b = "sip:1002@pbx.example";
    ASSERT_TRUE(upsert_bindings(conn(), {
                                            binding(a, "<sip:a1>", kNow + 100),
                                            binding(a, "<sip:a2>", kNow + 100),
                                            binding(a, "<sip:a3>", kNow - 1),  // expired
                                            binding(b, "<sip:b1>", kNow),      // expires right now
                                            binding(b, "<sip:b2>", kNow + 100),
                                        }));
    auto live = load_bindings(conn(), kNow);
    ASSERT_TRUE(live);
    ASSERT_EQ(live->size(), 3u);
    for (const auto& x : *live) EXPECT_GT(x.expires_at, kNow);

    auto deleted = delete_bindings(conn(), a, {"<sip:a1>", "<sip:nope>"});
    ASSERT_TRUE(deleted) << deleted.error().message;
    EXPECT_EQ(*deleted, 1u);
    auto none = delete_bindings(conn(), a, {});
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, 0u);

    auto purged = purge_expired(conn(), kNow);
    ASSERT_TRUE(purged);
    EXPECT_EQ(*purged, 2u);  // a3 and b1

    auto all_b = delete_all_bindings(conn(), b);
    ASSERT_TRUE(all_b);
    EXPECT_EQ(*all_b, 1u);

    auto left = load_bindings(conn(), 0);
    ASSERT_TRUE(left);
    ASSERT_EQ(left->size(), 1u);
    EXPECT_EQ((*left)[0].contact, "<sip:a2>");
}

TEST_F(DbTest, LoadOrdersByAorThenQ) {
    const std::string a = "sip:1001@pbx.example";
    Binding low = binding(a, "<sip:low>", kNow + 100), high = binding(a, "<sip:high>", kNow + 100),
            none = binding(a, "<sip:none>", kNow + 100);
    low.q = 0.1f;
    high.q = 1.0f;
    ASSERT_TRUE(upsert_bindings(conn(), {low, none, high}));
    auto loaded = load_bindings(conn(), kNow);
    ASSERT_TRUE(loaded);
    ASSERT_EQ(loaded->size(), 3u);
    EXPECT_EQ((*loaded)[0].contact, "<sip:high>");
    EXPECT_EQ((*loaded)[1].contact, "<sip:low>");
    EXPECT_EQ((*loaded)[2].contact, "<sip:none>");
}

}  // namespace
}  // namespace sb::db::test
