#include "sb/registrar/location_service.h"

#include <algorithm>

namespace sb::registrar {

namespace {
void drop_expired(std::vector<Binding>& v, std::int64_t now) {
    std::erase_if(v, [now](const Binding& b) { return b.expires_at <= now; });
}
}  // namespace

LocationService::Stripe& LocationService::stripe(std::string_view aor) const {
    return stripes_[std::hash<std::string_view>{}(aor) % kStripes];
}

std::vector<Binding> LocationService::lookup(std::string_view aor, std::int64_t now) const {
    Stripe& s = stripe(aor);
    std::vector<Binding> out;
    {
        std::lock_guard lock(s.mu);
        auto it = s.by_aor.find(std::string(aor));
        if (it == s.by_aor.end()) return out;
        for (const Binding& b : it->second)
            if (b.expires_at > now) out.push_back(b);
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const Binding& a, const Binding& b) { return a.q.value_or(1.0f) > b.q.value_or(1.0f); });
    return out;
}

void LocationService::update(std::string_view aor, std::int64_t now,
                             const std::function<void(std::vector<Binding>&)>& fn) {
    Stripe& s = stripe(aor);
    std::lock_guard lock(s.mu);
    auto [it, inserted] = s.by_aor.try_emplace(std::string(aor));
    drop_expired(it->second, now);
    fn(it->second);
    if (it->second.empty()) s.by_aor.erase(it);
}

void LocationService::load(std::vector<Binding> bindings) {
    for (Stripe& s : stripes_) {
        std::lock_guard lock(s.mu);
        s.by_aor.clear();
    }
    for (Binding& b : bindings) {
        Stripe& s = stripe(b.aor);
        std::lock_guard lock(s.mu);
        s.by_aor[b.aor].push_back(std::move(b));
    }
}

std::size_t LocationService::purge_expired(std::int64_t now) {
    std::size_t n = 0;
    for (Stripe& s : stripes_) {
        std::lock_guard lock(s.mu);
        for (auto it = s.by_aor.begin(); it != s.by_aor.end();) {
            std::size_t before = it->second.size();
            drop_expired(it->second, now);
            n += before - it->second.size();
            it = it->second.empty() ? s.by_aor.erase(it) : std::next(it);
        }
    }
    return n;
}

std::size_t LocationService::binding_count() const {
    std::size_t n = 0;
    for (Stripe& s : stripes_) {
        std::lock_guard lock(s.mu);
        for (auto& [aor, v] : s.by_aor) n += v.size();
    }
    return n;
}

std::vector<Binding> LocationService::all(std::int64_t now) const {
    std::vector<Binding> out;
    for (Stripe& s : stripes_) {
        std::lock_guard lock(s.mu);
        for (auto& [aor, v] : s.by_aor)
            for (const Binding& b : v)
                if (b.expires_at > now) out.push_back(b);
    }
    return out;
}

std::size_t LocationService::aor_count() const {
    std::size_t n = 0;
    for (Stripe& s : stripes_) {
        std::lock_guard lock(s.mu);
        n += s.by_aor.size();
    }
    return n;
}

}  // namespace sb::registrar
