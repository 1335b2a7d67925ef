#pragma once
// Overload protection of one shard (DESIGN: overload is handled, not suffered). The signal is the
// shard's queueing delay: how long received datagrams waited in the socket buffer before the
// shard read them (kernel receive timestamps), the worst per 100 ms window. A shard that keeps up
// has a short queue however busy its CPU is; one that falls behind sees the delay grow.
//
// The guard admits a fraction of the new INVITEs and REGISTERs and answers the others 503 with
// Retry-After before any work is spent on them (no transaction, no authentication, no dialplan),
// so that the calls it admits complete instead of drowning in retransmissions with the rest. The
// fraction follows the delay, additive increase and multiplicative decrease: times 0.7 for every
// window over max_queue_delay once `sustain` windows in a row were over it, plus 0.1 for every
// window under half of it. The bound, 200 ms, is well under T1 (500 ms), when phones start to
// retransmit; at 100 ms bursts of a shard near its capacity were refused needlessly. All-or-nothing
// shedding was tried first: it rejected four calls in five at twice the capacity, because the queue
// refilled as soon as it stopped.
#include <cstdint>

#include "sb/common/clock.h"

namespace sb::server {

struct OverloadConfig {
    bool enabled = true;
    Duration max_queue_delay{200};
    Duration window{100};
    int sustain = 3;  // windows over the bound before the first decrease (a burst is not overload)
    double min_admit = 0.05;
    std::uint32_t retry_after_s = 2;
};

class OverloadGuard {
  public:
    explicit OverloadGuard(OverloadConfig config = {}) : config_(config) {}

    // Called on every timer tick: the monotonic wall time, and the longest queueing delay seen
    // since the previous tick. Returns true when shedding started or stopped.
    bool tick(Duration wall, Duration queue_delay);
    // For each new INVITE or REGISTER: false means answer 503. Spreads the refusals evenly.
    bool admit();
    bool overloaded() const { return admit_ < 1.0; }
    double admit_fraction() const { return admit_; }
    Duration last_delay() const { return last_delay_; }
    const OverloadConfig& config() const { return config_; }

  private:
    OverloadConfig config_;
    bool started_ = false;
    Duration window_start_{}, worst_{}, last_delay_{};
    int over_ = 0;  // consecutive windows over the bound
    double admit_ = 1.0;
    double credit_ = 0;
};

}  // namespace sb::server
