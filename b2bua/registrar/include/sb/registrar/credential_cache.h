#pragma once
// Extension credentials in memory (HA1 digests only, never passwords), so authentication never
// waits for the database. Loaded at start, refreshed per extension on PostgreSQL NOTIFY. Also
// what the B2BUA knows of a calling extension without a query (its tone plan).
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sb::registrar {

struct Credential {
    std::string number;
    std::string display_name;
    std::string realm;
    std::string ha1_md5;
    std::string ha1_sha256;
    bool enabled = true;
    // The country code of the extension's call progress tones ("GB"), for the calls it makes;
    // nullopt: the system's plan ([media] tones).
    std::optional<std::string> tones;
    // Where the media of its calls goes: "direct" (RTP straight between the phones, when the
    // other party allows it too and the call needs nothing of the PBX's media) or "anchor"
    // (through the PBX's relay); nullopt: the system's [media] mode.
    std::optional<std::string> media;
};

class CredentialCache {
public:
    std::optional<Credential> find(std::string_view number) const;
    void replace_all(std::vector<Credential> all);
    void upsert(Credential c);
    void erase(std::string_view number);
    std::size_t size() const;

private:
    mutable std::shared_mutex mu_;
    std::unordered_map<std::string, Credential> by_number_;
};

}  // namespace sb::registrar
