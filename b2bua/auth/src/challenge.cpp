#include "sb/auth/challenge.h"

#include <algorithm>

namespace sb::auth {
namespace {

// RFC 3261 25.1 quoted-string: escape DQUOTE and backslash; CTLs cannot be escaped (quoted-pair
// excludes CR and LF), so they are dropped.
void append_quoted(std::string& out, std::string_view v) {
    out.push_back('"');
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) continue;
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
}

}  // namespace

std::string make_challenge(std::string_view realm, std::string_view nonce, std::string_view opaque,
                           Algorithm algorithm, bool stale) {
    std::string out;
    out.reserve(64 + realm.size() + nonce.size() + opaque.size());
    out += "Digest realm=";
    append_quoted(out, realm);
    out += ", nonce=";
    append_quoted(out, nonce);
    if (!opaque.empty()) {
        out += ", opaque=";
        append_quoted(out, opaque);
    }
    out += ", algorithm=";
    out += to_string(algorithm);
    out += ", qop=\"auth\"";  // RFC 7616 3.3: qop is a quoted list in challenges
    if (stale) out += ", stale=true";
    return out;
}

std::vector<std::string> make_challenges(std::string_view realm, std::string_view nonce,
                                         std::string_view opaque,
                                         std::span<const Algorithm> algorithms, bool stale) {
    std::vector<Algorithm> order(algorithms.begin(), algorithms.end());
    std::stable_sort(order.begin(), order.end(),
                     [](Algorithm a, Algorithm b) { return preference_rank(a) < preference_rank(b); });
    order.erase(std::unique(order.begin(), order.end()), order.end());
    std::vector<std::string> out;
    out.reserve(order.size());
    for (Algorithm a : order) out.push_back(make_challenge(realm, nonce, opaque, a, stale));
    return out;
}

}  // namespace sb::auth
