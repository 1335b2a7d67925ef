#pragma once
// Overload protection of one shard (DESIGN: overload is handled, not suffered). Every timer tick
// reports the shard thread's CPU time and how late the tick fired; per window the guard decides
// whether the shard is overloaded: busy (CPU time / wall time) at or above max_busy, or at least
// half busy with ticks late by max_lag or more (it competes for a CPU it cannot get; lateness
// alone is a noisy machine, and an idle shard never sheds). While it is, new
// INVITEs and REGISTERs are answered 503 with Retry-After before any work is spent on them, so
// that calls already admitted finish instead of drowning in retransmissions with the new ones.
// It leaves the state with hysteresis (busy below max_busy - 0.15 and lag below half).
#include <cstdint>

#include "sb/common/clock.h"

namespace sb::server {

struct OverloadConfig {
    bool enabled = true;
    double max_busy = 0.9;
    Duration max_lag{200};
    Duration window{100};
    std::uint32_t retry_after_s = 2;
};

class OverloadGuard {
public:
    explicit OverloadGuard(OverloadConfig config = {}) : config_(config) {}

    // `wall` and `cpu`: monotonic wall time and the thread's CPU time; `lag`: how late this
    // tick fired. Returns true when the overload state changed.
    bool tick(Duration wall, Duration cpu, Duration lag);
    bool overloaded() const { return overloaded_; }
    double last_busy() const { return last_busy_; }
    const OverloadConfig& config() const { return config_; }

private:
    OverloadConfig config_;
    bool started_ = false;
    Duration window_wall_{}, window_cpu_{}, worst_lag_{};
    double last_busy_ = 0;
    bool overloaded_ = false;
};

}  // namespace sb::server
