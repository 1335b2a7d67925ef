#include "sb/dialplan/simulated_call.h"

#include <cctype>

#include <fmt/core.h>

namespace sb::dialplan {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

const char* level_name(LogLevel l) {
    switch (l) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warn:
            return "warn";
        case LogLevel::error:
            return "error";
    }
    return "info";
}

}  // namespace

SimulatedCall::SimulatedCall(Facts facts, std::deque<Outcome> outcomes,
                             std::deque<std::string> keys)
    : facts_(std::move(facts)), outcomes_(std::move(outcomes)), keys_(std::move(keys)) {
    if (facts_.request_uri.empty())
        facts_.request_uri = "sip:" + facts_.callee_number + "@switchboard";
    if (!facts_.from_trunk && !facts_.extension_number)
        facts_.extension_number = facts_.caller_number;
    if (!facts_.from_trunk && !facts_.extension_name) facts_.extension_name = facts_.caller_name;
}

std::optional<std::string_view> SimulatedCall::header(std::string_view name) const {
    for (const auto& [k, v] : facts_.headers)
        if (iequals(k, name)) return std::string_view(v);
    return std::nullopt;
}

std::optional<std::string_view> SimulatedCall::extension_number() const {
    if (facts_.from_trunk || !facts_.extension_number) return std::nullopt;
    return std::string_view(*facts_.extension_number);
}

std::optional<std::string_view> SimulatedCall::extension_name() const {
    if (facts_.from_trunk || !facts_.extension_name) return std::nullopt;
    return std::string_view(*facts_.extension_name);
}

void SimulatedCall::set_caller_id(std::string_view number, std::string_view name) {
    steps_.push_back(name.empty() ? fmt::format("set_caller_id {}", number)
                                  : fmt::format("set_caller_id {} \"{}\"", number, name));
}

void SimulatedCall::set_header(std::string_view name, std::string_view value) {
    steps_.push_back(fmt::format("set_header {}: {}", name, value));
}

void SimulatedCall::log(LogLevel level, std::string_view text) {
    steps_.push_back(fmt::format("log {} {}", level_name(level), text));
}

bool SimulatedCall::answer() {
    steps_.push_back("answer");
    return true;
}

bool SimulatedCall::record_call(bool start) {
    steps_.push_back(start ? "record" : "record stop");
    return true;
}

void SimulatedCall::hangup(int code, std::string_view reason) {
    steps_.push_back(reason.empty() ? fmt::format("hangup {}", code)
                                    : fmt::format("hangup {} {}", code, reason));
}

void SimulatedCall::bridge(const BridgeRequest& request) {
    std::string line = "bridge ";
    for (std::size_t i = 0; i < request.destinations.size(); ++i) {
        if (i) line += ',';
        line += request.destinations[i];
    }
    line += fmt::format(" timeout={} {}", request.timeout_s,
                        request.sequential ? "sequential" : "simultaneous");
    if (request.media != BridgeMedia::automatic)
        line += fmt::format(" media={}", to_string(request.media));
    steps_.push_back(std::move(line));
    waiting_ = true;
}

void SimulatedCall::playback(std::string_view name) {
    steps_.push_back(fmt::format("playback {}", name));
    waiting_ = true;
    playback_pending_ = true;
}

void SimulatedCall::conference(std::string_view room, const ConferenceRequest& request) {
    // The options that differ from the defaults, so the usual line stays "conference ROOM".
    std::string line = fmt::format("conference {}", room);
    if (request.muted) line += " muted";
    if (request.mute_key != '*')
        line += request.mute_key ? fmt::format(" mute_key={}", request.mute_key) : " no mute_key";
    if (!request.chimes) line += " no chimes";
    if (request.alone_prompt != ConferenceRequest::kDefaultAlonePrompt)
        line += request.alone_prompt.empty()
                    ? std::string(" no alone_prompt")
                    : fmt::format(" alone_prompt={}", request.alone_prompt);
    if (request.music_when_alone) line += " music_when_alone";
    steps_.push_back(std::move(line));
    waiting_ = true;
    in_conference_ = true;
}

void SimulatedCall::collect_digits(std::string_view prompt, const CollectRequest& request) {
    std::string line =
        prompt.empty() ? std::string("collect_digits") : fmt::format("play_and_collect {}", prompt);
    line += fmt::format(" max={} timeout={}", request.max_digits, request.timeout_s);
    if (request.first_timeout_s != request.timeout_s)
        line += fmt::format(" first_timeout={}", request.first_timeout_s);
    line += request.terminator ? fmt::format(" terminator={}", request.terminator)
                               : std::string(" no terminator");
    steps_.push_back(std::move(line));
    waiting_ = true;
    collect_pending_ = request;
}

Outcome SimulatedCall::next_outcome() {
    if (collect_pending_) {  // the keys, as the PBX takes them: up to the terminator or max
        const CollectRequest r = *collect_pending_;
        collect_pending_.reset();
        waiting_ = false;
        std::string pressed;
        if (!keys_.empty()) {
            pressed = std::move(keys_.front());
            keys_.pop_front();
        }
        std::string digits;
        for (char k : pressed) {
            if (r.terminator && k == r.terminator) break;
            digits += k;
            if (digits.size() >= static_cast<std::size_t>(r.max_digits)) break;
        }
        steps_.back() += fmt::format(" -> \"{}\"", digits);
        return Outcome{BridgeResult::answered, 200, std::move(digits)};
    }
    if (playback_pending_) {  // a prompt plays to its end; the bridge outcomes are for bridges
        playback_pending_ = false;
        waiting_ = false;
        steps_.back() += " -> played";
        return Outcome{BridgeResult::answered, 200};
    }
    Outcome o{BridgeResult::unavailable, 480};
    if (!outcomes_.empty()) {
        o = outcomes_.front();
        outcomes_.pop_front();
    }
    if (!steps_.empty()) steps_.back() += fmt::format(" -> {}", to_string(o.result));
    waiting_ = false;
    return o;
}

}  // namespace sb::dialplan
