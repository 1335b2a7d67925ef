#include "process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

extern char** environ;

namespace sb::db::detail {
namespace {

constexpr std::size_t kMaxOutput = 64 * 1024;

// Closes a file descriptor on scope exit.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

// posix_spawn_file_actions_t with its destroy call tied to scope.
struct FileActions {
    posix_spawn_file_actions_t a;
    FileActions() { posix_spawn_file_actions_init(&a); }
    ~FileActions() { posix_spawn_file_actions_destroy(&a); }
};

std::string read_all(int fd) {
    std::string out;
    if (::lseek(fd, 0, SEEK_SET) < 0) return out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > 2 * kMaxOutput) out.erase(0, out.size() - kMaxOutput);
    }
    if (out.size() > kMaxOutput) out.erase(0, out.size() - kMaxOutput);
    return out;
}

}  // namespace

Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const std::filesystem::path& cwd) {
    if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
        return fail("run_process: argv[0] must be an absolute path");
    }
    // A memfd rather than a pipe: pg_ctl leaves a daemon behind, and nothing here waits for EOF.
    Fd out{::memfd_create("sb-db-child-output", MFD_CLOEXEC)};
    if (out.fd < 0) return fail(std::string("memfd_create: ") + std::strerror(errno));

    FileActions fa;
    posix_spawn_file_actions_addopen(&fa.a, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa.a, out.fd, 1);
    posix_spawn_file_actions_adddup2(&fa.a, out.fd, 2);
    posix_spawn_file_actions_addchdir_np(&fa.a, cwd.c_str());
    // The PBX holds sockets and files that a long-lived postmaster must not inherit.
    posix_spawn_file_actions_addclosefrom_np(&fa.a, 3);

    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    std::vector<char*> env;
    for (char** e = environ; e && *e; ++e) {
        if (std::string_view(*e).starts_with("PG")) continue;
        env.push_back(*e);
    }
    env.push_back(nullptr);

    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, args[0], &fa.a, nullptr, args.data(), env.data());
    if (rc != 0) return fail("cannot run " + argv[0] + ": " + std::strerror(rc));

    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return fail("waitpid for " + argv[0] + ": " + std::strerror(errno));
    }
    ProcessResult result;
    result.output = read_all(out.fd);
    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.exit_code = 128 + WTERMSIG(status);
    }
    return result;
}

std::string tail_lines(const std::string& text, std::size_t lines) {
    std::size_t end = text.size();
    while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) --end;
    std::size_t pos = end;
    std::size_t count = 0;
    while (pos > 0) {
        if (text[pos - 1] == '\n' && ++count == lines) break;
        --pos;
    }
    return text.substr(pos, end - pos);
}

}  // namespace sb::db::detail
