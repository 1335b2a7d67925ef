#include "transcoder.h"

#include <algorithm>

namespace sb::media::rtp {

namespace {

constexpr int kFrameMs = 20;  // what we send: the ptime we offer

// The rate Opus should work at towards a narrowband or wideband leg: libopus decodes to and
// encodes from 8, 12, 16 or 24 kHz itself, cheaper than decoding at 48 kHz and resampling.
bool opus_rate(int hz) {
    return hz == 8000 || hz == 12000 || hz == 16000 || hz == 24000 || hz == 48000;
}

}  // namespace

std::unique_ptr<Transcoder> Transcoder::create(const PayloadFormat& in, const PayloadFormat& out) {
    auto in_id = codec::codec_from_sdp(in.encoding, in.clock_rate, in.channels);
    auto out_id = codec::codec_from_sdp(out.encoding, out.clock_rate, out.channels);
    if (!in_id || !out_id) return nullptr;

    // Work at the lower of the two native rates where Opus lets us, so that only a G.722 <->
    // G.711 pair needs the resampler.
    const int in_native = codec::native_sample_rate(*in_id);
    const int out_native = codec::native_sample_rate(*out_id);
    int decode_rate = in_native;
    if (*in_id == codec::CodecId::opus && opus_rate(out_native)) decode_rate = out_native;
    codec::EncoderOptions options;
    if (*out_id == codec::CodecId::opus) {
        auto o = codec::apply_opus_fmtp(out.fmtp, options);
        if (o) options = *o;
        if (opus_rate(decode_rate)) options.sample_rate = decode_rate;
    }
    auto decoder = codec::make_decoder(*in_id, decode_rate);
    auto encoder = codec::make_encoder(*out_id, options);
    if (!decoder || !encoder) return nullptr;

    std::unique_ptr<Transcoder> t(new Transcoder());  // private constructor
    t->decoder_ = std::move(*decoder);
    t->encoder_ = std::move(*encoder);
    const int encode_rate = t->encoder_->sample_rate();
    if (t->decoder_->sample_rate() != encode_rate) {
        auto r = codec::Resampler::create(t->decoder_->sample_rate(), encode_rate);
        if (!r) return nullptr;
        t->resampler_.emplace(std::move(*r));
    }
    t->out_payload_type_ = out.payload_type;
    t->out_frame_ = static_cast<std::size_t>(encode_rate * kFrameMs / 1000);
    t->out_units_ = static_cast<std::uint32_t>(t->encoder_->rtp_clock_rate() * kFrameMs / 1000);
    t->last_frame_ = t->decoder_->sample_rate() * kFrameMs / 1000;
    return t;
}

bool Transcoder::decode_into_fifo(std::span<const std::int16_t> pcm) {
    std::span<const std::int16_t> samples = pcm;
    if (resampler_) {
        const int n = resampler_->process(pcm, resampled_);
        if (n < 0) return false;
        samples = {resampled_.data(), static_cast<std::size_t>(n)};
    }
    if (samples.size() > fifo_.size() - fifo_size_) return false;  // the far end floods us
    std::copy(samples.begin(), samples.end(),
              fifo_.begin() + static_cast<std::ptrdiff_t>(fifo_size_));
    fifo_size_ += samples.size();
    return true;
}

}  // namespace sb::media::rtp
