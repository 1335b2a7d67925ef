#include "sb/call/call_record.h"

#include <fmt/format.h>

namespace sb::call {

std::string describe(const CallRecord& r) {
    std::string out = fmt::format("call {} {} -> {}: {}", r.id, r.caller, r.callee, r.a_status);
    if (r.answered_at) out += fmt::format(", answered {} s", (r.ended_at - r.answered_at) / 1000);
    out += ", ended: " + r.end_reason;
    if (!r.legs.empty()) {
        out += "; legs:";
        for (const LegRecord& l : r.legs)
            out += fmt::format(" {} {} {}{}", l.destination, l.status, l.reason,
                               &l == &r.legs.back() ? "" : ",");
    }
    if (r.direct_media) out += "; media: direct";
    if (!r.recording.empty()) out += "; recorded to " + r.recording;
    return out;
}

}  // namespace sb::call
