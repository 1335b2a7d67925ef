#include "sb/media/codec/g711.h"

#include <bit>
#include <cassert>

#include "codecs.h"
#include "plc.h"

namespace sb::media::codec {

namespace {

// The formulas of ITU-T G.191's g711.c (ulaw_compress, alaw_compress, ...) on 16-bit samples,
// evaluated at compile time into the tables.

constexpr std::uint8_t ulaw_compress(int x) {
    // Magnitude in 14-bit units (one's complement for negative values) plus the bias of 33, which
    // makes each segment start at a power of two.
    int absno = (x < 0 ? (~x >> 2) : (x >> 2)) + 33;
    if (absno > 0x1fff) absno = 0x1fff;
    const int segno = std::bit_width(static_cast<unsigned>(absno >> 6)) + 1;  // 1..8
    const int low = 0x0f - ((absno >> segno) & 0x0f);
    const int code = (0x08 - segno) << 4 | low;  // inverted segment and mantissa
    return static_cast<std::uint8_t>(x >= 0 ? code | 0x80 : code);
}

constexpr std::int16_t ulaw_expand(std::uint8_t code) {
    const int inverted = ~code;
    const int exponent = (inverted >> 4) & 0x07;
    const int mantissa = inverted & 0x0f;
    const int step = 4 << (exponent + 1);
    const int magnitude = (0x80 << exponent) + step * mantissa + step / 2 - 4 * 33;
    return static_cast<std::int16_t>(code < 0x80 ? -magnitude : magnitude);
}

constexpr std::uint8_t alaw_compress(int x) {
    int ix = x < 0 ? (~x >> 4) : (x >> 4);  // 0..2047, 16-bit units of 16
    if (ix > 15) {                          // segment 0 and 1 share a step size
        const int exponent = std::bit_width(static_cast<unsigned>(ix)) - 4;  // 1..7
        ix = (exponent << 4) | ((ix >> (exponent - 1)) & 0x0f);
    }
    if (x >= 0) ix |= 0x80;
    return static_cast<std::uint8_t>(ix ^ 0x55);  // even bits inverted
}

constexpr std::int16_t alaw_expand(std::uint8_t code) {
    const int ix = (code ^ 0x55) & 0x7f;
    const int exponent = ix >> 4;
    int mantissa = ix & 0x0f;
    if (exponent > 0) mantissa += 16;   // the leading one
    mantissa = (mantissa << 4) + 0x08;  // plus half a step
    if (exponent > 1) mantissa <<= exponent - 1;
    return static_cast<std::int16_t>(code > 0x7f ? mantissa : -mantissa);
}

// Entry i holds the code of the sample whose unsigned bits shifted right by `shift` are i.
template <std::size_t N, int Shift>
constexpr std::array<std::uint8_t, N> encode_table(std::uint8_t (*compress)(int)) {
    std::array<std::uint8_t, N> t{};
    for (std::size_t i = 0; i < N; ++i)
        t[i] = compress(static_cast<std::int16_t>(static_cast<std::uint16_t>(i << Shift)));
    return t;
}

constexpr std::array<std::int16_t, 256> decode_table(std::int16_t (*expand)(std::uint8_t)) {
    std::array<std::int16_t, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = expand(static_cast<std::uint8_t>(i));
    return t;
}

}  // namespace

namespace detail {
constexpr std::array<std::uint8_t, 1 << 14> kLinearToUlaw = encode_table<1 << 14, 2>(ulaw_compress);
constexpr std::array<std::uint8_t, 1 << 12> kLinearToAlaw = encode_table<1 << 12, 4>(alaw_compress);
constexpr std::array<std::int16_t, 256> kUlawToLinear = decode_table(ulaw_expand);
constexpr std::array<std::int16_t, 256> kAlawToLinear = decode_table(alaw_expand);

// G.711 Table 2a and 1a, and the ITU values the tests check too.
static_assert(kUlawToLinear[0xff] == 0 && kUlawToLinear[0x80] == 32124);
static_assert(kUlawToLinear[0x00] == -32124 && kUlawToLinear[0x7f] == 0);
static_assert(kAlawToLinear[0xd5] == 8 && kAlawToLinear[0x55] == -8);
static_assert(kAlawToLinear[0xaa] == 32256 && kAlawToLinear[0x2a] == -32256);
static_assert(ulaw_compress(0) == 0xff && ulaw_compress(-1) == 0x7f);
static_assert(alaw_compress(0) == 0xd5 && alaw_compress(-1) == 0x55);
}  // namespace detail

void ulaw_encode(std::span<const std::int16_t> in, std::span<std::uint8_t> out) {
    assert(out.size() >= in.size());
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = linear_to_ulaw(in[i]);
}

void ulaw_decode(std::span<const std::uint8_t> in, std::span<std::int16_t> out) {
    assert(out.size() >= in.size());
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = ulaw_to_linear(in[i]);
}

void alaw_encode(std::span<const std::int16_t> in, std::span<std::uint8_t> out) {
    assert(out.size() >= in.size());
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = linear_to_alaw(in[i]);
}

void alaw_decode(std::span<const std::uint8_t> in, std::span<std::int16_t> out) {
    assert(out.size() >= in.size());
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = alaw_to_linear(in[i]);
}

namespace {

constexpr int kRate = 8000;
constexpr int kMaxSamples = kRate / 1000 * kMaxFrameMs;

// One byte per sample: any frame length works, up to kMaxFrameMs.
class G711Encoder final : public Encoder {
  public:
    explicit G711Encoder(CodecId id) : id_(id) {}
    CodecId id() const override { return id_; }
    int sample_rate() const override { return kRate; }

    int encode(std::span<const std::int16_t> pcm, std::span<std::uint8_t> out) override {
        if (pcm.empty() || pcm.size() > kMaxSamples) return kErrorInvalidInput;
        if (out.size() < pcm.size()) return kErrorOutputTooSmall;
        if (id_ == CodecId::pcmu) {
            ulaw_encode(pcm, out);
        } else {
            alaw_encode(pcm, out);
        }
        return static_cast<int>(pcm.size());
    }

  private:
    CodecId id_;
};

class G711Decoder final : public Decoder {
  public:
    explicit G711Decoder(CodecId id) : id_(id), plc_(kRate) {}
    CodecId id() const override { return id_; }
    int sample_rate() const override { return kRate; }

    int samples_in(std::span<const std::uint8_t> payload) const override {
        if (payload.empty() || payload.size() > kMaxSamples) return kErrorInvalidInput;
        return static_cast<int>(payload.size());
    }

    int decode(std::span<const std::uint8_t> payload, std::span<std::int16_t> out) override {
        const int n = samples_in(payload);
        if (n < 0) return n;
        if (out.size() < payload.size()) return kErrorOutputTooSmall;
        if (id_ == CodecId::pcmu) {
            ulaw_decode(payload, out);
        } else {
            alaw_decode(payload, out);
        }
        plc_.on_decoded(out.first(payload.size()));
        return n;
    }

    int conceal(std::span<std::int16_t> out, int samples) override {
        if (const int e = check_conceal(out, samples, kRate); e < 0) return e;
        plc_.conceal(out.first(static_cast<std::size_t>(samples)));
        return samples;
    }

    void reset() override { plc_.reset(); }

  private:
    CodecId id_;
    RepeatFadePlc plc_;
};

}  // namespace

std::unique_ptr<Encoder> make_g711_encoder(CodecId id) {
    return std::make_unique<G711Encoder>(id);
}

std::unique_ptr<Decoder> make_g711_decoder(CodecId id) {
    return std::make_unique<G711Decoder>(id);
}

}  // namespace sb::media::codec
