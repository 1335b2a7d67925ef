#pragma once
// DialplanLoader: keeps the running PBX on the active dialplan version.
//
// At start it reads the active version from the database (on a fresh database it stores and
// activates the shipped default.lua first), compiles it with Engine::check and puts it in an
// ActiveScript, which worker shards read once per new call. It then LISTENs on `sb_dialplan`:
// each activation (`switchboard dialplan load/activate`, another node, the web admin) is
// reloaded, compiled and swapped in at once. A version that does not compile is logged as an
// error and the previous one stays active in this process. Calls in progress keep the Script
// they started with (they hold its shared_ptr).
//
// Threading: reloads run as jobs on the DB pool, serialized among themselves; active() may be
// read from any thread.
#include <cstdint>
#include <memory>
#include <string>

#include "sb/common/result.h"
#include "sb/db/listener.h"
#include "sb/db/pool.h"
#include "sb/dialplan/active_script.h"

namespace sb::app {

class DialplanLoader {
public:
    // Loads and compiles the active dialplan on the calling thread, then starts listening.
    // Fails only when the database cannot be read. If the active version does not compile (it
    // was stored by an older, more lenient release, or written by hand), the error is logged and
    // the shipped default runs in memory until a version that compiles is activated.
    // `pool` must outlive the loader's use of it (stop() or the destructor).
    static Result<std::unique_ptr<DialplanLoader>> start(const std::string& conninfo, db::Pool& pool);

    DialplanLoader(const DialplanLoader&) = delete;
    DialplanLoader& operator=(const DialplanLoader&) = delete;
    ~DialplanLoader();  // stop()

    // Stops listening; reloads already queued on the pool finish harmlessly. Idempotent.
    void stop();

    // The script new calls start with. Valid as long as the loader lives.
    dialplan::ActiveScript& active();
    // "version 3 (office.lua)", for the startup lines and logs.
    std::string describe() const;

    struct State;  // shared with queued pool jobs (dialplan_loader.cpp)

private:
    DialplanLoader(std::shared_ptr<State> state, const std::string& conninfo, db::Pool& pool);

    std::shared_ptr<State> state_;
    std::unique_ptr<db::Listener> listener_;
};

}  // namespace sb::app
