#pragma once
// Router: what decides where a call goes. The B2BUA calls it for each new call and reports the
// outcome of every wait; the Lua dialplan implements it (dialplan::ScriptRouter), tests use fakes.
// One Router per shard, used only on that shard's thread.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sb/call/call_api.h"

namespace sb::call {

// Where the routing of a call stands after start() or resume().
struct RouteStep {
    enum class State {
        waiting,   // it started a wait (a bridge) through CallApi; resume() follows
        finished,  // it ended (returned, or hung up through CallApi)
        failed,    // it broke (script error, budget): the call answers 500
    };
    State state = State::failed;
    std::string error;  // for failed: "script.lua:LINE: what"
};

class Router {
  public:
    virtual ~Router() = default;
    // Starts routing call `call_id`; `api` stays valid until the routing is finished or cancelled.
    virtual RouteStep start(std::uint64_t call_id, CallApi& api) = 0;
    // The wait the routing started has ended with `outcome`.
    virtual RouteStep resume(std::uint64_t call_id, Outcome outcome) = 0;
    // The call went away (the caller hung up) while routing waited. No-op if unknown.
    virtual void cancel(std::uint64_t call_id) = 0;
};

// Makes one Router per shard (the composition root knows which kind).
using RouterFactory = std::function<std::unique_ptr<Router>()>;

}  // namespace sb::call
