#pragma once
// Dialplans: every saved version of the administrators' Lua script is kept, and one of them is
// active. Activating a version is a single-row update (atomic); a trigger NOTIFYs
// `sb_dialplan` with the new active version so every running node reloads at once.
//
// db knows no Lua: these functions store and return text. Checking that a script compiles is
// the caller's job (app/ runs dialplan::Engine::check before storing or activating).
//
// All functions run their own transaction on `conn` (use them inside Pool jobs or from the CLI)
// and turn database errors into sb::Error with an Errc code.
#include "sb/common/result.h"
#include "sb/db/errors.h"

#include <pqxx/connection>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::db {

// Bounds, also enforced by the table's CHECK constraints.
inline constexpr std::size_t kMaxDialplanSource = 256 * 1024;  // bytes
inline constexpr std::size_t kMaxDialplanName = 128;           // characters
inline constexpr std::size_t kMaxDialplanComment = 1024;       // characters

// One stored version, with its source.
struct Dialplan {
    std::int64_t version = 0;
    std::string name;
    std::string source;
    std::string sha256;           // lower-case hex of the source's bytes
    std::int64_t created_at = 0;  // Unix seconds
    std::string comment;
    bool active = false;
};

// One line of list_dialplans: everything but the source.
struct DialplanSummary {
    std::int64_t version = 0;
    std::string name;
    std::int64_t created_at = 0;  // Unix seconds
    std::size_t size = 0;         // bytes of source
    std::string sha256;
    std::string comment;
    bool active = false;
};

// Name: 1..128 characters, no control characters, no '/'. Source: at most kMaxDialplanSource
// bytes, no NUL. Comment: at most kMaxDialplanComment bytes, no control characters but tab.
Status validate_dialplan(std::string_view name, std::string_view source, std::string_view comment = {});

// Stores a new version (not active) and returns its number.
Result<std::int64_t> store_dialplan(pqxx::connection& conn, std::string_view name, std::string_view source,
                                    std::string_view comment = {});
// Stores a new version and makes it the active one, in one transaction.
Result<std::int64_t> store_and_activate_dialplan(pqxx::connection& conn, std::string_view name,
                                                 std::string_view source, std::string_view comment = {});
// Makes `version` the active one (activating the active version again notifies again).
// Errc::not_found when there is no such version.
Status activate_dialplan(pqxx::connection& conn, std::int64_t version);
// The active version, nullopt when none was ever activated (a fresh database).
Result<std::optional<Dialplan>> active_dialplan(pqxx::connection& conn);
// nullopt when there is no such version.
Result<std::optional<Dialplan>> get_dialplan(pqxx::connection& conn, std::int64_t version);
// Every version, oldest first.
Result<std::vector<DialplanSummary>> list_dialplans(pqxx::connection& conn);
// First start: when no version is active, stores `source` as a new version and activates it;
// otherwise changes nothing. Returns the active version either way. Safe when several processes
// start at once (one stores, the others see its version).
Result<Dialplan> ensure_active_dialplan(pqxx::connection& conn, std::string_view name, std::string_view source,
                                        std::string_view comment = {});

// NOTIFY channel: the payload is the newly active version ("" means "reload what is active").
inline constexpr const char* kDialplanChannel = "sb_dialplan";

}  // namespace sb::db
