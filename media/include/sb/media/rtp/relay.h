#pragma once
// The RTP relay: UDP port pairs from a configured range, served by worker threads that forward
// packets between the two legs of a call without decoding them (DESIGN: "relays packets untouched
// when both legs share a codec"). Each worker owns an io_uring: every port has a multishot
// receive armed on it, so packets arrive as completions without a system call each, and the
// packets to forward go out as a batch of sends in the same io_uring_enter that waits for the
// next completions. A port's packets are handled by one worker, so per-port state has no locks;
// the shard that owns a call drives its ports through commands the worker applies in order.
#include <cstdint>
#include <memory>
#include <string>

#include "sb/common/result.h"
#include "sb/media/rtp/media_port.h"

namespace sb::media::rtp {

struct RelayConfig {
    std::string address = "127.0.0.1";  // the IP the ports bind to ("0.0.0.0": all)
    std::string advertise;              // the IP SDP names, when not `address` (wildcard, NAT)
    std::uint16_t port_min = 20000;     // RTP on even ports, RTCP on the odd one above
    std::uint16_t port_max = 29999;
    unsigned workers = 1;                // threads; a call's ports share one
    unsigned buffers_per_worker = 4096;  // receive buffers of 2 KiB in flight per worker
    int rtcp_interval_ms = 5000;         // our reports per leg (RFC 3550 6.2: 5 s minimum)
    // Recordings keep this much of their filesystem free: none starts below it, and one in
    // progress ends (its file completed) when the disk fills up to it, so that recordings never
    // take the space the database and the logs need. 0: no floor.
    std::uint64_t recording_min_free_mb = 1024;
};

// Whole-relay counters (all workers), for benchmarks and health pages.
struct RelayTotals {
    std::uint64_t packets_relayed = 0;     // forwarded as they came (payload untouched)
    std::uint64_t packets_transcoded = 0;  // made by decoding and encoding what came
    std::uint64_t packets_dropped = 0;
    std::uint64_t send_errors = 0;
    std::uint64_t open_ports = 0;
    std::uint64_t wakeups = 0;  // worker loop turns with work: packets per wakeup = batch size
};

class Relay final : public PortSource {
  public:
    // Binds nothing yet; starts the workers. Fails with a clear message when io_uring is not
    // available (kernel too old, or forbidden by a seccomp profile) or the range is empty.
    static Result<std::unique_ptr<Relay>> start(const RelayConfig& config);
    ~Relay() override;  // stops the workers; ports still open are closed with them
    Relay(const Relay&) = delete;
    Relay& operator=(const Relay&) = delete;

    Result<std::unique_ptr<MediaPort>> open(std::uint64_t group) override;
    const std::string& address() const override;
    std::size_t available() const override;  // pairs of the range not in use
    Result<std::unique_ptr<Recording>> start_recording(const std::string& path) override;
    RelayTotals totals() const;

    struct Impl;

  private:
    explicit Relay(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace sb::media::rtp
