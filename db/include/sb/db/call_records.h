#pragma once
// Call records in PostgreSQL: one row per call. The PBX writes them through CallRecordStore
// (call_record_store.h), which spools them to disk first; reading is for the CLI and the web admin.
#include "sb/common/result.h"

#include <pqxx/connection>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::db {

struct CallRecordRow {
    std::int64_t id = 0;  // assigned by the database; ignored on insert
    std::string uuid;     // "xxxxxxxx-xxxx-...": the record's identity across spool replays
    std::string call_id;
    std::string caller;
    std::string callee;
    std::int64_t started_at_ms = 0;   // unix ms
    std::int64_t answered_at_ms = 0;  // 0: never answered
    std::int64_t ended_at_ms = 0;
    int status = 0;  // the final response the caller got; 0: none (the PBX stopped mid-call)
    std::string end_reason;
    std::string recording;  // "" if none
    bool direct_media = false;
    std::string detail_json = "{}";  // a JSON object: legs and media figures

    bool operator==(const CallRecordRow&) const = default;
};

// What insert_call_records() demands of a row: a uuid, times in order (start <= answer <= end,
// start within the years 2000 to 2200), a SIP status or 0, and a detail that is a JSON object.
// (A caller or callee may be empty: a From or Request-URI without a user part.)
// Errc::invalid_argument names the first fault.
Status check_call_record(const CallRecordRow& row);

// Inserts the rows in one transaction; a row whose uuid is already stored is skipped (a replayed
// spool), so the call is idempotent. Rows are checked first (check_call_record): one bad row
// fails the whole batch with Errc::invalid_argument before anything is written.
Status insert_call_records(pqxx::connection& conn, const std::vector<CallRecordRow>& rows);

struct CallRecordQuery {
    std::size_t limit = 50;      // at most 1000
    std::string number;          // "" or a caller or callee to match exactly
    std::int64_t before_id = 0;  // > 0: only older records (id < before_id), for paging
};

// Newest first.
Result<std::vector<CallRecordRow>> list_call_records(pqxx::connection& conn,
                                                     const CallRecordQuery& query);

// Errc::not_found when there is no record with that id.
Result<CallRecordRow> get_call_record(pqxx::connection& conn, std::int64_t id);

// Deletes the records that started before `before_ms` (unix ms), in chunks of 10,000 rows so that
// no single transaction grows large; the number deleted.
Result<std::uint64_t> delete_call_records_before(pqxx::connection& conn, std::int64_t before_ms);

// A fresh random uuid (OpenSSL's generator), version 4.
std::string new_record_uuid();

}  // namespace sb::db
