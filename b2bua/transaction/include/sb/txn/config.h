#pragma once
// Timer values and bounds of the transaction layer (config file [sip.transactions]).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "sb/common/clock.h"

namespace sb::txn {

struct TxnConfig {
    // RFC 3261 17.1.1.1 / Table 4. Timers A..K derive from these.
    Duration t1{500};   // RTT estimate
    Duration t2{4000};  // cap of non-INVITE request and INVITE response retransmission intervals
    Duration t4{5000};  // how long a message may linger in the network (Timers I, K)
    Duration timer_d{32000};  // 17.1.1.2: at least 32 s over unreliable transports

    // 17.2.1: an INVITE server transaction sends 100 Trying itself when the TU has not answered
    // within this delay. Zero: at once, before the TU sees the INVITE. Negative: never (the TU
    // sends it). A retransmitted INVITE with no response yet gets a 100 at once in any case.
    Duration trying_delay{200};

    // Bounds the RFC leaves open, so that nothing lives forever:
    // an INVITE server transaction whose TU never sends a final response answers 500 itself
    // after this long (and reports on_timeout); an INVITE client transaction that never gets a
    // final response (no CANCEL sent) gives up after this long (and reports on_timeout).
    // Non-INVITE server transactions whose TU stays silent end after 64*T1, when the client has
    // given up anyway.
    Duration max_invite_pending{std::chrono::minutes(30)};

    // Live transaction limits. Beyond max_server_transactions a new request is answered
    // 503 + Retry-After statelessly before the TU sees it; beyond max_client_transactions
    // start_client() fails.
    std::size_t max_server_transactions = 200'000;
    // Completed non-INVITE transactions that only wait out Timer J (compacted, ~0.3 KB each) are
    // not work in progress and do not count toward max_server_transactions; this caps them.
    std::size_t max_completed_server_transactions = 2'000'000;
    std::size_t max_client_transactions = 200'000;
    std::uint32_t retry_after_seconds = 5;

    // Inserted after the magic cookie by make_branch(), e.g. a shard tag "s3." so responses can be
    // routed to the shard that owns the client transaction. Token characters only.
    std::string branch_prefix;

    Duration timer_b() const { return 64 * t1; }  // = F = H = J = L = M
};

}  // namespace sb::txn
