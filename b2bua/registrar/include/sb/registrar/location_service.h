#pragma once
// The location service (RFC 3261 10.2): current bindings per address-of-record, in memory, read by
// every shard (calls look up where to ring) and written by the registrar. Striped locks keep
// shards from contending; expiry is lazy (expired bindings are invisible and purged on write or by
// purge_expired()).
#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sb/registrar/binding.h"

namespace sb::registrar {

class LocationService {
public:
    // Unexpired bindings of an AOR at `now` (unix seconds), highest q first.
    std::vector<Binding> lookup(std::string_view aor, std::int64_t now) const;
    // Runs fn(bindings) under the AOR's lock; fn may modify the vector. Expired bindings are
    // removed before fn sees them.
    void update(std::string_view aor, std::int64_t now, const std::function<void(std::vector<Binding>&)>& fn);
    // Replaces everything (start-up load from the database).
    void load(std::vector<Binding> bindings);
    // Drops expired bindings; returns how many.
    std::size_t purge_expired(std::int64_t now);
    std::size_t binding_count() const;
    // Every unexpired binding (for a final write at shutdown).
    std::vector<Binding> all(std::int64_t now) const;
    std::size_t aor_count() const;

private:
    static constexpr std::size_t kStripes = 64;
    struct Stripe {
        mutable std::mutex mu;
        std::unordered_map<std::string, std::vector<Binding>> by_aor;
    };
    Stripe& stripe(std::string_view aor) const;
    mutable std::array<Stripe, kStripes> stripes_;
};

}  // namespace sb::registrar
