#pragma once
// Extensions: the phones and users that register and call. Passwords are never stored; only
// the digest HA1 values H(number ":" realm ":" password) for MD5 and SHA-256 (RFC 7616 3.4.2),
// so the digest check needs no plaintext and a database leak does not reveal passwords directly.
//
// All functions run their own transaction on `conn` (use them inside Pool jobs or from the CLI)
// and turn database errors into sb::Error with an Errc code.
#include "sb/common/result.h"

#include <pqxx/connection>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sb::db {

enum class DigestAlgorithm { md5, sha256 };

struct Extension {
    std::string number;
    std::string display_name;
    std::string realm;
    std::string ha1_md5;     // lower-case hex, 32 digits
    std::string ha1_sha256;  // lower-case hex, 64 digits
    bool enabled = true;
    // The country code of its call progress tone plan ("GB"); nullopt: the system's plan.
    std::optional<std::string> tones;
    // Where the media of its calls goes: "direct" (straight between the phones when the other
    // party is direct too and the call needs nothing of the PBX's media) or "anchor" (through the
    // PBX's relay); nullopt: the system's [media] mode.
    std::optional<std::string> media;
};

// Lower-case hex of H(user ":" realm ":" password).
std::string compute_ha1(DigestAlgorithm algorithm, std::string_view user, std::string_view realm,
                        std::string_view password);

// Input checks used by the functions below; exposed so the CLI and web admin can check early.
Status validate_number(std::string_view number);      // 1..32 of [0-9A-Za-z_.+-]
Status validate_password(std::string_view password);  // 8..128 bytes, no control characters
Status validate_display_name(std::string_view name);  // <= 128 characters, UTF-8, no control chars
Status validate_realm(std::string_view realm);        // non-empty, no control characters
// Two upper-case ASCII letters (an ISO 3166-1 alpha-2 code, as the media engine's tone plans are
// named). Only the shape: whether a plan exists is for callers that know the media engine.
Status validate_tones(std::string_view tones);
// "direct" or "anchor" (lower case, as the column's CHECK has them).
Status validate_media(std::string_view media);

// `tones`: nullopt for the system's plan; `media`: nullopt for the system's mode.
Result<Extension> add_extension(pqxx::connection& conn, std::string_view number,
                                std::string_view password, std::string_view display_name,
                                std::string_view realm,
                                std::optional<std::string_view> tones = std::nullopt,
                                std::optional<std::string_view> media = std::nullopt);
// One extension of a batch for add_extensions: what add_extension takes.
struct NewExtension {
    std::string number;
    std::string password;
    std::string display_name;
    std::optional<std::string> tones;  // nullopt: the system's plan
    std::optional<std::string> media;  // nullopt: the system's mode
};

// One row of a batch at fault: its index in the batch and why.
struct BatchRowError {
    std::size_t index = 0;
    Error error;
};

// Why add_extensions added nothing.
struct BatchError {
    // Every row at fault, in batch order: each invalid row (nothing is then asked of the
    // database), else each whose number exists already (Errc::already_exists), or the row whose
    // insert the database refused. Empty when the fault is no row's: a bad realm, a lost
    // connection, a failed commit (`error` then says so, "outcome unknown" when the commit's
    // result was lost).
    std::vector<BatchRowError> rows;
    // The first row's error, or the one that is no row's.
    Error error;
};

// Adds every extension of `batch` in one transaction, all or none: a single row at fault adds
// nothing. A number given twice in the batch is an invalid row (the second, naming the first).
// A committed batch notifies kExtensionsChannel once, with the empty payload ("reload all"),
// instead of once per row (migration 004): PostgreSQL delivers a transaction's notifications
// together at its commit, and thousands of per-number reloads at once would overrun a running
// PBX's bounded job queue. A refused batch notifies nothing.
Result<std::vector<Extension>, BatchError> add_extensions(pqxx::connection& conn,
                                                          std::span<const NewExtension> batch,
                                                          std::string_view realm);
// Ordered by number.
Result<std::vector<Extension>> list_extensions(pqxx::connection& conn);
// nullopt when there is no such extension.
Result<std::optional<Extension>> get_extension(pqxx::connection& conn, std::string_view number);
// Changes only what is given. `realm` is used with a new password: both HA1 values are
// recomputed for that realm (HA1 depends on it, so a realm change needs the password).
// `tones` and `media`: nullopt keeps it; an empty inner optional sets the system's plan or mode
// (NULL).
Result<Extension> update_extension(
    pqxx::connection& conn, std::string_view number, std::optional<std::string_view> password,
    std::optional<std::string_view> display_name, std::optional<bool> enabled,
    std::string_view realm, std::optional<std::optional<std::string_view>> tones = std::nullopt,
    std::optional<std::optional<std::string_view>> media = std::nullopt);
// Errc::not_found when absent.
Status delete_extension(pqxx::connection& conn, std::string_view number);
// Every enabled extension, for the credential cache (tones and media included).
Result<std::vector<Extension>> load_credentials(pqxx::connection& conn);

// NOTIFY channel for changes to extensions; payload is the number, or empty for "reload all".
inline constexpr const char* kExtensionsChannel = "sb_extensions";

}  // namespace sb::db
