#pragma once
// The embedded default database: a private PostgreSQL cluster in the PBX's data directory,
// reached over a Unix socket only (no TCP port), using Debian's initdb and pg_ctl.
//
// Layout under the data directory D:
//   D/pg/                  the cluster (PGDATA), created by initdb on first start
//   D/pg/log/postgresql.log the server log (pg_ctl -l)
//   D/pg/switchboard.conf  settings we own, rewritten at every start (included by postgresql.conf)
//   D/pg-run/              the socket directory
//   D/pg-setup.lock        serializes setup between processes (e.g. `run` and `ext add`)
//
// PostgreSQL refuses to run as root, so when the process is root the cluster belongs to the
// `postgres` system user and every PostgreSQL program is run through `runuser -u postgres --`.
#include "sb/common/result.h"

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sb::db {

struct EmbeddedPostgresOptions {
    std::filesystem::path data_dir;  // D
    std::string database = "switchboard";
    // Where initdb/pg_ctl live; empty picks the newest /usr/lib/postgresql/*/bin (or, for an
    // existing cluster, the version recorded in its PG_VERSION).
    std::filesystem::path bin_dir;
    // Extra postgresql.conf settings (name, value), e.g. {"fsync", "off"} for throwaway test clusters.
    std::vector<std::pair<std::string, std::string>> settings;
    // initdb --no-sync: seconds faster, but a crash right after may corrupt the new cluster.
    // Only for throwaway clusters (tests).
    bool initdb_no_sync = false;
};

class EmbeddedPostgres {
public:
    // Ensures the cluster exists, is running and has the database; reuses a cluster that another
    // process already runs in the same directory (and then never stops it).
    static Result<std::unique_ptr<EmbeddedPostgres>> start(EmbeddedPostgresOptions options);

    EmbeddedPostgres(const EmbeddedPostgres&) = delete;
    EmbeddedPostgres& operator=(const EmbeddedPostgres&) = delete;
    // Stops the cluster if this object started it (pg_ctl stop -m fast); errors are logged.
    ~EmbeddedPostgres();

    // libpq keyword/value connection string, e.g. "host=/srv/sb/pg-run port=5432
    // dbname=switchboard user=postgres".
    const std::string& connection_string() const { return conninfo_; }
    // Same server, maintenance database "postgres" (for creating or dropping databases).
    std::string connection_string_for(const std::string& database) const;
    // True when this object started the server and will stop it.
    bool owns_server() const { return owned_; }
    const std::filesystem::path& data_dir() const { return data_dir_; }
    const std::filesystem::path& cluster_dir() const { return pgdata_; }
    const std::filesystem::path& log_file() const { return log_file_; }

    // Stops the server now if this object owns it; idempotent.
    Status stop();

private:
    EmbeddedPostgres() = default;

    std::filesystem::path data_dir_, pgdata_, socket_dir_, log_file_, bin_dir_;
    std::string user_, conninfo_;
    bool as_postgres_user_ = false;
    bool owned_ = false;
};

// Quotes a value for a libpq keyword/value connection string ('...' with \ and ' escaped).
std::string quote_conninfo_value(const std::string& value);

}  // namespace sb::db
