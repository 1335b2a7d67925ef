#include "sb/registrar/authenticator.h"

#include "sb/auth/challenge.h"
#include "sb/auth/credentials.h"
#include "sb/auth/digest.h"
#include "sb/common/log.h"
#include "sb/sip/text.h"
#include "sb/sip/uri.h"

namespace sb::registrar {

Authenticator::Authenticator(AuthConfig config, const CredentialCache& credentials,
                             auth::NonceManager& nonces, auth::BanList& bans)
    : config_(std::move(config)), credentials_(credentials), nonces_(nonces), bans_(bans) {}

void Authenticator::write_challenges(sip::MessageWriter& w, bool proxy, bool stale) {
    std::string nonce = nonces_.issue();
    for (const std::string& c : auth::make_challenges(config_.realm, nonce, {}, config_.algorithms, stale))
        w.header(proxy ? "Proxy-Authenticate" : "WWW-Authenticate", c);
}

AuthOutcome Authenticator::check(const sip::Message& req, std::string_view source_ip, bool proxy) {
    AuthOutcome out;
    // Several Authorization headers may be present (one per realm, RFC 3261 22.4): use ours.
    std::optional<auth::Credentials> creds;
    const char* parse_error = nullptr;
    for (const sip::HeaderField& f : req.headers()) {
        if (f.id != (proxy ? sip::HeaderId::proxy_authorization : sip::HeaderId::authorization)) continue;
        // Other schemes (Basic, or anything unknown) are not ours to judge: challenge instead.
        if (!sip::istarts_with(sip::trim(f.value), "digest")) continue;
        auto c = auth::parse_credentials(f.value);
        if (!c) {
            parse_error = "Malformed Authorization header";
            continue;
        }
        if (c->realm == config_.realm) {
            creds = std::move(*c);
            break;
        }
    }
    if (!creds) {
        if (parse_error) {
            out.kind = AuthOutcome::bad_request;
            out.reason = parse_error;
        }
        return out;  // challenge
    }
    bool offered = false;
    for (auth::Algorithm a : config_.algorithms) offered |= (a == creds->algorithm);
    if (!offered) return out;  // an algorithm we did not offer: challenge again

    // RFC 7616 3.4.6: the digest-uri must be the Request-URI.
    if (creds->uri != req.request_uri_text()) {
        auto a = sip::parse_uri(creds->uri);
        if (!a || !sip::uri_equivalent(*a, req.request_uri())) {
            out.kind = AuthOutcome::bad_request;
            out.reason = "Digest uri does not match the Request-URI";
            return out;
        }
    }

    // A forged or garbled nonce is answered before any user lookup. Staleness is judged only
    // after the digest verified (RFC 7616 3.3: stale=true means "right password, old nonce").
    auth::NonceVerdict pre = nonces_.check(creds->nonce, creds->nc);
    if (pre == auth::NonceVerdict::invalid) return out;

    auto cred = credentials_.find(creds->username);
    const std::string* ha1 = nullptr;
    if (cred && cred->enabled && cred->realm == config_.realm) {
        ha1 = auth::hash_kind(creds->algorithm) == auth::HashKind::md5 ? &cred->ha1_md5 : &cred->ha1_sha256;
        if (auth::hash_kind(creds->algorithm) == auth::HashKind::sha512_256) ha1 = nullptr;
    }
    // Unknown users and wrong passwords look the same from outside (no user enumeration).
    if (!ha1 || !auth::verify(*creds, *ha1, req.method_text())) {
        if (bans_.record_failure(source_ip))
            SB_WARN("auth", "banning {} after repeated authentication failures (last user '{}')", source_ip,
                    creds->username);
        out.kind = AuthOutcome::forbidden;
        out.reason = "Bad credentials";
        return out;
    }
    if (pre == auth::NonceVerdict::stale) {
        out.kind = AuthOutcome::stale;
        return out;
    }
    if (pre == auth::NonceVerdict::replayed) return out;  // challenge afresh
    // Verified: now consume the nonce count, atomically (a replay racing us loses).
    switch (nonces_.check_and_accept(creds->nonce, creds->nc)) {
        case auth::NonceVerdict::valid: break;
        case auth::NonceVerdict::stale: out.kind = AuthOutcome::stale; return out;
        default: return out;
    }
    bans_.record_success(source_ip);
    out.kind = AuthOutcome::authenticated;
    out.credential = std::move(cred);
    return out;
}

}  // namespace sb::registrar
