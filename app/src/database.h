#pragma once
// Opens the database a command works on: the server named by --db, or the embedded cluster in
// the data directory (started for the duration of the command, or reused if `switchboard run`
// already has it up). Migrations are applied on open.
#include <memory>
#include <string>

#include "config.h"
#include "sb/db/embedded_postgres.h"

namespace sb::app {

struct Database {
    std::unique_ptr<db::EmbeddedPostgres> embedded;  // null with --db
    std::string conninfo;
};

Result<Database> open_database(const Config& config);

}  // namespace sb::app
