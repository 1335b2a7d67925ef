#pragma once
// One throwaway PostgreSQL cluster for the whole test binary (initdb costs seconds), migrated
// once; each test fixture empties the tables it uses.
#include "sb/db/embedded_postgres.h"

#include <gtest/gtest.h>
#include <pqxx/connection>

#include <filesystem>
#include <memory>
#include <string>

namespace sb::db::test {

// A fresh directory under /tmp (short, so the socket path fits), traversable by the postgres
// user when tests run as root; removed with its contents on destruction.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

// Options for a throwaway cluster: no fsync anywhere (faster; durability does not matter here).
EmbeddedPostgresOptions throwaway_options(const std::filesystem::path& dir);

// The shared cluster's connection string (migrated); valid during tests.
const std::string& shared_conninfo();

// Fixture: a connection to the shared, migrated database with the data tables emptied.
class DbTest : public ::testing::Test {
  protected:
    void SetUp() override;
    pqxx::connection& conn() { return *conn_; }

  private:
    std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace sb::db::test
