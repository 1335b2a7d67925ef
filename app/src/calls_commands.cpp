// `switchboard calls list|show`: the call records in the database, for administrators.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli.h"
#include "commands.h"
#include "sb/db/call_records.h"
#include "sb/db/errors.h"

namespace sb::app {
namespace {

// "1:02:05" / "2:05" / "0:04" from milliseconds.
std::string duration(std::int64_t ms) {
    const std::int64_t s = (ms + 500) / 1000;
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                      static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
    else
        std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60),
                      static_cast<long long>(s % 60));
    return buf;
}

// "2026-11-24 20:31:05.123"
std::string local_time_ms(std::int64_t ms) {
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03lld", static_cast<long long>(ms % 1000));
    return local_time(ms / 1000) + frac;
}

std::string text(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// "PCMU/8000 from 192.0.2.7:4000 (SDP 10.0.0.9:4000), first RTP at 0.05 s, received 150, lost 0
// (0.0 %), jitter 0.1 ms, sent 163; far end: round trip 1.2 ms, lost 0.0 %, jitter 0.3 ms"
std::string describe_media(const nlohmann::json& m) {
    std::string out = text(m, "codec");
    const std::string source = text(m, "source");
    const std::string declared = text(m, "declared");
    out += source.empty() ? " (no RTP came)" : " from " + source;
    if (!declared.empty() && declared != source) out += " (SDP " + declared + ")";
    char buf[256];
    if (m.contains("first_rtp_ms")) {
        std::snprintf(buf, sizeof buf, ", first RTP at %.2f s",
                      m["first_rtp_ms"].get<double>() / 1000);
        out += buf;
    }
    const auto rx = m.value("packets_received", std::uint64_t{0});
    const auto lost = m.value("packets_lost", std::uint64_t{0});
    std::snprintf(
        buf, sizeof buf, ", received %llu, lost %llu (%.1f %%), jitter %.1f ms, sent %llu",
        static_cast<unsigned long long>(rx), static_cast<unsigned long long>(lost),
        rx + lost ? 100.0 * static_cast<double>(lost) / static_cast<double>(rx + lost) : 0.0,
        m.value("jitter_ms", 0.0),
        static_cast<unsigned long long>(m.value("packets_sent", std::uint64_t{0})));
    out += buf;
    std::string far;
    auto add = [&](const char* fmt, double v) {
        std::snprintf(buf, sizeof buf, fmt, v);
        far += far.empty() ? "" : ", ";
        far += buf;
    };
    if (m.contains("rtt_ms")) add("round trip %.1f ms", m["rtt_ms"].get<double>());
    if (m.contains("remote_loss_fraction"))
        add("lost %.1f %%", 100 * m["remote_loss_fraction"].get<double>());
    if (m.contains("remote_jitter_ms")) add("jitter %.1f ms", m["remote_jitter_ms"].get<double>());
    if (!far.empty()) out += "; far end: " + far;
    return out;
}

}  // namespace

int calls_list(const Config& config, const CallsArgs& args) {
    return with_connection(config, [&](pqxx::connection& conn) {
        db::CallRecordQuery q;
        q.limit = args.limit;
        q.number = args.number;
        q.before_id = args.before;
        auto rows = db::list_call_records(conn, q);
        if (!rows) {
            std::fprintf(stderr, "error: %s\n", rows.error().message.c_str());
            return 1;
        }
        std::printf("%-8s %-19s  %-12s %-12s %-6s %-8s %s\n", "ID", "STARTED", "FROM", "TO",
                    "STATUS", "TALK", "ENDED");
        for (const auto& r : *rows) {
            std::printf("%-8lld %-19s  %-12s %-12s %-6d %-8s %s%s\n", static_cast<long long>(r.id),
                        local_time(r.started_at_ms / 1000).c_str(), r.caller.c_str(),
                        r.callee.c_str(), r.status,
                        r.answered_at_ms ? duration(r.ended_at_ms - r.answered_at_ms).c_str() : "-",
                        r.end_reason.c_str(), r.recording.empty() ? "" : " (recorded)");
        }
        if (rows->empty())
            std::printf("(no call records%s)\n", args.number.empty() ? "" : " for that number");
        return 0;
    });
}

int calls_show(const Config& config, std::int64_t id) {
    return with_connection(config, [&](pqxx::connection& conn) {
        auto r = db::get_call_record(conn, id);
        if (!r) {
            std::fprintf(stderr, "error: %s%s\n", r.error().message.c_str(),
                         r.error().code == db::code(db::Errc::not_found)
                             ? " (`switchboard calls list` shows the recent ones)"
                             : "");
            return 1;
        }
        const auto detail = nlohmann::json::parse(r->detail_json, nullptr, false);
        std::printf("call %lld: %s -> %s\n", static_cast<long long>(r->id), r->caller.c_str(),
                    r->callee.c_str());
        std::printf("  record:    %s (Call-ID %s)\n", r->uuid.c_str(), r->call_id.c_str());
        std::printf("  started:   %s\n", local_time_ms(r->started_at_ms).c_str());
        if (r->answered_at_ms)
            std::printf("  answered:  %s (after %.2f s)\n",
                        local_time_ms(r->answered_at_ms).c_str(),
                        static_cast<double>(r->answered_at_ms - r->started_at_ms) / 1000);
        std::printf(
            "  ended:     %s (%s %s)\n", local_time_ms(r->ended_at_ms).c_str(),
            r->answered_at_ms ? "talked" : "after",
            duration(r->ended_at_ms - (r->answered_at_ms ? r->answered_at_ms : r->started_at_ms))
                .c_str());
        std::printf("  result:    %d, %s\n", r->status, r->end_reason.c_str());
        std::printf("  media:     %s\n", r->direct_media ? "direct (phone to phone)" : "anchored");
        if (!r->recording.empty()) std::printf("  recording: %s\n", r->recording.c_str());
        if (detail.is_object() && detail.contains("caller_media"))
            std::printf("  caller RTP: %s\n", describe_media(detail["caller_media"]).c_str());
        if (detail.is_object() && detail.contains("legs") && detail["legs"].is_array()) {
            for (const auto& leg : detail["legs"]) {
                std::printf("  leg %s: %d %s (%s)\n", text(leg, "destination").c_str(),
                            leg.value("status", 0), text(leg, "reason").c_str(),
                            text(leg, "target").c_str());
                if (leg.contains("media"))
                    std::printf("    RTP: %s\n", describe_media(leg["media"]).c_str());
            }
        }
        return 0;
    });
}

}  // namespace sb::app
