#pragma once
// SimulatedCall: a CallApi that does nothing but record. Each step the script takes becomes one
// line of text ("bridge 1001,1002 timeout=20 simultaneous"), and waits are answered from a queue
// of outcomes given in advance: bridges from the outcomes, collect_digits from the keys the
// caller presses (one string per collection). Unit tests and `switchboard dialplan simulate` use
// it.
//
// A pretend PBX anchors media and has room in every conference: answer() succeeds, and
// conference() joins, after which the script waits until the caller hangs up, as a real call
// does (in_conference(); the driver then cancels the script instead of resuming it).
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sb/dialplan/call_api.h"

namespace sb::dialplan {

// What the simulated INVITE presents.
struct SimulatedCallFacts {
    std::string caller_number = "1001";
    std::string caller_name;
    std::string callee_number = "2000";
    std::string request_uri;                      // derived from callee_number if empty
    std::map<std::string, std::string> headers;   // names compared case-insensitively
    std::optional<std::string> extension_number;  // defaults to caller_number if unset
    std::optional<std::string> extension_name;
    bool from_trunk = false;  // no calling extension
};

class SimulatedCall final : public CallApi {
  public:
    using Facts = SimulatedCallFacts;

    // `keys`: what the caller presses for each collect_digits, in order ("42#"); taken as the
    // PBX would (up to the terminator or max digits). Once they run out, none (a timeout).
    explicit SimulatedCall(Facts facts = {}, std::deque<Outcome> outcomes = {},
                           std::deque<std::string> keys = {});

    // The recorded steps, one line each.
    const std::vector<std::string>& steps() const { return steps_; }
    // The next queued outcome for a wait; {unavailable, 480} once the queue is empty. Appends
    // " -> result" to the last step so the transcript reads as one line per decision.
    Outcome next_outcome();
    bool waiting() const { return waiting_; }
    // The script waits for a bridge (whose outcome decides how the call ends; a prompt's does not).
    bool waiting_for_bridge() const {
        return waiting_ && !playback_pending_ && !in_conference_ && !collect_pending_;
    }
    // The script waits in a conference room: no outcome will come (the caller hangs up).
    bool in_conference() const { return in_conference_; }

    std::string_view caller_number() const override { return facts_.caller_number; }
    std::string_view caller_name() const override { return facts_.caller_name; }
    std::string_view callee_number() const override { return facts_.callee_number; }
    std::string_view request_uri() const override { return facts_.request_uri; }
    std::optional<std::string_view> header(std::string_view name) const override;
    std::optional<std::string_view> extension_number() const override;
    std::optional<std::string_view> extension_name() const override;

    void set_caller_id(std::string_view number, std::string_view name) override;
    void set_header(std::string_view name, std::string_view value) override;
    void log(LogLevel level, std::string_view text) override;
    bool answer() override;
    bool record_call(bool start) override;
    void hangup(int code, std::string_view reason) override;
    void bridge(const BridgeRequest& request) override;
    void playback(std::string_view name) override;
    void conference(std::string_view room, const ConferenceRequest& request) override;
    void collect_digits(std::string_view prompt, const CollectRequest& request) override;

  private:
    Facts facts_;
    std::deque<Outcome> outcomes_;
    std::deque<std::string> keys_;
    std::optional<CollectRequest> collect_pending_;
    std::vector<std::string> steps_;
    bool playback_pending_ = false;
    bool waiting_ = false;
    bool in_conference_ = false;
};

}  // namespace sb::dialplan
