#include "sb/sip/header_id.h"

#include <algorithm>
#include <array>

#include "sb/sip/text.h"

namespace sb::sip {

namespace {

struct Entry {
    std::string_view name;  // canonical spelling
    HeaderId id;
};

constexpr Entry kEntries[] = {
    {"Accept", HeaderId::accept},
    {"Accept-Encoding", HeaderId::accept_encoding},
    {"Accept-Language", HeaderId::accept_language},
    {"Alert-Info", HeaderId::alert_info},
    {"Allow", HeaderId::allow},
    {"Allow-Events", HeaderId::allow_events},
    {"Authentication-Info", HeaderId::authentication_info},
    {"Authorization", HeaderId::authorization},
    {"Call-ID", HeaderId::call_id},
    {"Call-Info", HeaderId::call_info},
    {"Contact", HeaderId::contact},
    {"Content-Disposition", HeaderId::content_disposition},
    {"Content-Encoding", HeaderId::content_encoding},
    {"Content-Language", HeaderId::content_language},
    {"Content-Length", HeaderId::content_length},
    {"Content-Type", HeaderId::content_type},
    {"CSeq", HeaderId::cseq},
    {"Date", HeaderId::date},
    {"Error-Info", HeaderId::error_info},
    {"Event", HeaderId::event},
    {"Expires", HeaderId::expires},
    {"From", HeaderId::from},
    {"In-Reply-To", HeaderId::in_reply_to},
    {"Max-Forwards", HeaderId::max_forwards},
    {"MIME-Version", HeaderId::mime_version},
    {"Min-Expires", HeaderId::min_expires},
    {"Min-SE", HeaderId::min_se},
    {"Organization", HeaderId::organization},
    {"P-Asserted-Identity", HeaderId::p_asserted_identity},
    {"Path", HeaderId::path},
    {"Priority", HeaderId::priority},
    {"Privacy", HeaderId::privacy},
    {"Proxy-Authenticate", HeaderId::proxy_authenticate},
    {"Proxy-Authorization", HeaderId::proxy_authorization},
    {"Proxy-Require", HeaderId::proxy_require},
    {"RAck", HeaderId::rack},
    {"Reason", HeaderId::reason},
    {"Record-Route", HeaderId::record_route},
    {"Refer-To", HeaderId::refer_to},
    {"Referred-By", HeaderId::referred_by},
    {"Reply-To", HeaderId::reply_to},
    {"Require", HeaderId::require},
    {"Retry-After", HeaderId::retry_after},
    {"Route", HeaderId::route},
    {"RSeq", HeaderId::rseq},
    {"Server", HeaderId::server},
    {"Session-Expires", HeaderId::session_expires},
    {"Subject", HeaderId::subject},
    {"Subscription-State", HeaderId::subscription_state},
    {"Supported", HeaderId::supported},
    {"Timestamp", HeaderId::timestamp},
    {"To", HeaderId::to},
    {"Unsupported", HeaderId::unsupported},
    {"User-Agent", HeaderId::user_agent},
    {"Via", HeaderId::via},
    {"Warning", HeaderId::warning},
    {"WWW-Authenticate", HeaderId::www_authenticate},
};

constexpr std::size_t kMaxLen = 24;

// Entries bucketed by (length, lower-cased first letter): a lookup compares against one name,
// rarely two (Call-ID/Contact).
struct Buckets {
    std::array<std::array<std::array<const Entry*, 3>, 26>, kMaxLen + 1> slots{};
    Buckets() {
        for (const Entry& e : kEntries) {
            auto& slot = slots[e.name.size()][ascii_lower(e.name[0]) - 'a'];
            for (auto& p : slot) {
                if (!p) {
                    p = &e;
                    break;
                }
            }
        }
    }
};
const Buckets& buckets() {
    static const Buckets table;
    return table;
}

// Case-insensitive equality against a canonical name whose letters and punctuation are known.
bool same_name(std::string_view name, std::string_view canonical) {
    for (std::size_t i = 0; i < name.size(); ++i)
        if ((name[i] | 0x20) != (canonical[i] | 0x20)) return false;
    return true;
}

std::array<std::string_view, static_cast<std::size_t>(HeaderId::count_)> make_names() {
    std::array<std::string_view, static_cast<std::size_t>(HeaderId::count_)> names{};
    for (const Entry& e : kEntries) names[static_cast<std::size_t>(e.id)] = e.name;
    return names;
}

}  // namespace

HeaderId header_id(std::string_view name) {
    if (name.size() == 1) {
        switch (ascii_lower(name[0])) {  // RFC 3261 7.3.3 and later RFCs' compact forms
            case 'i': return HeaderId::call_id;
            case 'm': return HeaderId::contact;
            case 'e': return HeaderId::content_encoding;
            case 'l': return HeaderId::content_length;
            case 'c': return HeaderId::content_type;
            case 'f': return HeaderId::from;
            case 's': return HeaderId::subject;
            case 'k': return HeaderId::supported;
            case 't': return HeaderId::to;
            case 'v': return HeaderId::via;
            case 'o': return HeaderId::event;
            case 'u': return HeaderId::allow_events;
            case 'r': return HeaderId::refer_to;
            case 'b': return HeaderId::referred_by;
            case 'x': return HeaderId::session_expires;
            default: return HeaderId::other;
        }
    }
    if (name.size() > kMaxLen || name.empty()) return HeaderId::other;
    char first = ascii_lower(name[0]);
    if (first < 'a' || first > 'z') return HeaderId::other;
    // Known names hold only letters and '-': comparing with bit 0x20 set folds case, and for a
    // token (what the parser passes) nothing else can collide with a letter or '-'.
    for (const Entry* e : buckets().slots[name.size()][first - 'a']) {
        if (!e) break;
        if (same_name(name, e->name)) return e->id;
    }
    return HeaderId::other;
}

std::string_view header_name(HeaderId id) {
    static const auto names = make_names();
    return names[static_cast<std::size_t>(id)];
}

}  // namespace sb::sip
