#pragma once
// Digest authentication of SIP requests against extension credentials (RFC 3261 22, RFC 7616,
// RFC 8760): decides whether a request is authenticated, must be challenged, or is refused, and
// feeds the ban list. Shared by the registrar (401/WWW-Authenticate) and, later, the B2BUA
// (407/Proxy-Authenticate). Thread-safe: its collaborators are.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sb/auth/algorithm.h"
#include "sb/auth/ban_list.h"
#include "sb/auth/nonce_manager.h"
#include "sb/registrar/credential_cache.h"
#include "sb/sip/message.h"
#include "sb/sip/writer.h"

namespace sb::registrar {

struct AuthConfig {
    std::string realm = "switchboard";
    // Offered in this order, one challenge each (RFC 8760 2.4: preferred first).
    std::vector<auth::Algorithm> algorithms{auth::Algorithm::sha256, auth::Algorithm::md5};
};

struct AuthOutcome {
    enum Kind {
        authenticated,  // credential holds the extension
        challenge,      // no usable credentials: answer 401/407 with fresh challenges
        stale,          // authentic but expired nonce: challenge with stale=true, not a failure
        forbidden,      // wrong password (or unknown user): 403, counted as a failure
        bad_request,    // malformed Authorization: 400 with reason
    } kind = challenge;
    std::optional<Credential> credential;
    const char* reason = "";
};

class Authenticator {
public:
    Authenticator(AuthConfig config, const CredentialCache& credentials, auth::NonceManager& nonces,
                  auth::BanList& bans);

    // `proxy` selects Proxy-Authorization (B2BUA) instead of Authorization (registrar).
    AuthOutcome check(const sip::Message& request, std::string_view source_ip, bool proxy);
    // Adds one WWW-Authenticate (or Proxy-Authenticate) header per configured algorithm.
    void write_challenges(sip::MessageWriter& w, bool proxy, bool stale);
    const AuthConfig& config() const { return config_; }

private:
    AuthConfig config_;
    const CredentialCache& credentials_;
    auth::NonceManager& nonces_;
    auth::BanList& bans_;
};

}  // namespace sb::registrar
