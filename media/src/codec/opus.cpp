// Opus (RFC 6716) by libopus, for RTP per RFC 7587: mono (the SDP says opus/48000/2 whatever is
// sent, and a mono stream is allowed, 7), 20 ms frames by default, application VOIP (speech
// emphasis and, with FEC on, SILK/hybrid modes that carry LBRR).
#include <opus.h>

#include <algorithm>
#include <string>
#include <utility>

#include "codecs.h"

namespace sb::media::codec {

namespace {

struct OpusEncoderDestroy {
    void operator()(OpusEncoder* e) const { opus_encoder_destroy(e); }
};
struct OpusDecoderDestroy {
    void operator()(OpusDecoder* d) const { opus_decoder_destroy(d); }
};

// RFC 6716 2.1.4: frames of 2.5, 5, 10, 20, 40 or 60 ms; `samples` at `rate`.
bool valid_frame(int samples, int rate) {
    const int unit = rate / 400;  // 2.5 ms
    if (samples <= 0 || samples % unit != 0) return false;
    const int units = samples / unit;
    return units == 1 || units == 2 || units == 4 || units == 8 || units == 16 || units == 24;
}

// RFC 7587 6.1: maxplaybackrate names a sampling rate; the encoder takes an audio bandwidth.
int bandwidth_for(int max_audio_rate) {
    if (max_audio_rate <= 8000) return OPUS_BANDWIDTH_NARROWBAND;
    if (max_audio_rate <= 12000) return OPUS_BANDWIDTH_MEDIUMBAND;
    if (max_audio_rate <= 16000) return OPUS_BANDWIDTH_WIDEBAND;
    if (max_audio_rate <= 24000) return OPUS_BANDWIDTH_SUPERWIDEBAND;
    return OPUS_BANDWIDTH_FULLBAND;
}

class OpusEncoderImpl final : public Encoder {
  public:
    OpusEncoderImpl(int rate, std::unique_ptr<OpusEncoder, OpusEncoderDestroy> state)
        : rate_(rate), state_(std::move(state)) {}
    CodecId id() const override { return CodecId::opus; }
    int sample_rate() const override { return rate_; }

    int encode(std::span<const std::int16_t> pcm, std::span<std::uint8_t> out) override {
        const int samples = static_cast<int>(std::min<std::size_t>(pcm.size(), kMaxFrameSamples));
        if (pcm.size() > kMaxFrameSamples || !valid_frame(samples, rate_))
            return kErrorInvalidInput;
        if (out.empty()) return kErrorOutputTooSmall;
        const auto max_bytes =
            static_cast<opus_int32>(std::min<std::size_t>(out.size(), kMaxPayloadBytes));
        const opus_int32 n = opus_encode(state_.get(), pcm.data(), samples, out.data(), max_bytes);
        if (n == OPUS_BUFFER_TOO_SMALL) return kErrorOutputTooSmall;
        return n < 0 ? kErrorCodec : n;
    }

  private:
    int rate_;
    std::unique_ptr<OpusEncoder, OpusEncoderDestroy> state_;
};

class OpusDecoderImpl final : public Decoder {
  public:
    OpusDecoderImpl(int rate, std::unique_ptr<OpusDecoder, OpusDecoderDestroy> state)
        : rate_(rate), state_(std::move(state)) {}
    CodecId id() const override { return CodecId::opus; }
    int sample_rate() const override { return rate_; }

    // From the packet's TOC byte and frame count (RFC 6716 3.1, 3.2); at most 120 ms.
    int samples_in(std::span<const std::uint8_t> payload) const override {
        if (payload.empty() || payload.size() > kMaxPayloadBytes) return kErrorInvalidInput;
        const int n = opus_decoder_get_nb_samples(state_.get(), payload.data(),
                                                  static_cast<opus_int32>(payload.size()));
        if (n < 0 || n > rate_ / 1000 * kMaxFrameMs) return kErrorCodec;
        return n;
    }

    int decode(std::span<const std::uint8_t> payload, std::span<std::int16_t> out) override {
        const int n = samples_in(payload);
        if (n < 0) return n;
        if (out.size() < static_cast<std::size_t>(n)) return kErrorOutputTooSmall;
        const int r = opus_decode(state_.get(), payload.data(),
                                  static_cast<opus_int32>(payload.size()), out.data(), n, 0);
        return r < 0 ? kErrorCodec : r;
    }

    // libopus's PLC: SILK extrapolates its LPC and pitch, CELT its last period, fading.
    int conceal(std::span<std::int16_t> out, int samples) override {
        if (const int e = check(out, samples); e < 0) return e;
        const int r = opus_decode(state_.get(), nullptr, 0, out.data(), samples, 0);
        return r < 0 ? kErrorCodec : r;
    }

    // decode_fec=1 decodes the LBRR of the frame before `next_payload`; with none in it, libopus
    // conceals instead. `samples` must be the lost packet's length.
    int decode_fec(std::span<const std::uint8_t> next_payload, std::span<std::int16_t> out,
                   int samples) override {
        if (next_payload.empty() || next_payload.size() > kMaxPayloadBytes)
            return kErrorInvalidInput;
        if (const int e = check(out, samples); e < 0) return e;
        const int r =
            opus_decode(state_.get(), next_payload.data(),
                        static_cast<opus_int32>(next_payload.size()), out.data(), samples, 1);
        return r < 0 ? kErrorCodec : r;
    }

    void reset() override { opus_decoder_ctl(state_.get(), OPUS_RESET_STATE); }

  private:
    // libopus conceals in whole 2.5 ms steps.
    int check(std::span<const std::int16_t> out, int samples) const {
        if (const int e = check_conceal(out, samples, rate_); e < 0) return e;
        return samples % (rate_ / 400) == 0 ? 0 : kErrorInvalidInput;
    }

    int rate_;
    std::unique_ptr<OpusDecoder, OpusDecoderDestroy> state_;
};

}  // namespace

Result<std::unique_ptr<Encoder>> make_opus_encoder(const EncoderOptions& o, int sample_rate) {
    int error = OPUS_OK;
    std::unique_ptr<OpusEncoder, OpusEncoderDestroy> e(
        opus_encoder_create(sample_rate, 1, OPUS_APPLICATION_VOIP, &error));
    if (!e || error != OPUS_OK)
        return fail(std::string("Opus: cannot make an encoder: ") + opus_strerror(error));
    OpusEncoder* s = e.get();
    const int results[] = {
        opus_encoder_ctl(s, OPUS_SET_BITRATE(o.bitrate)),
        opus_encoder_ctl(s, OPUS_SET_COMPLEXITY(o.complexity)),
        opus_encoder_ctl(s, OPUS_SET_INBAND_FEC(o.inband_fec ? 1 : 0)),
        opus_encoder_ctl(s, OPUS_SET_PACKET_LOSS_PERC(o.packet_loss_percent)),
        opus_encoder_ctl(s, OPUS_SET_DTX(o.dtx ? 1 : 0)),
        opus_encoder_ctl(s, OPUS_SET_MAX_BANDWIDTH(bandwidth_for(o.max_audio_rate))),
    };
    for (const int r : results)
        if (r != OPUS_OK)
            return fail(std::string("Opus: encoder setting refused: ") + opus_strerror(r));
    return std::unique_ptr<Encoder>(std::make_unique<OpusEncoderImpl>(sample_rate, std::move(e)));
}

Result<std::unique_ptr<Decoder>> make_opus_decoder(int sample_rate) {
    int error = OPUS_OK;
    std::unique_ptr<OpusDecoder, OpusDecoderDestroy> d(opus_decoder_create(sample_rate, 1, &error));
    if (!d || error != OPUS_OK)
        return fail(std::string("Opus: cannot make a decoder: ") + opus_strerror(error));
    return std::unique_ptr<Decoder>(std::make_unique<OpusDecoderImpl>(sample_rate, std::move(d)));
}

}  // namespace sb::media::codec
