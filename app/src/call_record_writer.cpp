#include "call_record_writer.h"

#include <nlohmann/json.hpp>

namespace sb::app {
namespace {

nlohmann::json media_json(const call::MediaRecord& m) {
    nlohmann::json j = {{"codec", m.codec},
                        {"declared", m.declared},
                        {"source", m.source},
                        {"packets_received", m.packets_received},
                        {"packets_lost", m.packets_lost},
                        {"packets_sent", m.packets_sent},
                        {"jitter_ms", m.jitter_ms}};
    if (m.first_rtp_ms >= 0) j["first_rtp_ms"] = m.first_rtp_ms;
    if (m.rtt_ms) j["rtt_ms"] = *m.rtt_ms;
    if (m.remote_loss_fraction) j["remote_loss_fraction"] = *m.remote_loss_fraction;
    if (m.remote_jitter_ms) j["remote_jitter_ms"] = *m.remote_jitter_ms;
    return j;
}

}  // namespace

db::CallRecordRow to_row(const call::CallRecord& r) {
    db::CallRecordRow row;
    row.uuid = db::new_record_uuid();
    row.call_id = r.call_id;
    row.caller = r.caller;
    row.callee = r.callee;
    row.started_at_ms = r.started_at;
    row.answered_at_ms = r.answered_at;
    row.ended_at_ms = r.ended_at;
    row.status = r.a_status;
    row.end_reason = r.end_reason;
    row.recording = r.recording;
    row.direct_media = r.direct_media;
    nlohmann::json detail = {{"call", r.id}, {"legs", nlohmann::json::array()}};
    if (r.answer_ms >= 0) detail["answer_ms"] = r.answer_ms;
    if (r.a_media) detail["caller_media"] = media_json(*r.a_media);
    for (const call::LegRecord& l : r.legs) {
        nlohmann::json leg = {{"destination", l.destination},
                              {"target", l.target},
                              {"status", l.status},
                              {"reason", l.reason}};
        if (l.media) leg["media"] = media_json(*l.media);
        detail["legs"].push_back(std::move(leg));
    }
    // SIP text is bytes; invalid UTF-8 is replaced rather than refused by PostgreSQL later.
    row.detail_json = detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return row;
}

void CallRecordWriter::record(call::CallRecord record) {
    store_.add(to_row(record));
}

}  // namespace sb::app
