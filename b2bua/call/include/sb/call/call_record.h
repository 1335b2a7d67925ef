#pragma once
// What a call leaves behind: one record per call with each leg's SIP outcome. The call-record
// store (database, spool) implements CallRecordSink; until then the shard logs each record.
#include <cstdint>
#include <string>
#include <vector>

namespace sb::call {

struct LegRecord {
    std::string destination;  // as the dialplan named it ("1002", "sip:...")
    std::string target;       // the Request-URI we sent to
    int status = 0;           // its final response (200, 486, 487 ...), 0 if none
    std::string reason;  // the reason phrase, or what happened ("cancelled: answered elsewhere")
};

struct CallRecord {
    std::uint64_t id = 0;
    std::string call_id;           // the A-leg's
    std::string caller;            // the calling extension or From user
    std::string callee;            // the dialled number
    std::int64_t started_at = 0;   // unix ms
    std::int64_t answered_at = 0;  // 0 if never answered
    std::int64_t ended_at = 0;
    int a_status = 0;        // the final response the caller got
    std::string end_reason;  // "caller hung up", "callee hung up", "busy", "dialplan error: ..."
    std::vector<LegRecord> legs;
    std::string recording;  // the WAV file of call:record(), "" if not recorded
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
