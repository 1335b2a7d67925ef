#pragma once
// Inside the codec layer: the factories codec.cpp dispatches to, and the argument checks every
// codec shares so that their results mean the same thing.
#include <memory>
#include <span>

#include "sb/media/codec/codec.h"

namespace sb::media::codec {

std::unique_ptr<Encoder> make_g711_encoder(CodecId id);  // pcmu or pcma
std::unique_ptr<Decoder> make_g711_decoder(CodecId id);
// 16000, or 8000 for SpanDSP's narrowband mode.
Result<std::unique_ptr<Encoder>> make_g722_encoder(int sample_rate);
Result<std::unique_ptr<Decoder>> make_g722_decoder(int sample_rate);
// Options and rates already checked by make_encoder() and make_decoder().
Result<std::unique_ptr<Encoder>> make_opus_encoder(const EncoderOptions& options, int sample_rate);
Result<std::unique_ptr<Decoder>> make_opus_decoder(int sample_rate);

// 0 if `samples` (to write into `out`) is a count concealment can produce at `rate`, else the
// error to return.
inline int check_conceal(std::span<const std::int16_t> out, int samples, int rate) {
    if (samples <= 0 || samples > rate / 1000 * kMaxFrameMs) return kErrorInvalidInput;
    if (out.size() < static_cast<std::size_t>(samples)) return kErrorOutputTooSmall;
    return 0;
}

}  // namespace sb::media::codec
