#include "sb/db/migrations.h"

#include "db_error.h"
#include "sb/common/log.h"

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include <algorithm>
#include <set>

namespace sb::db {
namespace {

using detail::fail;

// pg_advisory_xact_lock key: "sbmigr" in ASCII, so it will not collide with anyone's small ints.
constexpr long long kLockKey = 0x7362'6d69'6772LL;

constexpr const char* kCreateTable =
    "create table if not exists schema_migrations ("
    " version int primary key,"
    " name text not null,"
    " applied_at timestamptz not null default now())";

Status check_list(const std::vector<Migration>& migrations) {
    for (std::size_t i = 0; i < migrations.size(); ++i) {
        if (migrations[i].version <= 0) {
            return fail(Errc::invalid_argument,
                        "migration '" + migrations[i].name + "' has version " +
                            std::to_string(migrations[i].version) + "; versions start at 1");
        }
        if (i > 0 && migrations[i].version <= migrations[i - 1].version) {
            return fail(Errc::invalid_argument,
                        "migrations are not in strictly increasing order at version " +
                            std::to_string(migrations[i].version));
        }
    }
    return {};
}

std::string label(const Migration& m) {
    char num[16];
    std::snprintf(num, sizeof num, "%03d", m.version);
    return std::string(num) + "_" + m.name;
}

std::set<int> read_applied(pqxx::transaction_base& tx) {
    std::set<int> applied;
    for (const auto& row : tx.exec("select version from schema_migrations"))
        applied.insert(row[0].as<int>());
    return applied;
}

}  // namespace

Result<std::vector<int>> migrate(pqxx::connection& conn) {
    return migrate(conn, builtin_migrations());
}

Result<std::vector<int>> migrate(pqxx::connection& conn, const std::vector<Migration>& migrations) {
    if (auto st = check_list(migrations); !st) return Unexpected<Error>{st.error()};

    std::set<int> applied;
    auto prepared = detail::guarded("preparing schema_migrations", [&]() -> Status {
        pqxx::work tx(conn);
        // Serializes concurrent migrators; released at commit.
        tx.exec_params("select pg_advisory_xact_lock($1)", kLockKey);
        tx.exec(kCreateTable);
        applied = read_applied(tx);
        tx.commit();
        return {};
    });
    if (!prepared) return Unexpected<Error>{prepared.error()};

    if (!applied.empty() && !migrations.empty() && *applied.rbegin() > migrations.back().version) {
        SB_WARN("db",
                "the database schema is at version {}, newer than this build knows ({}); "
                "continuing, but an older Switchboard may misread it",
                *applied.rbegin(), migrations.back().version);
    }

    std::vector<int> done;
    for (const auto& m : migrations) {
        if (applied.count(m.version)) continue;
        bool ran = false;
        // One transaction per migration: its DDL and its schema_migrations row commit together
        // (PostgreSQL's DDL is transactional), so a failure leaves the schema as it was.
        auto st = detail::guarded("migration " + label(m), [&]() -> Status {
            pqxx::work tx(conn);
            tx.exec_params("select pg_advisory_xact_lock($1)", kLockKey);
            // Another process may have applied it while we waited for the lock.
            if (!tx.exec_params("select 1 from schema_migrations where version = $1", m.version)
                     .empty()) {
                return {};
            }
            tx.exec(m.sql);
            tx.exec_params("insert into schema_migrations (version, name) values ($1, $2)",
                           m.version, m.name);
            tx.commit();
            ran = true;
            return {};
        });
        if (!st) {
            Error e = st.error();
            e.message += " (not applied; the schema stays at the previous version)";
            return Unexpected<Error>{std::move(e)};
        }
        if (ran) {
            SB_INFO("db", "applied migration {}", label(m));
            done.push_back(m.version);
        }
    }
    return done;
}

Result<std::vector<int>> applied_migrations(pqxx::connection& conn) {
    return detail::guarded("reading schema_migrations", [&]() -> Result<std::vector<int>> {
        pqxx::read_transaction tx(conn);
        std::vector<int> versions;
        if (tx.exec("select to_regclass('schema_migrations') is not null")[0][0].as<bool>()) {
            for (const auto& row :
                 tx.exec("select version from schema_migrations order by version"))
                versions.push_back(row[0].as<int>());
        }
        return versions;
    });
}

}  // namespace sb::db
