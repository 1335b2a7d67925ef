#pragma once
// What a call leaves behind: one record per call with each leg's SIP outcome. The shard logs each
// record (describe()) and hands it to the CallRecordSink, which the app implements with the
// database's call-record store (PostgreSQL behind a durable spool).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::call {

// What the relay saw of one leg's RTP and RTCP (RFC 3550 6.4 terms), for anchored media; as of
// the leg's release, up to a fraction of a second old (the relay publishes a few times a second).
struct MediaRecord {
    std::string codec;     // what we send the leg: "PCMU/8000"
    std::string declared;  // where its SDP asked for RTP: "192.0.2.20:4000"
    std::string source;    // where its RTP really came from (symmetric RTP), "" if none came
    std::int64_t first_rtp_ms = -1;  // from the caller's INVITE to the leg's first RTP; -1: none
    std::uint64_t packets_received = 0;  // RTP the far end sent us
    std::uint64_t packets_lost = 0;      // of what it sent: sequence numbers never received
    std::uint64_t packets_sent = 0;      // RTP we sent it
    double jitter_ms = 0;                // of what we receive
    // From the far end's RTCP receiver reports: absent when it sent none (or none about us).
    std::optional<double> rtt_ms;
    std::optional<double> remote_loss_fraction;  // 0..1, of what we send it
    std::optional<double> remote_jitter_ms;
};

struct LegRecord {
    std::string destination;  // as the dialplan named it ("1002", "sip:...")
    std::string target;       // the Request-URI we sent to
    int status = 0;           // its final response (200, 486, 487 ...), 0 if none
    std::string reason;  // the reason phrase, or what happened ("cancelled: answered elsewhere")
    std::optional<MediaRecord> media;  // absent when no RTP passed (or media was direct)
};

struct CallRecord {
    std::uint64_t id = 0;
    std::string call_id;           // the A-leg's
    std::string caller;            // the calling extension or From user
    std::string callee;            // the dialled number
    std::int64_t started_at = 0;   // unix ms
    std::int64_t answered_at = 0;  // 0 if never answered
    std::int64_t answer_ms = -1;   // from the INVITE to the answer, -1 if never answered
    std::int64_t ended_at = 0;
    int a_status = 0;        // the final response the caller got
    std::string end_reason;  // "caller hung up", "callee hung up", "busy", "dialplan error: ..."
    std::vector<LegRecord> legs;
    std::optional<MediaRecord> a_media;  // the caller's leg, as LegRecord::media
    std::string recording;               // the WAV file of call:record(), "" if not recorded
    // A bridge of the call took direct media by a per-call decision (extensions' media setting,
    // the dialplan's bridge option); with the system's [media] mode = "direct" it stays false.
    bool direct_media = false;
};

class CallRecordSink {
  public:
    virtual ~CallRecordSink() = default;
    // Called on the shard thread when a call ends; must not block.
    virtual void record(CallRecord record) = 0;
};

// "call 7 1001 -> 2000: 200 answered, 12.3 s, ended: caller hung up; legs: 1002 200 ..."
std::string describe(const CallRecord& r);

}  // namespace sb::call
