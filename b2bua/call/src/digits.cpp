// Keys the caller presses: collect_digits() and play_and_collect() of the dialplan (Asterisk's
// Read(), FreeSWITCH's play_and_get_digits). The media engine reports RFC 4733 events and in-band
// DTMF on its own threads through the DigitInbox; SIP INFO reaches on_caller_key from relay.cpp.
#include <algorithm>

#include "impl.h"
#include "sb/common/log.h"

namespace sb::call {

namespace {

// How often the shard takes the keys the media threads reported, while any call collects: a
// key press lasts at least 40 ms, so none waits long, and an idle shard polls nothing.
constexpr Duration kDigitPoll{20};

}  // namespace

void CallManager::Impl::api_collect_digits(Call& c, std::string_view prompt,
                                           const CollectRequest& req) {
    const std::string what = prompt.empty() ? std::string("collect_digits")
                                            : "play_and_collect '" + std::string(prompt) + "'";
    auto failed = [&](std::string_view why) { fail_wait(c, what, why); };
    // Like playback: before any answer (as early media), or after answer(); never once a bridge
    // answered (the keys go to the callee then) nor in a room (its mute key is the caller's).
    if (c.ended || c.winner || c.bridging.active || !c.conference_room.empty() ||
        c.collect.active || (c.a_final_sent && !c.answered_locally))
        return failed("the call is bridged, in a conference, or over");
    std::shared_ptr<const media::dsp::Prompt> sound;
    if (!prompt.empty()) {
        auto loaded = media::dsp::load_prompt(config_.prompts_dir, prompt);
        if (!loaded) return failed(loaded.error().message);
        sound = std::move(*loaded);
    }
    std::optional<std::string> early;
    if (!c.answered_locally) {
        early = early_media(c);  // the caller's port, where its keys arrive
        if (!early) return failed("media is not anchored, or the caller made no offer");
    }
    // The sink runs on a media thread and may outlive the call by a packet: it holds only the
    // inbox and the numbers that name the collection.
    const std::uint64_t collection = next_collection_++;
    auto sink = [inbox = digit_inbox_, call = c.id, collection](char key) {
        inbox->push({call, collection, key});
    };
    if (!c.media->watch_digits(0, std::move(sink)))
        return failed("the media engine cannot watch the caller's keys");

    CollectRequest r = req;
    r.max_digits = std::clamp(r.max_digits, 1, CollectRequest::kMaxDigits);
    r.timeout_s = std::clamp(r.timeout_s, 1, 60);
    r.first_timeout_s = std::clamp(r.first_timeout_s, 1, 60);
    if (!valid_dtmf_key(r.terminator)) r.terminator = 0;
    c.collect = Call::Collect{true, collection, r, {}};
    ++collecting_;
    if (!digit_timer_.scheduled())
        wheel_.schedule(digit_timer_, services_.clock.now() + kDigitPoll);
    if (early) respond_a(c, 183, "Session Progress", {}, "application/sdp", *early);
    if (sound) {
        // The wait for the first key begins when the prompt ends (on_playback_done).
        if (!start_prompt(c, std::move(sound))) {
            stop_collect(c);
            return failed("the media engine cannot play");
        }
        return;
    }
    wheel_.schedule(c.collect_timer,
                    services_.clock.now() + std::chrono::seconds(r.first_timeout_s));
}

void CallManager::Impl::on_caller_key(Call& c, char key) {
    if (!c.collect.active || c.ended || !valid_dtmf_key(key)) return;
    if (c.playing_prompt) {  // a key pressed during the prompt stops it, and counts
        c.media->stop_tone(0);
        c.playing_prompt = false;
        wheel_.cancel(c.playback_timer);
    }
    const CollectRequest& r = c.collect.request;
    if (r.terminator != 0 && key == r.terminator) return finish_collect(c);
    c.collect.digits += key;
    if (c.collect.digits.size() >= static_cast<std::size_t>(r.max_digits)) return finish_collect(c);
    wheel_.schedule(c.collect_timer, services_.clock.now() + std::chrono::seconds(r.timeout_s));
}

void CallManager::Impl::on_collect_timeout(Call& c) {
    if (c.collect.active) finish_collect(c);
}

void CallManager::Impl::finish_collect(Call& c) {
    std::string digits = std::move(c.collect.digits);
    stop_collect(c);
    SB_DEBUG("call", "call {}: collected '{}'", c.id, digits);
    deliver_outcome(c, Outcome{BridgeResult::answered, 200, std::move(digits)}, false);
}

void CallManager::Impl::stop_collect(Call& c) {
    if (!c.collect.active) return;
    c.collect.active = false;
    c.collect.digits.clear();
    wheel_.cancel(c.collect_timer);
    if (c.media) c.media->watch_digits(0, nullptr);
    if (collecting_ > 0) --collecting_;
}

void CallManager::Impl::drain_digits() {
    for (const DigitInbox::Press& p : digit_inbox_->take()) {
        auto it = calls_.find(p.call);
        if (it == calls_.end()) continue;
        Call& c = *it->second;
        // A key for a collection that has ended (pressed as it ended) is nobody's.
        if (c.collect.active && c.collect.id == p.collection) on_caller_key(c, p.key);
    }
    if (collecting_ > 0) wheel_.schedule(digit_timer_, services_.clock.now() + kDigitPoll);
}

}  // namespace sb::call
