#pragma once
// Packet loss concealment for the waveform codecs (G.711, G.722), after ITU-T G.711 Appendix I:
// at the start of a loss, find the pitch period of the last 20 ms decoded and repeat it, its
// end blended into what preceded it so that the repetition has no click; the first 10 ms play at
// full level, then the level falls linearly to silence at 60 ms (I.2.3, I.2.4). The first frame
// decoded after a loss starts with a crossfade from the continued repetition (I.2.5).
//
// Simpler than Appendix I: one pitch period is repeated throughout (the appendix widens it to
// two and three periods as the loss lasts, against a buzz), and the output is not delayed by a
// quarter period, so the first repetition joins the last decoded sample only as well as the signal
// is periodic.
//
// Buffers are sized once for the rate; nothing allocates after construction.
#include <cstdint>
#include <span>
#include <vector>

namespace sb::media::codec {

class RepeatFadePlc {
  public:
    explicit RepeatFadePlc(int sample_rate);

    // After each decoded frame, with the frame in place: crossfades its start if frames were
    // concealed before it, and remembers its end.
    void on_decoded(std::span<std::int16_t> frame);
    // Fills `out` in place of lost audio.
    void conceal(std::span<std::int16_t> out);
    void reset();

  private:
    void start_loss();
    void remember(std::span<const std::int16_t> frame);
    float gain_at(int concealed) const;
    // The next sample of the faded repetition.
    std::int16_t next_sample();

    int ms_;                             // samples per millisecond
    std::vector<std::int16_t> history_;  // the latest output, oldest first
    std::vector<std::int16_t> period_;   // the period repeated (pitch_ samples used)
    int pitch_ = 0;
    int position_ = 0;   // in period_
    int concealed_ = 0;  // samples concealed since the loss began; 0 when not in a loss
};

}  // namespace sb::media::codec
