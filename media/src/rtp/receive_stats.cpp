#include "sb/media/rtp/receive_stats.h"

#include <algorithm>

namespace sb::media::rtp {

ReportBlock ReceiveStats::make_report_block(std::uint32_t lsr, std::uint32_t dlsr) {
    // RFC 3550 A.3.
    const std::int64_t expected_now = expected();
    const std::int64_t expected_interval = expected_now - expected_prior_;
    const std::int64_t received_interval = std::int64_t{received_} - received_prior_;
    const std::int64_t lost_interval = expected_interval - received_interval;
    expected_prior_ = expected_now;
    received_prior_ = received_;

    ReportBlock b;
    b.ssrc = ssrc_;
    // Zero when nothing was lost or duplicates outnumber the losses (6.4.1).
    if (expected_interval > 0 && lost_interval > 0)
        b.fraction_lost = static_cast<std::uint8_t>(
            std::min<std::int64_t>((lost_interval << 8) / expected_interval, 255));
    // The field is 24 bits, signed (6.4.1): clamp rather than wrap.
    b.cumulative_lost =
        static_cast<std::int32_t>(std::clamp<std::int64_t>(cumulative_lost(), -0x800000, 0x7fffff));
    b.extended_highest_seq = extended_highest_seq();
    b.jitter = jitter();
    b.lsr = lsr;
    b.dlsr = dlsr;
    return b;
}

}  // namespace sb::media::rtp
