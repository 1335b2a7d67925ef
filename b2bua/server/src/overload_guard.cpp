#include "sb/server/overload_guard.h"

#include <algorithm>

namespace sb::server {

bool OverloadGuard::tick(Duration wall, Duration queue_delay) {
    if (!config_.enabled) return false;
    if (!started_) {
        started_ = true;
        window_start_ = wall;
    }
    worst_ = std::max(worst_, queue_delay);
    if (wall - window_start_ < config_.window) return false;
    last_delay_ = worst_;
    bool was = overloaded();
    over_ = worst_ >= config_.max_queue_delay ? over_ + 1 : 0;
    if (over_ >= config_.sustain)
        admit_ = std::max(config_.min_admit, admit_ * 0.7);
    else if (worst_ < config_.max_queue_delay / 2)
        admit_ = std::min(1.0, admit_ + 0.1);
    window_start_ = wall;
    worst_ = Duration{0};
    return overloaded() != was;
}

bool OverloadGuard::admit() {
    if (admit_ >= 1.0) return true;
    credit_ += admit_;
    if (credit_ < 1.0) return false;
    credit_ -= 1.0;
    return true;
}

}  // namespace sb::server
