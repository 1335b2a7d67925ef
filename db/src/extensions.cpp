#include "sb/db/extensions.h"

#include "db_error.h"

#include <openssl/evp.h>

#include <pqxx/result>
#include <pqxx/transaction>

#include <memory>
#include <unordered_map>

namespace sb::db {
namespace {

using detail::fail;

constexpr std::size_t kMinPassword = 8;
constexpr std::size_t kMaxPassword = 128;
constexpr std::size_t kMaxDisplayName = 128;
constexpr std::size_t kMaxRealm = 255;

constexpr const char* kColumns =
    "number, display_name, realm, ha1_md5, ha1_sha256, enabled, tones, media";

bool has_control(std::string_view s) {
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) return true;
    }
    return false;
}

// Number of code points, or nullopt when `s` is not valid UTF-8.
std::optional<std::size_t> utf8_length(std::string_view s) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xe  ? 3
                          : (c >> 3) == 0x1e ? 4
                                             : 0;
        if (len == 0 || i + len > s.size()) return std::nullopt;
        for (std::size_t k = 1; k < len; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return std::nullopt;
        }
        i += len;
        ++count;
    }
    return count;
}

std::optional<std::string> optional_text(const pqxx::field& f) {
    return f.is_null() ? std::nullopt : std::optional(f.as<std::string>());
}

Extension from_row(const pqxx::row& r) {
    return Extension{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                     r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<bool>(),
                     optional_text(r[6]),    optional_text(r[7])};
}

std::optional<std::string> owned(std::optional<std::string_view> v) {
    return v ? std::optional<std::string>(*v) : std::nullopt;
}

std::string not_found(std::string_view number) {
    return "extension " + std::string(number) + " does not exist";
}

std::string exists(std::string_view number) {
    return "extension " + std::string(number) + " already exists";
}

// A checked extension with its digests, ready to insert. The realm is the caller's to check
// (once, for a batch).
Result<Extension> new_extension(std::string_view number, std::string_view password,
                                std::string_view display_name, std::string_view realm,
                                std::optional<std::string_view> tones,
                                std::optional<std::string_view> media) {
    for (const Status& st :
         {validate_number(number), validate_password(password), validate_display_name(display_name),
          tones ? validate_tones(*tones) : Status{}, media ? validate_media(*media) : Status{}}) {
        if (!st) return Unexpected<Error>{st.error()};
    }
    return Extension{std::string(number),
                     std::string(display_name),
                     std::string(realm),
                     compute_ha1(DigestAlgorithm::md5, number, realm, password),
                     compute_ha1(DigestAlgorithm::sha256, number, realm, password),
                     true,
                     owned(tones),
                     owned(media)};
}

// Inserts `ext` in `tx`; false when its number exists already (which leaves `tx` usable).
bool insert(pqxx::work& tx, const Extension& ext) {
    auto r = tx.exec_params(
        "insert into extensions (number, display_name, realm, ha1_md5, ha1_sha256, tones, media) "
        "values ($1, $2, $3, $4, $5, $6, $7) on conflict (number) do nothing returning number",
        ext.number, ext.display_name, ext.realm, ext.ha1_md5, ext.ha1_sha256, ext.tones, ext.media);
    return !r.empty();
}

}  // namespace

std::string compute_ha1(DigestAlgorithm algorithm, std::string_view user, std::string_view realm,
                        std::string_view password) {
    const EVP_MD* md = algorithm == DigestAlgorithm::md5 ? EVP_md5() : EVP_sha256();
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    // Allocation failure of a digest context is not a database or input error: treat as fatal.
    if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), user.data(), user.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), ":", 1) != 1 ||
        EVP_DigestUpdate(ctx.get(), realm.data(), realm.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), ":", 1) != 1 ||
        EVP_DigestUpdate(ctx.get(), password.data(), password.size()) != 1 ||
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

Status validate_number(std::string_view number) {
    if (number.empty() || number.size() > 32) {
        return fail(Errc::invalid_argument, "extension number must be 1 to 32 characters long");
    }
    for (char c : number) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  c == '_' || c == '.' || c == '+' || c == '-';
        if (!ok) {
            return fail(Errc::invalid_argument,
                        "extension number '" + std::string(number) +
                            "' may contain only digits, letters and _ . + -");
        }
    }
    return {};
}

Status validate_password(std::string_view password) {
    if (password.size() < kMinPassword) {
        return fail(Errc::invalid_argument, "password is too short: at least " +
                                                std::to_string(kMinPassword) + " characters");
    }
    if (password.size() > kMaxPassword) {
        return fail(Errc::invalid_argument, "password is too long: at most " +
                                                std::to_string(kMaxPassword) + " characters");
    }
    if (has_control(password))
        return fail(Errc::invalid_argument, "password must not contain control characters");
    return {};
}

Status validate_display_name(std::string_view name) {
    auto len = utf8_length(name);
    if (!len) return fail(Errc::invalid_argument, "display name is not valid UTF-8");
    if (*len > kMaxDisplayName) {
        return fail(Errc::invalid_argument, "display name is too long: at most " +
                                                std::to_string(kMaxDisplayName) + " characters");
    }
    // It ends up in SIP From/To headers; a CR or LF there would be header injection.
    if (has_control(name))
        return fail(Errc::invalid_argument, "display name must not contain control characters");
    return {};
}

Status validate_realm(std::string_view realm) {
    if (realm.empty()) return fail(Errc::invalid_argument, "realm must not be empty");
    if (realm.size() > kMaxRealm || has_control(realm) || !utf8_length(realm)) {
        return fail(Errc::invalid_argument,
                    "realm must be at most 255 bytes of UTF-8 without control characters");
    }
    return {};
}

Status validate_tones(std::string_view tones) {
    bool ok = tones.size() == 2;
    for (char c : tones) ok = ok && c >= 'A' && c <= 'Z';
    if (!ok) {
        return fail(Errc::invalid_argument,
                    "tones '" + std::string(tones) +
                        "' must be a country code of two upper-case letters, e.g. GB");
    }
    return {};
}

Status validate_media(std::string_view media) {
    if (media != "direct" && media != "anchor") {
        return fail(Errc::invalid_argument,
                    "media '" + std::string(media) + "' must be \"direct\" or \"anchor\"");
    }
    return {};
}

Result<Extension> add_extension(pqxx::connection& conn, std::string_view number,
                                std::string_view password, std::string_view display_name,
                                std::string_view realm, std::optional<std::string_view> tones,
                                std::optional<std::string_view> media) {
    auto ext = new_extension(number, password, display_name, realm, tones, media);
    if (!ext) return Unexpected<Error>{ext.error()};
    if (auto st = validate_realm(realm); !st) return Unexpected<Error>{st.error()};
    return detail::guarded("add extension " + ext->number, [&]() -> Result<Extension> {
        pqxx::work tx(conn);
        if (!insert(tx, *ext)) return fail(Errc::already_exists, exists(ext->number));
        tx.commit();
        return *ext;
    });
}

Result<std::vector<Extension>, BatchError> add_extensions(pqxx::connection& conn,
                                                          std::span<const NewExtension> batch,
                                                          std::string_view realm) {
    if (auto st = validate_realm(realm); !st) return Unexpected<BatchError>{{{}, st.error()}};
    BatchError refused;
    auto refuse = [&](std::size_t index, Error e) {
        if (refused.rows.empty()) refused.error = e;
        refused.rows.push_back({index, std::move(e)});
    };
    // Every row is checked before the database is asked anything, and every bad one reported.
    std::vector<Extension> out;
    out.reserve(batch.size());
    std::unordered_map<std::string_view, std::size_t> seen;  // number -> its first row
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const NewExtension& n = batch[i];
        auto ext = new_extension(n.number, n.password, n.display_name, realm, n.tones, n.media);
        if (!ext) {
            refuse(i, ext.error());
            continue;
        }
        if (auto [first, fresh] = seen.emplace(n.number, i); !fresh) {
            refuse(i, Error{code(Errc::invalid_argument),
                            "extension " + n.number + " is given twice in the batch (rows " +
                                std::to_string(first->second + 1) + " and " +
                                std::to_string(i + 1) + ")"});
            continue;
        }
        out.push_back(std::move(*ext));
    }
    if (!refused.rows.empty()) return Unexpected<BatchError>{std::move(refused)};

    // A number that exists is no error to PostgreSQL (on conflict do nothing), so the
    // transaction goes on and every such row is reported; any other failure ends it. Nothing
    // is committed unless every row went in. Every row is valid here, so out[i] is batch[i].
    std::optional<std::size_t> at;  // the row being inserted, for an exception
    try {
        pqxx::work tx(conn);
        // One notification for the whole batch (migration 004), not one per row.
        tx.exec("select set_config('sb.extensions_batch', 'on', true)");
        for (std::size_t i = 0; i < out.size(); ++i) {
            at = i;
            if (!insert(tx, out[i]))
                refuse(i, Error{code(Errc::already_exists), exists(out[i].number)});
        }
        at.reset();
        if (!refused.rows.empty()) return Unexpected<BatchError>{std::move(refused)};
        if (!out.empty()) tx.exec_params("select pg_notify($1, '')", kExtensionsChannel);
        tx.commit();
        return out;
    } catch (...) {
        if (at) {
            refuse(*at, detail::current_exception_error("add extension " + out[*at].number));
        } else {
            refused.rows.clear();
            refused.error = detail::current_exception_error("add extensions");
        }
        return Unexpected<BatchError>{std::move(refused)};
    }
}

Result<std::vector<Extension>> list_extensions(pqxx::connection& conn) {
    return detail::guarded("list extensions", [&]() -> Result<std::vector<Extension>> {
        pqxx::read_transaction tx(conn);
        std::vector<Extension> out;
        for (const auto& row :
             tx.exec(std::string("select ") + kColumns + " from extensions order by number"))
            out.push_back(from_row(row));
        return out;
    });
}

Result<std::optional<Extension>> get_extension(pqxx::connection& conn, std::string_view number) {
    return detail::guarded(
        "get extension " + std::string(number), [&]() -> Result<std::optional<Extension>> {
            pqxx::read_transaction tx(conn);
            auto r = tx.exec_params(
                std::string("select ") + kColumns + " from extensions where number = $1",
                std::string(number));
            if (r.empty()) return std::optional<Extension>{};
            return std::optional<Extension>{from_row(r[0])};
        });
}

Result<Extension> update_extension(pqxx::connection& conn, std::string_view number,
                                   std::optional<std::string_view> password,
                                   std::optional<std::string_view> display_name,
                                   std::optional<bool> enabled, std::string_view realm,
                                   std::optional<std::optional<std::string_view>> tones,
                                   std::optional<std::optional<std::string_view>> media) {
    if (auto st = validate_number(number); !st) return Unexpected<Error>{st.error()};
    std::optional<std::string> md5, sha256, new_realm, name;
    if (password) {
        if (auto st = validate_password(*password); !st) return Unexpected<Error>{st.error()};
        if (auto st = validate_realm(realm); !st) return Unexpected<Error>{st.error()};
        md5 = compute_ha1(DigestAlgorithm::md5, number, realm, *password);
        sha256 = compute_ha1(DigestAlgorithm::sha256, number, realm, *password);
        new_realm = std::string(realm);
    }
    if (display_name) {
        if (auto st = validate_display_name(*display_name); !st)
            return Unexpected<Error>{st.error()};
        name = std::string(*display_name);
    }
    // COALESCE cannot tell "keep" from "set NULL", so a tones or media change is a flag and a
    // value.
    const bool set_tones = tones.has_value();
    std::optional<std::string> new_tones;
    if (tones && *tones) {
        if (auto st = validate_tones(**tones); !st) return Unexpected<Error>{st.error()};
        new_tones = std::string(**tones);
    }
    const bool set_media = media.has_value();
    std::optional<std::string> new_media;
    if (media && *media) {
        if (auto st = validate_media(**media); !st) return Unexpected<Error>{st.error()};
        new_media = std::string(**media);
    }
    const std::string num(number);
    return detail::guarded("update extension " + num, [&]() -> Result<Extension> {
        pqxx::work tx(conn);
        // NULL parameters mean "keep": one statement covers every combination of changes.
        auto r = tx.exec_params(std::string("update extensions set "
                                            "display_name = coalesce($2, display_name), "
                                            "enabled = coalesce($3, enabled), "
                                            "realm = coalesce($4, realm), "
                                            "ha1_md5 = coalesce($5, ha1_md5), "
                                            "ha1_sha256 = coalesce($6, ha1_sha256), "
                                            "tones = case when $7 then $8 else tones end, "
                                            "media = case when $9 then $10 else media end "
                                            "where number = $1 returning ") +
                                    kColumns,
                                num, name, enabled, new_realm, md5, sha256, set_tones, new_tones,
                                set_media, new_media);
        if (r.empty()) return fail(Errc::not_found, not_found(num));
        tx.commit();
        return from_row(r[0]);
    });
}

Status delete_extension(pqxx::connection& conn, std::string_view number) {
    const std::string num(number);
    return detail::guarded("delete extension " + num, [&]() -> Status {
        pqxx::work tx(conn);
        auto r = tx.exec_params("delete from extensions where number = $1", num);
        if (r.affected_rows() == 0) return fail(Errc::not_found, not_found(num));
        tx.commit();
        return {};
    });
}

Result<std::vector<Extension>> load_credentials(pqxx::connection& conn) {
    return detail::guarded("load credentials", [&]() -> Result<std::vector<Extension>> {
        pqxx::read_transaction tx(conn);
        std::vector<Extension> out;
        for (const auto& row : tx.exec(std::string("select ") + kColumns +
                                       " from extensions where enabled order by number"))
            out.push_back(from_row(row));
        return out;
    });
}

}  // namespace sb::db
