#include "sb/call/call_api.h"

#include "sb/media/media_session.h"

namespace sb::call {

std::string_view to_string(BridgeResult r) {
    switch (r) {
        case BridgeResult::answered:
            return "answered";
        case BridgeResult::busy:
            return "busy";
        case BridgeResult::noanswer:
            return "noanswer";
        case BridgeResult::unavailable:
            return "unavailable";
        case BridgeResult::failed:
            return "failed";
    }
    return "failed";
}

std::string_view to_string(BridgeMedia m) {
    switch (m) {
        case BridgeMedia::automatic:
            return "auto";
        case BridgeMedia::direct:
            return "direct";
        case BridgeMedia::anchor:
            return "anchor";
    }
    return "auto";
}

std::optional<BridgeResult> parse_bridge_result(std::string_view s) {
    for (auto r : {BridgeResult::answered, BridgeResult::busy, BridgeResult::noanswer,
                   BridgeResult::unavailable, BridgeResult::failed})
        if (to_string(r) == s) return r;
    return std::nullopt;
}

bool valid_dtmf_key(char key) {
    return key != '\0' && std::string_view("0123456789*#ABCD").find(key) != std::string_view::npos;
}

bool valid_room_name(std::string_view room) {
    return media::valid_room_name(room);  // the media engine's rule is the one that counts
}

}  // namespace sb::call
