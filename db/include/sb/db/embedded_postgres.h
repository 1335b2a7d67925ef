#pragma once
// The embedded default database: a private PostgreSQL cluster in the PBX's data directory,
// reached over a Unix socket only (no TCP port), using Debian's initdb and pg_ctl.
//
// Layout under the data directory D:
//   D/pg/                  the cluster (PGDATA), created by initdb on first start
//   D/pg/log/postgresql.log the server log (pg_ctl -l)
//   D/pg/switchboard.conf  settings we own, rewritten at every start (included by postgresql.conf)
//   D/pg-run/              the socket directory
//   D/pg-setup.lock        serializes start and stop between processes (e.g. `run` and `ext add`)
//   D/pg-users.lock        one shared flock per process using the server (see stop())
//   D/pg-started           marker: Switchboard started the running server
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
    // Extra postgresql.conf settings (name, value), e.g. {"fsync", "off"} for throwaway test
    // clusters.
    std::vector<std::pair<std::string, std::string>> settings;
    // initdb --no-sync: seconds faster, but a crash right after may corrupt the new cluster.
    // Only for throwaway clusters (tests).
    bool initdb_no_sync = false;
};

class EmbeddedPostgres {
  public:
    // Ensures the cluster exists, is running and has the database. A server already running in
    // the same directory (e.g. `switchboard run` while `switchboard ext add` is invoked) is reused.
    static Result<std::unique_ptr<EmbeddedPostgres>> start(EmbeddedPostgresOptions options);

    EmbeddedPostgres(const EmbeddedPostgres&) = delete;
    EmbeddedPostgres& operator=(const EmbeddedPostgres&) = delete;
    // stop(); errors are logged.
    ~EmbeddedPostgres();

    // libpq keyword/value connection string, e.g. "host='/srv/sb/pg-run' port='5432'
    // dbname='switchboard' user='postgres'".
    const std::string& connection_string() const { return conninfo_; }
    // Same server, another database (e.g. "postgres" for creating or dropping databases).
    std::string connection_string_for(const std::string& database) const;
    // True when this object ran `pg_ctl start` (false when it reused a running server).
    bool started_server() const { return started_; }
    const std::filesystem::path& data_dir() const { return data_dir_; }
    const std::filesystem::path& cluster_dir() const { return pgdata_; }
    const std::filesystem::path& log_file() const { return log_file_; }

    // Ends this object's use of the server, and stops the server (pg_ctl stop -m fast) when
    // Switchboard started it and no other Switchboard process still uses it:
    //  - a server reused from another running process is left alone (that process stops it);
    //  - the starter leaves it running while others use it (the last one out stops it);
    //  - a server left behind by a Switchboard process that died is stopped by its next user;
    //  - a server started by someone else (no D/pg-started marker) is never stopped.
    // Users are counted with shared flocks on D/pg-users.lock, which the kernel drops when a
    // process dies, so a crash never leaves a phantom user. Idempotent.
    Status stop();

  private:
    EmbeddedPostgres() = default;

    std::filesystem::path data_dir_, pgdata_, socket_dir_, log_file_, bin_dir_;
    std::string user_, conninfo_;
    bool as_postgres_user_ = false;
    bool started_ = false;
    int users_fd_ = -1;  // holds flock(LOCK_SH) on D/pg-users.lock while in use
};

// Quotes a value for a libpq keyword/value connection string ('...' with \ and ' escaped).
std::string quote_conninfo_value(const std::string& value);

}  // namespace sb::db
