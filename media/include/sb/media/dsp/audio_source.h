#pragma once
// Audio Switchboard plays into a leg instead of (or mixed with) what the other leg sends: a tone,
// a prompt, music on hold, a conference's mix. The relay worker pulls one frame per 20 ms tick at
// the rate the leg's encoder takes, encodes it and sends it; so a source runs on a relay worker
// thread, must not block, and must not allocate per frame.
#include <cstdint>
#include <span>

namespace sb::media::dsp {

class AudioSource {
  public:
    virtual ~AudioSource() = default;
    // Fills `out` (one frame: out.size() samples of 16-bit mono PCM at `rate` Hz; `rate` stays
    // the same between calls unless the leg's codec changed). Returns false once the source has
    // ended (a prompt played to its end); `out` is then silence.
    virtual bool read(std::span<std::int16_t> out, int rate) = 0;
};

}  // namespace sb::media::dsp
