#pragma once
// Server nonces for digest authentication (RFC 7616 3.3 and 5.4-5.5, RFC 3261 22.4).
//
// A nonce is self-authenticating: base64url(issue time | salt | truncated HMAC-SHA256(secret,
// time | salt)), so a forged or garbled nonce is recognised without any lookup, and its age is read
// from the nonce itself. Replay protection (RFC 7616 3.4 nonce-count) needs state: the highest nc
// accepted for each live nonce we issued, in a bounded table striped over several mutexes.
//
// Threading: every member function may be called from any thread at the same time.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sb/common/clock.h"

namespace sb::auth {

struct NonceConfig {
    std::chrono::seconds lifetime{300};  // a nonce older than this is stale
    std::size_t max_tracked = 100000;    // live nonces whose nc is remembered
    std::size_t shards = 16;             // lock stripes; rounded to a power of two <= max_tracked
};

enum class NonceVerdict {
    valid,     // ours, live, and nc is above every nc accepted for it so far
    stale,     // ours (authentic) but expired, or no longer tracked: re-challenge with stale=true
    invalid,   // not ours: forged, garbled, or signed with another secret
    replayed,  // ours and live, but nc <= the highest nc already accepted for it
};
std::string_view to_string(NonceVerdict v);

class NonceManager {
public:
    // server_secret keys the HMAC. Give a persistent secret of at least 16 random bytes (shared by
    // the nodes of a cluster) so that after a restart, old nonces are reported stale (clients
    // retry silently) instead of invalid. Empty means a random per-process secret.
    NonceManager(const sb::Clock& clock, std::string_view server_secret, NonceConfig config = {});
    ~NonceManager();
    NonceManager(const NonceManager&) = delete;
    NonceManager& operator=(const NonceManager&) = delete;

    // A fresh nonce (43 base64url characters). Issuing stores nothing: a nonce is tracked from
    // its first accepted use. When the table is full the oldest used nonce of its stripe is
    // forgotten (expired ones go first), and so is every nonce issued no later than it: those are
    // then reported stale, never valid again.
    std::string issue();

    // What check_and_accept would say, without recording anything. Cheap; use it before looking
    // up the user, to answer a forged nonce without any further work.
    NonceVerdict check(std::string_view nonce, std::uint32_t nc) const;

    // Atomically checks and, when valid, records nc as the highest accepted for this nonce: of
    // two requests with the same nonce and nc, exactly one gets `valid`. Call it only after the
    // digest response has verified, so a wrong password does not use up nc values.
    NonceVerdict check_and_accept(std::string_view nonce, std::uint32_t nc);

    // Number of nonces currently tracked (for metrics and tests).
    std::size_t tracked() const;

    // 32 random bytes from OpenSSL, for a secret to persist.
    static std::string random_secret();

private:
    struct Shard;
    struct Decoded;

    NonceVerdict verdict(std::string_view nonce, std::uint32_t nc, bool accept) const;
    bool decode(std::string_view nonce, Decoded& out) const;
    bool mac(std::uint64_t issued, std::uint64_t salt, unsigned char out[16]) const;
    Shard& shard_for(std::uint64_t salt) const;

    const sb::Clock& clock_;
    std::string secret_;
    NonceConfig config_;
    std::uint64_t start_ = 0;  // unix seconds at construction
    std::size_t per_shard_cap_ = 1;
    std::size_t shard_mask_ = 0;
    std::unique_ptr<Shard[]> shards_;
};

}  // namespace sb::auth
