#pragma once
// Anti-abuse: addresses that fail authentication repeatedly are banned for a while (the PBX's
// answer to password guessing and toll-fraud scans; what fail2ban does for Asterisk, built in).
//
// Threading: every member function may be called from any thread at the same time; the table is
// striped over several mutexes, so threads working on different addresses rarely meet.
// Memory: at most max_tracked_addresses entries, each holding at most max_failures timestamps.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sb/common/clock.h"

namespace sb::auth {

struct BanConfig {
    std::size_t max_failures = 5;                // failures within `window` that earn a ban
    std::chrono::seconds window{60};
    std::chrono::seconds ban_time{600};
    std::size_t max_tracked_addresses = 65536;   // banned and watched together
    std::size_t shards = 16;                     // lock stripes; rounded to a power of two
};

struct BannedAddress {
    std::string address;
    std::chrono::seconds remaining;  // rounded up
};

class BanList {
public:
    // Keys: any stable byte string for a source, e.g. the address's text from the transport, its
    // 4 or 16 raw bytes, or an IPv6 /64 prefix (one attacker usually holds a whole /64). Keys
    // longer than kMaxKeyBytes are truncated. The caller must always use the same form.
    static constexpr std::size_t kMaxKeyBytes = 64;

    explicit BanList(const sb::Clock& clock, BanConfig config = {});
    ~BanList();
    BanList(const BanList&) = delete;
    BanList& operator=(const BanList&) = delete;

    // Counts a failed attempt (wrong digest, unknown user, forged nonce...). True exactly when this
    // failure started a ban: log then, once, instead of on every failure (rate-limited abuse log).
    // Failures of an address already banned are not counted and return false.
    bool record_failure(std::string_view address);
    // A successful authentication forgets the address's failures (not an active ban).
    void record_success(std::string_view address);
    // Bans at once (e.g. a known scanner's User-Agent); true when it was not banned already.
    bool ban(std::string_view address);
    // Ask first, before spending any work on a request from this address. Bans end by themselves
    // ban_time after they began.
    bool is_banned(std::string_view address) const;
    // Lifts a ban by hand (operators); true when the address was banned.
    bool unban(std::string_view address);
    // Addresses banned now, for operators (CLI, web admin).
    std::vector<BannedAddress> banned_list() const;
    // Entries held (banned and watched), for metrics and tests.
    std::size_t tracked() const;

private:
    struct Shard;
    Shard& shard_for(std::string_view key) const;
    bool ban_locked(Shard& sh, std::string_view key, sb::TimePoint now);

    const sb::Clock& clock_;
    BanConfig config_;
    std::size_t per_shard_cap_ = 1;
    std::size_t shard_mask_ = 0;
    std::unique_ptr<Shard[]> shards_;
};

}  // namespace sb::auth
