#pragma once
// Registrar bindings (RFC 3261 10.3), persisted so a restart or a second node keeps them. The
// registrar keeps the live set in memory and writes changes here in batches.
#include "sb/common/result.h"

#include <pqxx/connection>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::db {

struct Binding {
    std::string aor;
    std::string contact;
    std::int64_t expires_at = 0;  // Unix seconds
    std::optional<float> q;
    std::string instance_id;  // empty: none (stored as NULL)
    std::optional<int> reg_id;
    std::vector<std::string> path;
    std::string call_id;
    std::int64_t cseq = 0;
    std::string user_agent;  // empty: none
    std::string received;    // empty: none
    std::string transport;   // empty: none

    bool operator==(const Binding&) const = default;
};

// Inserts or replaces the given bindings in one transaction and one statement. A row is not
// overwritten by an older refresh of the same registration (same Call-ID, lower CSeq), so two
// batches committing out of order cannot resurrect stale data. When a batch names the same
// (aor, contact) twice, the last one wins.
Status upsert_bindings(pqxx::connection& conn, const std::vector<Binding>& bindings);
// Returns the number of rows deleted.
Result<std::size_t> delete_bindings(pqxx::connection& conn, const std::string& aor,
                                    const std::vector<std::string>& contacts);
Result<std::size_t> delete_all_bindings(pqxx::connection& conn, const std::string& aor);
// Bindings with expires_at > now_unix, ordered by aor, then q descending, then contact.
Result<std::vector<Binding>> load_bindings(pqxx::connection& conn, std::int64_t now_unix);
// Deletes bindings with expires_at <= now_unix; returns how many.
Result<std::size_t> purge_expired(pqxx::connection& conn, std::int64_t now_unix);

}  // namespace sb::db
