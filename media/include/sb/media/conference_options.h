#pragma once
// How a leg takes part in a conference room (MediaSession::join_conference,
// MediaPort::join_conference).
#include <string_view>

namespace sb::media {

struct ConferenceOptions {
    bool muted = false;   // joins listen-only; the mute key still toggles it
    char mute_key = '*';  // the DTMF key (RFC 4733 or in-band) that toggles mute; 0: none
    bool chimes = true;   // the room hears a chime when this participant joins and leaves
};

// A room name: 1 to 64 characters of [A-Za-z0-9_.-] (names are compared exactly).
bool valid_room_name(std::string_view room);

}  // namespace sb::media
