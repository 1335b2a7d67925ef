#include "sb/server/overload_guard.h"

#include <algorithm>

namespace sb::server {

bool OverloadGuard::tick(Duration wall, Duration cpu, Duration lag) {
    if (!config_.enabled) return false;
    if (!started_) {
        started_ = true;
        window_wall_ = wall;
        window_cpu_ = cpu;
        worst_lag_ = lag;
        return false;
    }
    worst_lag_ = std::max(worst_lag_, lag);
    Duration elapsed = wall - window_wall_;
    if (elapsed < config_.window) return false;
    last_busy_ = static_cast<double>((cpu - window_cpu_).count()) / static_cast<double>(elapsed.count());
    bool was = overloaded_;
    if (!overloaded_) {
        // Lateness alone is the machine's noise (a stalled VM, a neighbour's burst); it counts
        // when the shard is also working hard: it then competes for a CPU it cannot get.
        overloaded_ = last_busy_ >= config_.max_busy || (worst_lag_ >= config_.max_lag && last_busy_ >= 0.5);
    } else {
        overloaded_ = !(last_busy_ < config_.max_busy - 0.15 && worst_lag_ < config_.max_lag / 2);
    }
    window_wall_ = wall;
    window_cpu_ = cpu;
    worst_lag_ = Duration{0};
    return overloaded_ != was;
}

}  // namespace sb::server
