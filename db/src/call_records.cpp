#include "sb/db/call_records.h"

#include "array_literal.h"
#include "db_error.h"

#include <openssl/rand.h>
#include <nlohmann/json.hpp>

#include <pqxx/result>
#include <pqxx/transaction>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <random>

namespace sb::db {
namespace {

constexpr std::size_t kMaxListLimit = 1000;

// Columns in the order read_row() expects.
constexpr const char* kColumns =
    "id, uuid::text, call_id, caller, callee, "
    "(extract(epoch from started_at) * 1000)::bigint, "
    "coalesce((extract(epoch from answered_at) * 1000)::bigint, 0), "
    "(extract(epoch from ended_at) * 1000)::bigint, "
    "status, end_reason, coalesce(recording, ''), direct_media, detail::text";

CallRecordRow read_row(const pqxx::row& r) {
    CallRecordRow row;
    row.id = r[0].as<std::int64_t>();
    row.uuid = r[1].as<std::string>();
    row.call_id = r[2].as<std::string>();
    row.caller = r[3].as<std::string>();
    row.callee = r[4].as<std::string>();
    row.started_at_ms = r[5].as<std::int64_t>();
    row.answered_at_ms = r[6].as<std::int64_t>();
    row.ended_at_ms = r[7].as<std::int64_t>();
    row.status = r[8].as<int>();
    row.end_reason = r[9].as<std::string>();
    row.recording = r[10].as<std::string>();
    row.direct_media = r[11].as<bool>();
    row.detail_json = r[12].as<std::string>();
    return row;
}

bool is_uuid(const std::string& s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}

}  // namespace

Status check_call_record(const CallRecordRow& row) {
    auto bad = [&](const std::string& what) {
        return detail::fail(
            Errc::invalid_argument,
            "call record " + (row.uuid.empty() ? row.call_id : row.uuid) + ": " + what);
    };
    if (!is_uuid(row.uuid)) return bad("uuid \"" + row.uuid + "\" is not a uuid");
    // Far-past or far-future times are a clock or parsing fault, not a call (year 2000 to 2200).
    constexpr std::int64_t lo = 946'684'800'000, hi = 7'258'118'400'000;
    if (row.started_at_ms < lo || row.started_at_ms > hi) return bad("start time out of range");
    if (row.ended_at_ms < row.started_at_ms) return bad("ends before it starts");
    if (row.answered_at_ms != 0 &&
        (row.answered_at_ms < row.started_at_ms || row.answered_at_ms > row.ended_at_ms))
        return bad("answered outside its start and end");
    if (row.status != 0 && (row.status < 100 || row.status > 699))
        return bad("status " + std::to_string(row.status) + " is not a SIP status");
    const auto detail = nlohmann::json::parse(row.detail_json, nullptr, /*allow_exceptions=*/false);
    if (!detail.is_object()) return bad("detail is not a JSON object");
    return {};
}

Status insert_call_records(pqxx::connection& conn, const std::vector<CallRecordRow>& rows) {
    for (const CallRecordRow& row : rows)
        if (auto st = check_call_record(row); !st) return st;
    if (rows.empty()) return {};
    detail::ArrayLiteral uuid, call_id, caller, callee, started, answered, ended, status, reason,
        recording, direct, detail_json;
    for (const CallRecordRow& r : rows) {
        uuid.add(r.uuid);
        call_id.add(r.call_id);
        caller.add(r.caller);
        callee.add(r.callee);
        started.add_number(r.started_at_ms);
        r.answered_at_ms ? answered.add_number(r.answered_at_ms) : answered.add_null();
        ended.add_number(r.ended_at_ms);
        status.add_number(r.status);
        reason.add(r.end_reason);
        recording.add_text_or_null(r.recording);
        direct.add(r.direct_media ? "t" : "f");
        detail_json.add(r.detail_json);
    }
    return detail::guarded("write call records", [&]() -> Status {
        pqxx::work tx(conn);
        // One statement for the batch (the columns travel as arrays). WITH ORDINALITY keeps the
        // ids in the order the calls ended.
        tx.exec_params(
            "insert into call_records (uuid, call_id, caller, callee, started_at, answered_at, "
            "  ended_at, status, end_reason, recording, direct_media, detail) "
            "select u, c, fr, t, to_timestamp(s / 1000.0), to_timestamp(a / 1000.0), "
            "  to_timestamp(e / 1000.0), st, re, rec, dm, d "
            "from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], "
            "  $6::bigint[], $7::bigint[], $8::int[], $9::text[], $10::text[], $11::boolean[], "
            "  $12::jsonb[]) with ordinality as b(u, c, fr, t, s, a, e, st, re, rec, dm, d, n) "
            "order by n on conflict (uuid) do nothing",
            uuid.str(), call_id.str(), caller.str(), callee.str(), started.str(), answered.str(),
            ended.str(), status.str(), reason.str(), recording.str(), direct.str(),
            detail_json.str());
        tx.commit();
        return {};
    });
}

Result<std::vector<CallRecordRow>> list_call_records(pqxx::connection& conn,
                                                     const CallRecordQuery& query) {
    if (query.limit == 0 || query.limit > kMaxListLimit)
        return detail::fail(Errc::invalid_argument,
                            "limit must be 1 to " + std::to_string(kMaxListLimit));
    return detail::guarded("read call records", [&]() -> Result<std::vector<CallRecordRow>> {
        pqxx::read_transaction tx(conn);
        // $1 = '' matches everything; $2 = 0 means no upper bound on the id.
        auto res =
            tx.exec_params(std::string("select ") + kColumns +
                               " from call_records"
                               " where ($1 = '' or caller = $1 or callee = $1)"
                               " and ($2::bigint = 0 or id < $2::bigint)"
                               " order by id desc limit $3",
                           query.number, query.before_id, static_cast<std::int64_t>(query.limit));
        std::vector<CallRecordRow> rows;
        rows.reserve(res.size());
        for (const auto& r : res) rows.push_back(read_row(r));
        return rows;
    });
}

Result<CallRecordRow> get_call_record(pqxx::connection& conn, std::int64_t id) {
    return detail::guarded(
        "read call record " + std::to_string(id), [&]() -> Result<CallRecordRow> {
            pqxx::read_transaction tx(conn);
            auto res = tx.exec_params(
                std::string("select ") + kColumns + " from call_records where id = $1", id);
            if (res.empty())
                return detail::fail(Errc::not_found, "no call record " + std::to_string(id));
            return read_row(res[0]);
        });
}

Result<std::uint64_t> delete_call_records_before(pqxx::connection& conn, std::int64_t before_ms) {
    return detail::guarded("delete old call records", [&]() -> Result<std::uint64_t> {
        std::uint64_t total = 0;
        for (;;) {
            pqxx::work tx(conn);
            auto r = tx.exec_params(
                "delete from call_records where id in (select id from call_records "
                "where started_at < to_timestamp($1::bigint / 1000.0) limit 10000)",
                before_ms);
            tx.commit();
            total += r.affected_rows();
            if (r.affected_rows() < 10000) return total;
        }
    });
}

std::string new_record_uuid() {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) {
        // Not expected on Linux; a record must still get an identity.
        std::random_device rd;
        for (auto& x : b) x = static_cast<unsigned char>(rd());
    }
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    char out[37];
    std::snprintf(out, sizeof out,
                  "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                  b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                  b[14], b[15]);
    return out;
}

}  // namespace sb::db
