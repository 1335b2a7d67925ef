#pragma once
// Small key/value settings that must be shared by every node (the server secret, ...).
#include "sb/common/result.h"

#include <pqxx/connection>

#include <optional>
#include <string>

namespace sb::db {

// nullopt when the key is not set.
Result<std::optional<std::string>> get_setting(pqxx::connection& conn, const std::string& key);
Status set_setting(pqxx::connection& conn, const std::string& key, const std::string& value);

// The cluster-wide server secret (64 hex digits from 32 random bytes), created on first use.
// Concurrent first calls from several processes all get the same value.
Result<std::string> server_secret(pqxx::connection& conn);

inline constexpr const char* kServerSecretKey = "server_secret";

}  // namespace sb::db
