#pragma once
// The dialplan engine: compiles administrators' Lua scripts and runs one coroutine per call.
//
// A script defines `function route(call)`; the engine calls it once per new call with a `call`
// object (see dialplan/README.md). Each call gets its own lua_State: its memory is accounted by its
// own allocator (so the cap is exact per call), nothing a script stores can leak into another
// call, and dropping a call is one lua_close. Calls keep the Script they started with, so
// activating a new version never changes a call in progress.
//
// Threading: an Engine belongs to one shard and is not thread-safe; Scripts are immutable and may
// be shared between shards.
//
// Nothing a script does can crash or stall the PBX: instructions are budgeted per resume slice and
// per call, memory is capped per call, every Lua entry point is protected, and every failure comes
// back as a Step with state `failed` and a message carrying the script's line.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "sb/common/result.h"
#include "sb/dialplan/call_api.h"

namespace sb::dialplan {

struct Limits {
    std::uint64_t instructions_per_slice = 1'000'000;  // between two waits
    std::uint64_t instructions_per_call = 10'000'000;  // over the whole call
    std::size_t memory_bytes = 1024 * 1024;            // the call's whole lua_State
};

// A checked script: source text and the name used in messages ("default.lua:12: ...").
struct Script {
    std::string name;
    std::string source;
    std::int64_t version = 0;  // the stored version it came from (db dialplans); 0 for a file
};

// Where a call's script stands after start() or resume().
struct Step {
    enum class State {
        waiting,   // yielded on a wait (bridge): report its outcome with resume()
        finished,  // route() returned or called hangup(); the call is released from the engine
        failed,    // script error, budget or memory overrun: answer 500; released from the engine
    };
    State state = State::failed;
    std::string error;  // for failed: "name:LINE: what" (logged, and kept for the call record)
};

class Engine {
public:
    explicit Engine(Limits limits = {});
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Compiles `source` in a scratch sandbox, runs its top level (under the same limits) and checks
    // that it defines route(). Errors say "name:LINE: message". Unknown globals used at the top
    // level are errors here; inside functions they are errors when the line runs.
    Result<std::shared_ptr<const Script>> check(std::string_view source, std::string_view name) const;

    // Starts the script for a new call and runs it until it waits or ends. `api` must outlive the
    // call's time in the engine (until a Step other than waiting, or cancel()).
    Step start(std::uint64_t call_id, std::shared_ptr<const Script> script, CallApi& api);
    // Continues a waiting call with the outcome of its wait.
    Step resume(std::uint64_t call_id, Outcome outcome);
    // Drops a call whatever its state (the caller hung up while it waited). No-op if unknown.
    void cancel(std::uint64_t call_id);

    std::size_t active_calls() const { return runs_.size(); }
    // Bytes held by a call's lua_State, 0 if unknown (for tests and the call trace).
    std::size_t memory_used(std::uint64_t call_id) const;

    struct Run;  // one call's state and coroutine (engine.cpp)

private:
    Step resume_slice(Run& run, int nargs);
    Step finish(std::uint64_t call_id, Step step);

    Limits limits_;
    std::map<std::uint64_t, std::unique_ptr<Run>> runs_;
};

}  // namespace sb::dialplan
