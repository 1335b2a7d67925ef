#include "sb/common/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace sb::log {

std::atomic<Level> g_level{Level::info};

void set_level(Level l) { g_level.store(l, std::memory_order_relaxed); }

bool parse_level(std::string_view name, Level& out) {
    static constexpr std::pair<std::string_view, Level> kNames[] = {
        {"trace", Level::trace}, {"debug", Level::debug}, {"info", Level::info},
        {"warn", Level::warn},   {"error", Level::error}, {"off", Level::off}};
    for (auto& [n, l] : kNames) {
        if (n == name) {
            out = l;
            return true;
        }
    }
    return false;
}

void write(Level l, std::string_view component, std::string_view text) {
    static constexpr const char* kNames[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"};
    static std::mutex mu;  // logging is off the hot path; one lock keeps lines whole
    auto now = std::chrono::system_clock::now();
    auto t = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[32];
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    std::lock_guard lock(mu);
    std::fprintf(stderr, "%s.%03dZ %-5s [%.*s] %.*s\n", ts, static_cast<int>(ms.count()),
                 kNames[static_cast<int>(l)], static_cast<int>(component.size()), component.data(),
                 static_cast<int>(text.size()), text.data());
}

}  // namespace sb::log
