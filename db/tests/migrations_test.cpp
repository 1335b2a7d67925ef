#include "sb/db/migrations.h"
#include "sb/db/errors.h"
#include "test_cluster.h"

#include <gtest/gtest.h>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include <atomic>
#include <thread>

namespace sb::db::test {
namespace {

bool table_exists(pqxx::connection& c, const std::string& name) {
    pqxx::nontransaction tx(c);
    return tx.exec_params("select to_regclass($1) is not null", name)[0][0].as<bool>();
}

// A scratch database in the shared cluster, so these tests start from an empty schema.
class ScratchDbTest : public DbTest {
  protected:
    void SetUp() override {
        DbTest::SetUp();
        static std::atomic<int> counter{0};
        name_ = "scratch_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
        pqxx::nontransaction tx(conn());
        tx.exec("create database " + conn().quote_name(name_));
        // In a keyword/value string a later keyword overrides an earlier one.
        scratch_conninfo_ = shared_conninfo() + " dbname=" + name_;
        scratch_ = std::make_unique<pqxx::connection>(scratch_conninfo_);
    }
    void TearDown() override {
        scratch_.reset();
        pqxx::nontransaction tx(conn());
        tx.exec("drop database if exists " + conn().quote_name(name_) + " with (force)");
    }
    pqxx::connection& scratch() { return *scratch_; }
    const std::string& scratch_conninfo() const { return scratch_conninfo_; }

  private:
    std::string name_, scratch_conninfo_;
    std::unique_ptr<pqxx::connection> scratch_;
};

TEST(BuiltinMigrations, AreNumberedFromOne) {
    const auto& m = builtin_migrations();
    ASSERT_FALSE(m.empty());
    EXPECT_EQ(m[0].version, 1);
    EXPECT_EQ(m[0].name, "initial");
    EXPECT_NE(m[0].sql.find("create table extensions"), std::string::npos);
}

TEST_F(DbTest, SharedClusterIsMigratedAndRecorded) {
    auto applied = applied_migrations(conn());
    ASSERT_TRUE(applied) << applied.error().message;
    ASSERT_EQ(applied->size(), builtin_migrations().size());
    EXPECT_EQ(applied->front(), 1);
    pqxx::nontransaction tx(conn());
    auto r =
        tx.exec("select name, applied_at is not null from schema_migrations where version = 1");
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0][0].as<std::string>(), "initial");
    EXPECT_TRUE(r[0][1].as<bool>());
}

TEST_F(ScratchDbTest, MigrateIsIdempotent) {
    auto first = migrate(scratch());
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(first->size(), builtin_migrations().size());
    EXPECT_TRUE(table_exists(scratch(), "extensions"));
    EXPECT_TRUE(table_exists(scratch(), "registrations"));
    EXPECT_TRUE(table_exists(scratch(), "settings"));
    auto second = migrate(scratch());
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_TRUE(second->empty());
}

// 003 adds extensions.tones to a database that already has extensions: they keep everything and
// get the system's plan (NULL).
TEST_F(ScratchDbTest, ExtensionTonesMigrationKeepsExistingRows) {
    const auto& all = builtin_migrations();
    ASSERT_GE(all.size(), 3u);
    ASSERT_EQ(all[2].version, 3);
    std::vector<Migration> up_to_002(all.begin(), all.begin() + 2);
    ASSERT_EQ(up_to_002.back().version, 2);
    auto first = migrate(scratch(), up_to_002);
    ASSERT_TRUE(first) << first.error().message;
    {
        pqxx::nontransaction tx(scratch());
        tx.exec(
            "insert into extensions (number, display_name, realm, ha1_md5, ha1_sha256, enabled) "
            "values ('1001', 'Front Desk', 'pbx.example', repeat('a', 32), repeat('b', 64), "
            "false)");
    }

    auto rest = migrate(scratch());
    ASSERT_TRUE(rest) << rest.error().message;
    ASSERT_FALSE(rest->empty());
    EXPECT_EQ(rest->front(), 3);
    pqxx::nontransaction tx(scratch());
    auto r = tx.exec(
        "select display_name, realm, ha1_md5, ha1_sha256, enabled, tones is null "
        "from extensions where number = '1001'");
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0][0].as<std::string>(), "Front Desk");
    EXPECT_EQ(r[0][1].as<std::string>(), "pbx.example");
    EXPECT_EQ(r[0][2].as<std::string>(), std::string(32, 'a'));
    EXPECT_EQ(r[0][3].as<std::string>(), std::string(64, 'b'));
    EXPECT_FALSE(r[0][4].as<bool>());
    EXPECT_TRUE(r[0][5].as<bool>());
    EXPECT_THROW(tx.exec("update extensions set tones = 'gb;drop'"), pqxx::check_violation);
}

// 005 adds extensions.media to a database with extensions (tones and all): they keep everything
// and get the system's mode (NULL); the column takes only 'direct' and 'anchor', and a change of
// it alone still notifies sb_extensions (the row trigger of 001, whose function 004 replaced).
TEST_F(ScratchDbTest, ExtensionMediaMigrationKeepsExistingRows) {
    const auto& all = builtin_migrations();
    ASSERT_GE(all.size(), 5u);
    ASSERT_EQ(all[4].version, 5);
    std::vector<Migration> up_to_004(all.begin(), all.begin() + 4);
    ASSERT_EQ(up_to_004.back().version, 4);
    auto first = migrate(scratch(), up_to_004);
    ASSERT_TRUE(first) << first.error().message;
    {
        pqxx::nontransaction tx(scratch());
        tx.exec(
            "insert into extensions (number, display_name, realm, ha1_md5, ha1_sha256, tones) "
            "values ('1001', 'Front Desk', 'pbx.example', repeat('a', 32), repeat('b', 64), "
            "'GB')");
    }

    auto rest = migrate(scratch());
    ASSERT_TRUE(rest) << rest.error().message;
    ASSERT_FALSE(rest->empty());
    EXPECT_EQ(rest->front(), 5);
    {
        pqxx::nontransaction tx(scratch());
        auto r = tx.exec(
            "select display_name, tones, media is null from extensions where number = '1001'");
        ASSERT_EQ(r.size(), 1u);
        EXPECT_EQ(r[0][0].as<std::string>(), "Front Desk");
        EXPECT_EQ(r[0][1].as<std::string>(), "GB");
        EXPECT_TRUE(r[0][2].as<bool>());
        EXPECT_THROW(tx.exec("update extensions set media = 'relay'"), pqxx::check_violation);
        EXPECT_THROW(tx.exec("update extensions set media = 'Direct'"), pqxx::check_violation);
        // A session hears its own notifications; libpqxx hands them out outside a transaction.
        tx.exec("listen sb_extensions");
        tx.exec("update extensions set media = 'direct' where number = '1001'");
    }
    EXPECT_EQ(scratch().get_notifs(), 1) << "a media change alone notifies";
}

TEST_F(ScratchDbTest, AppliedMigrationsIsEmptyOnFreshDatabase) {
    auto applied = applied_migrations(scratch());
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_TRUE(applied->empty());
}

TEST_F(ScratchDbTest, FailingMigrationRollsBackAndStopsTheRun) {
    std::vector<Migration> list{
        {1, "one", "create table one (x int)"},
        {2, "bad", "create table two (x int); select * from no_such_table"},
        {3, "three", "create table three (x int)"},
    };
    auto r = migrate(scratch(), list);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, code(Errc::query_failed));
    EXPECT_NE(r.error().message.find("002_bad"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("no_such_table"), std::string::npos) << r.error().message;

    EXPECT_TRUE(table_exists(scratch(), "one"));
    EXPECT_FALSE(table_exists(scratch(), "two")) << "the failing migration's DDL must roll back";
    EXPECT_FALSE(table_exists(scratch(), "three")) << "later migrations must not run";
    auto applied = applied_migrations(scratch());
    ASSERT_TRUE(applied);
    EXPECT_EQ(*applied, std::vector<int>{1});

    // Fixed, the run continues where it stopped.
    list[1].sql = "create table two (x int)";
    auto fixed = migrate(scratch(), list);
    ASSERT_TRUE(fixed) << fixed.error().message;
    EXPECT_EQ(*fixed, (std::vector<int>{2, 3}));
}

TEST_F(ScratchDbTest, RejectsUnorderedList) {
    std::vector<Migration> list{{2, "b", "select 1"}, {1, "a", "select 1"}};
    auto r = migrate(scratch(), list);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, code(Errc::invalid_argument));
    EXPECT_FALSE(table_exists(scratch(), "schema_migrations"));
}

TEST_F(ScratchDbTest, ConcurrentMigratorsApplyEachMigrationOnce) {
    std::vector<Migration> list{
        {1, "slow", "select pg_sleep(0.2); create table slow (x int)"},
        {2, "next", "create table next (x int)"},
    };
    std::vector<int> a, b;
    std::string err;
    std::mutex m;
    auto worker = [&](std::vector<int>& out) {
        pqxx::connection c(scratch_conninfo());
        auto r = migrate(c, list);
        std::lock_guard lock(m);
        if (r)
            out = *r;
        else
            err += r.error().message;
    };
    std::thread t1(worker, std::ref(a)), t2(worker, std::ref(b));
    t1.join();
    t2.join();
    EXPECT_EQ(err, "");
    std::vector<int> all = a;
    all.insert(all.end(), b.begin(), b.end());
    std::sort(all.begin(), all.end());
    EXPECT_EQ(all, (std::vector<int>{1, 2}));
}

}  // namespace
}  // namespace sb::db::test
