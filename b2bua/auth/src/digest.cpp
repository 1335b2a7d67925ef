#include "sb/auth/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <initializer_list>
#include <memory>

#include "ascii.h"

namespace sb::auth {
namespace {

struct MdFree {
    void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdPtr = std::unique_ptr<EVP_MD, MdFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// Fetched once: an implicit fetch per EVP_DigestInit_ex costs a provider lookup each time.
const EVP_MD* digest_of(HashKind h) {
    static const std::array<MdPtr, 3> mds = {
        MdPtr(EVP_MD_fetch(nullptr, "MD5", nullptr)),
        MdPtr(EVP_MD_fetch(nullptr, "SHA2-256", nullptr)),
        MdPtr(EVP_MD_fetch(nullptr, "SHA2-512/256", nullptr)),
    };
    return mds[static_cast<std::size_t>(h)].get();
}

sb::Error crypto_error(HashKind h) {
    return sb::Error{static_cast<int>(DigestError::crypto),
                     h == HashKind::md5 ? "MD5 digest unavailable from OpenSSL"
                                        : "digest unavailable from OpenSSL"};
}

// H(p1:p2:...:pn), hashing the pieces in place instead of joining them first.
sb::Result<std::string> hash_joined(HashKind h, std::initializer_list<std::string_view> parts) {
    const EVP_MD* md = digest_of(h);
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (md == nullptr || !ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
        return sb::unexpected(crypto_error(h));
    }
    bool first = true;
    for (std::string_view p : parts) {
        if (!first && EVP_DigestUpdate(ctx.get(), ":", 1) != 1) return sb::unexpected(crypto_error(h));
        if (!p.empty() && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) != 1) {
            return sb::unexpected(crypto_error(h));
        }
        first = false;
    }
    unsigned char raw[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx.get(), raw, &len) != 1) return sb::unexpected(crypto_error(h));
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(std::size_t{len} * 2, '\0');
    for (unsigned int i = 0; i < len; ++i) {
        out[2 * i] = kHex[raw[i] >> 4];
        out[2 * i + 1] = kHex[raw[i] & 0x0f];
    }
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = detail::to_lower(c);
    return out;
}

sb::Unexpected<sb::Error> digest_fail(DigestError e, std::string message) {
    return sb::fail(std::move(message), static_cast<int>(e));
}

}  // namespace

sb::Result<std::string> hash_hex(HashKind h, std::string_view data) { return hash_joined(h, {data}); }

sb::Result<std::string> ha1(Algorithm a, std::string_view username, std::string_view realm,
                            std::string_view password) {
    return hash_joined(hash_kind(a), {username, realm, password});
}

sb::Result<std::string> user_hash(Algorithm a, std::string_view username, std::string_view realm) {
    return hash_joined(hash_kind(a), {username, realm});
}

sb::Result<std::string> expected_response(Algorithm algorithm, std::string_view ha1_hex,
                                          const Credentials& c, std::string_view method,
                                          const VerifyOptions& options) {
    const HashKind h = hash_kind(algorithm);
    if (ha1_hex.size() != hex_length(h) || !detail::all_hex(ha1_hex)) {
        return digest_fail(DigestError::bad_ha1, "stored HA1 is not a digest of the credentials' algorithm");
    }
    if (c.qop == Qop::auth_int) {
        return digest_fail(DigestError::unsupported, "qop=auth-int is not supported");
    }
    if (c.qop == Qop::none) {
        if (!options.allow_rfc2069) {
            return digest_fail(DigestError::unsupported, "credentials without qop (RFC 2069) are not accepted");
        }
        if (is_session(algorithm)) {
            return digest_fail(DigestError::unsupported, "a -sess algorithm requires qop");
        }
    }
    // RFC 7616 3.4.2: the hex of HA1 enters the next hash in lower case.
    std::string a1 = lower(ha1_hex);
    if (is_session(algorithm)) {
        auto s = hash_joined(h, {a1, c.nonce, c.cnonce});
        if (!s) return s;
        a1 = std::move(*s);
    }
    auto ha2 = hash_joined(h, {method, c.uri});  // RFC 7616 3.4.3, qop=auth
    if (!ha2) return ha2;
    if (c.qop == Qop::none) return hash_joined(h, {a1, c.nonce, *ha2});
    return hash_joined(h, {a1, c.nonce, c.nc_text, c.cnonce, "auth", *ha2});
}

sb::Status verify(const Credentials& c, std::string_view ha1_hex, std::string_view method,
                  const VerifyOptions& options) {
    auto want = expected_response(c.algorithm, ha1_hex, c, method, options);
    if (!want) return sb::unexpected(want.error());
    // Lengths are public (fixed per algorithm); only the content is compared in constant time.
    if (c.response.size() != want->size()) {
        return digest_fail(DigestError::mismatch, "wrong digest response");
    }
    std::string got = lower(c.response);
    if (CRYPTO_memcmp(got.data(), want->data(), got.size()) != 0) {
        return digest_fail(DigestError::mismatch, "wrong digest response");
    }
    return {};
}

}  // namespace sb::auth
