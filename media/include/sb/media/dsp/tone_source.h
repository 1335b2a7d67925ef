#pragma once
// A call progress tone as an AudioSource: what the relay plays to a caller while the callee
// rings (ringback), for a busy or congested destination, or on a held call. The generator is made
// at the rate the leg's encoder asks for, and again if that rate changes.
#include <optional>

#include "sb/media/dsp/audio_source.h"
#include "sb/media/dsp/tone_generator.h"
#include "sb/media/dsp/tones.h"

namespace sb::media::dsp {

class ToneSource final : public AudioSource {
  public:
    explicit ToneSource(const ToneSpec& spec) : spec_(spec) {}

    bool read(std::span<std::int16_t> out, int rate) override {
        if (!generator_ || generator_->sample_rate() != rate) generator_.emplace(spec_, rate);
        generator_->generate(out);
        return !generator_->finished();
    }

  private:
    ToneSpec spec_;
    std::optional<ToneGenerator> generator_;
};

}  // namespace sb::media::dsp
