#include "sb/registrar/registrar.h"

#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "sb/common/log.h"
#include "sb/sip/name_addr.h"
#include "sb/sip/text.h"
#include "sb/sip/uri.h"
#include "sb/sip/writer.h"

namespace sb::registrar {

namespace {

struct ContactRequest {
    sip::NameAddr na;
    sip::Uri uri;
    int expires = 0;
    std::optional<float> q;
    std::string instance_id;
    std::optional<int> reg_id;
};

std::string date_header(std::int64_t unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

// Binding identity: RFC 5626 instance-id + reg-id when present, else URI equivalence (10.3 step 6).
bool same_binding(const Binding& b, const ContactRequest& c) {
    if (!c.instance_id.empty() && c.reg_id)
        return b.instance_id == c.instance_id && b.reg_id == c.reg_id;
    auto bu = sip::parse_uri(b.contact);
    return bu && sip::uri_equivalent(*bu, c.uri);
}

std::optional<int> parse_delta(std::string_view v) {
    auto n = sip::parse_decimal(sip::trim(v), 10);
    if (!n) return std::nullopt;
    // RFC 3261 20.19: values above 2^32-1 are taken as 2^32-1; we cap far lower later anyway.
    return static_cast<int>(std::min<std::uint64_t>(*n, 0x7fffffff));
}

}  // namespace

std::string make_tag() {
    // 64 random bits (RFC 3261 19.3 asks for at least 32), drawn from a per-thread pool refilled
    // from OpenSSL's CSPRNG: one RAND_bytes call per 512 tags instead of one per response.
    thread_local unsigned char pool[4096];
    thread_local std::size_t used = sizeof pool;
    if (used + 8 > sizeof pool) {
        RAND_bytes(pool, sizeof pool);
        used = 0;
    }
    const unsigned char* raw = pool + used;
    used += 8;
    static constexpr char kHex[] = "0123456789abcdef";
    std::string tag;
    tag.reserve(16);
    for (int i = 0; i < 8; ++i) {
        tag.push_back(kHex[raw[i] >> 4]);
        tag.push_back(kHex[raw[i] & 15]);
    }
    return tag;
}

Registrar::Registrar(const Clock& clock, RegistrarConfig config, Authenticator& auth,
                     LocationService& locations, BindingSink& sink)
    : clock_(clock), config_(std::move(config)), auth_(auth), locations_(locations), sink_(sink) {}

int Registrar::reply(const sip::Message& req, const Flow& flow, std::string& out, int status,
                     std::string_view reason) {
    sip::MessageWriter w(out);
    std::string ip = flow.remote.ip();
    sip::start_response(w, req, status, reason, make_tag(), sip::Source{ip, flow.remote.port});
    w.header("Server", config_.server_header);
    w.finish();
    return status;
}

int Registrar::handle(const sip::Message& req, const Flow& flow, std::string& out) {
    std::string ip = flow.remote.ip();
    sip::Source src{ip, flow.remote.port};

    // The AOR is the To URI (10.3 step 5); it must be a SIP URI naming an extension.
    auto to = sip::parse_name_addr(req.to());
    if (!to) return reply(req, flow, out, 400, to.error().reason);
    auto to_uri = sip::parse_uri(to->uri);
    if (!to_uri || !to_uri->is_sip()) return reply(req, flow, out, 400, "To is not a SIP address-of-record");
    if (to_uri->user.empty()) return reply(req, flow, out, 404, "Not Found (no user in To)");

    // Contacts are checked before authentication: a malformed REGISTER gets 400 at once.
    std::int64_t now = clock_.unix_seconds();
    std::optional<int> header_expires;
    if (const sip::HeaderField* e = req.find(sip::HeaderId::expires)) {
        header_expires = parse_delta(e->value);
        if (!header_expires) return reply(req, flow, out, 400, "Bad Expires");
    }
    std::vector<ContactRequest> contacts;
    bool star = false;
    std::size_t contact_values = 0;
    const char* contact_error = nullptr;
    req.for_each_value(sip::HeaderId::contact, [&](std::string_view v) {
        ++contact_values;
        if (v == "*") {
            star = true;
            return true;
        }
        auto na = sip::parse_name_addr(v);
        if (!na) {
            contact_error = na.error().reason;
            return false;
        }
        auto uri = sip::parse_uri(na->uri);
        if (!uri) {
            contact_error = "Bad Contact URI";
            return false;
        }
        ContactRequest c{*na, *uri};
        if (auto e = na->param("expires")) {
            auto d = parse_delta(*e);
            if (!d) {
                contact_error = "Bad Contact expires";
                return false;
            }
            c.expires = *d;
        } else {
            c.expires = header_expires.value_or(config_.default_expires);
        }
        if (auto q = na->param("q")) {
            char* end = nullptr;
            std::string qs(*q);
            float qv = std::strtof(qs.c_str(), &end);
            if (qs.empty() || *end != '\0' || !(qv >= 0.0f && qv <= 1.0f)) {
                contact_error = "Bad Contact q-value";
                return false;
            }
            c.q = qv;
        }
        if (auto inst = na->param("+sip.instance")) {
            std::string s;
            if (sip::unquote(*inst, s)) c.instance_id = s.substr(0, 256);
        }
        if (auto rid = na->param("reg-id")) {
            auto d = parse_delta(*rid);
            if (d) c.reg_id = *d;
        }
        contacts.push_back(std::move(c));
        return contacts.size() <= config_.max_contacts_per_aor;
    });
    if (contact_error) return reply(req, flow, out, 400, contact_error);
    if (star && (contact_values != 1 || !header_expires || *header_expires != 0))
        return reply(req, flow, out, 400, "Contact * needs Expires: 0 and no other Contact");
    if (contacts.size() > config_.max_contacts_per_aor)
        return reply(req, flow, out, 403, "Too many contacts");

    // Authenticate: the extension may register only its own AOR.
    AuthOutcome a = auth_.check(req, ip, /*proxy=*/false);
    switch (a.kind) {
        case AuthOutcome::authenticated: break;
        case AuthOutcome::bad_request: return reply(req, flow, out, 400, a.reason);
        case AuthOutcome::forbidden: return reply(req, flow, out, 403, "Forbidden (bad credentials)");
        case AuthOutcome::challenge:
        case AuthOutcome::stale: {
            sip::MessageWriter w(out);
            sip::start_response(w, req, 401, "Unauthorized", make_tag(), src);
            auth_.write_challenges(w, false, a.kind == AuthOutcome::stale);
            w.header("Server", config_.server_header);
            w.finish();
            return 401;
        }
    }
    if (sip::unescape(to_uri->user) != a.credential->number)
        return reply(req, flow, out, 403, "Forbidden (may register only its own extension)");

    // 423 before touching anything (10.3 step 7).
    for (const ContactRequest& c : contacts) {
        if (c.expires > 0 && c.expires < config_.min_expires) {
            sip::MessageWriter w(out);
            sip::start_response(w, req, 423, "Interval Too Brief", make_tag(), src);
            w.header("Min-Expires", std::to_string(config_.min_expires));
            w.header("Server", config_.server_header);
            w.finish();
            return 423;
        }
    }

    std::string aor = aor_for(a.credential->number);
    std::vector<BindingChange> changes;
    int status = 200;
    const char* reason = "OK";
    std::string user_agent(req.value(sip::HeaderId::user_agent).substr(0, 256));
    std::vector<std::string> path;
    req.for_each_value(sip::HeaderId::path, [&](std::string_view v) {
        path.emplace_back(v);
        return path.size() < 8;
    });
    std::vector<Binding> current;

    locations_.update(aor, now, [&](std::vector<Binding>& bindings) {
        if (star) {
            // 10.3 step 6: remove all, unless a binding of this Call-ID has a newer CSeq.
            for (const Binding& b : bindings) {
                if (b.call_id == req.call_id() && b.cseq >= req.cseq()) {
                    status = 500;
                    reason = "Out-of-order REGISTER";
                    return;
                }
            }
            bindings.clear();
            changes.push_back({BindingChange::remove_all, Binding{aor}});
            return;
        }
        // Check ordering for every contact before changing any (the request is all or nothing).
        for (const ContactRequest& c : contacts) {
            for (const Binding& b : bindings) {
                if (same_binding(b, c) && b.call_id == req.call_id() && b.cseq >= req.cseq()) {
                    status = 500;
                    reason = "Out-of-order REGISTER";
                    return;
                }
            }
        }
        std::vector<Binding> next = bindings;
        for (const ContactRequest& c : contacts) {
            auto it = std::find_if(next.begin(), next.end(), [&](const Binding& b) { return same_binding(b, c); });
            if (c.expires == 0) {
                if (it != next.end()) {
                    changes.push_back({BindingChange::remove, *it});
                    next.erase(it);
                }
                continue;
            }
            Binding b;
            b.aor = aor;
            b.contact = std::string(c.na.uri);
            b.expires_at = now + std::min(c.expires, config_.max_expires);
            b.q = c.q;
            b.instance_id = c.instance_id;
            b.reg_id = c.reg_id;
            b.path = path;
            b.call_id = std::string(req.call_id());
            b.cseq = req.cseq();
            b.user_agent = user_agent;
            b.received = flow;
            if (it != next.end()) {
                if (it->contact != b.contact) changes.push_back({BindingChange::remove, *it});
                bool same = it->contact == b.contact && it->q == b.q && it->instance_id == b.instance_id &&
                            it->reg_id == b.reg_id && it->path == b.path && it->user_agent == b.user_agent &&
                            it->received == b.received;
                std::int64_t lifetime = b.expires_at - now;
                if (same && b.expires_at - it->persisted_expires_at <= lifetime / 4) {
                    b.persisted_expires_at = it->persisted_expires_at;  // a plain refresh: not written
                    *it = std::move(b);
                    continue;
                }
                b.persisted_expires_at = b.expires_at;
                *it = b;
            } else {
                b.persisted_expires_at = b.expires_at;
                next.push_back(b);
            }
            changes.push_back({BindingChange::upsert, std::move(b)});
        }
        if (next.size() > config_.max_contacts_per_aor) {
            status = 403;
            reason = "Too many registered contacts";
            changes.clear();
            return;
        }
        bindings = std::move(next);
        current = bindings;
    });
    if (status != 200) return reply(req, flow, out, status, reason);
    if (!changes.empty()) sink_.persist(std::move(changes));

    // 10.3 step 8: 200 with every current binding and its remaining time.
    sip::MessageWriter w(out);
    sip::start_response(w, req, 200, "OK", make_tag(), src);
    for (const Binding& b : current) {
        std::string v = "<" + b.contact + ">;expires=" + std::to_string(std::max<std::int64_t>(0, b.expires_at - now));
        if (b.q) {
            char q[16];
            std::snprintf(q, sizeof q, "%.3g", static_cast<double>(*b.q));
            v += ";q=";
            v += q;
        }
        if (!b.instance_id.empty()) v += ";+sip.instance=\"" + b.instance_id + "\"";
        if (b.reg_id) v += ";reg-id=" + std::to_string(*b.reg_id);
        w.header("Contact", v);
    }
    for (const std::string& p : path) w.header("Path", p);  // RFC 3327 5.3: echo the Path
    w.header("Date", date_header(now));
    w.header("Server", config_.server_header);
    w.finish();
    return 200;
}

}  // namespace sb::registrar
