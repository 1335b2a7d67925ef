#pragma once
// A DTMF digit played in-band (ITU-T Q.23 tone pairs) as an AudioSource: how an RFC 4733 event
// from one leg reaches a leg whose SDP has no telephone-event. started when the event begins,
// stopped when its end packet arrives; the generator is made at the rate the leg's encoder asks.
#include <optional>

#include "sb/media/dsp/audio_source.h"
#include "sb/media/dsp/dtmf.h"

namespace sb::media::dsp {

class DtmfSource final : public AudioSource {
  public:
    void start(char digit) {
        digit_ = digit;
        started_ = false;  // begins at the next read, at the rate the leg wants
        playing_ = true;
    }
    void stop() {
        if (generator_ && started_)
            generator_->stop();
        else
            playing_ = false;  // ended before a single frame: nothing to fade
    }
    bool active() const { return playing_; }

    bool read(std::span<std::int16_t> out, int rate) override {
        if (!generator_ || generator_rate_ != rate) {
            generator_.emplace(rate);
            generator_rate_ = rate;
            started_ = false;
        }
        if (playing_ && !started_) {
            started_ = static_cast<bool>(generator_->start(digit_));
            if (!started_) playing_ = false;
        }
        generator_->generate(out);
        if (started_ && !generator_->active()) playing_ = false;
        return playing_;
    }

  private:
    std::optional<DtmfGenerator> generator_;
    int generator_rate_ = 0;
    char digit_ = 0;
    bool started_ = false;
    bool playing_ = false;
};

}  // namespace sb::media::dsp
