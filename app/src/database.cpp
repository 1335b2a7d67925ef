#include "database.h"

#include <pqxx/pqxx>

#include "sb/common/log.h"
#include "sb/db/migrations.h"

namespace sb::app {

Result<Database> open_database(const Config& config) {
    Database d;
    if (config.db_dsn.empty()) {
        db::EmbeddedPostgresOptions opts;
        opts.data_dir = std::filesystem::absolute(config.data_dir);
        auto pg = db::EmbeddedPostgres::start(opts);
        if (!pg) return unexpected(pg.error());
        d.conninfo = (*pg)->connection_string();
        d.embedded = std::move(*pg);
    } else {
        d.conninfo = config.db_dsn;
    }
    try {
        pqxx::connection conn(d.conninfo);
        auto applied = db::migrate(conn);
        if (!applied) return unexpected(applied.error());
    } catch (const std::exception& e) {
        return fail(std::string("cannot connect to the database: ") + e.what());
    }
    return d;
}

}  // namespace sb::app
