#include "sb/db/embedded_postgres.h"

#include "db_error.h"
#include "process.h"
#include "sb/common/log.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/result>

#include <locale.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <clocale>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace sb::db {
namespace {

using detail::fail;

constexpr int kPort = 5432;  // only names the socket file; there is no TCP listener
// sizeof(sockaddr_un::sun_path) is 108 on Linux, one byte of it for the terminating NUL.
constexpr std::size_t kMaxSocketPath = 107;
constexpr const char* kSocketFile = ".s.PGSQL.5432";
constexpr const char* kRunuser[] = {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"};

struct SystemUser {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

std::optional<SystemUser> lookup_user(const char* name, uid_t uid, bool by_name) {
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    int rc = by_name ? ::getpwnam_r(name, &pw, buf.data(), buf.size(), &found)
                     : ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found);
    if (rc != 0 || found == nullptr) return std::nullopt;
    return SystemUser{pw.pw_name, pw.pw_uid, pw.pw_gid};
}

std::string errno_text(int e = errno) {
    return std::strerror(e);
}

// Paths reach pg_ctl, which starts the postmaster through `/bin/sh -c` with each path inside
// double quotes; these characters would be interpreted there, so refuse them outright.
Status check_path_characters(const std::string& path) {
    for (unsigned char c : path) {
        if (c < 0x20 || c == 0x7f || c == '"' || c == '$' || c == '`' || c == '\\') {
            return fail(Errc::invalid_argument,
                        "data directory \"" + path +
                            "\" contains a character PostgreSQL's pg_ctl cannot handle safely "
                            "(control character, '\"', '$', '`' or '\\'); choose another path");
        }
    }
    return {};
}

// Value quoting for postgresql.conf: single quotes, ' doubled and \ escaped.
std::string quote_conf_value(const std::string& v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\'')
            out += "''";
        else if (c == '\\')
            out += "\\\\";
        else
            out += c;
    }
    return out + "'";
}

bool locale_available(const char* name) {
    locale_t l = ::newlocale(LC_ALL_MASK, name, static_cast<locale_t>(nullptr));
    if (l == static_cast<locale_t>(nullptr)) return false;
    ::freelocale(l);
    return true;
}

std::string read_first_line(const fs::path& p) {
    std::ifstream in(p);
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    return line;
}

std::string file_tail(const fs::path& p, std::size_t lines) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return {};
    in.seekg(0, std::ios::end);
    auto size = static_cast<std::streamoff>(in.tellg());
    std::streamoff start = std::max<std::streamoff>(0, size - 16384);
    in.seekg(start);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return detail::tail_lines(text, lines);
}

// Picks the bin directory: the override, else the version an existing cluster was made with
// (a newer major cannot open it), else the newest installed.
Result<fs::path> find_bin_dir(const fs::path& override_dir, const fs::path& pgdata) {
    auto usable = [](const fs::path& dir) {
        return ::access((dir / "initdb").c_str(), X_OK) == 0 &&
               ::access((dir / "pg_ctl").c_str(), X_OK) == 0;
    };
    if (!override_dir.empty()) {
        if (usable(override_dir)) return override_dir;
        return fail(Errc::setup_failed, "no initdb/pg_ctl in " + override_dir.string() +
                                            "; install Debian's postgresql package or fix the "
                                            "configured PostgreSQL bin directory");
    }
    const fs::path root = "/usr/lib/postgresql";
    std::error_code ec;
    if (fs::exists(pgdata / "PG_VERSION", ec)) {
        std::string major = read_first_line(pgdata / "PG_VERSION");
        fs::path dir = root / major / "bin";
        if (usable(dir)) return dir;
        return fail(Errc::setup_failed,
                    "the database in " + pgdata.string() + " was created by PostgreSQL " + major +
                        ", whose programs are not installed (" + dir.string() +
                        "); install postgresql-" + major +
                        ", or upgrade the cluster with pg_upgradecluster/pg_upgrade");
    }
    int best = -1;
    fs::path best_dir;
    for (const auto& entry : fs::directory_iterator(root, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        int v = std::stoi(name);
        if (v > best && usable(entry.path() / "bin")) {
            best = v;
            best_dir = entry.path() / "bin";
        }
    }
    if (best < 0) {
        return fail(Errc::setup_failed,
                    "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): install "
                    "Debian's postgresql package (apt-get install postgresql), or give Switchboard "
                    "a connection string to an existing server");
    }
    return best_dir;
}

// Is every directory from / down to `dir` searchable by `user`? (Owner, group and other bits;
// enough to explain the usual mistake, a 0700 parent owned by root.)
Status check_searchable(const fs::path& dir, const SystemUser& user) {
    std::vector<gid_t> groups(64);
    int ngroups = static_cast<int>(groups.size());
    if (::getgrouplist(user.name.c_str(), user.gid, groups.data(), &ngroups) < 0) {
        groups.resize(static_cast<std::size_t>(ngroups));
        ::getgrouplist(user.name.c_str(), user.gid, groups.data(), &ngroups);
    }
    groups.resize(static_cast<std::size_t>(std::max(ngroups, 0)));
    fs::path p;
    for (const auto& part : dir) {
        p /= part;
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) continue;
        bool ok = false;
        if (st.st_uid == user.uid)
            ok = st.st_mode & S_IXUSR;
        else if (std::find(groups.begin(), groups.end(), st.st_gid) != groups.end())
            ok = st.st_mode & S_IXGRP;
        else
            ok = st.st_mode & S_IXOTH;
        if (!ok) {
            return fail(Errc::setup_failed, "PostgreSQL runs as the '" + user.name +
                                                "' user (it refuses to run as "
                                                "root), which cannot enter " +
                                                p.string() + "; allow it with `chmod o+x " +
                                                p.string() +
                                                "` or choose a data directory it can reach");
        }
    }
    return {};
}

// An flock held for the lifetime of the object (or until its descriptor is released).
class FileLock {
  public:
    // op: LOCK_EX or LOCK_SH, optionally | LOCK_NB (then a held lock fails with Errc::busy).
    static Result<FileLock> acquire(const fs::path& path, int op = LOCK_EX) {
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            return fail(Errc::setup_failed,
                        "cannot create " + path.string() + ": " + errno_text() +
                            "; check that the data directory is writable by this user");
        }
        while (::flock(fd, op) != 0) {
            if (errno != EINTR) {
                int e = errno;
                ::close(fd);
                return fail(e == EWOULDBLOCK ? Errc::busy : Errc::setup_failed,
                            "cannot lock " + path.string() + ": " + errno_text(e));
            }
        }
        return FileLock(fd);
    }
    FileLock(FileLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    FileLock& operator=(FileLock&&) = delete;
    ~FileLock() {
        if (fd_ >= 0) ::close(fd_);  // closing releases the lock
    }
    int release() { return std::exchange(fd_, -1); }

  private:
    explicit FileLock(int fd) : fd_(fd) {}
    int fd_;
};

// Everything start() needs while it works; becomes the EmbeddedPostgres on success.
struct Setup {
    fs::path data_dir, pgdata, socket_dir, log_file, bin_dir;
    std::optional<SystemUser> run_as;  // set when root: PostgreSQL runs as this user
    std::string user;                  // the database role we connect as

    std::string conninfo(const std::string& db) const {
        return "host=" + quote_conninfo_value(socket_dir.string()) +
               " port=" + std::to_string(kPort) + " dbname=" + quote_conninfo_value(db) +
               " user=" + quote_conninfo_value(user);
    }

    // argv for a PostgreSQL program, through runuser when we are root.
    std::vector<std::string> argv(const std::string& program, std::vector<std::string> args) const {
        std::vector<std::string> v;
        if (run_as) {
            std::string runuser = kRunuser[0];
            for (const char* candidate : kRunuser) {
                if (::access(candidate, X_OK) == 0) {
                    runuser = candidate;
                    break;
                }
            }
            v = {runuser, "-u", run_as->name, "--"};
        }
        v.push_back((bin_dir / program).string());
        for (auto& a : args) v.push_back(std::move(a));
        return v;
    }

    std::string log_excerpt() const {
        std::string t = file_tail(log_file, 15);
        if (t.empty()) return {};
        return "\n--- last lines of " + log_file.string() + " ---\n" + t;
    }

    Status run(const std::string& program, std::vector<std::string> args, const std::string& doing,
               const std::string& advice) const {
        auto r = detail::run_process(argv(program, std::move(args)));
        if (!r) {
            return fail(Errc::setup_failed,
                        doing + " failed: " + r.error().message +
                            (run_as ? " (is util-linux's runuser installed?)" : ""));
        }
        if (r->exit_code != 0) {
            std::string out = detail::tail_lines(r->output, 15);
            return fail(Errc::setup_failed,
                        doing + " failed (" + program + " exit status " +
                            std::to_string(r->exit_code) + "); " + advice +
                            (out.empty() ? "" : "\n--- " + program + " said ---\n" + out) +
                            log_excerpt());
        }
        return {};
    }

    // Creates a directory (if missing) with `mode`, owned by the PostgreSQL user.
    Status make_dir(const fs::path& dir, mode_t mode) const {
        if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
            return fail(Errc::setup_failed, "cannot create " + dir.string() + ": " + errno_text() +
                                                "; check the permissions of the data directory");
        }
        return own(dir, mode);
    }

    Status own(const fs::path& p, mode_t mode) const {
        if (run_as && ::chown(p.c_str(), run_as->uid, run_as->gid) != 0) {
            return fail(Errc::setup_failed,
                        "cannot chown " + p.string() + " to " + run_as->name + ": " + errno_text());
        }
        if (::chmod(p.c_str(), mode) != 0) {
            return fail(Errc::setup_failed, "cannot chmod " + p.string() + ": " + errno_text());
        }
        return {};
    }

    Status write_file(const fs::path& p, const std::string& content) const {
        {
            std::ofstream out(p, std::ios::trunc);
            out << content;
            out.close();
            if (!out) return fail(Errc::setup_failed, "cannot write " + p.string());
        }
        return own(p, 0600);
    }
};

std::optional<pid_t> read_postmaster_pid(const fs::path& pgdata) {
    std::string line = read_first_line(pgdata / "postmaster.pid");
    if (line.empty()) return std::nullopt;
    try {
        long v = std::stol(line);
        if (v > 0) return static_cast<pid_t>(v);
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

bool process_alive(pid_t pid) {
    return ::kill(pid, 0) == 0 || errno == EPERM;
}

// After a crash the recorded PID may belong to an unrelated process by now (containers reuse
// PIDs quickly). Unreadable /proc counts as "postgres", the careful answer.
bool process_is_postgres(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    if (!in) return true;
    std::string comm;
    std::getline(in, comm);
    return comm == "postgres" || comm == "postmaster";
}

PGPing ping(const std::string& conninfo) {
    return ::PQping(conninfo.c_str());
}

// Is a server for this cluster up (or coming up) on our socket? Waits while it starts.
Result<bool> detect_running(const Setup& s) {
    auto pid = read_postmaster_pid(s.pgdata);
    if (!pid) return false;
    if (!process_alive(*pid)) return false;  // stale pid file: the postmaster handles it at start
    if (!process_is_postgres(*pid)) {
        // Safe to remove: the lock file names a process that is not PostgreSQL at all, and the
        // postmaster would refuse to start while it exists.
        SB_WARN("db", "removing stale {} (pid {} is not PostgreSQL)",
                (s.pgdata / "postmaster.pid").string(), *pid);
        std::error_code ec;
        fs::remove(s.pgdata / "postmaster.pid", ec);
        return false;
    }
    const std::string probe = s.conninfo("postgres");
    for (int i = 0; i < 300; ++i) {  // up to 30 s for a server that is starting or recovering
        switch (ping(probe)) {
            case PQPING_OK:
                return true;
            case PQPING_REJECT:
                break;  // starting up or shutting down: look again
            case PQPING_NO_RESPONSE:
            case PQPING_NO_ATTEMPT:
                if (!process_alive(*pid)) return false;  // it was shutting down and is gone
                break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return fail(Errc::setup_failed, "a PostgreSQL server (pid " + std::to_string(*pid) +
                                        ") holds " + s.pgdata.string() +
                                        " but does not answer on " + s.socket_dir.string() +
                                        "; stop it (pg_ctl stop -D " + s.pgdata.string() +
                                        ") and try again" + s.log_excerpt());
}

Status ensure_database(const Setup& s, const std::string& database) {
    return detail::guarded("create database " + database, [&]() -> Status {
        pqxx::connection c(s.conninfo("postgres"));
        pqxx::nontransaction tx(c);
        auto r = tx.exec_params("select 1 from pg_database where datname = $1", database);
        if (r.empty()) {
            // CREATE DATABASE takes no parameters; quote_name makes the identifier safe.
            tx.exec("create database " + c.quote_name(database));
            SB_INFO("db", "created database {}", database);
        }
        return {};
    });
}

}  // namespace

std::string quote_conninfo_value(const std::string& value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

Result<std::unique_ptr<EmbeddedPostgres>> EmbeddedPostgres::start(EmbeddedPostgresOptions options) {
    if (options.data_dir.empty()) return fail(Errc::invalid_argument, "no data directory given");
    if (options.database.empty()) return fail(Errc::invalid_argument, "no database name given");

    Setup s;
    std::error_code ec;
    // Absolute but not canonical: a short symlink to a long path keeps the socket path short.
    s.data_dir = fs::absolute(options.data_dir, ec).lexically_normal();
    if (ec) return fail(Errc::invalid_argument, "bad data directory: " + ec.message());
    if (s.data_dir.has_filename() == false && s.data_dir.has_parent_path())
        s.data_dir = s.data_dir.parent_path();  // drop a trailing slash
    if (auto st = check_path_characters(s.data_dir.string()); !st)
        return Unexpected<Error>{st.error()};
    s.pgdata = s.data_dir / "pg";
    s.socket_dir = s.data_dir / "pg-run";
    s.log_file = s.pgdata / "log" / "postgresql.log";

    const std::string socket_path = (s.socket_dir / kSocketFile).string();
    if (socket_path.size() > kMaxSocketPath) {
        return fail(
            Errc::invalid_argument,
            "data directory path is too long: PostgreSQL's socket " + socket_path + " would be " +
                std::to_string(socket_path.size()) +
                " bytes, and Unix socket paths are limited to " + std::to_string(kMaxSocketPath) +
                "; use a data directory path of at most " +
                std::to_string(kMaxSocketPath - (socket_path.size() - s.data_dir.string().size())) +
                " bytes (a short symbolic link to it works)");
    }

    if (::geteuid() == 0) {
        s.run_as = lookup_user("postgres", 0, true);
        if (!s.run_as) {
            return fail(Errc::setup_failed,
                        "running as root, but PostgreSQL refuses to run as root and there is no "
                        "'postgres' system user; install Debian's postgresql package (it creates "
                        "the user) or run Switchboard as an unprivileged user");
        }
        s.user = s.run_as->name;
    } else {
        auto me = lookup_user(nullptr, ::geteuid(), false);
        if (!me)
            return fail(Errc::setup_failed,
                        "cannot find the name of uid " + std::to_string(::geteuid()));
        s.user = me->name;
    }

    fs::create_directories(s.data_dir, ec);
    if (ec) {
        return fail(Errc::setup_failed,
                    "cannot create data directory " + s.data_dir.string() + ": " + ec.message());
    }
    auto setup_lock = FileLock::acquire(s.data_dir / "pg-setup.lock");
    if (!setup_lock) return Unexpected<Error>{setup_lock.error()};
    std::optional<FileLock> lock(std::move(*setup_lock));

    if (s.run_as) {
        if (auto st = check_searchable(s.data_dir, *s.run_as); !st)
            return Unexpected<Error>{st.error()};
        struct stat st {};
        if (::stat(s.pgdata.c_str(), &st) == 0 && st.st_uid != s.run_as->uid) {
            return fail(Errc::setup_failed, s.pgdata.string() + " belongs to uid " +
                                                std::to_string(st.st_uid) +
                                                ", but as root Switchboard runs PostgreSQL as '" +
                                                s.run_as->name + "'; fix it with `chown -R " +
                                                s.run_as->name + ": " + s.pgdata.string() + "`");
        }
    }

    auto bin = find_bin_dir(options.bin_dir, s.pgdata);
    if (!bin) return Unexpected<Error>{bin.error()};
    s.bin_dir = *bin;

    std::unique_ptr<EmbeddedPostgres> pg(new EmbeddedPostgres());  // private constructor
    pg->data_dir_ = s.data_dir;
    auto running = detect_running(s);
    if (!running) return Unexpected<Error>{running.error()};

    if (*running) {
        SB_INFO("db", "using the PostgreSQL server already running in {}", s.pgdata.string());
    } else {
        if (!fs::exists(s.pgdata / "PG_VERSION", ec)) {
            if (auto st = s.make_dir(s.pgdata, 0700); !st) return Unexpected<Error>{st.error()};
            const char* locale = locale_available("C.UTF-8") ? "C.UTF-8" : "C";
            SB_INFO("db", "creating PostgreSQL cluster in {} (initdb from {})", s.pgdata.string(),
                    s.bin_dir.string());
            std::vector<std::string> args{"-D",
                                          s.pgdata.string(),
                                          "--auth=trust",
                                          "--encoding=UTF8",
                                          std::string("--locale=") + locale,
                                          "--no-instructions"};
            if (options.initdb_no_sync) args.push_back("--no-sync");
            if (auto st =
                    s.run("initdb", std::move(args), "creating the database cluster (initdb)",
                          "check free disk space and the permissions of " + s.data_dir.string());
                !st) {
                return Unexpected<Error>{st.error()};
            }
            // Our settings live in their own file, rewritten at each start; the administrator's
            // postgresql.conf stays theirs. `include` (not include_if_exists): without our file
            // the server would listen on TCP, so a missing file must stop it.
            std::ofstream conf(s.pgdata / "postgresql.conf", std::ios::app);
            conf << "\n# Added by Switchboard: socket-only settings, rewritten at every start.\n"
                    "include = 'switchboard.conf'\n";
            if (!conf)
                return fail(Errc::setup_failed,
                            "cannot append to " + (s.pgdata / "postgresql.conf").string());
        }
        // The socket directory is private: authentication is `trust`, so reaching the socket
        // must already mean being the cluster's owner (or root).
        if (auto st = s.make_dir(s.socket_dir, 0700); !st) return Unexpected<Error>{st.error()};
        if (auto st = s.make_dir(s.pgdata / "log", 0700); !st) return Unexpected<Error>{st.error()};
        std::string conf =
            "# Written by Switchboard at every start; put your own settings in postgresql.conf.\n"
            "listen_addresses = ''\n"
            "port = " +
            std::to_string(kPort) +
            "\n"
            "unix_socket_directories = " +
            quote_conf_value(s.socket_dir.string()) +
            "\n"
            "unix_socket_permissions = 0700\n";
        for (const auto& [name, value] : options.settings) {
            if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
                })) {
                return fail(Errc::invalid_argument, "bad PostgreSQL setting name '" + name + "'");
            }
            conf += name + " = " + quote_conf_value(value) + "\n";
        }
        if (auto st = s.write_file(s.pgdata / "switchboard.conf", conf); !st)
            return Unexpected<Error>{st.error()};

        SB_INFO("db", "starting PostgreSQL in {}", s.pgdata.string());
        auto started = s.run(
            "pg_ctl",
            {"start", "-D", s.pgdata.string(), "-w", "-t", "120", "-l", s.log_file.string()},
            "starting PostgreSQL (pg_ctl start)", "see the PostgreSQL log " + s.log_file.string());
        if (!started) {
            // Someone outside our lock (an administrator's pg_ctl) may have won the race.
            auto again = detect_running(s);
            if (!again || !*again) return Unexpected<Error>{started.error()};
        } else {
            pg->started_ = true;
            std::ofstream(s.data_dir / "pg-started") << "started by pid " << ::getpid() << "\n";
        }
    }

    // Counted as a user from here on (still under the setup lock, so no stop() runs meanwhile).
    auto users = FileLock::acquire(s.data_dir / "pg-users.lock", LOCK_SH);
    if (!users) return Unexpected<Error>{users.error()};
    pg->users_fd_ = users->release();

    // From here on an error below ends in stop(), which stops a server nobody else uses.
    pg->data_dir_ = s.data_dir;
    pg->pgdata_ = s.pgdata;
    pg->socket_dir_ = s.socket_dir;
    pg->log_file_ = s.log_file;
    pg->bin_dir_ = s.bin_dir;
    pg->user_ = s.user;
    pg->as_postgres_user_ = s.run_as.has_value();
    pg->conninfo_ = s.conninfo(options.database);

    if (auto st = ensure_database(s, options.database); !st) {
        lock.reset();  // `pg` goes next, and its stop() takes the setup lock
        Error e = st.error();
        e.code = code(Errc::setup_failed);
        e.message += s.log_excerpt();
        return Unexpected<Error>{std::move(e)};
    }
    return pg;
}

std::string EmbeddedPostgres::connection_string_for(const std::string& database) const {
    return "host=" + quote_conninfo_value(socket_dir_.string()) + " port=" + std::to_string(kPort) +
           " dbname=" + quote_conninfo_value(database) + " user=" + quote_conninfo_value(user_);
}

Status EmbeddedPostgres::stop() {
    if (users_fd_ < 0) return {};
    struct CloseUsers {  // our shared lock goes last, whatever happens below
        int& fd;
        ~CloseUsers() {
            ::close(fd);
            fd = -1;
        }
    } close_users{users_fd_};

    auto setup_lock = FileLock::acquire(data_dir_ / "pg-setup.lock");
    if (!setup_lock) return Unexpected<Error>{setup_lock.error()};
    // Converting our shared lock to an exclusive one succeeds only if no one else holds theirs.
    if (::flock(users_fd_, LOCK_EX | LOCK_NB) != 0) {
        SB_INFO("db", "leaving PostgreSQL in {} running: another Switchboard process uses it",
                pgdata_.string());
        return {};
    }
    std::error_code ec;
    if (!fs::exists(data_dir_ / "pg-started", ec)) {
        SB_INFO("db", "leaving PostgreSQL in {} running: it was not started by Switchboard",
                pgdata_.string());
        return {};
    }
    Setup s;
    s.data_dir = data_dir_;
    s.pgdata = pgdata_;
    s.socket_dir = socket_dir_;
    s.log_file = log_file_;
    s.bin_dir = bin_dir_;
    s.user = user_;
    if (as_postgres_user_) s.run_as = lookup_user("postgres", 0, true);
    SB_INFO("db", "stopping PostgreSQL in {}", pgdata_.string());
    auto st =
        s.run("pg_ctl", {"stop", "-D", pgdata_.string(), "-m", "fast", "-w", "-t", "60"},
              "stopping PostgreSQL (pg_ctl stop)", "see the PostgreSQL log " + log_file_.string());
    if (st) fs::remove(data_dir_ / "pg-started", ec);
    return st;
}

EmbeddedPostgres::~EmbeddedPostgres() {
    if (auto st = stop(); !st) SB_ERROR("db", "{}", st.error().message);
}

}  // namespace sb::db
