#include "sb/db/embedded_postgres.h"
#include "sb/db/errors.h"
#include "test_cluster.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <pqxx/connection>
#include <pqxx/nontransaction>

#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace sb::db::test {
namespace {

namespace fs = std::filesystem;

std::string query_one(const std::string& conninfo, const std::string& sql) {
    pqxx::connection c(conninfo);
    pqxx::nontransaction tx(c);
    return tx.exec(sql)[0][0].as<std::string>();
}

bool server_answers(const std::string& conninfo) {
    return PQping(conninfo.c_str()) == PQPING_OK;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(EmbeddedPostgres, StartsSocketOnlyClusterWithDatabase) {
    TempDir tmp;
    // A space and a quote: the path goes through conninfo, postgresql.conf and pg_ctl's shell.
    const fs::path dir = tmp.path() / "it's data";
    auto pg = EmbeddedPostgres::start(throwaway_options(dir));
    ASSERT_TRUE(pg) << pg.error().message;
    EXPECT_TRUE((*pg)->started_server());
    EXPECT_TRUE(fs::exists(dir / "pg" / "PG_VERSION"));
    EXPECT_TRUE(fs::exists(dir / "pg-run" / ".s.PGSQL.5432"));
    const std::string& ci = (*pg)->connection_string();
    EXPECT_NE(ci.find("dbname='switchboard'"), std::string::npos) << ci;
    EXPECT_EQ(query_one(ci, "select current_database()"), "switchboard");
    EXPECT_EQ(query_one(ci, "show listen_addresses"), "");  // no TCP port
    EXPECT_EQ(query_one(ci, "show server_encoding"), "UTF8");
    EXPECT_EQ(query_one(ci, "show fsync"), "off");  // extra settings reach the server
}

TEST(EmbeddedPostgres, ReusesRunningClusterWithoutStoppingIt) {
    TempDir dir;
    auto first = EmbeddedPostgres::start(throwaway_options(dir.path()));
    ASSERT_TRUE(first) << first.error().message;
    ASSERT_TRUE((*first)->started_server());
    const std::string ci = (*first)->connection_string();
    {
        // e.g. `switchboard ext add` while `switchboard run` holds the cluster
        auto second = EmbeddedPostgres::start(throwaway_options(dir.path()));
        ASSERT_TRUE(second) << second.error().message;
        EXPECT_FALSE((*second)->started_server());
        EXPECT_EQ((*second)->connection_string(), ci);
        EXPECT_EQ(query_one(ci, "select 1"), "1");
    }
    EXPECT_TRUE(server_answers(ci)) << "the reusing object must not stop the server";

    ASSERT_TRUE((*first)->stop());
    EXPECT_FALSE(server_answers(ci));
    EXPECT_TRUE((*first)->stop()) << "stop() is idempotent";

    // An existing, stopped cluster starts again without initdb.
    auto again = EmbeddedPostgres::start(throwaway_options(dir.path()));
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_TRUE((*again)->started_server());
    EXPECT_EQ(query_one(ci, "select 1"), "1");
    again->reset();
    EXPECT_FALSE(server_answers(ci)) << "the destructor stops a server it started";
}

TEST(EmbeddedPostgres, LastUserOutStopsTheServer) {
    TempDir dir;
    auto first = EmbeddedPostgres::start(throwaway_options(dir.path()));  // `switchboard ext add`
    ASSERT_TRUE(first) << first.error().message;
    const std::string ci = (*first)->connection_string();
    auto second = EmbeddedPostgres::start(throwaway_options(dir.path()));  // `switchboard run`
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_FALSE((*second)->started_server());
    first->reset();
    EXPECT_TRUE(server_answers(ci)) << "the starter must not stop a server another user still has";
    second->reset();
    EXPECT_FALSE(server_answers(ci)) << "the last user stops a server Switchboard started";
}

TEST(EmbeddedPostgres, ServerOfADeadProcessIsStoppedByItsNextUser) {
    TempDir dir;
    std::fflush(nullptr);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // A `switchboard run` that dies without cleaning up: no destructor runs.
        auto pg = EmbeddedPostgres::start(throwaway_options(dir.path()));
        ::_exit(pg ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    auto pg = EmbeddedPostgres::start(throwaway_options(dir.path()));
    ASSERT_TRUE(pg) << pg.error().message;
    EXPECT_FALSE((*pg)->started_server()) << "the orphaned server is reused";
    const std::string ci = (*pg)->connection_string();
    EXPECT_EQ(query_one(ci, "select 1"), "1");
    pg->reset();
    EXPECT_FALSE(server_answers(ci)) << "and stopped by its last user";
}

TEST(EmbeddedPostgres, ServerStartedByOthersIsNeverStopped) {
    TempDir dir;
    std::string ci;
    {
        auto pg = EmbeddedPostgres::start(throwaway_options(dir.path()));
        ASSERT_TRUE(pg) << pg.error().message;
        ci = (*pg)->connection_string();
        // As if an administrator had started it with pg_ctl: no Switchboard marker.
        std::filesystem::remove(dir.path() / "pg-started");
    }
    EXPECT_TRUE(server_answers(ci));
    // Clean up by hand, as its administrator would.
    auto again = EmbeddedPostgres::start(throwaway_options(dir.path()));
    ASSERT_TRUE(again);
    { std::ofstream(dir.path() / "pg-started") << "test"; }
    again->reset();
    EXPECT_FALSE(server_answers(ci));
}

TEST(EmbeddedPostgres, StalePidFileDoesNotBlockStart) {
    TempDir dir;
    const fs::path pidfile = dir.path() / "pg" / "postmaster.pid";
    std::string stale;
    {
        auto pg = EmbeddedPostgres::start(throwaway_options(dir.path()));
        ASSERT_TRUE(pg) << pg.error().message;
        stale = read_file(pidfile);
    }
    ASSERT_FALSE(stale.empty());
    ASSERT_FALSE(fs::exists(pidfile));
    // What a crash leaves behind: the lock file of a postmaster that is gone.
    { std::ofstream(pidfile) << stale; }
    auto pg = EmbeddedPostgres::start(throwaway_options(dir.path()));
    ASSERT_TRUE(pg) << pg.error().message;
    EXPECT_TRUE((*pg)->started_server());
    EXPECT_EQ(query_one((*pg)->connection_string(), "select 1"), "1");
}

TEST(EmbeddedPostgres, RecoversAfterPostmasterIsKilled) {
    TempDir dir;
    std::string ci;
    {
        auto pg = EmbeddedPostgres::start(throwaway_options(dir.path()));
        ASSERT_TRUE(pg) << pg.error().message;
        ci = (*pg)->connection_string();
        std::ifstream in(dir.path() / "pg" / "postmaster.pid");
        pid_t pid = 0;
        in >> pid;
        ASSERT_GT(pid, 0);
        ASSERT_EQ(::kill(pid, SIGKILL), 0);
        for (int i = 0; i < 200 && ::kill(pid, 0) == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        // The object still believes it owns the server; its stop() fails and is only logged.
    }
    auto pg = EmbeddedPostgres::start(throwaway_options(dir.path()));
    ASSERT_TRUE(pg) << pg.error().message;
    EXPECT_EQ(query_one((*pg)->connection_string(), "select 1"), "1");
}

TEST(EmbeddedPostgres, RejectsTooLongPathWithClearError) {
    auto pg = EmbeddedPostgres::start(throwaway_options("/tmp/" + std::string(100, 'a')));
    ASSERT_FALSE(pg);
    EXPECT_EQ(pg.error().code, code(Errc::invalid_argument));
    EXPECT_NE(pg.error().message.find("too long"), std::string::npos) << pg.error().message;
    EXPECT_FALSE(fs::exists("/tmp/" + std::string(100, 'a')));
}

TEST(EmbeddedPostgres, RejectsShellMetacharactersInPath) {
    auto pg = EmbeddedPostgres::start(throwaway_options("/tmp/sb$HOME"));
    ASSERT_FALSE(pg);
    EXPECT_EQ(pg.error().code, code(Errc::invalid_argument));
}

TEST(EmbeddedPostgres, MissingBinariesTellWhatToInstall) {
    TempDir dir;
    auto options = throwaway_options(dir.path());
    options.bin_dir = "/nonexistent/postgresql/bin";
    auto pg = EmbeddedPostgres::start(options);
    ASSERT_FALSE(pg);
    EXPECT_EQ(pg.error().code, code(Errc::setup_failed));
    EXPECT_NE(pg.error().message.find("install"), std::string::npos) << pg.error().message;
}

TEST(EmbeddedPostgres, InitdbFailureReportsProgramOutput) {
    TempDir dir;
    // A non-empty, non-cluster directory where the cluster should go makes initdb refuse.
    fs::create_directories(dir.path() / "pg");
    { std::ofstream(dir.path() / "pg" / "junk") << "x"; }
    if (::geteuid() ==
        0) {  // as root the cluster must belong to postgres, else another check fires
        passwd* pw = ::getpwnam("postgres");
        ASSERT_NE(pw, nullptr);
        ASSERT_EQ(::chown((dir.path() / "pg").c_str(), pw->pw_uid, pw->pw_gid), 0);
    }
    auto pg = EmbeddedPostgres::start(throwaway_options(dir.path()));
    ASSERT_FALSE(pg);
    EXPECT_EQ(pg.error().code, code(Errc::setup_failed));
    EXPECT_NE(pg.error().message.find("initdb"), std::string::npos) << pg.error().message;
    EXPECT_NE(pg.error().message.find("not empty"), std::string::npos) << pg.error().message;
}

TEST(EmbeddedPostgres, QuotesConnectionStringValues) {
    EXPECT_EQ(quote_conninfo_value("/srv/sb/pg-run"), "'/srv/sb/pg-run'");
    EXPECT_EQ(quote_conninfo_value("a b'c\\"), "'a b\\'c\\\\'");
}

}  // namespace
}  // namespace sb::db::test
