#pragma once
// What the administration commands (`ext`, `dialplan`, `calls`) share: opening the database for
// one command and printing local times.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <pqxx/connection>
#include <string>

#include "config.h"
#include "database.h"

namespace sb::app {

// Opens the database (see open_database) and runs fn(conn), whose return value is the command's
// exit status; a database that cannot be opened or an exception prints "error: ..." and gives 1.
template <class Fn>
int with_connection(const Config& config, Fn&& fn) {
    auto d = open_database(config);
    if (!d) {
        std::fprintf(stderr, "error: %s\n", d.error().message.c_str());
        return 1;
    }
    try {
        pqxx::connection conn(d->conninfo);
        return fn(conn);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}

// "2026-11-24 20:31:05" in the machine's time zone.
std::string local_time(std::int64_t unix_seconds);

}  // namespace sb::app
