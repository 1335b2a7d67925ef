#include "dialplan_loader.h"

#include <mutex>
#include <pqxx/pqxx>

#include "sb/common/log.h"
#include "sb/db/dialplans.h"
#include "sb/dialplan/default_dialplan.h"
#include "sb/dialplan/engine.h"

namespace sb::app {

struct DialplanLoader::State {
    dialplan::ActiveScript active;
    std::mutex reload_mutex;  // one reload at a time, so the last one to run wins
};

namespace {

using State = DialplanLoader::State;

// Reads the active version and swaps it in if it is new and compiles. The payload of a NOTIFY is
// not trusted for the version: reading what is active now, with reloads serialized, means that
// of several quick activations the last one always ends up active here.
void reload(State& state, pqxx::connection& conn) {
    std::lock_guard lock(state.reload_mutex);
    auto active = db::active_dialplan(conn);
    if (!active) {
        SB_ERROR("dialplan", "reloading the active dialplan failed: {}", active.error().message);
        return;
    }
    if (!*active) {
        SB_WARN("dialplan", "no dialplan is active in the database; version {} stays in use", state.active.version());
        return;
    }
    const db::Dialplan& d = **active;
    if (d.version == state.active.version()) return;
    dialplan::Engine engine;
    auto script = engine.check(d.source, d.name);
    if (!script) {
        SB_ERROR("dialplan", "version {} ({}) was activated but does not compile, version {} stays in use: {}",
                 d.version, d.name, state.active.version(), script.error().message);
        return;
    }
    std::int64_t previous = state.active.version();
    state.active.set(std::move(*script), d.version);
    SB_INFO("dialplan", "version {} ({}) is now active (was version {}); calls in progress keep theirs", d.version,
            d.name, previous);
}

}  // namespace

Result<std::unique_ptr<DialplanLoader>> DialplanLoader::start(const std::string& conninfo, db::Pool& pool) {
    auto state = std::make_shared<State>();
    try {
        pqxx::connection conn(conninfo);
        auto active = db::ensure_active_dialplan(conn, dialplan::kDefaultDialplanName,
                                                 dialplan::default_dialplan_source(), "shipped default");
        if (!active) return unexpected(active.error());
        dialplan::Engine engine;
        auto script = engine.check(active->source, active->name);
        if (script) {
            state->active.set(std::move(*script), active->version);
        } else {
            // Never expected with versions stored by `dialplan load` (it checks first), but a
            // PBX without a dialplan would refuse every call: fall back to the shipped default.
            SB_ERROR("dialplan",
                     "the active version {} ({}) does not compile: {}; using the shipped default until a "
                     "version that compiles is activated",
                     active->version, active->name, script.error().message);
            auto fallback = engine.check(dialplan::default_dialplan_source(), dialplan::kDefaultDialplanName);
            if (!fallback) return fail("the shipped default dialplan does not compile: " + fallback.error().message);
            state->active.set(std::move(*fallback), 0);
        }
    } catch (const std::exception& e) {
        return fail(std::string("loading the dialplan: ") + e.what());
    }
    return std::unique_ptr<DialplanLoader>(new DialplanLoader(std::move(state), conninfo, pool));
}

DialplanLoader::DialplanLoader(std::shared_ptr<State> state, const std::string& conninfo, db::Pool& pool)
    : state_(std::move(state)) {
    // The first LISTEN also triggers a reload: an activation between the load above and the
    // LISTEN is not missed.
    auto queue_reload = [state = state_, &pool] {
        bool queued = pool.submit([state](pqxx::connection& conn) { reload(*state, conn); },
                                  [](const Error& e) { SB_ERROR("dialplan", "reloading the dialplan failed: {}", e.message); });
        if (!queued) SB_ERROR("dialplan", "reloading the dialplan: the database queue is full; the next activation retries");
    };
    listener_ = std::make_unique<db::Listener>(
        db::ListenerOptions{.conninfo = conninfo, .channels = {db::kDialplanChannel}},
        [queue_reload](const std::string&, const std::string&) { queue_reload(); }, queue_reload);
}

DialplanLoader::~DialplanLoader() { stop(); }

void DialplanLoader::stop() {
    if (listener_) listener_->stop();
}

dialplan::ActiveScript& DialplanLoader::active() { return state_->active; }

std::string DialplanLoader::describe() const {
    auto script = state_->active.get();  // name and version from one snapshot
    if (!script) return "none";
    if (script->version == 0) return "the shipped default (" + script->name + "), not the stored active version";
    return "version " + std::to_string(script->version) + " (" + script->name + ")";
}

}  // namespace sb::app
