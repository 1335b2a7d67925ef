// The dialplan engine. Lua is compiled as C: its errors are longjmps. So every lua_CFunction below
// keeps only trivially destructible locals, calls into C++ (the CallApi) through guarded(), which
// catches exceptions and returns before any Lua function that may raise, and keeps anything that
// owns memory in the Run (heap, outlives the longjmp). Every entry into Lua from C++ is protected
// (lua_pcall or lua_resume); values handed to a resumed coroutine are pushed by the yielding
// function's continuation, inside the coroutine, so even an out-of-memory there is a script error.
#include "sb/dialplan/engine.h"

#include <lua5.4/lua.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <vector>

#include "sb/common/log.h"

namespace sb::dialplan {

namespace {

constexpr int kMaxDestinations = 64;
constexpr std::size_t kMaxRoomName = 64;
constexpr int kMaxHookEvery = 1000;
constexpr const char* kSandboxChunk = "=sandbox";
constexpr std::size_t kAllocBytesPerInstruction = 4;
constexpr std::size_t kMaxStringBytes = 16 * 1024;

struct LuaClose {
    void operator()(lua_State* L) const { lua_close(L); }
};

enum class Kill { none, slice_budget, call_budget, memory };

}  // namespace

// Memory of one call's lua_State. A state makes thousands of small allocations while it opens the
// libraries and compiles the script, and frees them all at lua_close: from the C heap that was a
// third of a call's dialplan cost (and page faults as the heap grew and shrank). Small blocks come
// from size-class free lists carved out of 16 KiB chunks, which go back to a per-thread cache
// when the call ends; large blocks (> 512 bytes) use the C heap.
class CallArena {
  public:
    static constexpr std::size_t kGranule = 16, kMaxSmall = 512, kChunk = 16 * 1024;
    CallArena() = default;
    CallArena(const CallArena&) = delete;
    CallArena& operator=(const CallArena&) = delete;
    ~CallArena() {
        auto& cache = chunk_cache();
        for (void* c : chunks_) {
            if (cache.size() < kMaxCachedChunks)
                cache.push_back(c);
            else
                std::free(c);
        }
    }
    static bool small(std::size_t n) { return n <= kMaxSmall; }
    void* allocate(std::size_t n) {
        std::size_t cls = (n + kGranule - 1) / kGranule;
        if (void* p = free_[cls]) {
            free_[cls] = *static_cast<void**>(p);
            return p;
        }
        std::size_t bytes = cls * kGranule;
        if (left_ < bytes) {
            void* c = nullptr;
            auto& cache = chunk_cache();
            if (!cache.empty()) {
                c = cache.back();
                cache.pop_back();
            } else {
                c = std::malloc(kChunk);
                if (!c) return nullptr;
            }
            chunks_.push_back(c);
            next_ = static_cast<char*>(c);
            left_ = kChunk;
        }
        void* p = next_;
        next_ += bytes;
        left_ -= bytes;
        return p;
    }
    void release(void* p, std::size_t n) {
        std::size_t cls = (n + kGranule - 1) / kGranule;
        *static_cast<void**>(p) = free_[cls];
        free_[cls] = p;
    }
    static bool same_class(std::size_t a, std::size_t b) {
        return (a + kGranule - 1) / kGranule == (b + kGranule - 1) / kGranule;
    }

  private:
    static constexpr std::size_t kMaxCachedChunks = 256;  // 4 MiB per thread
    static std::vector<void*>& chunk_cache() {
        struct Cache {
            std::vector<void*> chunks;
            ~Cache() {
                for (void* c : chunks) std::free(c);
            }
        };
        thread_local Cache cache;
        return cache.chunks;
    }
    std::array<void*, kMaxSmall / kGranule + 1> free_{};
    std::vector<void*> chunks_;
    char* next_ = nullptr;
    std::size_t left_ = 0;
};

struct Engine::Run {
    Limits limits;
    CallArena arena;  // before L: the state is closed (freeing into it) before the arena goes
    std::shared_ptr<const Script> script;
    CallApi* api = nullptr;  // null while check() runs a script's top level
    // Memory accounting of this call's lua_State.
    std::size_t used = 0;
    bool refused = false;         // the allocator refused at least once
    bool string_refused = false;  // ... because a string was too long
    // Instruction budget.
    int hook_every = kMaxHookEvery;
    std::uint64_t slice_used = 0;
    std::uint64_t total_used = 0;
    Kill kill = Kill::none;
    // Coroutine state.
    lua_State* co = nullptr;
    bool waiting = false;
    bool ended = false;  // hangup() was called
    Outcome outcome;
    std::array<std::string_view, kMaxDestinations> destinations{};
    std::string api_error;
    std::string chunkname;                   // "=name": messages read "name:LINE: ..."
    std::unique_ptr<lua_State, LuaClose> L;  // last: closed first, while the fields above live

    ~Run() {
        api = nullptr;  // finalizers that run while the state closes must not reach the call
        L.reset();
    }
};

namespace {

using Run = Engine::Run;

Run* run_of(lua_State* L) {
    return *static_cast<Run**>(lua_getextraspace(L));
}

// Per-state allocator: refuses growth past the call's cap (Lua then collects and retries once,
// then raises "not enough memory").
void* limited_alloc(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
    auto* r = static_cast<Run*>(ud);
    const std::size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        if (!ptr) return nullptr;
        r->used -= old;
        if (CallArena::small(old))
            r->arena.release(ptr, old);
        else
            std::free(ptr);
        return nullptr;
    }
    if (nsize > old && r->used - old + nsize > r->limits.memory_bytes) {
        r->refused = true;
        return nullptr;
    }
    // Comparing or hashing a string is one instruction whatever its length: keep strings short so
    // that no instruction costs much (a new object's osize is its type, lgc.c luaC_newobj).
    if (ptr == nullptr && osize == LUA_TSTRING && nsize > kMaxStringBytes + 64) {
        r->string_refused = true;
        return nullptr;
    }
    void* p = nullptr;
    if (ptr && CallArena::small(old) && CallArena::small(nsize) &&
        CallArena::same_class(old, nsize)) {
        p = ptr;
    } else if (ptr && !CallArena::small(old) && !CallArena::small(nsize)) {
        p = std::realloc(ptr, nsize);
    } else {
        p = CallArena::small(nsize) ? r->arena.allocate(nsize) : std::malloc(nsize);
        if (p && ptr) {
            std::memcpy(p, ptr, std::min(old, nsize));
            if (CallArena::small(old))
                r->arena.release(ptr, old);
            else
                std::free(ptr);
        }
    }
    if (p) {
        r->used = r->used - old + nsize;
        // C work that builds data (string.rep, .., table.concat, growing tables) runs between hook
        // ticks: charge it by the bytes it allocates, so the next tick can stop a loop of it.
        if (nsize > old) {
            r->slice_used += (nsize - old) / kAllocBytesPerInstruction;
            r->total_used += (nsize - old) / kAllocBytesPerInstruction;
        }
    }
    return p;
}

int on_panic(lua_State* L) {
    // Unreachable by design: every entry is protected. Dying loudly beats corrupt state.
    const char* msg = lua_tostring(L, -1);
    SB_ERROR("dialplan", "Lua panic (unprotected error): {}", msg ? msg : "?");
    std::abort();
}

// Pushes "name:LINE: " for the innermost Lua function on L's stack, or "" if there is none.
// Finds the innermost frame of the administrator's script (not C, not the sandbox's wrappers).
bool script_frame(lua_State* L, lua_Debug& ar) {
    for (int level = 0; lua_getstack(L, level, &ar); ++level) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0 &&
            std::strcmp(ar.source, kSandboxChunk) != 0)
            return true;
    }
    return false;
}

void push_where(lua_State* L) {
    lua_Debug ar;
    if (script_frame(L, ar))
        lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
    else
        lua_pushliteral(L, "");
}

[[noreturn]] void raise_with_where(lua_State* L, const char* what) {
    push_where(L);
    lua_pushstring(L, what);
    lua_concat(L, 2);
    lua_error(L);
    std::abort();  // lua_error does not return
}

const char* kill_text(Kill k) {
    switch (k) {
        case Kill::slice_budget:
            return "instruction budget exceeded (a loop that never waits?)";
        case Kill::call_budget:
            return "instruction budget for the call exceeded";
        case Kill::memory:
            return "memory limit exceeded";
        case Kill::none:
            break;
    }
    return "stopped";
}

// Counts `n` instructions against the budget; once it is spent, raises (and keeps raising at every
// later tick: a script's pcall cannot keep it alive).
void charge(lua_State* L, Run* r, std::uint64_t n) {
    r->slice_used += n;
    r->total_used += n;
    if (r->kill == Kill::none) {
        if (r->slice_used > r->limits.instructions_per_slice)
            r->kill = Kill::slice_budget;
        else if (r->total_used > r->limits.instructions_per_call)
            r->kill = Kill::call_budget;
    }
    if (r->kill != Kill::none) raise_with_where(L, kill_text(r->kill));
}

void count_hook(lua_State* L, lua_Debug*) {
    Run* r = run_of(L);
    charge(L, r, static_cast<std::uint64_t>(r->hook_every));
}

template <class F>
bool guarded(Run* r, F&& f) noexcept {
    try {
        f();
        return true;
    } catch (const std::exception& e) {
        r->api_error = e.what();
    } catch (...) {
        r->api_error = "unknown exception";
    }
    return false;
}

int raise_api_error(lua_State* L, Run* r) {
    return luaL_error(L, "internal error in the call: %s", r->api_error.c_str());
}

// ---- Sandboxed globals ----

// _ENV's __index: reading a global that does not exist is an error, so a typo in a function
// name says so with its line instead of "attempt to call a nil value".
int env_index(lua_State* L) {
    const char* key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
    push_where(L);
    lua_pushfstring(L, "unknown name '%s' (not a dialplan function or a variable set before)", key);
    lua_concat(L, 2);
    return lua_error(L);
}

int sandbox_print(lua_State* L) {
    Run* r = run_of(L);
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; ++i) {
        if (i > 1) luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, nullptr);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    std::size_t len = 0;
    const char* text = lua_tolstring(L, -1, &len);
    if (r->api && !guarded(r, [&] { r->api->log(LogLevel::info, std::string_view(text, len)); }))
        return raise_api_error(L, r);
    return 0;
}

int sandbox_collectgarbage(lua_State* L) {
    const char* opt = luaL_optstring(L, 1, "count");
    if (std::strcmp(opt, "count") != 0)
        return luaL_error(L, "collectgarbage('%s') is not allowed in a dialplan (only 'count')",
                          opt);
    lua_pushnumber(L, static_cast<lua_Number>(run_of(L)->used) / 1024.0);
    return 1;
}

// Lua runs __gc finalizers with hooks off (lgc.c, GCTM), so the instruction budget could not stop
// one: refuse them. Checking at setmetatable() time suffices, as Lua marks an object for
// finalization only if its metatable has __gc then (Lua 5.4 manual, section 2.5.3).
int sandbox_setmetatable(lua_State* L) {
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: __gc is not allowed in a dialplan");
        lua_pop(L, 1);
    }
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 1);
    return 1;
}

// Lua's pattern matcher backtracks inside C, where the instruction hook never runs: one
// string.find(("a"):rep(2000), ".-.-.-b") takes minutes. So the pattern functions estimate their
// worst case before matching (subject length to the power of the pattern's repetitions, plus one
// for an unanchored scan), refuse what could take more than kMaxPatternCost steps, and charge the
// estimate to the instruction budget, so that a loop of costly matches ends like any other loop.
constexpr double kMaxPatternCost = 4e6;            // about 25 ms on the development machine
constexpr double kPatternStepsPerInstruction = 4;  // the costliest match takes a whole slice

int pattern_repetitions(const char* p, std::size_t len) {
    int q = 0;
    for (std::size_t i = 0; i < len; ++i) {
        if (p[i] == '%') {
            ++i;                   // an escaped character or a class (%d ...), never a repetition
        } else if (p[i] == '[') {  // a set: '-' inside is a range; skip to its ']'
            ++i;
            if (i < len && p[i] == '^') ++i;
            if (i < len && p[i] == ']') ++i;
            while (i < len && p[i] != ']') {
                if (p[i] == '%') ++i;
                ++i;
            }
        } else if (p[i] == '*' || p[i] == '+' || p[i] == '-' || p[i] == '?') {
            ++q;
        }
    }
    return q;
}

enum PatternFunction { kFind = 1, kMatch, kGmatch, kGsub };

int sandbox_pattern(lua_State* L) {
    const int kind = static_cast<int>(lua_tointeger(L, lua_upvalueindex(2)));
    if (lua_type(L, 1) == LUA_TSTRING && lua_type(L, 2) == LUA_TSTRING) {
        std::size_t plen = 0;
        const char* p = lua_tolstring(L, 2, &plen);
        const double n = static_cast<double>(lua_rawlen(L, 1)) + 1;
        const bool plain = kind == kFind && lua_toboolean(L, 4);
        const int q = plain ? 0 : pattern_repetitions(p, plen);
        const bool anchored = !plain && plen > 0 && p[0] == '^' && kind != kGmatch;
        const int e = std::min(q, 4) + (anchored ? 0 : 1);
        double cost = 1;
        for (int i = 0; i < e; ++i) cost *= n;
        if (q == 0)
            cost *= static_cast<double>(plen) + 1;  // a literal search compares at each position
        if (cost > kMaxPatternCost)
            return luaL_error(
                L,
                "pattern too costly for a %d-character string (%d repetitions): anchor it "
                "with ^, shorten the string or use fewer .- and .*",
                static_cast<int>(n - 1), pattern_repetitions(p, plen));
        charge(L, run_of(L), static_cast<std::uint64_t>(cost / kPatternStepsPerInstruction));
    }
    const int nargs = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, nargs, LUA_MULTRET);
    return lua_gettop(L);
}

// After a script's pcall/xpcall: a budget or memory kill is not the script's to catch.
int after_pcall(lua_State* L) {
    Run* r = run_of(L);
    if (lua_toboolean(L, 1) == 0 && lua_type(L, 2) == LUA_TSTRING &&
        std::strcmp(lua_tostring(L, 2), "not enough memory") == 0 && r->kill == Kill::none)
        r->kill = Kill::memory;
    if (r->kill != Kill::none) {
        lua_settop(L, 2);
        return lua_error(L);
    }
    return lua_gettop(L);
}

constexpr const char* kPcallWrappers = R"(
local raw_pcall, raw_xpcall, after = pcall, xpcall, ...
pcall = function(f, ...) return after(raw_pcall(f, ...)) end
xpcall = function(f, h, ...) return after(raw_xpcall(f, h, ...)) end
)";

void open_sandbox(lua_State* L) {
    const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},
                             {LUA_STRLIBNAME, luaopen_string},
                             {LUA_TABLIBNAME, luaopen_table},
                             {LUA_MATHLIBNAME, luaopen_math},
                             {LUA_UTF8LIBNAME, luaopen_utf8}};
    for (const auto& lib : libs) {
        luaL_requiref(L, lib.name, lib.func, 1);
        lua_pop(L, 1);
    }
    lua_pushglobaltable(L);
    for (const char* name : {"dofile", "loadfile", "load", "require"}) {
        lua_pushnil(L);
        lua_setfield(L, -2, name);
    }
    lua_pushcfunction(L, sandbox_print);
    lua_setfield(L, -2, "print");
    lua_pushcfunction(L, sandbox_collectgarbage);
    lua_setfield(L, -2, "collectgarbage");
    lua_getfield(L, -1, "setmetatable");
    lua_pushcclosure(L, sandbox_setmetatable, 1);
    lua_setfield(L, -2, "setmetatable");
    lua_getfield(L, -1, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");  // bytecode out is useless without bytecode in; keep it out
    const std::pair<const char*, int> patterns[] = {
        {"find", kFind}, {"match", kMatch}, {"gmatch", kGmatch}, {"gsub", kGsub}};
    for (const auto& [name, kind] : patterns) {
        lua_getfield(L, -1, name);
        lua_pushinteger(L, kind);
        lua_pushcclosure(L, sandbox_pattern, 2);
        lua_setfield(L, -2, name);
    }
    lua_pop(L, 1);
    // Installed before the strict metatable: the chunk reads pcall/xpcall as globals.
    if (luaL_loadbufferx(L, kPcallWrappers, std::strlen(kPcallWrappers), kSandboxChunk, "t") !=
        LUA_OK)
        lua_error(L);
    lua_pushcfunction(L, after_pcall);
    lua_call(L, 1, 0);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, env_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);  // global table
}

// ---- The call object ----

constexpr const char* kCallMarker = "__switchboard_call";

void check_self(lua_State* L, const char* method) {
    if (lua_type(L, 1) != LUA_TTABLE || lua_getfield(L, 1, kCallMarker) != LUA_TBOOLEAN)
        luaL_error(L, "call:%s(...) needs a colon: write call:%s(...), not call.%s(...)", method,
                   method, method);
    lua_pop(L, 1);
    // A finalizer (__gc) may run after hangup() or while the state closes: the call is gone then.
    const Run* r = run_of(L);
    if (r->api == nullptr || r->ended) luaL_error(L, "call:%s(): the call has ended", method);
}

// call:answer(): true when the caller is answered (or was already), false when the PBX cannot
// answer it itself (direct media, a caller without SDP); like playback, not a script mistake.
int call_answer(lua_State* L) {
    check_self(L, "answer");
    Run* r = run_of(L);
    bool answered = false;
    if (!guarded(r, [&] { answered = r->api->answer(); })) return raise_api_error(L, r);
    lua_pushboolean(L, answered);
    return 1;
}

// call:record([start]): true when the call is (or stops being) recorded; false when it cannot
// be (media not anchored, the file cannot be made), not a script mistake.
int call_record(lua_State* L) {
    check_self(L, "record");
    bool start = true;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TBOOLEAN);
        start = lua_toboolean(L, 2) != 0;
    }
    Run* r = run_of(L);
    bool ok = false;
    if (!guarded(r, [&] { ok = r->api->record_call(start); })) return raise_api_error(L, r);
    lua_pushboolean(L, ok);
    return 1;
}

int call_hangup(lua_State* L) {
    check_self(L, "hangup");
    lua_Integer code = luaL_optinteger(L, 2, 480);
    luaL_argcheck(L, code >= 400 && code <= 699, 2,
                  "hangup code must be a SIP failure code (400-699)");
    const char* reason = luaL_optstring(L, 3, "");
    if (!lua_isyieldable(L))
        return luaL_error(L, "call:hangup() cannot be used inside this function");
    Run* r = run_of(L);
    if (!guarded(r, [&] { r->api->hangup(static_cast<int>(code), reason); }))
        return raise_api_error(L, r);
    r->ended = true;
    return lua_yield(L, 0);  // the engine sees `ended` and closes the call's script
}

bool valid_header_name(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-.!%*_+`'~", c)))
            return false;
    return true;
}

bool protected_header(std::string_view s) {
    // Headers the B2BUA owns on each leg (RFC 3261 section 8.1.1): a script must not forge them.
    constexpr std::string_view owned[] = {"via",
                                          "call-id",
                                          "cseq",
                                          "from",
                                          "to",
                                          "contact",
                                          "content-length",
                                          "content-type",
                                          "max-forwards",
                                          "route",
                                          "record-route",
                                          "i",
                                          "f",
                                          "t",
                                          "m",
                                          "l",
                                          "c",
                                          "v"};
    for (auto o : owned) {
        if (o.size() != s.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < s.size(); ++i)
            if (std::tolower(static_cast<unsigned char>(s[i])) != o[i]) same = false;
        if (same) return true;
    }
    return false;
}

int call_set_header(lua_State* L) {
    check_self(L, "set_header");
    std::size_t nlen = 0, vlen = 0;
    const char* name = luaL_checklstring(L, 2, &nlen);
    const char* value = luaL_checklstring(L, 3, &vlen);
    const std::string_view n(name, nlen), v(value, vlen);
    if (!valid_header_name(n))
        return luaL_error(L, "set_header: '%s' is not a valid header name", name);
    if (protected_header(n))
        return luaL_error(L, "set_header: %s is set by the PBX, not the dialplan", name);
    if (v.find_first_of("\r\n") != std::string_view::npos || vlen > 1024)
        return luaL_error(L, "set_header: the value must be one line of at most 1024 characters");
    Run* r = run_of(L);
    if (!guarded(r, [&] { r->api->set_header(n, v); })) return raise_api_error(L, r);
    return 0;
}

int call_set_caller_id(lua_State* L) {
    check_self(L, "set_caller_id");
    std::size_t nlen = 0, dlen = 0;
    const char* number = luaL_checklstring(L, 2, &nlen);
    const char* name = luaL_optlstring(L, 3, "", &dlen);
    const std::string_view n(number, nlen), d(name, dlen);
    if (n.find_first_of("\r\n<>\" ") != std::string_view::npos || nlen > 64)
        return luaL_error(L, "set_caller_id: '%s' is not a valid number", number);
    if (d.find_first_of("\r\n\"") != std::string_view::npos || dlen > 128)
        return luaL_error(L, "set_caller_id: the name must be one line without quotes");
    Run* r = run_of(L);
    if (!guarded(r, [&] { r->api->set_caller_id(n, d); })) return raise_api_error(L, r);
    return 0;
}

int call_header(lua_State* L) {
    check_self(L, "header");
    std::size_t len = 0;
    const char* name = luaL_checklstring(L, 2, &len);
    Run* r = run_of(L);
    std::optional<std::string_view> v;
    if (!guarded(r, [&] { v = r->api->header(std::string_view(name, len)); }))
        return raise_api_error(L, r);
    if (v)
        lua_pushlstring(L, v->data(), v->size());
    else
        lua_pushnil(L);
    return 1;
}

int call_log(lua_State* L) {
    check_self(L, "log");
    lua_settop(L, 3);  // the level's slot stays 3 whatever was passed
    std::size_t len = 0;
    const char* text = luaL_tolstring(L, 2, &len);
    static const char* const levels[] = {"debug", "info", "warn", "error", nullptr};
    int level = luaL_checkoption(L, 3, "info", levels);
    Run* r = run_of(L);
    if (!guarded(r,
                 [&] { r->api->log(static_cast<LogLevel>(level), std::string_view(text, len)); }))
        return raise_api_error(L, r);
    return 0;
}

int bridge_continue(lua_State* L, int, lua_KContext) {
    Run* r = run_of(L);
    lua_createtable(L, 0, 2);
    const std::string_view result = to_string(r->outcome.result);
    lua_pushlstring(L, result.data(), result.size());
    lua_setfield(L, -2, "result");
    lua_pushinteger(L, r->outcome.code);
    lua_setfield(L, -2, "code");
    return 1;
}

// Pushes destination `i` of the bridge (a string or an integer) and records a view of it; the
// pushed value keeps the string alive until the bridge call returns.
void add_destination(lua_State* L, Run* r, int& count, int value_index) {
    int t = lua_type(L, value_index);
    if (t != LUA_TSTRING && !(t == LUA_TNUMBER && lua_isinteger(L, value_index)))
        luaL_error(L, "bridge: destinations must be numbers or strings, got a %s",
                   luaL_typename(L, value_index));
    if (count >= kMaxDestinations)
        luaL_error(L, "bridge: at most %d destinations", kMaxDestinations);
    luaL_checkstack(L, 2, "bridge: too many destinations");
    lua_pushvalue(L, value_index);
    std::size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);  // converts the pushed copy, not the table entry
    if (len == 0 || len > 256)
        luaL_error(L, "bridge: destination %d is empty or too long", count + 1);
    r->destinations[count++] = std::string_view(s, len);
}

// The named options of bridge(), as given.
struct BridgeOptions {
    lua_Integer timeout = 30;
    bool sequential = false;
    BridgeMedia media = BridgeMedia::automatic;
};

// The bridge option `key`, its value at the top of the stack, into `o`; an unknown option or a
// value of the wrong type is an error naming it.
void bridge_option(lua_State* L, const char* key, BridgeOptions& o) {
    if (std::strcmp(key, "timeout") == 0) {
        if (!lua_isinteger(L, -1)) luaL_error(L, "bridge: timeout must be whole seconds");
        o.timeout = lua_tointeger(L, -1);
    } else if (std::strcmp(key, "sequential") == 0) {
        if (!lua_isboolean(L, -1)) luaL_error(L, "bridge: sequential must be true or false");
        o.sequential = lua_toboolean(L, -1) != 0;
    } else if (std::strcmp(key, "media") == 0) {
        const char* m = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
        if (std::strcmp(m, "direct") == 0)
            o.media = BridgeMedia::direct;
        else if (std::strcmp(m, "anchor") == 0)
            o.media = BridgeMedia::anchor;
        else
            luaL_error(L, "bridge: media must be \"direct\" or \"anchor\"");
    } else {
        luaL_error(L, "bridge: unknown option '%s' (timeout, sequential, media)", key);
    }
}

// call:bridge("1001"), call:bridge("1001", 20), call:bridge("1001", {media = "direct"}) or
// call:bridge{"1001", "1002", timeout = 20, sequential = true}
int call_bridge(lua_State* L) {
    check_self(L, "bridge");
    Run* r = run_of(L);
    int count = 0;
    BridgeOptions o;
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_settop(L, 2);
        const lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L, 2));
        lua_pushnil(L);
        while (lua_next(L, 2) != 0) {  // check every key: a typo in an option is an error
            if (lua_type(L, -2) == LUA_TSTRING) {
                bridge_option(L, lua_tostring(L, -2), o);
            } else if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 ||
                       lua_tointeger(L, -2) > n) {
                luaL_error(L, "bridge: destinations must be a list");
            }
            lua_pop(L, 1);
        }
        for (lua_Integer i = 1; i <= n; ++i) {
            luaL_checkstack(L, 2, "bridge: too many destinations");
            lua_rawgeti(L, 2, i);
            add_destination(L, r, count, lua_gettop(L));
        }
    } else {
        if (lua_isinteger(L, 3)) {
            o.timeout = lua_tointeger(L, 3);
        } else if (lua_type(L, 3) == LUA_TTABLE) {
            lua_settop(L, 3);
            lua_pushnil(L);
            while (lua_next(L, 3) != 0) {
                if (lua_type(L, -2) != LUA_TSTRING)
                    luaL_error(L, "bridge: options are named (timeout, sequential, media)");
                bridge_option(L, lua_tostring(L, -2), o);
                lua_pop(L, 1);
            }
        } else if (!lua_isnoneornil(L, 3)) {
            luaL_error(L, "bridge: timeout must be whole seconds");
        }
        add_destination(L, r, count, 2);
    }
    if (count == 0) return luaL_error(L, "bridge: no destination given");
    if (o.timeout < 1 || o.timeout > 3600)
        return luaL_error(L, "bridge: timeout must be 1 to 3600 seconds");
    if (!lua_isyieldable(L))
        return luaL_error(L, "call:bridge() cannot be used inside this function");
    const BridgeRequest req{std::span<const std::string_view>(r->destinations.data(), count),
                            static_cast<int>(o.timeout), o.sequential, o.media};
    if (!guarded(r, [&] { r->api->bridge(req); })) return raise_api_error(L, r);
    r->waiting = true;
    return lua_yieldk(L, 0, 0, bridge_continue);
}

int playback_continue(lua_State* L, int, lua_KContext) {
    lua_pushboolean(L, run_of(L)->outcome.result == BridgeResult::answered);
    return 1;
}

// call:playback("welcome"): plays a prompt to the caller (as early media before call:answer())
// and waits for its end; true when it played, false when it could not (no such prompt, media
// not anchored).
int call_playback(lua_State* L) {
    check_self(L, "playback");
    Run* r = run_of(L);
    std::size_t len = 0;
    const char* name = luaL_checklstring(L, 2, &len);
    if (len == 0 || len > 64)
        return luaL_error(L, "playback: the prompt name is empty or too long");
    if (!lua_isyieldable(L))
        return luaL_error(L, "call:playback() cannot be used inside this function");
    if (!guarded(r, [&] { r->api->playback(std::string_view(name, len)); }))
        return raise_api_error(L, r);
    r->waiting = true;
    return lua_yieldk(L, 0, 0, playback_continue);
}

int conference_continue(lua_State* L, int, lua_KContext) {
    lua_pushboolean(L, run_of(L)->outcome.result == BridgeResult::answered);
    return 1;
}

// Reads the options table of conference() at `index` into `req`; an unknown option or a value
// of the wrong type is an error naming it.
void conference_options(lua_State* L, int index, ConferenceRequest& req) {
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L,
                       "conference: options are named (muted, mute_key, chimes, alone_prompt, "
                       "music_when_alone)");
        const char* key = lua_tostring(L, -2);
        if (std::strcmp(key, "muted") == 0) {
            if (!lua_isboolean(L, -1)) luaL_error(L, "conference: muted must be true or false");
            req.muted = lua_toboolean(L, -1) != 0;
        } else if (std::strcmp(key, "chimes") == 0) {
            if (!lua_isboolean(L, -1)) luaL_error(L, "conference: chimes must be true or false");
            req.chimes = lua_toboolean(L, -1) != 0;
        } else if (std::strcmp(key, "music_when_alone") == 0) {
            if (!lua_isboolean(L, -1))
                luaL_error(L, "conference: music_when_alone must be true or false");
            req.music_when_alone = lua_toboolean(L, -1) != 0;
        } else if (std::strcmp(key, "alone_prompt") == 0) {
            // A prompt's name, or false for none.
            std::size_t len = 0;
            if (lua_isboolean(L, -1) && !lua_toboolean(L, -1))
                req.alone_prompt.clear();
            else if (lua_type(L, -1) == LUA_TSTRING && (lua_tolstring(L, -1, &len), len > 0) &&
                     len <= 64)
                req.alone_prompt = lua_tostring(L, -1);
            else
                luaL_error(L, "conference: alone_prompt must be a prompt name or false");
        } else if (std::strcmp(key, "mute_key") == 0) {
            // One DTMF key (RFC 4733 events 0-15), or false for none.
            std::size_t len = 0;
            const char* k = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : nullptr;
            const char key_char =
                k && len == 1 ? static_cast<char>(std::toupper(static_cast<unsigned char>(k[0])))
                              : '\0';
            if (lua_isboolean(L, -1) && !lua_toboolean(L, -1)) {
                req.mute_key = 0;
            } else if (key_char != '\0' && std::strchr("0123456789*#ABCD", key_char)) {
                req.mute_key = key_char;
            } else {
                luaL_error(L, "conference: mute_key must be one key of 0-9, *, #, A-D, or false");
            }
        } else {
            luaL_error(L,
                       "conference: unknown option '%s' (muted, mute_key, chimes, alone_prompt, "
                       "music_when_alone)",
                       key);
        }
        lua_pop(L, 1);
    }
}

// call:conference("sales") or call:conference("sales", {muted = true, mute_key = "#"}): answers
// the caller if needed and puts it into the room until the call ends; false at once when it
// cannot (media not anchored, a caller without SDP, the room is full).
int call_conference(lua_State* L) {
    check_self(L, "conference");
    Run* r = run_of(L);
    const int t = lua_type(L, 2);
    if (t != LUA_TSTRING && !(t == LUA_TNUMBER && lua_isinteger(L, 2)))
        return luaL_error(L, "conference: the room must be a name or a number (got %s)",
                          luaL_typename(L, 2));
    std::size_t len = 0;
    const char* room = lua_tolstring(L, 2, &len);
    if (len > kMaxRoomName || !valid_room_name(std::string_view(room, len)))
        return luaL_error(L, "conference: a room name is 1 to 64 letters, digits, '_', '.' or '-'");
    ConferenceRequest req;
    if (lua_type(L, 3) == LUA_TTABLE)
        conference_options(L, 3, req);
    else if (!lua_isnoneornil(L, 3))
        return luaL_error(L, "conference: the options must be a table (got %s)",
                          luaL_typename(L, 3));
    if (!lua_isyieldable(L))
        return luaL_error(L, "call:conference() cannot be used inside this function");
    if (!guarded(r, [&] { r->api->conference(std::string_view(room, len), req); }))
        return raise_api_error(L, r);
    r->waiting = true;
    return lua_yieldk(L, 0, 0, conference_continue);
}

// The options table of collect_digits() and play_and_collect() at `index`, into `req`; `fn`
// names the function in errors. first_timeout defaults to timeout.
void collect_options(lua_State* L, int index, const char* fn, CollectRequest& req) {
    bool first_given = false;
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "%s: options are named (max, timeout, first_timeout, terminator)", fn);
        const char* key = lua_tostring(L, -2);
        const bool whole = lua_isinteger(L, -1);
        const lua_Integer n = whole ? lua_tointeger(L, -1) : 0;
        if (std::strcmp(key, "max") == 0) {
            if (!whole || n < 1 || n > CollectRequest::kMaxDigits)
                luaL_error(L, "%s: max must be a whole number from 1 to %d", fn,
                           CollectRequest::kMaxDigits);
            req.max_digits = static_cast<int>(n);
        } else if (std::strcmp(key, "timeout") == 0 || std::strcmp(key, "first_timeout") == 0) {
            if (!whole || n < 1 || n > 60)
                luaL_error(L, "%s: %s must be whole seconds from 1 to 60", fn, key);
            if (std::strcmp(key, "timeout") == 0) {
                req.timeout_s = static_cast<int>(n);
            } else {
                req.first_timeout_s = static_cast<int>(n);
                first_given = true;
            }
        } else if (std::strcmp(key, "terminator") == 0) {
            std::size_t len = 0;
            const char* k = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : nullptr;
            const char key_char =
                k && len == 1 ? static_cast<char>(std::toupper(static_cast<unsigned char>(k[0])))
                              : '\0';
            if (k && len == 0)
                req.terminator = 0;
            else if (valid_dtmf_key(key_char))
                req.terminator = key_char;
            else
                luaL_error(L, "%s: terminator must be one key of 0-9, *, #, A-D, or \"\" for none",
                           fn);
        } else {
            luaL_error(L, "%s: unknown option '%s' (max, timeout, first_timeout, terminator)", fn,
                       key);
        }
        lua_pop(L, 1);
    }
    if (!first_given) req.first_timeout_s = req.timeout_s;
}

// The keys, or nil and why they could not be collected (like playback's false, not a script
// mistake: a caller without SDP, media not through the PBX, a missing prompt).
int collect_continue(lua_State* L, int, lua_KContext) {
    const Outcome& o = run_of(L)->outcome;
    if (o.result == BridgeResult::answered) {
        lua_pushlstring(L, o.digits.data(), o.digits.size());
        return 1;
    }
    lua_pushnil(L);
    if (o.reason.empty())
        lua_pushliteral(L, "the keys cannot be collected");
    else
        lua_pushlstring(L, o.reason.data(), o.reason.size());
    return 2;
}

// Starts the wait of collect_digits() (prompt_index 0) or play_and_collect(); the options are
// at prompt_index + 1 (or 2).
int start_collect(lua_State* L, const char* fn, int prompt_index) {
    check_self(L, fn);
    Run* r = run_of(L);
    std::size_t len = 0;
    const char* prompt = "";
    if (prompt_index != 0) {
        prompt = luaL_checklstring(L, prompt_index, &len);
        if (len == 0 || len > 64)
            return luaL_error(L, "%s: the prompt name is empty or too long", fn);
    }
    const int options = prompt_index != 0 ? prompt_index + 1 : 2;
    CollectRequest req;
    if (lua_type(L, options) == LUA_TTABLE)
        collect_options(L, options, fn, req);
    else if (!lua_isnoneornil(L, options))
        return luaL_error(L, "%s: the options must be a table (got %s)", fn,
                          luaL_typename(L, options));
    if (!lua_isyieldable(L))
        return luaL_error(L, "call:%s() cannot be used inside this function", fn);
    if (!guarded(r, [&] { r->api->collect_digits(std::string_view(prompt, len), req); }))
        return raise_api_error(L, r);
    r->waiting = true;
    return lua_yieldk(L, 0, 0, collect_continue);
}

// call:collect_digits{max = 4, timeout = 5, terminator = "#", first_timeout = 10}: the keys the
// caller presses (a string, "" if none in time), or nil and why when they cannot be collected.
int call_collect_digits(lua_State* L) {
    return start_collect(L, "collect_digits", 0);
}

// call:play_and_collect("menu", {max = 1}): the same after (and during) a prompt.
int call_play_and_collect(lua_State* L) {
    return start_collect(L, "play_and_collect", 2);
}

// Calls designed now, provided by later issues. The upvalue is the message.
int not_yet(lua_State* L) {
    return luaL_error(L, "%s", lua_tostring(L, lua_upvalueindex(1)));
}

// The call table's __index: methods, then nil for optional facts, else an error naming the key.
int call_index(lua_State* L) {
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    if (lua_type(L, 2) == LUA_TSTRING && std::strcmp(lua_tostring(L, 2), "extension") == 0)
        return 1;  // nil
    const char* key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
    push_where(L);
    lua_pushfstring(L, "call.%s is not part of the dialplan API", key);
    lua_concat(L, 2);
    return lua_error(L);
}

struct Facts {
    std::string_view from, from_name, to, uri;
    std::optional<std::string_view> ext_number, ext_name;
};

void set_string_field(lua_State* L, const char* key, std::string_view v) {
    lua_pushlstring(L, v.data(), v.size());
    lua_setfield(L, -2, key);
}

void push_call(lua_State* L, Run* r) {
    Facts f;
    if (!guarded(r, [&] {
            f.from = r->api->caller_number();
            f.from_name = r->api->caller_name();
            f.to = r->api->callee_number();
            f.uri = r->api->request_uri();
            f.ext_number = r->api->extension_number();
            f.ext_name = r->api->extension_name();
        }))
        raise_api_error(L, r);
    lua_createtable(L, 0, 8);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, kCallMarker);
    set_string_field(L, "from", f.from);
    set_string_field(L, "from_name", f.from_name);
    set_string_field(L, "to", f.to);
    set_string_field(L, "uri", f.uri);
    if (f.ext_number) {
        lua_createtable(L, 0, 2);
        set_string_field(L, "number", *f.ext_number);
        set_string_field(L, "name", f.ext_name.value_or(std::string_view{}));
        lua_setfield(L, -2, "extension");
    }
    // Metatable: __index = call_index with the methods table as upvalue.
    lua_createtable(L, 0, 2);
    const luaL_Reg methods[] = {{"answer", call_answer},
                                {"record", call_record},
                                {"hangup", call_hangup},
                                {"bridge", call_bridge},
                                {"set_caller_id", call_set_caller_id},
                                {"set_header", call_set_header},
                                {"header", call_header},
                                {"log", call_log},
                                {"playback", call_playback},
                                {"conference", call_conference},
                                {"collect_digits", call_collect_digits},
                                {"play_and_collect", call_play_and_collect},
                                {nullptr, nullptr}};
    luaL_newlib(L, methods);
    const std::pair<const char*, const char*> later[] = {
        {"voicemail", "voicemail() is not available yet (voicemail: a later issue)"},
        {"trunk", "trunk() is not available yet (trunks: a later issue)"},
    };
    for (const auto& [name, message] : later) {
        lua_pushstring(L, message);
        lua_pushcclosure(L, not_yet, 1);
        lua_setfield(L, -2, name);
    }
    lua_pushcclosure(L, call_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "call");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

// Runs protected: sandbox, script top level, route() lookup, and (for a call) the coroutine with
// route and the call object pushed, ready for its first resume.
int setup(lua_State* L) {
    Run* r = run_of(L);
    open_sandbox(L);
    const std::string& src = r->script->source;
    // Text only ("t"): precompiled bytecode can break the VM's safety.
    if (luaL_loadbufferx(L, src.data(), src.size(), r->chunkname.c_str(), "t") != LUA_OK)
        lua_error(L);
    lua_call(L, 0, 0);
    lua_pushglobaltable(L);
    lua_pushliteral(L, "route");
    if (lua_rawget(L, -2) != LUA_TFUNCTION)
        luaL_error(L, "%s: the script must define function route(call)", r->script->name.c_str());
    if (!r->api) return 0;
    lua_remove(L, -2);  // global table
    r->co = lua_newthread(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "sb.call.coroutine");  // keeps the thread alive
    push_call(L, r);
    lua_xmove(L, r->co, 2);  // route, call
    return 0;
}

std::string error_text(lua_State* L, Run* r, int status) {
    std::string where;
    std::string msg;
    if (lua_type(L, -1) == LUA_TSTRING)
        msg = lua_tostring(L, -1);
    else
        msg = std::string("error object is a ") + luaL_typename(L, -1) + " value";
    if ((status == LUA_ERRMEM || msg == "not enough memory" || r->kill == Kill::memory) &&
        r->string_refused && !r->refused) {
        lua_Debug ar;
        if (script_frame(L, ar))
            where = std::string(ar.short_src) + ":" + std::to_string(ar.currentline) + ": ";
        msg = where + "string longer than " + std::to_string(kMaxStringBytes) +
              " bytes (dialplan strings are kept short)";
    } else if (status == LUA_ERRMEM || msg == "not enough memory" || r->kill == Kill::memory) {
        r->kill = Kill::memory;
        // The coroutine's stack is not unwound after an error: find the script's line there.
        lua_Debug ar;
        if (script_frame(L, ar))
            where = std::string(ar.short_src) + ":" + std::to_string(ar.currentline) + ": ";
        msg =
            where + "memory limit of " + std::to_string(r->limits.memory_bytes) + " bytes exceeded";
    }
    return msg;
}

}  // namespace

namespace {

// Creates the state and runs setup(); returns "" or the error.
std::string prepare(Run& r) {
    r.chunkname = "=" + r.script->name;
    lua_State* L = lua_newstate(limited_alloc, &r);
    if (!L) return r.script->name + ": memory limit too small to start the dialplan";
    r.L.reset(L);
    lua_atpanic(L, on_panic);
    *static_cast<Run**>(lua_getextraspace(L)) = &r;
    r.hook_every = static_cast<int>(std::min<std::uint64_t>(
        kMaxHookEvery, std::max<std::uint64_t>(1, r.limits.instructions_per_slice)));
    lua_sethook(L, count_hook, LUA_MASKCOUNT, r.hook_every);  // inherited by the coroutine
    lua_pushcfunction(L, setup);
    const int status = lua_pcall(L, 0, 0, 0);
    if (status == LUA_OK) return {};
    std::string err = error_text(L, &r, status);
    lua_pop(L, 1);
    return err;
}

}  // namespace

Engine::Engine(Limits limits) : limits_(limits) {}
Engine::~Engine() = default;

Result<std::shared_ptr<const Script>> Engine::check(std::string_view source,
                                                    std::string_view name) const {
    auto script = std::make_shared<Script>(Script{std::string(name), std::string(source)});
    Run r;
    r.limits = limits_;
    r.script = script;
    std::string err = prepare(r);
    if (!err.empty()) return fail(std::move(err));
    return std::shared_ptr<const Script>(std::move(script));
}

Step Engine::start(std::uint64_t call_id, std::shared_ptr<const Script> script, CallApi& api) {
    cancel(call_id);
    auto run = std::make_unique<Run>();
    run->limits = limits_;
    run->script = std::move(script);
    run->api = &api;
    Run& r = *run;
    runs_[call_id] = std::move(run);
    std::string err = prepare(r);
    if (!err.empty()) return finish(call_id, Step{Step::State::failed, std::move(err)});
    return finish(call_id, resume_slice(r, 1));  // route(call)
}

Step Engine::resume(std::uint64_t call_id, Outcome outcome) {
    auto it = runs_.find(call_id);
    if (it == runs_.end())
        return Step{Step::State::failed, "dialplan: no script runs for this call"};
    Run& r = *it->second;
    if (!r.waiting)
        return finish(call_id, Step{Step::State::failed, "dialplan: the script was not waiting"});
    r.waiting = false;
    r.outcome = std::move(outcome);
    return finish(call_id, resume_slice(r, 0));
}

Step Engine::resume_slice(Run& r, int nargs) {
    r.slice_used = 0;
    int nres = 0;
    const int status = lua_resume(r.co, r.L.get(), nargs, &nres);
    if (status == LUA_OK) return Step{Step::State::finished, {}};
    if (status == LUA_YIELD) {
        lua_pop(r.co, nres);
        if (r.ended) return Step{Step::State::finished, {}};
        if (r.waiting) return Step{Step::State::waiting, {}};
        return Step{Step::State::failed,
                    r.script->name + ": the script yielded outside a dialplan wait"};
    }
    return Step{Step::State::failed, error_text(r.co, &r, status)};
}

void Engine::cancel(std::uint64_t call_id) {
    runs_.erase(call_id);
}

std::size_t Engine::memory_used(std::uint64_t call_id) const {
    auto it = runs_.find(call_id);
    return it == runs_.end() ? 0 : it->second->used;
}

Step Engine::finish(std::uint64_t call_id, Step step) {
    if (step.state == Step::State::waiting) return step;
    if (step.state == Step::State::failed) SB_WARN("dialplan", "call {}: {}", call_id, step.error);
    runs_.erase(call_id);
    return step;
}

}  // namespace sb::dialplan
