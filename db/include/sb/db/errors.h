#pragma once
// Error codes carried in sb::Error::code by everything in sb::db, so callers can map them
// (CLI exit status, HTTP status in the web admin, SIP 503 when the database is down).
namespace sb::db {

enum class Errc : int {
    unspecified = 0,
    invalid_argument = 1,  // bad input: malformed number, short password ...
    not_found = 2,         // the row asked for does not exist
    already_exists = 3,    // unique key taken
    unavailable = 4,       // cannot reach the database (connection refused or lost)
    query_failed = 5,      // PostgreSQL rejected a statement
    setup_failed = 6,      // embedded cluster: initdb/pg_ctl, permissions, missing binaries
    busy = 7,              // pool queue full
};

constexpr int code(Errc e) {
    return static_cast<int>(e);
}

}  // namespace sb::db
