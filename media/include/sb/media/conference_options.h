#pragma once
// How a leg takes part in a conference room (MediaSession::join_conference,
// MediaPort::join_conference).
#include <memory>
#include <string_view>

namespace sb::media {

namespace dsp {
struct Prompt;
}

struct ConferenceOptions {
    bool muted = false;   // joins listen-only; the mute key still toggles it
    char mute_key = '*';  // the DTMF key (RFC 4733 or in-band) that toggles mute; 0: none
    bool chimes = true;   // the room hears a chime when this participant joins and leaves
    // Played to this participant alone when it joins an empty room ("you are the only person
    // in this conference"); nullptr: none.
    std::shared_ptr<const dsp::Prompt> alone_prompt;
    // Looped to this participant alone while nobody else is in the room (after alone_prompt),
    // as ConfBridge's music_on_hold_when_empty; nullptr: silence.
    std::shared_ptr<const dsp::Prompt> music_when_alone;
};

// A room name: 1 to 64 characters of [A-Za-z0-9_.-] (names are compared exactly).
bool valid_room_name(std::string_view room);

}  // namespace sb::media
