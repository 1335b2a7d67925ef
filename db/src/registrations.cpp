#include "sb/db/registrations.h"

#include "array_literal.h"
#include "db_error.h"

#include <pqxx/except>
#include <pqxx/result>
#include <pqxx/transaction>

#include <charconv>
#include <map>
#include <string_view>
#include <utility>

namespace sb::db {
namespace {

using detail::ArrayLiteral;

std::string text_array_literal(const std::vector<std::string>& v) {
    ArrayLiteral a;
    for (const auto& s : v) a.add(s);
    return a.str();
}

// Parses PostgreSQL's output form of a one-dimensional text[] ({a,"b c",NULL}). Ours rather than
// libpqxx 6's array_parser, which splits unquoted elements at ';' (and SIP URIs are full of them).
std::vector<std::string> parse_text_array(const pqxx::field& f) {
    std::vector<std::string> out;
    if (f.is_null()) return out;
    std::string_view s(f.c_str(), f.size());
    if (!s.empty() && s.front() == '[') {  // "[2:3]={...}": explicit bounds, only the values matter
        auto eq = s.find('=');
        s.remove_prefix(eq == std::string_view::npos ? s.size() : eq + 1);
    }
    if (s.size() < 2 || s.front() != '{' || s.back() != '}')
        throw pqxx::conversion_error("bad text[] value");
    s = s.substr(1, s.size() - 2);
    std::size_t i = 0;
    while (i < s.size()) {
        std::string elem;
        if (s[i] == '"') {
            for (++i; i < s.size() && s[i] != '"'; ++i) {
                if (s[i] == '\\' && i + 1 < s.size()) ++i;
                elem += s[i];
            }
            ++i;  // closing quote
            out.push_back(std::move(elem));
        } else {
            std::size_t end = s.find(',', i);
            if (end == std::string_view::npos) end = s.size();
            std::string_view raw = s.substr(i, end - i);
            if (raw != "NULL") out.emplace_back(raw);  // a NULL element carries no hop; skip it
            i = end;
        }
        if (i < s.size() && s[i] == ',') ++i;
    }
    return out;
}

std::string text_or_empty(const pqxx::field& f) {
    return f.is_null() ? std::string() : f.as<std::string>();
}

}  // namespace

Status upsert_bindings(pqxx::connection& conn, const std::vector<Binding>& bindings) {
    if (bindings.empty()) return {};
    // ON CONFLICT cannot touch one row twice in a statement: keep the last of each key.
    std::map<std::pair<std::string, std::string>, const Binding*> latest;
    for (const auto& b : bindings) latest[{b.aor, b.contact}] = &b;

    ArrayLiteral aor, contact, expires, q, instance, reg_id, path, call_id, cseq, ua, received,
        transport;
    for (const auto& [key, b] : latest) {
        aor.add(b->aor);
        contact.add(b->contact);
        expires.add_number(b->expires_at);
        b->q ? q.add_float(*b->q) : q.add_null();
        instance.add_text_or_null(b->instance_id);
        b->reg_id ? reg_id.add_number(*b->reg_id) : reg_id.add_null();
        b->path.empty() ? path.add_null() : path.add(text_array_literal(b->path));
        call_id.add(b->call_id);
        cseq.add_number(b->cseq);
        ua.add_text_or_null(b->user_agent);
        received.add_text_or_null(b->received);
        transport.add_text_or_null(b->transport);
    }
    return detail::guarded("save registrations", [&]() -> Status {
        pqxx::work tx(conn);
        // One round trip for the whole batch: the columns travel as arrays and unnest() turns
        // them back into rows. The WHERE keeps an older refresh of the same registration (same
        // Call-ID, lower CSeq) from overwriting a newer one (RFC 3261 10.3 step 7).
        tx.exec_params(
            "insert into registrations as r (aor, contact, expires_at, q, instance_id, reg_id, "
            "path, "
            "  call_id, cseq, user_agent, received, transport, updated_at) "
            "select aor, contact, to_timestamp(expires), q, instance_id, reg_id, path::text[], "
            "  call_id, cseq, user_agent, received, transport, now() "
            "from unnest($1::text[], $2::text[], $3::bigint[], $4::real[], $5::text[], $6::int[], "
            "  $7::text[], $8::text[], $9::bigint[], $10::text[], $11::text[], $12::text[]) "
            "  as b(aor, contact, expires, q, instance_id, reg_id, path, call_id, cseq, "
            "user_agent, "
            "  received, transport) "
            "on conflict (aor, contact) do update set "
            "  expires_at = excluded.expires_at, q = excluded.q, instance_id = "
            "excluded.instance_id, "
            "  reg_id = excluded.reg_id, path = excluded.path, call_id = excluded.call_id, "
            "  cseq = excluded.cseq, user_agent = excluded.user_agent, received = "
            "excluded.received, "
            "  transport = excluded.transport, updated_at = now() "
            "where r.call_id <> excluded.call_id or r.cseq <= excluded.cseq",
            aor.str(), contact.str(), expires.str(), q.str(), instance.str(), reg_id.str(),
            path.str(), call_id.str(), cseq.str(), ua.str(), received.str(), transport.str());
        tx.commit();
        return {};
    });
}

Result<std::size_t> delete_bindings(pqxx::connection& conn, const std::string& aor,
                                    const std::vector<std::string>& contacts) {
    if (contacts.empty()) return std::size_t{0};
    return detail::guarded("delete registrations of " + aor, [&]() -> Result<std::size_t> {
        pqxx::work tx(conn);
        auto r =
            tx.exec_params("delete from registrations where aor = $1 and contact = any($2::text[])",
                           aor, text_array_literal(contacts));
        tx.commit();
        return static_cast<std::size_t>(r.affected_rows());
    });
}

Result<std::size_t> delete_all_bindings(pqxx::connection& conn, const std::string& aor) {
    return detail::guarded("delete registrations of " + aor, [&]() -> Result<std::size_t> {
        pqxx::work tx(conn);
        auto r = tx.exec_params("delete from registrations where aor = $1", aor);
        tx.commit();
        return static_cast<std::size_t>(r.affected_rows());
    });
}

Result<std::vector<Binding>> load_bindings(pqxx::connection& conn, std::int64_t now_unix) {
    return detail::guarded("load registrations", [&]() -> Result<std::vector<Binding>> {
        pqxx::read_transaction tx(conn);
        auto rows = tx.exec_params(
            "select aor, contact, extract(epoch from expires_at)::bigint, q, instance_id, reg_id, "
            "path, "
            "  call_id, cseq, user_agent, received, transport "
            "from registrations where expires_at > to_timestamp($1) "
            "order by aor, q desc nulls last, contact",
            now_unix);
        std::vector<Binding> out;
        out.reserve(rows.size());
        for (const auto& r : rows) {
            Binding b;
            b.aor = r[0].as<std::string>();
            b.contact = r[1].as<std::string>();
            b.expires_at = r[2].as<std::int64_t>();
            if (!r[3].is_null()) b.q = r[3].as<float>();
            b.instance_id = text_or_empty(r[4]);
            if (!r[5].is_null()) b.reg_id = r[5].as<int>();
            b.path = parse_text_array(r[6]);
            b.call_id = r[7].as<std::string>();
            b.cseq = r[8].as<std::int64_t>();
            b.user_agent = text_or_empty(r[9]);
            b.received = text_or_empty(r[10]);
            b.transport = text_or_empty(r[11]);
            out.push_back(std::move(b));
        }
        return out;
    });
}

Result<std::size_t> purge_expired(pqxx::connection& conn, std::int64_t now_unix) {
    return detail::guarded("purge expired registrations", [&]() -> Result<std::size_t> {
        pqxx::work tx(conn);
        auto r = tx.exec_params("delete from registrations where expires_at <= to_timestamp($1)",
                                now_unix);
        tx.commit();
        return static_cast<std::size_t>(r.affected_rows());
    });
}

}  // namespace sb::db
