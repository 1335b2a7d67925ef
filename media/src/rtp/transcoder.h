#pragma once
// One direction of a transcoded call: the packets one leg sends, decoded, resampled and encoded
// in the format the other leg is sent. Packet-driven: each packet is converted when it arrives
// and the far end's own jitter buffer absorbs the network's jitter, as a relay would leave it;
// nothing here waits for a clock, so a transcoded packet is delayed only by the codec work.
// A sequence gap is concealed (Opus recovers the frame before a packet from its in-band FEC);
// a late packet (older than one already converted) is dropped, since its time has passed.
// Frames of different lengths (a 30 ms leg to a 20 ms one) meet in a sample FIFO.
// Private to sb_media; runs on a relay worker, allocation-free per packet.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "sb/media/codec/codec.h"
#include "sb/media/codec/resampler.h"
#include "sb/media/rtp/media_port.h"

namespace sb::media::rtp {

class Transcoder {
  public:
    // nullptr when either format is not a codec we implement.
    static std::unique_ptr<Transcoder> create(const PayloadFormat& in, const PayloadFormat& out);

    // Converts one received packet's payload. For each frame ready for the other leg, calls
    // `emit(payload, timestamp_units)` with the encoded payload and the RTP timestamp advance
    // it covers in the output clock; returns how many frames were emitted.
    template <class Emit>
    int process(std::uint16_t sequence, std::span<const std::uint8_t> payload, Emit&& emit);

    int output_payload_type() const { return out_payload_type_; }
    // The numbering of what it emits, a source of its own for the target's OutgoingStream.
    std::uint32_t ssrc = 0;
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;
    // What it was made for: the input payload type, and the two ports' codec generations.
    int input_payload_type = -1;
    std::uint64_t made_for = 0;
    std::uint32_t decode_errors() const { return decode_errors_; }

  private:
    Transcoder() = default;
    bool decode_into_fifo(std::span<const std::int16_t> pcm);

    static constexpr std::size_t kMaxFrame = 5760;  // 120 ms at 48 kHz: the largest Opus frame
    std::unique_ptr<codec::Decoder> decoder_;
    std::unique_ptr<codec::Encoder> encoder_;
    std::optional<codec::Resampler> resampler_;  // when the two codecs' rates differ
    int out_payload_type_ = 0;
    std::size_t out_frame_ = 160;    // samples per encoded frame, at the encoder's rate
    std::uint32_t out_units_ = 160;  // RTP timestamp units per encoded frame
    int last_frame_ = 160;           // samples of the last decoded frame: what a lost one spans
    bool started_ = false;
    std::uint16_t next_sequence_ = 0;
    std::uint32_t decode_errors_ = 0;
    std::array<std::int16_t, kMaxFrame> decoded_{};
    std::array<std::int16_t, kMaxFrame> resampled_{};
    std::array<std::int16_t, 2 * kMaxFrame> fifo_{};
    std::size_t fifo_size_ = 0;
    std::array<std::uint8_t, 1500> encoded_{};
};

template <class Emit>
int Transcoder::process(std::uint16_t sequence, std::span<const std::uint8_t> payload,
                        Emit&& emit) {
    if (started_) {
        const auto ahead = static_cast<std::int16_t>(sequence - next_sequence_);
        if (ahead < 0) return 0;  // late: a frame we already concealed or played
        // Conceal what is missing, at most a few frames (a longer gap is silence; the far
        // end's jitter buffer copes with a jump in time). The last missing frame comes from
        // this packet's FEC when the codec has it.
        const int missing = std::min<int>(ahead, 3);
        for (int i = 0; i < missing; ++i) {
            const int n = i + 1 == missing ? decoder_->decode_fec(payload, decoded_, last_frame_)
                                           : decoder_->conceal(decoded_, last_frame_);
            if (n > 0) decode_into_fifo({decoded_.data(), static_cast<std::size_t>(n)});
        }
    }
    started_ = true;
    next_sequence_ = static_cast<std::uint16_t>(sequence + 1);
    const int n = decoder_->decode(payload, decoded_);
    if (n <= 0) {
        ++decode_errors_;
        return 0;
    }
    last_frame_ = n;
    decode_into_fifo({decoded_.data(), static_cast<std::size_t>(n)});
    int frames = 0;
    std::size_t offset = 0;
    while (fifo_size_ - offset >= out_frame_) {
        const int bytes = encoder_->encode({fifo_.data() + offset, out_frame_}, encoded_);
        offset += out_frame_;
        if (bytes <= 0) continue;
        emit(std::span<const std::uint8_t>(encoded_.data(), static_cast<std::size_t>(bytes)),
             out_units_);
        ++frames;
    }
    if (offset != 0) {
        std::copy(fifo_.begin() + static_cast<std::ptrdiff_t>(offset),
                  fifo_.begin() + static_cast<std::ptrdiff_t>(fifo_size_), fifo_.begin());
        fifo_size_ -= offset;
    }
    return frames;
}

}  // namespace sb::media::rtp
