#pragma once
// Runs a program with an argv vector (never a shell string) and collects its output.
#include "sb/common/result.h"

#include <filesystem>
#include <string>
#include <vector>

namespace sb::db::detail {

struct ProcessResult {
    int exit_code = -1;  // 128 + signal number when killed by a signal
    std::string output;  // stdout and stderr interleaved, at most the last 64 KiB
};

// argv[0] must be an absolute path. The child gets /dev/null as stdin, no other inherited file
// descriptors, `cwd` as its working directory, and the environment minus PG* variables (so a
// stray PGDATA or PGPORT cannot redirect initdb or pg_ctl). Fails only when it cannot spawn.
Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const std::filesystem::path& cwd = "/");

// The last `lines` lines of `text`.
std::string tail_lines(const std::string& text, std::size_t lines);

}  // namespace sb::db::detail
