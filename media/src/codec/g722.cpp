// G.722 (ITU-T G.722, 64 kbit/s sub-band ADPCM) by SpanDSP, which is bit-exact with the ITU test
// vectors. RTP payload type 9, one octet per pair of 16 kHz samples in the order the ITU
// encoder emits them (RFC 3551 4.5.2): SpanDSP's default, without G722_PACKED (which packs the
// 56 and 48 kbit/s modes' 7- and 6-bit codes).
//
// At 8000 Hz SpanDSP's G722_SAMPLE_RATE_8000 mode codes only the lower sub-band, one octet per
// 8 kHz sample, which saves a resampler when the other leg is narrowband.
#include <cstdint>
#include <utility>

// SpanDSP's headers are not self-contained: g722.h needs <stdint.h> and telephony.h's
// SPAN_DECLARE first.
#include <spandsp/telephony.h>

#include <spandsp/g722.h>

#include "codecs.h"
#include "plc.h"

namespace sb::media::codec {

namespace {

struct G722EncodeFree {
    void operator()(g722_encode_state_t* s) const { g722_encode_free(s); }
};
struct G722DecodeFree {
    void operator()(g722_decode_state_t* s) const { g722_decode_free(s); }
};

constexpr int kBitRate = 64000;
constexpr int kMaxBytes = 8000 / 1000 * kMaxFrameMs;  // 8000 octets/s whatever the PCM rate

int options_for(int rate) {
    return rate == 8000 ? G722_SAMPLE_RATE_8000 : 0;
}

class G722Encoder final : public Encoder {
  public:
    G722Encoder(int rate, std::unique_ptr<g722_encode_state_t, G722EncodeFree> state)
        : rate_(rate), state_(std::move(state)) {}
    CodecId id() const override { return CodecId::g722; }
    int sample_rate() const override { return rate_; }

    int encode(std::span<const std::int16_t> pcm, std::span<std::uint8_t> out) override {
        const std::size_t per_byte = rate_ == 16000 ? 2 : 1;
        if (pcm.empty() || pcm.size() % per_byte != 0 || pcm.size() / per_byte > kMaxBytes)
            return kErrorInvalidInput;
        if (out.size() < pcm.size() / per_byte) return kErrorOutputTooSmall;
        return g722_encode(state_.get(), out.data(), pcm.data(), static_cast<int>(pcm.size()));
    }

  private:
    int rate_;
    std::unique_ptr<g722_encode_state_t, G722EncodeFree> state_;
};

class G722Decoder final : public Decoder {
  public:
    G722Decoder(int rate, std::unique_ptr<g722_decode_state_t, G722DecodeFree> state)
        : rate_(rate), state_(std::move(state)), plc_(rate) {}
    CodecId id() const override { return CodecId::g722; }
    int sample_rate() const override { return rate_; }

    int samples_in(std::span<const std::uint8_t> payload) const override {
        if (payload.empty() || payload.size() > kMaxBytes) return kErrorInvalidInput;
        return static_cast<int>(payload.size()) * (rate_ / 8000);
    }

    int decode(std::span<const std::uint8_t> payload, std::span<std::int16_t> out) override {
        const int n = samples_in(payload);
        if (n < 0) return n;
        if (out.size() < static_cast<std::size_t>(n)) return kErrorOutputTooSmall;
        const int written =
            g722_decode(state_.get(), out.data(), payload.data(), static_cast<int>(payload.size()));
        if (written != n) return kErrorCodec;
        plc_.on_decoded(out.first(static_cast<std::size_t>(n)));
        return n;
    }

    // The ADPCM predictors keep their state across the gap; Appendix III/IV's resynchronisation
    // is not worth its complexity for a transcoding path, and the predictors adapt within a few
    // milliseconds.
    int conceal(std::span<std::int16_t> out, int samples) override {
        if (const int e = check_conceal(out, samples, rate_); e < 0) return e;
        plc_.conceal(out.first(static_cast<std::size_t>(samples)));
        return samples;
    }

    void reset() override {
        g722_decode_init(state_.get(), kBitRate, options_for(rate_));
        plc_.reset();
    }

  private:
    int rate_;
    std::unique_ptr<g722_decode_state_t, G722DecodeFree> state_;
    RepeatFadePlc plc_;
};

}  // namespace

Result<std::unique_ptr<Encoder>> make_g722_encoder(int sample_rate) {
    std::unique_ptr<g722_encode_state_t, G722EncodeFree> s(
        g722_encode_init(nullptr, kBitRate, options_for(sample_rate)));
    if (!s) return fail("G.722: SpanDSP could not make an encoder");
    return std::unique_ptr<Encoder>(std::make_unique<G722Encoder>(sample_rate, std::move(s)));
}

Result<std::unique_ptr<Decoder>> make_g722_decoder(int sample_rate) {
    std::unique_ptr<g722_decode_state_t, G722DecodeFree> s(
        g722_decode_init(nullptr, kBitRate, options_for(sample_rate)));
    if (!s) return fail("G.722: SpanDSP could not make a decoder");
    return std::unique_ptr<Decoder>(std::make_unique<G722Decoder>(sample_rate, std::move(s)));
}

}  // namespace sb::media::codec
