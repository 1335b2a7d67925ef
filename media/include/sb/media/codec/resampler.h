#pragma once
// Sample-rate conversion between the legs of a transcoded call (G.711 at 8 kHz, G.722 at 16 kHz,
// Opus at 48 kHz), one per leg and direction, streaming 20 ms frames.
//
// By speexdsp's resampler: maintained in Debian (libspeexdsp), the one the anchor benchmark's
// engine uses, so the two compare like for like; a windowed-sinc filter whose latency is fixed
// (3 ms each way between 8 and 48 kHz at quality 3, whatever the input: delay()); and cheap at
// quality 3 (SPEEX_RESAMPLER_QUALITY_VOIP: about 6 us per 20 ms frame between 8 and 48 kHz,
// 2 us between 8 and 16 kHz) while its stop band keeps aliases 30 dB down and more
// (resampler_test.cpp).
//
// Hot path: no allocation after create(); process() writes in place into the caller's buffer.
// Not thread-safe: one thread at a time per object.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

#include "sb/common/result.h"

struct SpeexResamplerState_;  // speexdsp's, as <speex/speex_resampler.h> declares it

namespace sb::media::codec {

class Resampler {
  public:
    static constexpr int kDefaultQuality = 3;
    static constexpr int kMaxRate = 192000;

    // Rates 1..kMaxRate Hz, quality 0 (fastest) .. 10 (best). Equal rates copy and make no
    // filter. Fails on arguments out of range or if speexdsp cannot allocate its state.
    static Result<Resampler> create(int from_hz, int to_hz, int quality = kDefaultQuality);

    int from_hz() const { return from_hz_; }
    int to_hz() const { return to_hz_; }
    // The filter's delay in output samples: a tone comes out this much later (0 when copying).
    int delay() const { return delay_; }
    // How many samples process() writes for `input` samples, rounded up: size `out` for it.
    int output_size(std::size_t input) const;

    // Converts a frame of `in` (up to kMaxFrameSamples, see codec.h) and returns the number of
    // samples written; 20 ms at 8000 Hz gives 960 samples at 48000 Hz. All of `in` is consumed,
    // the filter's state carries across frames. kErrorInvalidInput for an oversized frame,
    // kErrorOutputTooSmall if `out` holds less than output_size(in.size()).
    int process(std::span<const std::int16_t> in, std::span<std::int16_t> out);

    // Forgets the previous frames (a new stream).
    void reset();

  private:
    struct Destroy {
        void operator()(::SpeexResamplerState_* s) const;
    };

    Resampler(int from_hz, int to_hz, std::unique_ptr<::SpeexResamplerState_, Destroy> state,
              int delay)
        : from_hz_(from_hz), to_hz_(to_hz), delay_(delay), state_(std::move(state)) {}

    int from_hz_;
    int to_hz_;
    int delay_;
    std::unique_ptr<::SpeexResamplerState_, Destroy> state_;  // null when the rates are equal
};

}  // namespace sb::media::codec
