#pragma once
// Schema migrations: numbered SQL files db/migrations/NNN_name.sql, embedded at build time and
// applied in order, each in its own transaction together with its schema_migrations row.
#include "sb/common/result.h"

#include <pqxx/connection>

#include <string>
#include <vector>

namespace sb::db {

struct Migration {
    int version = 0;   // NNN
    std::string name;  // the file name's part after NNN_, without .sql
    std::string sql;   // may hold several statements
};

// The migrations compiled into this binary, sorted by version.
const std::vector<Migration>& builtin_migrations();

// Applies the built-in migrations not yet recorded in schema_migrations. Safe when several
// processes migrate at once (an advisory lock serializes them). Returns the versions applied by
// this call (empty when the schema was current), or an error naming the failing migration with
// PostgreSQL's message; a failing migration leaves no trace (its transaction is rolled back).
Result<std::vector<int>> migrate(pqxx::connection& conn);
// Same with an explicit list (sorted, unique versions > 0); for tests and tools.
Result<std::vector<int>> migrate(pqxx::connection& conn, const std::vector<Migration>& migrations);

// Versions recorded in schema_migrations, ascending (empty when the table does not exist yet).
Result<std::vector<int>> applied_migrations(pqxx::connection& conn);

}  // namespace sb::db
