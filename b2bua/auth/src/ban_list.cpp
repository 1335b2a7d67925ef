#include "sb/auth/ban_list.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <list>
#include <mutex>
#include <unordered_map>

namespace sb::auth {
namespace {

struct Entry {
    std::string key;
    std::vector<sb::TimePoint> failures;  // inside the window, oldest first, < max_failures
    sb::TimePoint banned_until{};
    bool banned = false;
};

using EntryList = std::list<Entry>;

std::string_view clamp_key(std::string_view k) { return k.substr(0, BanList::kMaxKeyBytes); }

}  // namespace

// Two lists give O(1) eviction in the order the contract asks for: `watched` is least recently
// failed first, `banned` is in ban order, which is expiry order because every ban lasts ban_time
// on a monotonic clock. Nodes move between lists by splice, so the index's string_views (into
// Entry::key) stay valid.
struct BanList::Shard {
    mutable std::mutex mu;
    EntryList watched;
    EntryList banned;
    std::unordered_map<std::string_view, EntryList::iterator> index;

    void erase(EntryList& list, EntryList::iterator it) {
        index.erase(std::string_view(it->key));
        list.erase(it);
    }

    // Ended bans leave the table; they sit at the front of `banned`.
    void expire(sb::TimePoint now) {
        while (!banned.empty() && banned.front().banned_until <= now) erase(banned, banned.begin());
    }

    Entry* find(std::string_view key) {
        auto it = index.find(key);
        return it == index.end() ? nullptr : &*it->second;
    }

    // Finds or inserts; when the stripe is full, the oldest watched entry goes first, and only
    // if every entry is banned, the ban that would end soonest.
    EntryList::iterator find_or_insert(std::string_view key, std::size_t cap) {
        if (auto it = index.find(key); it != index.end()) return it->second;
        while (index.size() >= cap) {
            if (!watched.empty()) {
                erase(watched, watched.begin());
            } else if (!banned.empty()) {
                erase(banned, banned.begin());
            } else {
                break;
            }
        }
        watched.push_back(Entry{std::string(key), {}, {}, false});
        auto it = std::prev(watched.end());
        index.emplace(std::string_view(it->key), it);
        return it;
    }
};

BanList::BanList(const sb::Clock& clock, BanConfig config) : clock_(clock), config_(config) {
    if (config_.max_failures == 0) config_.max_failures = 1;
    if (config_.max_tracked_addresses == 0) config_.max_tracked_addresses = 1;
    std::size_t shards = std::bit_ceil(config_.shards == 0 ? std::size_t{1} : config_.shards);
    while (shards > config_.max_tracked_addresses) shards >>= 1;
    shard_mask_ = shards - 1;
    per_shard_cap_ = config_.max_tracked_addresses / shards;
    shards_ = std::make_unique<Shard[]>(shards);
}

BanList::~BanList() = default;

BanList::Shard& BanList::shard_for(std::string_view key) const {
    return shards_[std::hash<std::string_view>{}(key) & shard_mask_];
}

bool BanList::ban_locked(Shard& sh, std::string_view key, sb::TimePoint now) {
    auto it = sh.find_or_insert(key, per_shard_cap_);
    if (it->banned) return false;
    it->banned = true;
    it->banned_until = now + std::chrono::duration_cast<sb::Duration>(config_.ban_time);
    it->failures.clear();
    it->failures.shrink_to_fit();
    sh.banned.splice(sh.banned.end(), sh.watched, it);
    return true;
}

bool BanList::record_failure(std::string_view address) {
    const std::string_view key = clamp_key(address);
    const sb::TimePoint now = clock_.now();
    Shard& sh = shard_for(key);
    std::lock_guard lock(sh.mu);
    sh.expire(now);
    auto it = sh.find_or_insert(key, per_shard_cap_);
    if (it->banned) return false;
    // Sliding window: only failures younger than `window` count.
    const auto window = std::chrono::duration_cast<sb::Duration>(config_.window);
    auto& f = it->failures;
    f.erase(f.begin(), std::find_if(f.begin(), f.end(), [&](sb::TimePoint t) { return now - t < window; }));
    if (f.size() + 1 >= config_.max_failures) return ban_locked(sh, key, now);
    f.push_back(now);
    sh.watched.splice(sh.watched.end(), sh.watched, it);  // most recently failed last
    return false;
}

void BanList::record_success(std::string_view address) {
    const std::string_view key = clamp_key(address);
    Shard& sh = shard_for(key);
    std::lock_guard lock(sh.mu);
    sh.expire(clock_.now());
    auto it = sh.index.find(key);
    if (it == sh.index.end() || it->second->banned) return;
    sh.erase(sh.watched, it->second);
}

bool BanList::ban(std::string_view address) {
    const std::string_view key = clamp_key(address);
    const sb::TimePoint now = clock_.now();
    Shard& sh = shard_for(key);
    std::lock_guard lock(sh.mu);
    sh.expire(now);
    return ban_locked(sh, key, now);
}

bool BanList::is_banned(std::string_view address) const {
    const std::string_view key = clamp_key(address);
    Shard& sh = shard_for(key);
    std::lock_guard lock(sh.mu);
    sh.expire(clock_.now());
    const Entry* e = sh.find(key);
    return e != nullptr && e->banned;
}

bool BanList::unban(std::string_view address) {
    const std::string_view key = clamp_key(address);
    Shard& sh = shard_for(key);
    std::lock_guard lock(sh.mu);
    sh.expire(clock_.now());
    auto it = sh.index.find(key);
    if (it == sh.index.end() || !it->second->banned) return false;
    sh.erase(sh.banned, it->second);
    return true;
}

std::vector<BannedAddress> BanList::banned_list() const {
    std::vector<BannedAddress> out;
    const sb::TimePoint now = clock_.now();
    for (std::size_t i = 0; i <= shard_mask_; ++i) {
        Shard& sh = shards_[i];
        std::lock_guard lock(sh.mu);
        sh.expire(now);
        for (const Entry& e : sh.banned) {
            auto left = std::chrono::ceil<std::chrono::seconds>(e.banned_until - now);
            out.push_back(BannedAddress{e.key, left});
        }
    }
    return out;
}

std::size_t BanList::tracked() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i <= shard_mask_; ++i) {
        std::lock_guard lock(shards_[i].mu);
        n += shards_[i].index.size();
    }
    return n;
}

}  // namespace sb::auth
