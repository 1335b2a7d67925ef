#include "sb/media/codec/resampler.h"

#include <speex/speex_resampler.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "sb/media/codec/codec.h"

namespace sb::media::codec {

void Resampler::Destroy::operator()(::SpeexResamplerState_* s) const {
    speex_resampler_destroy(s);
}

Result<Resampler> Resampler::create(int from_hz, int to_hz, int quality) {
    if (from_hz < 1 || from_hz > kMaxRate || to_hz < 1 || to_hz > kMaxRate)
        return fail("resampler: rates " + std::to_string(from_hz) + " -> " + std::to_string(to_hz) +
                    " Hz, each must be 1.." + std::to_string(kMaxRate));
    if (quality < SPEEX_RESAMPLER_QUALITY_MIN || quality > SPEEX_RESAMPLER_QUALITY_MAX)
        return fail("resampler: quality " + std::to_string(quality) + " is outside 0..10");
    if (from_hz == to_hz) return Resampler(from_hz, to_hz, nullptr, 0);
    int error = RESAMPLER_ERR_SUCCESS;
    std::unique_ptr<::SpeexResamplerState_, Destroy> state(speex_resampler_init(
        1, static_cast<spx_uint32_t>(from_hz), static_cast<spx_uint32_t>(to_hz), quality, &error));
    if (!state || error != RESAMPLER_ERR_SUCCESS)
        return fail(std::string("resampler: ") + speex_resampler_strerror(error));
    const int delay = speex_resampler_get_output_latency(state.get());
    return Resampler(from_hz, to_hz, std::move(state), delay);
}

int Resampler::output_size(std::size_t input) const {
    const auto n = static_cast<std::int64_t>(input) * to_hz_;
    return static_cast<int>((n + from_hz_ - 1) / from_hz_);
}

int Resampler::process(std::span<const std::int16_t> in, std::span<std::int16_t> out) {
    if (in.size() > static_cast<std::size_t>(kMaxFrameSamples)) return kErrorInvalidInput;
    if (out.size() < static_cast<std::size_t>(output_size(in.size()))) return kErrorOutputTooSmall;
    if (in.empty()) return 0;
    if (!state_) {
        std::memcpy(out.data(), in.data(), in.size() * sizeof(std::int16_t));
        return static_cast<int>(in.size());
    }
    auto in_len = static_cast<spx_uint32_t>(in.size());
    auto out_len = static_cast<spx_uint32_t>(out.size());
    const int r =
        speex_resampler_process_int(state_.get(), 0, in.data(), &in_len, out.data(), &out_len);
    if (r != RESAMPLER_ERR_SUCCESS || in_len != in.size()) return kErrorCodec;
    return static_cast<int>(out_len);
}

void Resampler::reset() {
    if (state_) speex_resampler_reset_mem(state_.get());
}

}  // namespace sb::media::codec
