#pragma once
// Choosing what the caller hears when every destination failed (RFC 3261 16.7 step 6), and how
// a SIP status becomes the outcome a dialplan sees.
#include <span>

#include "sb/call/call_api.h"

namespace sb::call {

// The best of the final responses of the forks of one bridge (all >= 300): a 6xx if any;
// otherwise the lowest class; within 4xx the most telling (486 busy before 480 unavailable before
// 404, 408, and 487, which only says that we cancelled). 0 for an empty list.
int best_final_response(std::span<const int> statuses);

// The outcome of a bridge whose best final response was `status` (200 answered; 486/600 busy;
// 404/410/480/408/503 and transport failures unavailable; anything else failed). `timed_out`:
// we cancelled the destinations when the bridge's timeout passed (noanswer, 480).
Outcome bridge_outcome(int status, bool timed_out);

// What the caller gets when routing ends without an answer after `last` (RFC 3261 16.7: a 503
// becomes 500, so the caller does not take it for the PBX being overloaded). No bridge: 404.
int final_status_for(const std::optional<Outcome>& last);

}  // namespace sb::call
