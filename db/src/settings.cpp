#include "sb/db/settings.h"

#include "db_error.h"

#include <openssl/rand.h>

#include <pqxx/result>
#include <pqxx/transaction>

namespace sb::db {

Result<std::optional<std::string>> get_setting(pqxx::connection& conn, const std::string& key) {
    return detail::guarded("read setting " + key, [&]() -> Result<std::optional<std::string>> {
        pqxx::read_transaction tx(conn);
        auto r = tx.exec_params("select value from settings where key = $1", key);
        if (r.empty()) return std::optional<std::string>{};
        return std::optional<std::string>{r[0][0].as<std::string>()};
    });
}

Status set_setting(pqxx::connection& conn, const std::string& key, const std::string& value) {
    if (key.empty()) return detail::fail(Errc::invalid_argument, "setting name must not be empty");
    return detail::guarded("write setting " + key, [&]() -> Status {
        pqxx::work tx(conn);
        tx.exec_params(
            "insert into settings (key, value) values ($1, $2) "
            "on conflict (key) do update set value = excluded.value",
            key, value);
        tx.commit();
        return {};
    });
}

Result<std::string> server_secret(pqxx::connection& conn) {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        return detail::fail(Errc::unspecified, "server secret: OpenSSL's random generator failed");
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string candidate;
    for (unsigned char b : bytes) {
        candidate += hex[b >> 4];
        candidate += hex[b & 0xf];
    }
    return detail::guarded("server secret", [&]() -> Result<std::string> {
        pqxx::work tx(conn);
        // Whoever inserts first wins; everyone reads the winner's value back. DO NOTHING waits
        // for a concurrent inserter's commit, so the SELECT then sees its row.
        tx.exec_params(
            "insert into settings (key, value) values ($1, $2) on conflict (key) do nothing",
            std::string(kServerSecretKey), candidate);
        auto r = tx.exec_params("select value from settings where key = $1",
                                std::string(kServerSecretKey));
        tx.commit();
        return r[0][0].as<std::string>();
    });
}

}  // namespace sb::db
