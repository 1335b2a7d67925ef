#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sb/common/endpoint.h"

namespace sb::registrar {

// One Contact bound to an address-of-record (RFC 3261 10.3), with what RFC 3327 (Path) and
// RFC 5626 (+sip.instance, reg-id) add, and where the REGISTER really came from.
struct Binding {
    std::string aor;          // canonical "sip:1001@realm" form: "sip:" + user (the extension)
    std::string contact;      // the Contact URI as registered (no <>, no header params)
    std::int64_t expires_at = 0;  // unix seconds
    std::optional<float> q;
    std::string instance_id;  // +sip.instance, without quotes; "" if none
    std::optional<int> reg_id;
    std::vector<std::string> path;
    std::string call_id;
    std::uint32_t cseq = 0;
    std::string user_agent;
    Flow received;            // source of the REGISTER: how to reach the phone through NAT
    // The expiry the database holds for this binding. A refresh that changes nothing but the
    // expiry is written only when the stored one lags by more than a quarter of the lifetime:
    // phones that re-register every 30-60 s to keep a NAT open would otherwise write constantly.
    std::int64_t persisted_expires_at = 0;
};

// A change to persist (the database writer batches these).
struct BindingChange {
    enum Kind { upsert, remove, remove_all } kind = upsert;
    Binding binding;  // for remove: aor and contact; for remove_all: aor
};

}  // namespace sb::registrar
