#include "sb/dialplan/script_router.h"

namespace sb::dialplan {

namespace {

call::RouteStep to_route_step(Step s) {
    switch (s.state) {
        case Step::State::waiting:
            return {call::RouteStep::State::waiting, {}};
        case Step::State::finished:
            return {call::RouteStep::State::finished, {}};
        case Step::State::failed:
            break;
    }
    return {call::RouteStep::State::failed, std::move(s.error)};
}

}  // namespace

ScriptRouter::ScriptRouter(ScriptSource source, Limits limits)
    : source_(std::move(source)), engine_(limits) {}

call::RouteStep ScriptRouter::start(std::uint64_t call_id, call::CallApi& api) {
    std::shared_ptr<const Script> script = source_ ? source_() : nullptr;
    if (!script) return {call::RouteStep::State::failed, "no dialplan is active"};
    return to_route_step(engine_.start(call_id, std::move(script), api));
}

call::RouteStep ScriptRouter::resume(std::uint64_t call_id, call::Outcome outcome) {
    return to_route_step(engine_.resume(call_id, outcome));
}

void ScriptRouter::cancel(std::uint64_t call_id) {
    engine_.cancel(call_id);
}

}  // namespace sb::dialplan
