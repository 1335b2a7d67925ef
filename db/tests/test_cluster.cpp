#include "test_cluster.h"

#include "sb/db/migrations.h"

#include <pqxx/nontransaction>

#include <cstdlib>
#include <stdexcept>

namespace sb::db::test {
namespace {

class SharedCluster : public ::testing::Environment {
  public:
    void SetUp() override {
        dir_ = std::make_unique<TempDir>();
        auto pg = EmbeddedPostgres::start(throwaway_options(dir_->path()));
        ASSERT_TRUE(pg) << pg.error().message;
        pg_ = std::move(*pg);
        pqxx::connection c(pg_->connection_string());
        auto applied = migrate(c);
        ASSERT_TRUE(applied) << applied.error().message;
        conninfo() = pg_->connection_string();
    }
    void TearDown() override {
        pg_.reset();  // stops the server before its directory goes
        dir_.reset();
    }
    static std::string& conninfo() {
        static std::string s;
        return s;
    }

  private:
    std::unique_ptr<TempDir> dir_;
    std::unique_ptr<EmbeddedPostgres> pg_;
};

// gtest owns environments it is given (its API takes a raw pointer).
[[maybe_unused]] ::testing::Environment* const g_env =
    ::testing::AddGlobalTestEnvironment(new SharedCluster);

}  // namespace

TempDir::TempDir() {
    char tmpl[] = "/tmp/sbdb-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
    // mkdtemp makes it 0700; as root, PostgreSQL runs as `postgres` and must enter it.
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all |
                                            std::filesystem::perms::group_exec |
                                            std::filesystem::perms::others_exec);
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

EmbeddedPostgresOptions throwaway_options(const std::filesystem::path& dir) {
    EmbeddedPostgresOptions o;
    o.data_dir = dir;
    o.settings = {{"fsync", "off"}, {"synchronous_commit", "off"}, {"full_page_writes", "off"}};
    o.initdb_no_sync = true;
    return o;
}

const std::string& shared_conninfo() {
    const std::string& s = SharedCluster::conninfo();
    if (s.empty()) throw std::runtime_error("the shared test cluster did not start");
    return s;
}

void DbTest::SetUp() {
    conn_ = std::make_unique<pqxx::connection>(shared_conninfo());
    pqxx::nontransaction tx(*conn_);
    tx.exec("truncate extensions, registrations, settings, call_records");
}

}  // namespace sb::db::test
