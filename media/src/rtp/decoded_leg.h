#pragma once
// One leg's audio decoded on our own clock: RTP packets go in as they arrive (any order, any
// negotiated voice format), 20 ms frames of PCM at a fixed rate come out once per tick. Between
// them an adaptive jitter buffer (jitter_buffer.h), the decoder (with its concealment and Opus
// FEC) and a resampler to the output rate; frames of 10, 30 or 60 ms meet the 20 ms tick in a
// FIFO. Used where audio is consumed on a clock rather than relayed packet by packet: conference
// rooms and recordings. Private to sb_media; one thread; allocation-free per packet and tick
// once a format has been seen.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "sb/media/codec/codec.h"
#include "sb/media/codec/resampler.h"
#include "sb/media/rtp/jitter_buffer.h"
#include "sb/media/rtp/media_port.h"

namespace sb::media::rtp {

class DecodedLeg {
  public:
    // `rate`: of the frames pull() gives (8000, 16000 or 48000).
    explicit DecodedLeg(int rate) : rate_(rate) {}

    int rate() const { return rate_; }
    std::size_t frame_samples() const { return static_cast<std::size_t>(rate_ / 50); }

    // A voice packet in `format` (the leg's negotiated format of its payload type). A new
    // format or SSRC starts the decoding over.
    void push(const PayloadFormat& format, std::uint32_t ssrc, std::uint16_t sequence,
              std::uint32_t timestamp, bool marker, std::span<const std::uint8_t> payload,
              std::int64_t arrival_ms);
    // The next 20 ms into `frame` (frame_samples() long); false when the leg has nothing to play
    // this tick (not started, between talkspurts, the stream stopped): `frame` is then untouched.
    bool pull(std::span<std::int16_t> frame, std::int64_t now_ms);

    const JitterStats* jitter_stats() const { return jitter_ ? &jitter_->stats() : nullptr; }

  private:
    int rate_;
    std::optional<PayloadFormat> format_;
    std::uint32_t ssrc_ = 0;
    std::optional<JitterBuffer> jitter_;
    std::unique_ptr<codec::Decoder> decoder_;
    std::optional<codec::Resampler> resampler_;
    int last_frame_ = 0;  // samples of the last decoded frame (at the decoder's rate)
    std::array<std::int16_t, codec::kMaxFrameSamples> decoded_{};
    std::array<std::int16_t, codec::kMaxFrameSamples> fifo_{};  // at rate_
    std::size_t fifo_size_ = 0;
};

}  // namespace sb::media::rtp
