#include "sb/auth/nonce_manager.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "base64url.h"
#include "sb/common/log.h"

namespace sb::auth {
namespace {

constexpr std::size_t kTimeBytes = 8;
constexpr std::size_t kSaltBytes = 8;
constexpr std::size_t kMacBytes = 16;  // HMAC-SHA256 truncated to 128 bits
constexpr std::size_t kNonceBytes = kTimeBytes + kSaltBytes + kMacBytes;
// An authentic nonce dated this far ahead of our clock means the wall clock stepped back; it is
// answered as stale rather than trusted for an unbounded time.
constexpr std::int64_t kFutureSkewSeconds = 5;

void put_be64(unsigned char* p, std::uint64_t v) {
    for (int i = 7; i >= 0; --i) {
        p[i] = static_cast<unsigned char>(v & 0xff);
        v >>= 8;
    }
}

std::uint64_t get_be64(const unsigned char* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
    return v;
}

struct Key {
    std::uint64_t issued;
    std::uint64_t salt;
    bool operator==(const Key&) const = default;
};

struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
        // salt is random; mixing in the time keeps a counter fallback salt spread too.
        return static_cast<std::size_t>(k.salt ^ (k.issued * 0x9e3779b97f4a7c15ULL));
    }
};

std::uint64_t fallback_salt() {
    // Only used if RAND_bytes fails, which OpenSSL 3 does not do once seeded: still unique per
    // process, and the HMAC, not the salt, is what makes a nonce unforgeable.
    static std::atomic<std::uint64_t> counter{0};
    return 0x8000000000000000ULL | counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

// Only nonces that have been used are tracked: issuing costs no memory, so a flood of
// unanswered challenges cannot push out the nonces real phones are using. A nonce leaves the
// table when it expires or to make room; `watermark` is the newest issue time ever evicted, so
// an authentic nonce missing from the table is either unused (issued after the watermark: its
// first use is accepted) or possibly used and forgotten (at or before it: stale, never valid
// again). Nonces issued before this process started are treated as forgotten.
struct NonceManager::Shard {
    mutable std::mutex mu;
    std::unordered_map<Key, std::uint32_t, KeyHash> highest_nc;  // used nonce -> highest accepted nc
    std::deque<Key> order;                                       // first-use order, oldest first
    std::uint64_t watermark = 0;
};

struct NonceManager::Decoded {
    std::uint64_t issued = 0;
    std::uint64_t salt = 0;
};

std::string_view to_string(NonceVerdict v) {
    switch (v) {
        case NonceVerdict::valid: return "valid";
        case NonceVerdict::stale: return "stale";
        case NonceVerdict::invalid: return "invalid";
        case NonceVerdict::replayed: return "replayed";
    }
    return "invalid";
}

NonceManager::NonceManager(const sb::Clock& clock, std::string_view server_secret, NonceConfig config)
    : clock_(clock), secret_(server_secret), config_(config) {
    if (secret_.empty()) secret_ = random_secret();
    if (config_.max_tracked == 0) config_.max_tracked = 1;
    std::size_t shards = std::bit_ceil(config_.shards == 0 ? std::size_t{1} : config_.shards);
    while (shards > config_.max_tracked) shards >>= 1;  // every stripe holds at least one nonce
    shard_mask_ = shards - 1;
    per_shard_cap_ = config_.max_tracked / shards;  // stripes * cap <= max_tracked
    shards_ = std::make_unique<Shard[]>(shards);
    // Nonces stamped up to now may come from a previous process (same secret): their nc history
    // is unknown, so they count as forgotten. Ours are stamped later than that (see issue()).
    start_ = static_cast<std::uint64_t>(clock_.unix_seconds());
    for (std::size_t i = 0; i < shards; ++i) shards_[i].watermark = start_;
}

NonceManager::~NonceManager() { OPENSSL_cleanse(secret_.data(), secret_.size()); }

std::string NonceManager::random_secret() {
    std::string s(32, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(s.size())) != 1) {
        // Cannot happen with a working OpenSSL; fall back to something unguessable enough to keep
        // running, and say so.
        SB_ERROR("auth", "RAND_bytes failed; nonce secret derived from the clock and address space");
        auto seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                    reinterpret_cast<std::uintptr_t>(&s);
        for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>(seed >> ((i % 8) * 8));
    }
    return s;
}

bool NonceManager::mac(std::uint64_t issued, std::uint64_t salt, unsigned char out[kMacBytes]) const {
    unsigned char msg[kTimeBytes + kSaltBytes];
    put_be64(msg, issued);
    put_be64(msg + kTimeBytes, salt);
    unsigned char full[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()), msg, sizeof msg, full,
             &len) == nullptr ||
        len < kMacBytes) {
        return false;  // callers fail closed: no nonce verifies without a MAC
    }
    std::copy(full, full + kMacBytes, out);
    return true;
}

NonceManager::Shard& NonceManager::shard_for(std::uint64_t salt) const {
    return shards_[static_cast<std::size_t>(KeyHash{}(Key{0, salt})) & shard_mask_];
}

std::string NonceManager::issue() {
    const std::int64_t now = clock_.unix_seconds();
    // At least one second after start-up, so that no nonce of ours falls under the start watermark.
    Key key{std::max(static_cast<std::uint64_t>(now), start_ + 1), 0};
    unsigned char salt_bytes[kSaltBytes];
    key.salt = RAND_bytes(salt_bytes, sizeof salt_bytes) == 1 ? get_be64(salt_bytes) : fallback_salt();

    unsigned char raw[kNonceBytes];
    put_be64(raw, key.issued);
    put_be64(raw + kTimeBytes, key.salt);
    if (!mac(key.issued, key.salt, raw + kTimeBytes + kSaltBytes)) {
        // Not expected from OpenSSL; the nonce below then never verifies (fail closed).
        SB_ERROR("auth", "HMAC-SHA256 failed while issuing a nonce");
        std::fill(raw + kTimeBytes + kSaltBytes, raw + kNonceBytes, 0);
    }

    return detail::base64url_encode(raw, sizeof raw);
}

bool NonceManager::decode(std::string_view nonce, Decoded& out) const {
    unsigned char raw[kNonceBytes];
    if (!detail::base64url_decode(nonce, raw, sizeof raw)) return false;
    out.issued = get_be64(raw);
    out.salt = get_be64(raw + kTimeBytes);
    unsigned char want[kMacBytes];
    if (!mac(out.issued, out.salt, want)) return false;
    // Constant time: a timing oracle on the tag would let a forger build it byte by byte.
    return CRYPTO_memcmp(want, raw + kTimeBytes + kSaltBytes, kMacBytes) == 0;
}

NonceVerdict NonceManager::verdict(std::string_view nonce, std::uint32_t nc, bool accept) const {
    Decoded d;
    if (!decode(nonce, d)) return NonceVerdict::invalid;
    const std::int64_t now = clock_.unix_seconds();
    const auto issued = static_cast<std::int64_t>(d.issued);
    if (now - issued >= config_.lifetime.count() || issued - now > kFutureSkewSeconds) {
        return NonceVerdict::stale;
    }
    Shard& sh = shard_for(d.salt);
    std::lock_guard lock(sh.mu);
    const Key key{d.issued, d.salt};
    auto it = sh.highest_nc.find(key);
    if (it == sh.highest_nc.end()) {
        // Authentic and live but not tracked: unused if issued after everything forgotten,
        // else its nc history is unknown and it must not be accepted again.
        if (d.issued <= sh.watermark) return NonceVerdict::stale;
        if (nc == 0) return NonceVerdict::replayed;
        if (!accept) return NonceVerdict::valid;
        // Room first: expired entries, then the oldest used ones.
        const auto lifetime = config_.lifetime.count();
        while (!sh.order.empty() &&
               (now - static_cast<std::int64_t>(sh.order.front().issued) >= lifetime ||
                sh.highest_nc.size() >= per_shard_cap_)) {
            sh.watermark = std::max(sh.watermark, sh.order.front().issued);
            sh.highest_nc.erase(sh.order.front());
            sh.order.pop_front();
        }
        if (d.issued <= sh.watermark) return NonceVerdict::stale;  // the eviction just covered it
        sh.highest_nc.emplace(key, nc);
        sh.order.push_back(key);
        return NonceVerdict::valid;
    }
    if (nc <= it->second) return NonceVerdict::replayed;
    if (accept) it->second = nc;
    return NonceVerdict::valid;
}

NonceVerdict NonceManager::check(std::string_view nonce, std::uint32_t nc) const {
    return verdict(nonce, nc, false);
}

NonceVerdict NonceManager::check_and_accept(std::string_view nonce, std::uint32_t nc) {
    return verdict(nonce, nc, true);
}

std::size_t NonceManager::tracked() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i <= shard_mask_; ++i) {
        std::lock_guard lock(shards_[i].mu);
        n += shards_[i].highest_nc.size();
    }
    return n;
}

}  // namespace sb::auth
