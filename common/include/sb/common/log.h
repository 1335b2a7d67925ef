#pragma once
// Logging: one line per event to stderr, with level and component. Formatting is fmt's
// (fmt/core.h keeps the include light); the level check comes first so a disabled level costs
// one comparison.
#include <fmt/core.h>

#include <atomic>
#include <string_view>

namespace sb::log {

enum class Level { trace = 0, debug, info, warn, error, off };

extern std::atomic<Level> g_level;

inline bool enabled(Level l) { return l >= g_level.load(std::memory_order_relaxed); }
void set_level(Level l);
// Parses "trace", "debug", "info", "warn", "error", "off"; false if unknown.
bool parse_level(std::string_view name, Level& out);
void write(Level l, std::string_view component, std::string_view text);

template <class... Args>
void emit(Level l, std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
    if (!enabled(l)) return;
    write(l, component, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace sb::log

#define SB_LOG(level, component, ...) ::sb::log::emit(::sb::log::Level::level, component, __VA_ARGS__)
#define SB_DEBUG(component, ...) SB_LOG(debug, component, __VA_ARGS__)
#define SB_INFO(component, ...) SB_LOG(info, component, __VA_ARGS__)
#define SB_WARN(component, ...) SB_LOG(warn, component, __VA_ARGS__)
#define SB_ERROR(component, ...) SB_LOG(error, component, __VA_ARGS__)
