#include "sb/media/media_session.h"

namespace sb::media {

namespace {

class DirectSession final : public MediaSession {
  public:
    Result<std::string> offer(LegId, LegId, std::string_view sdp) override {
        return std::string(sdp);
    }
    Result<std::string> answer(LegId, LegId, std::string_view sdp) override {
        return std::string(sdp);
    }
    void release_leg(LegId) override {}
};

}  // namespace

std::unique_ptr<MediaSession> DirectMedia::create_session() {
    return std::make_unique<DirectSession>();
}

bool valid_room_name(std::string_view room) {
    if (room.empty() || room.size() > 64) return false;
    for (char c : room) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

}  // namespace sb::media
