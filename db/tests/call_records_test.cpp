#include "sb/db/call_records.h"
#include "sb/db/call_record_store.h"
#include "sb/db/errors.h"
#include "test_cluster.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <fstream>
#include <sstream>

namespace sb::db::test {
namespace {

constexpr std::int64_t kT0 = 1'764'000'000'123;  // 2025-11-24, with milliseconds

CallRecordRow row(const std::string& caller, const std::string& callee, std::int64_t start = kT0) {
    CallRecordRow r;
    r.uuid = new_record_uuid();
    r.call_id = "cid-" + r.uuid.substr(0, 8) + "@192.0.2.1";
    r.caller = caller;
    r.callee = callee;
    r.started_at_ms = start;
    r.answered_at_ms = start + 2'250;
    r.ended_at_ms = start + 62'500;
    r.status = 200;
    r.end_reason = "caller hung up";
    r.detail_json = R"({"legs":[{"destination":")" + callee + R"(","status":200}]})";
    return r;
}

std::string contents(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::int64_t count(pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return tx.exec1("select count(*) from call_records")[0].as<std::int64_t>();
}

std::vector<std::string> lines_of(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) out.push_back(l);
    return out;
}

// A one-thread pool to the shared cluster (up) or to a socket that does not exist (the database
// away).
PoolOptions one_thread(bool up) {
    PoolOptions po;
    po.conninfo = up ? shared_conninfo() : "host=/tmp/sbdb-no-such-dir dbname=x connect_timeout=2";
    po.threads = 1;
    return po;
}

TEST_F(DbTest, CallRecordsRoundTripNewestFirst) {
    CallRecordRow a = row("1001", "1002");
    CallRecordRow b = row("1003", "2000", kT0 + 5'000);
    b.answered_at_ms = 0;  // never answered
    b.status = 486;
    b.end_reason = "busy";
    b.recording = "/var/lib/switchboard/recordings/x.wav";
    b.direct_media = true;
    ASSERT_TRUE(insert_call_records(conn(), {a, b}));

    auto got = list_call_records(conn(), {});
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_EQ(got->size(), 2u);
    EXPECT_EQ((*got)[0].uuid, b.uuid) << "newest first";
    for (std::size_t i = 0; i < 2; ++i) {
        CallRecordRow expect = i == 0 ? b : a;
        CallRecordRow actual = (*got)[i];
        EXPECT_GT(actual.id, 0);
        EXPECT_EQ(nlohmann::json::parse(actual.detail_json),
                  nlohmann::json::parse(expect.detail_json));
        expect.id = actual.id;
        actual.detail_json = expect.detail_json;  // jsonb normalizes spacing
        EXPECT_EQ(actual, expect) << "times keep their milliseconds; 0 and \"\" stay absent";
    }
    auto one = get_call_record(conn(), (*got)[1].id);
    ASSERT_TRUE(one);
    EXPECT_EQ(one->uuid, a.uuid);
    auto none = get_call_record(conn(), (*got)[0].id + 1000);
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, code(Errc::not_found));
}

TEST_F(DbTest, CallRecordInsertIsIdempotentByUuid) {
    CallRecordRow a = row("1001", "1002");
    ASSERT_TRUE(insert_call_records(conn(), {a}));
    ASSERT_TRUE(insert_call_records(conn(), {a, row("1001", "1003")}));
    EXPECT_EQ(count(conn()), 2) << "a replayed row is stored once";
}

TEST_F(DbTest, CallRecordsFilterByNumberAndPage) {
    std::vector<CallRecordRow> rows;
    for (int i = 0; i < 5; ++i)
        rows.push_back(row("1001", "100" + std::to_string(2 + i % 2), kT0 + i));
    rows.push_back(row("1005", "1006"));
    ASSERT_TRUE(insert_call_records(conn(), rows));

    auto by_callee = list_call_records(conn(), {50, "1003", 0});
    ASSERT_TRUE(by_callee);
    EXPECT_EQ(by_callee->size(), 2u);
    auto by_caller = list_call_records(conn(), {50, "1001", 0});
    ASSERT_TRUE(by_caller);
    EXPECT_EQ(by_caller->size(), 5u);
    auto page1 = list_call_records(conn(), {2, "", 0});
    ASSERT_TRUE(page1);
    ASSERT_EQ(page1->size(), 2u);
    auto page2 = list_call_records(conn(), {50, "", page1->back().id});
    ASSERT_TRUE(page2);
    EXPECT_EQ(page2->size(), 4u);
    EXPECT_LT(page2->front().id, page1->back().id);
    EXPECT_FALSE(list_call_records(conn(), {0, "", 0}));
    EXPECT_FALSE(list_call_records(conn(), {1001, "", 0}));
}

TEST_F(DbTest, BadCallRecordsAreRefusedBeforeAnythingIsWritten) {
    auto refused = [&](CallRecordRow bad, const std::string& says) {
        auto st = insert_call_records(conn(), {row("1001", "1002"), bad});
        ASSERT_FALSE(st) << says;
        EXPECT_EQ(st.error().code, code(Errc::invalid_argument));
        EXPECT_NE(st.error().message.find(says), std::string::npos) << st.error().message;
        EXPECT_EQ(count(conn()), 0);
    };
    CallRecordRow r = row("1001", "1002");
    r.uuid = "not-a-uuid";
    refused(r, "is not a uuid");
    r = row("1001", "1002");
    r.ended_at_ms = r.started_at_ms - 1;
    refused(r, "ends before it starts");
    r = row("1001", "1002");
    r.answered_at_ms = r.ended_at_ms + 1;
    refused(r, "answered outside");
    r = row("1001", "1002");
    r.detail_json = "[1,2]";
    refused(r, "not a JSON object");
    r = row("1001", "1002");
    r.status = 99;
    refused(r, "status 99 is not a SIP status");
    r = row("1001", "1002", 1000);
    refused(r, "start time out of range");
}

TEST_F(DbTest, OldCallRecordsAreDeleted) {
    ASSERT_TRUE(
        insert_call_records(conn(), {row("1001", "1002", kT0), row("1001", "1003", kT0 + 1000),
                                     row("1001", "1004", kT0 + 2000)}));
    auto deleted = delete_call_records_before(conn(), kT0 + 1000);
    ASSERT_TRUE(deleted) << deleted.error().message;
    EXPECT_EQ(*deleted, 1u);
    auto left = list_call_records(conn(), {});
    ASSERT_TRUE(left);
    ASSERT_EQ(left->size(), 2u);
    EXPECT_EQ(left->back().callee, "1003") << "the one started at the bound stays";
    deleted = delete_call_records_before(conn(), kT0);
    ASSERT_TRUE(deleted);
    EXPECT_EQ(*deleted, 0u);
}

// The store, with the database up: rows reach it and the spool ends empty.
TEST_F(DbTest, CallRecordStoreWritesThroughItsSpool) {
    TempDir dir;
    Pool pool(one_thread(true));
    CallRecordStoreOptions so;
    so.spool = dir.path() / "call-records.spool";
    so.batch = 2;  // several transactions
    auto store = CallRecordStore::open(pool, so);
    ASSERT_TRUE(store) << store.error().message;
    for (int i = 0; i < 5; ++i) (*store)->add(row("1001", "1002", kT0 + i));
    ASSERT_TRUE((*store)->flush(Duration(20'000)));
    EXPECT_EQ(count(conn()), 5);
    EXPECT_EQ((*store)->stats().written, 5u);
    EXPECT_EQ((*store)->stats().spooled, 0u);
    EXPECT_TRUE((*store)->stats().database_ok);
    EXPECT_EQ(std::filesystem::file_size(so.spool), 0u) << contents(so.spool);
}

// The database away: records wait in the spool on disk, survive the store's end (a restart), and
// are written in order by the next store once the database answers.
TEST_F(DbTest, CallRecordStoreKeepsRecordsThroughAnOutage) {
    TempDir dir;
    CallRecordStoreOptions so;
    so.spool = dir.path() / "call-records.spool";
    so.retry_min = Duration(50);
    std::vector<CallRecordRow> rows;
    for (int i = 0; i < 3; ++i) rows.push_back(row("1001", "100" + std::to_string(i), kT0 + i));
    {
        Pool pool(one_thread(false));
        auto store = CallRecordStore::open(pool, so);
        ASSERT_TRUE(store) << store.error().message;
        for (const auto& r : rows) (*store)->add(r);
        EXPECT_FALSE((*store)->flush(Duration(1'500)));
        EXPECT_FALSE((*store)->stats().database_ok);
        EXPECT_EQ((*store)->stats().spooled, 3u);
    }
    EXPECT_EQ(lines_of(so.spool).size(), 3u) << "on disk across the restart";
    EXPECT_EQ(count(conn()), 0);

    Pool pool(one_thread(true));
    auto store = CallRecordStore::open(pool, so);
    ASSERT_TRUE(store);
    EXPECT_EQ((*store)->stats().spooled, 3u);
    ASSERT_TRUE((*store)->flush(Duration(20'000)));
    auto got = list_call_records(conn(), {});
    ASSERT_TRUE(got);
    ASSERT_EQ(got->size(), 3u);
    for (std::size_t i = 0; i < 3; ++i)
        EXPECT_EQ((*got)[2 - i].uuid, rows[i].uuid) << "written in the order they ended";
    EXPECT_EQ(std::filesystem::file_size(so.spool), 0u) << contents(so.spool);
}

// A spool left by a crash: a line cut short, a line that is not a record, and a record that is
// already in the database (written just before the crash). Nothing readable is lost, the
// unreadable lines are kept aside, and nothing is stored twice.
TEST_F(DbTest, CallRecordStoreReplaysWhatACrashLeft) {
    TempDir dir;
    CallRecordStoreOptions so;
    so.spool = dir.path() / "call-records.spool";
    CallRecordRow already = row("1001", "1002");
    ASSERT_TRUE(insert_call_records(conn(), {already}));
    CallRecordRow second = row("1003", "1004", kT0 + 1);
    {
        // Lines the store itself would write, produced by a first store whose pool never runs.
        Pool pool(one_thread(false));
        auto store = CallRecordStore::open(pool, so);
        ASSERT_TRUE(store);
        (*store)->add(already);
        (*store)->add(second);
        (void)(*store)->flush(Duration(500));
    }
    {
        std::ofstream out(so.spool, std::ios::app);
        out << "this is not a call record\n";
        out << R"({"uuid":"0c5b1f8e-1)";  // cut short, no newline
    }
    Pool pool(one_thread(true));
    auto store = CallRecordStore::open(pool, so);
    ASSERT_TRUE(store);
    CallRecordRow third = row("1005", "1006", kT0 + 2);
    (*store)->add(third);
    ASSERT_TRUE((*store)->flush(Duration(20'000)));
    EXPECT_EQ(count(conn()), 3) << "already, second, third: each once";
    EXPECT_EQ((*store)->stats().rejected, 2u);
    auto rejected = lines_of(dir.path() / "call-records.spool.rejected");
    ASSERT_EQ(rejected.size(), 2u);
    EXPECT_EQ(rejected[0], "this is not a call record");
    EXPECT_EQ(std::filesystem::file_size(so.spool), 0u) << contents(so.spool);
}

// A row PostgreSQL itself refuses (jsonb takes no \u0000) is set aside; the rows around it are
// written, so one bad record cannot hold up the spool.
TEST_F(DbTest, CallRecordStoreSetsAsideARowTheDatabaseRefuses) {
    TempDir dir;
    Pool pool(one_thread(true));
    CallRecordStoreOptions so;
    so.spool = dir.path() / "call-records.spool";
    auto store = CallRecordStore::open(pool, so);
    ASSERT_TRUE(store);
    CallRecordRow bad = row("1001", "1002");
    bad.detail_json = R"({"note":"\u0000"})";  // valid JSON, refused by jsonb
    (*store)->add(row("1001", "1002"));
    (*store)->add(bad);
    (*store)->add(row("1001", "1003"));
    CallRecordRow unchecked = row("1001", "1004");
    unchecked.detail_json = "{not json";
    (*store)->add(unchecked);
    ASSERT_TRUE((*store)->flush(Duration(20'000)));
    EXPECT_EQ(count(conn()), 2);
    EXPECT_EQ((*store)->stats().rejected, 2u);
    auto rejected = lines_of(dir.path() / "call-records.spool.rejected");
    ASSERT_EQ(rejected.size(), 2u);
    // In either order: a row is refused on arrival when the thread takes it, and by PostgreSQL
    // when its batch is written, which may come first.
    auto kept = [&](const std::string& uuid) {
        return rejected[0].find(uuid) != std::string::npos ||
               rejected[1].find(uuid) != std::string::npos;
    };
    EXPECT_TRUE(kept(unchecked.uuid)) << "refused on arrival";
    EXPECT_TRUE(kept(bad.uuid)) << "refused by PostgreSQL";
}

TEST(CallRecordStore, RefusesASpoolItCannotOpen) {
    Pool pool(one_thread(false));
    CallRecordStoreOptions so;
    so.spool = "/nonexistent-dir/call-records.spool";
    auto store = CallRecordStore::open(pool, so);
    ASSERT_FALSE(store);
    EXPECT_NE(store.error().message.find("/nonexistent-dir/call-records.spool"), std::string::npos);
}

TEST(CallRecordUuid, IsAVersion4Uuid) {
    const std::string u = new_record_uuid();
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[14], '4');
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos);
    EXPECT_NE(new_record_uuid(), u);
}

}  // namespace
}  // namespace sb::db::test
