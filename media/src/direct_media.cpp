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

}  // namespace sb::media
