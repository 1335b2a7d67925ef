#include "sb/call/best_response.h"

namespace sb::call {

namespace {

// Lower is better within 4xx; codes not listed rank in between.
int rank_4xx(int status) {
    switch (status) {
        case 486:
            return 0;
        case 480:
            return 2;
        case 404:
            return 3;
        case 410:
            return 4;
        case 408:
            return 5;
        case 487:
            return 6;
        default:
            return 1;
    }
}

}  // namespace

int best_final_response(std::span<const int> statuses) {
    int best = 0;
    for (int s : statuses) {
        if (s >= 600) return s;
        if (best == 0) {
            best = s;
            continue;
        }
        int bc = best / 100, sc = s / 100;
        if (sc < bc || (sc == 4 && bc == 4 && rank_4xx(s) < rank_4xx(best))) best = s;
    }
    return best;
}

Outcome bridge_outcome(int status, bool timed_out) {
    if (status >= 200 && status < 300) return {BridgeResult::answered, status};
    if (timed_out) return {BridgeResult::noanswer, 480};
    switch (status) {
        case 486:
        case 600:
            return {BridgeResult::busy, status};
        case 404:
        case 408:
        case 410:
        case 480:
        case 503:
        case 604:
            return {BridgeResult::unavailable, status};
        default:
            return {BridgeResult::failed, status == 0 ? 500 : status};
    }
}

int final_status_for(const std::optional<Outcome>& last) {
    if (!last) return 404;
    if (last->result == BridgeResult::noanswer) return 480;
    if (last->code == 503) return 500;
    if (last->code < 300) return 500;  // an answered bridge never ends routing unanswered
    return last->code;
}

}  // namespace sb::call
