#pragma once
// SipHash (Aumasson & Bernstein) with a per-layer random key, for hash maps keyed by strings a
// peer chooses (Via branch, Call-ID, tags): with a fixed-seed hash a peer could send requests
// whose keys all collide and make every lookup walk one long chain.
#include <cstdint>
#include <cstring>
#include <string_view>

namespace sb::txn {

struct SipKey {
    std::uint64_t k0 = 0;
    std::uint64_t k1 = 0;
};

// SipHash-c-d; the maps use 1-3 (the variant hash tables commonly use), tests check 2-4 against
// the reference vector.
template <int C, int D>
std::uint64_t siphash(const SipKey& key, std::string_view data) {
    std::uint64_t v0 = 0x736f6d6570736575ull ^ key.k0;
    std::uint64_t v1 = 0x646f72616e646f6dull ^ key.k1;
    std::uint64_t v2 = 0x6c7967656e657261ull ^ key.k0;
    std::uint64_t v3 = 0x7465646279746573ull ^ key.k1;
    auto rotl = [](std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); };
    auto round = [&] {
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
    };
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t n = data.size();
    std::size_t whole = n & ~std::size_t{7};
    for (std::size_t i = 0; i < whole; i += 8) {
        std::uint64_t m = 0;
        for (int b = 0; b < 8; ++b) m |= static_cast<std::uint64_t>(p[i + b]) << (8 * b);  // little-endian load
        v3 ^= m;
        for (int r = 0; r < C; ++r) round();
        v0 ^= m;
    }
    std::uint64_t last = static_cast<std::uint64_t>(n) << 56;
    for (std::size_t i = whole; i < n; ++i) last |= static_cast<std::uint64_t>(p[i]) << (8 * (i - whole));
    v3 ^= last;
    for (int r = 0; r < C; ++r) round();
    v0 ^= last;
    v2 ^= 0xff;
    for (int r = 0; r < D; ++r) round();
    return v0 ^ v1 ^ v2 ^ v3;
}

inline std::uint64_t keyed_hash(const SipKey& key, std::string_view data) { return siphash<1, 3>(key, data); }

}  // namespace sb::txn
