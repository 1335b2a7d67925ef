#include "sb/db/dialplans.h"

#include "db_error.h"

#include <openssl/evp.h>

#include <pqxx/result>
#include <pqxx/transaction>

#include <memory>
#include <stdexcept>

namespace sb::db {
namespace {

using detail::fail;

// Serializes first-start seeding between processes (ensure_active_dialplan); any constant that
// no other advisory lock in the schema uses.
constexpr std::int64_t kSeedLock = 0x5342'4450'0001;  // "SBDP" 1

constexpr const char* kSelect =
    "select d.version, d.name, d.source, d.sha256, extract(epoch from d.created_at)::bigint, d.comment, "
    "a.version is not null "
    "from dialplans d left join dialplan_active a on a.version = d.version ";

std::string sha256_hex(std::string_view data) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    // Allocation failure of a digest context is not a database or input error: treat as fatal.
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) {
        throw std::runtime_error("OpenSSL digest failed");
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xf];
    }
    return out;
}

// Code points, or nullopt when `s` is not valid UTF-8 (names are shown in tables and logs).
std::optional<std::size_t> utf8_length(std::string_view s) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        if (len == 0 || i + len > s.size()) return std::nullopt;
        for (std::size_t k = 1; k < len; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return std::nullopt;
        }
        i += len;
        ++count;
    }
    return count;
}

Dialplan from_row(const pqxx::row& r) {
    Dialplan d;
    d.version = r[0].as<std::int64_t>();
    d.name = r[1].as<std::string>();
    d.source = r[2].as<std::string>();
    d.sha256 = r[3].as<std::string>();
    d.created_at = r[4].as<std::int64_t>();
    d.comment = r[5].as<std::string>();
    d.active = r[6].as<bool>();
    return d;
}

std::int64_t insert_version(pqxx::work& tx, std::string_view name, std::string_view source,
                            std::string_view comment) {
    auto r = tx.exec_params(
        "insert into dialplans (name, source, sha256, comment) values ($1, $2, $3, $4) returning version",
        std::string(name), std::string(source), sha256_hex(source), std::string(comment));
    return r[0][0].as<std::int64_t>();
}

// One statement: the first activation inserts the pointer row, later ones update it.
void set_active(pqxx::work& tx, std::int64_t version) {
    tx.exec_params(
        "insert into dialplan_active (singleton, version) values (true, $1) "
        "on conflict (singleton) do update set version = excluded.version, activated_at = now()",
        version);
}

std::optional<Dialplan> read_active(pqxx::transaction_base& tx) {
    auto r = tx.exec(std::string(kSelect) + "where a.version is not null");
    if (r.empty()) return std::nullopt;
    return from_row(r[0]);
}

}  // namespace

Status validate_dialplan(std::string_view name, std::string_view source, std::string_view comment) {
    auto len = utf8_length(name);
    if (!len) return fail(Errc::invalid_argument, "dialplan name is not valid UTF-8");
    if (*len == 0 || *len > kMaxDialplanName) {
        return fail(Errc::invalid_argument,
                    "dialplan name must be 1 to " + std::to_string(kMaxDialplanName) + " characters long");
    }
    for (unsigned char c : name) {
        if (c < 0x20 || c == 0x7f || c == '/') {
            return fail(Errc::invalid_argument, "dialplan name must not contain '/' or control characters");
        }
    }
    if (source.size() > kMaxDialplanSource) {
        return fail(Errc::invalid_argument, "dialplan is too large: " + std::to_string(source.size()) +
                                                " bytes, at most " + std::to_string(kMaxDialplanSource));
    }
    if (source.find('\0') != std::string_view::npos) {
        return fail(Errc::invalid_argument, "dialplan must be text (it contains a NUL byte)");
    }
    if (comment.size() > kMaxDialplanComment) {
        return fail(Errc::invalid_argument,
                    "dialplan comment is too long: at most " + std::to_string(kMaxDialplanComment) + " bytes");
    }
    for (unsigned char c : comment) {
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return fail(Errc::invalid_argument, "dialplan comment must not contain control characters");
        }
    }
    return {};
}

Result<std::int64_t> store_dialplan(pqxx::connection& conn, std::string_view name, std::string_view source,
                                    std::string_view comment) {
    if (auto st = validate_dialplan(name, source, comment); !st) return unexpected(st.error());
    return detail::guarded("store dialplan " + std::string(name), [&]() -> Result<std::int64_t> {
        pqxx::work tx(conn);
        std::int64_t version = insert_version(tx, name, source, comment);
        tx.commit();
        return version;
    });
}

Result<std::int64_t> store_and_activate_dialplan(pqxx::connection& conn, std::string_view name,
                                                 std::string_view source, std::string_view comment) {
    if (auto st = validate_dialplan(name, source, comment); !st) return unexpected(st.error());
    return detail::guarded("store dialplan " + std::string(name), [&]() -> Result<std::int64_t> {
        pqxx::work tx(conn);
        std::int64_t version = insert_version(tx, name, source, comment);
        set_active(tx, version);
        tx.commit();
        return version;
    });
}

Status activate_dialplan(pqxx::connection& conn, std::int64_t version) {
    return detail::guarded("activate dialplan version " + std::to_string(version), [&]() -> Status {
        pqxx::work tx(conn);
        // Versions are never deleted, so checking first is exact; the foreign key backs it up.
        auto exists = tx.exec_params("select 1 from dialplans where version = $1", version);
        if (exists.empty()) {
            return fail(Errc::not_found, "dialplan version " + std::to_string(version) + " does not exist");
        }
        set_active(tx, version);
        tx.commit();
        return {};
    });
}

Result<std::optional<Dialplan>> active_dialplan(pqxx::connection& conn) {
    return detail::guarded("read the active dialplan", [&]() -> Result<std::optional<Dialplan>> {
        pqxx::read_transaction tx(conn);
        return read_active(tx);
    });
}

Result<std::optional<Dialplan>> get_dialplan(pqxx::connection& conn, std::int64_t version) {
    return detail::guarded("read dialplan version " + std::to_string(version),
                           [&]() -> Result<std::optional<Dialplan>> {
                               pqxx::read_transaction tx(conn);
                               auto r = tx.exec_params(std::string(kSelect) + "where d.version = $1", version);
                               if (r.empty()) return std::optional<Dialplan>{};
                               return std::optional<Dialplan>{from_row(r[0])};
                           });
}

Result<std::vector<DialplanSummary>> list_dialplans(pqxx::connection& conn) {
    return detail::guarded("list dialplans", [&]() -> Result<std::vector<DialplanSummary>> {
        pqxx::read_transaction tx(conn);
        auto r = tx.exec(
            "select d.version, d.name, extract(epoch from d.created_at)::bigint, octet_length(d.source), "
            "d.sha256, d.comment, a.version is not null "
            "from dialplans d left join dialplan_active a on a.version = d.version order by d.version");
        std::vector<DialplanSummary> out;
        out.reserve(r.size());
        for (const auto& row : r) {
            DialplanSummary s;
            s.version = row[0].as<std::int64_t>();
            s.name = row[1].as<std::string>();
            s.created_at = row[2].as<std::int64_t>();
            s.size = row[3].as<std::size_t>();
            s.sha256 = row[4].as<std::string>();
            s.comment = row[5].as<std::string>();
            s.active = row[6].as<bool>();
            out.push_back(std::move(s));
        }
        return out;
    });
}

Result<Dialplan> ensure_active_dialplan(pqxx::connection& conn, std::string_view name, std::string_view source,
                                        std::string_view comment) {
    if (auto st = validate_dialplan(name, source, comment); !st) return unexpected(st.error());
    return detail::guarded("activate the default dialplan", [&]() -> Result<Dialplan> {
        pqxx::work tx(conn);
        // Two nodes starting on a fresh database at once: the second waits here, then finds the
        // first one's version active and stores nothing.
        tx.exec_params("select pg_advisory_xact_lock($1)", kSeedLock);
        if (auto active = read_active(tx)) {
            tx.commit();
            return std::move(*active);
        }
        set_active(tx, insert_version(tx, name, source, comment));
        auto active = read_active(tx);
        tx.commit();
        if (!active) return fail(Errc::unspecified, "the dialplan just activated cannot be read back");
        return std::move(*active);
    });
}

}  // namespace sb::db
