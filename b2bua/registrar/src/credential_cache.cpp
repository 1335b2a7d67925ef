#include "sb/registrar/credential_cache.h"

#include <mutex>

namespace sb::registrar {

std::optional<Credential> CredentialCache::find(std::string_view number) const {
    std::shared_lock lock(mu_);
    auto it = by_number_.find(std::string(number));
    if (it == by_number_.end()) return std::nullopt;
    return it->second;
}

void CredentialCache::replace_all(std::vector<Credential> all) {
    std::unordered_map<std::string, Credential> fresh;
    for (Credential& c : all) fresh.emplace(c.number, std::move(c));
    std::unique_lock lock(mu_);
    by_number_.swap(fresh);
}

void CredentialCache::upsert(Credential c) {
    std::unique_lock lock(mu_);
    std::string key = c.number;
    by_number_[key] = std::move(c);
}

void CredentialCache::erase(std::string_view number) {
    std::unique_lock lock(mu_);
    by_number_.erase(std::string(number));
}

std::size_t CredentialCache::size() const {
    std::shared_lock lock(mu_);
    return by_number_.size();
}

}  // namespace sb::registrar
