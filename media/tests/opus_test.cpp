#include <gtest/gtest.h>

#include <array>
#include <numeric>

#include "codec_test_util.h"
#include "sb/media/codec/codec.h"

namespace sb::media::codec {
namespace {

using namespace testing;

constexpr int kRate = 48000;
constexpr std::size_t kFrame = 960;  // 20 ms

std::unique_ptr<Encoder> encoder(const EncoderOptions& o = {}) {
    auto e = make_encoder(CodecId::opus, o);
    EXPECT_TRUE(e) << e.error().message;
    return e ? std::move(*e) : nullptr;
}

std::unique_ptr<Decoder> decoder(int rate = 0) {
    auto d = make_decoder(CodecId::opus, rate);
    EXPECT_TRUE(d) << d.error().message;
    return d ? std::move(*d) : nullptr;
}

std::vector<std::vector<std::uint8_t>> encode_all(Encoder& enc, const Pcm& in, std::size_t frame) {
    std::vector<std::vector<std::uint8_t>> packets;
    std::vector<std::uint8_t> out(kMaxPayloadBytes);
    for (std::size_t at = 0; at + frame <= in.size(); at += frame) {
        const int n = enc.encode(std::span(in).subspan(at, frame), out);
        EXPECT_GT(n, 0) << error_name(n);
        packets.emplace_back(out.begin(), out.begin() + std::max(n, 0));
    }
    return packets;
}

// Opus is not a waveform coder at low rates (SILK codes a model of the signal), but at 32 kbit/s
// a tone comes back close in shape: correlation above 0.9 once delayed by the codec's 6.5 ms
// look-ahead (a tone's period makes the lag ambiguous; the FEC case measures it), and the
// tone's frequency stays the strongest.
TEST(CodecOpus, RoundTripKeepsTones) {
    struct Case {
        Pcm in;
        std::vector<double> hz;
    };
    for (const Case& c :
         {Case{sine_1k(kRate, kRate), {1000}}, Case{two_tone(kRate, kRate), {697, 1209}}}) {
        auto enc = encoder();
        auto dec = decoder();
        ASSERT_TRUE(enc && dec);
        EXPECT_EQ(enc->sample_rate(), 48000);
        EXPECT_EQ(enc->rtp_clock_rate(), 48000);
        const Pcm out = round_trip(*enc, *dec, c.in, kFrame);
        ASSERT_EQ(out.size(), c.in.size());
        const Alignment a = best_alignment(c.in, out, 1000, 4800, 24000);
        EXPECT_GT(a.correlation, 0.9) << "lag " << a.lag;
        const std::span tail(out.begin() + 4800, out.end());
        expect_tones_kept(tail, kRate, c.hz);
        if (c.hz.size() == 1) {
            EXPECT_EQ(dominant_hz(tail, kRate), 1000);
        }
    }
}

// The encoder holds the average to the configured bitrate (VBR, so single packets vary).
TEST(CodecOpus, PacketsStayWithinTheBitrate) {
    for (const int bitrate : {16000, 32000}) {
        EncoderOptions o;
        o.bitrate = bitrate;
        auto enc = encoder(o);
        ASSERT_TRUE(enc);
        const auto packets = encode_all(*enc, speech_like(kRate, 2 * kRate), kFrame);
        ASSERT_EQ(packets.size(), 100u);
        double bytes = 0;
        std::size_t largest = 0;
        for (const auto& p : packets) {
            bytes += double(p.size());
            largest = std::max(largest, p.size());
        }
        const double per_frame = double(bitrate) / 8 / 50;  // 80 bytes at 32 kbit/s
        EXPECT_LT(bytes / double(packets.size()), 1.1 * per_frame) << bitrate;
        EXPECT_GT(bytes / double(packets.size()), 0.5 * per_frame) << bitrate;
        EXPECT_LT(double(largest), 2.5 * per_frame) << bitrate;
    }
}

// Lose every seventh packet: recovering each from the FEC carried by its successor must come
// closer to the audio than libopus's concealment does, or FEC would not be worth its bits.
// Closer to the original, and much closer to what the lost packet itself would have given.
// Against the original the margin is small because the waveform is: SILK at 32 kbit/s keeps the
// spectrum better than the waveform, and the packets received score only about 4 dB on this
// signal, the FEC copies 4.1, concealment 2.7; against the packets themselves FEC scores 13 dB,
// concealment 4 (libopus 1.3.1).
TEST(CodecOpus, FecRecoversALostFrameBetterThanConcealment) {
    const Pcm in = speech_like(kRate, 3 * kRate);
    auto enc = encoder();
    ASSERT_TRUE(enc);
    const auto packets = encode_all(*enc, in, kFrame);

    auto lossless = decoder();
    ASSERT_TRUE(lossless);
    Pcm received;
    Pcm frame(kMaxFrameSamples);
    for (const auto& p : packets) {
        ASSERT_EQ(lossless->decode(p, frame), 960);
        received.insert(received.end(), frame.begin(), frame.begin() + 960);
    }
    // The codec's delay: 6.5 ms of look-ahead, give or take its filters.
    const Alignment a = best_alignment(in, received, 1000, 4800, kRate);
    ASSERT_GT(a.correlation, 0.8);
    EXPECT_NEAR(a.lag, 312, 20);

    // Signal-to-error ratios over the lost frames only, against the original (delayed) and
    // against the lossless decoding.
    struct Snr {
        double original;
        double received;
    };
    auto lost_frames_snr = [&](bool use_fec) {
        auto dec = decoder();
        double signal = 0, error = 0, received_signal = 0, received_error = 0;
        for (std::size_t k = 0; k < packets.size(); ++k) {
            const bool lost = k % 7 == 3 && k + 1 < packets.size();
            int n = 0;
            if (!lost) {
                n = dec->decode(packets[k], frame);
            } else if (use_fec) {
                n = dec->decode_fec(packets[k + 1], frame, kFrame);
            } else {
                n = dec->conceal(frame, kFrame);
            }
            EXPECT_EQ(n, 960) << error_name(n);
            for (std::size_t i = 0; lost && i < kFrame; ++i) {
                const double x = in[k * kFrame + i - a.lag];
                const double r = received[k * kFrame + i];
                signal += x * x;
                error += (frame[i] - x) * (frame[i] - x);
                received_signal += r * r;
                received_error += (frame[i] - r) * (frame[i] - r);
            }
        }
        return Snr{10 * std::log10(signal / error),
                   10 * std::log10(received_signal / received_error)};
    };
    const Snr fec = lost_frames_snr(true);
    const Snr plc = lost_frames_snr(false);
    EXPECT_GT(fec.original, plc.original + 0.5)
        << "FEC " << fec.original << " dB, concealment " << plc.original << " dB";
    EXPECT_GT(fec.received, plc.received + 6)
        << "FEC " << fec.received << " dB, concealment " << plc.received << " dB";
}

// Without FEC in the next packet decode_fec() still fills the gap (libopus conceals).
TEST(CodecOpus, DecodeFecWithoutFecConceals) {
    EncoderOptions o;
    o.inband_fec = false;
    auto enc = encoder(o);
    auto dec = decoder();
    ASSERT_TRUE(enc && dec);
    const auto packets = encode_all(*enc, sine_1k(kRate, 5 * kFrame), kFrame);
    Pcm frame(kFrame);
    for (std::size_t k = 0; k < 3; ++k) ASSERT_EQ(dec->decode(packets[k], frame), 960);
    EXPECT_EQ(dec->decode_fec(packets[4], frame, kFrame), 960);
    EXPECT_GT(energy(frame), 0);
}

// libopus's concealment fades a long loss out.
TEST(CodecOpus, ConcealmentFades) {
    auto enc = encoder();
    auto dec = decoder();
    ASSERT_TRUE(enc && dec);
    const Pcm in = speech_like(kRate, 10 * kFrame);
    const Pcm decoded = round_trip(*enc, *dec, in, kFrame);
    Pcm frame(kFrame);
    std::vector<double> energies;
    for (int k = 0; k < 10; ++k) {
        ASSERT_EQ(dec->conceal(frame, kFrame), 960);
        energies.push_back(energy(frame));
    }
    EXPECT_GT(energies[0], 0);
    EXPECT_LT(energies[9], 0.05 * energies[0]);
}

// At 8 kHz PCM in and out Opus needs no resampler beside G.711.
TEST(CodecOpus, TakesAndGivesNarrowbandPcm) {
    EncoderOptions o;
    o.sample_rate = 8000;
    auto enc = encoder(o);
    auto dec = decoder(8000);
    ASSERT_TRUE(enc && dec);
    EXPECT_EQ(enc->sample_rate(), 8000);
    EXPECT_EQ(enc->rtp_clock_rate(), 48000);  // RFC 7587 4.1: the RTP clock stays 48 kHz
    const Pcm in = sine_1k(8000, 8000);
    const Pcm out = round_trip(*enc, *dec, in, 160);
    ASSERT_EQ(out.size(), in.size());
    EXPECT_GT(best_alignment(in, out, 200, 800, 4000).correlation, 0.9);
    EXPECT_EQ(dominant_hz(std::span(out).subspan(800), 8000), 1000);
}

TEST(CodecOpus, CountsSamplesFromThePacketHeader) {
    auto enc = encoder();
    auto dec = decoder();
    auto narrow = decoder(8000);
    ASSERT_TRUE(enc && dec && narrow);
    const Pcm in = sine_1k(kRate, 3 * kFrame);
    const auto twenty = encode_all(*enc, in, kFrame);
    EXPECT_EQ(dec->samples_in(twenty[0]), 960);
    EXPECT_EQ(narrow->samples_in(twenty[0]), 160);
    const auto sixty = encode_all(*enc, in, 3 * kFrame);
    EXPECT_EQ(dec->samples_in(sixty[0]), 2880);
}

TEST(CodecOpus, BadInputsGiveErrorsNotCrashes) {
    auto enc = encoder();
    auto dec = decoder();
    ASSERT_TRUE(enc && dec);
    Pcm pcm(kMaxFrameSamples + 10);
    std::vector<std::uint8_t> bytes(kMaxPayloadBytes + 10);
    EXPECT_EQ(enc->encode({}, bytes), kErrorInvalidInput);
    EXPECT_EQ(enc->encode(std::span(pcm).first(900), bytes), kErrorInvalidInput);   // 18.75 ms
    EXPECT_EQ(enc->encode(std::span(pcm).first(3840), bytes), kErrorInvalidInput);  // 80 ms
    EXPECT_EQ(enc->encode(pcm, bytes), kErrorInvalidInput);
    EXPECT_EQ(enc->encode(std::span(pcm).first(960), {}), kErrorOutputTooSmall);

    EXPECT_EQ(dec->decode({}, pcm), kErrorInvalidInput);
    EXPECT_EQ(dec->decode(bytes, pcm), kErrorInvalidInput);  // larger than any packet
    // RFC 6716 3.2.5: a code 3 packet with no frames, and one of 48 x 20 ms (over 120 ms).
    EXPECT_EQ(dec->decode(std::array<std::uint8_t, 2>{0xfb, 0x00}, pcm), kErrorCodec);
    EXPECT_EQ(dec->decode(std::array<std::uint8_t, 2>{0xfb, 0x30}, pcm), kErrorCodec);
    const auto packets = encode_all(*enc, sine_1k(kRate, kFrame), kFrame);
    EXPECT_EQ(dec->decode(packets[0], std::span(pcm).first(959)), kErrorOutputTooSmall);
    EXPECT_EQ(dec->conceal(pcm, 100), kErrorInvalidInput);  // not whole 2.5 ms
    EXPECT_EQ(dec->conceal(pcm, 0), kErrorInvalidInput);
    EXPECT_EQ(dec->conceal(pcm, kMaxFrameSamples + 120), kErrorInvalidInput);
    EXPECT_EQ(dec->conceal(std::span(pcm).first(480), 960), kErrorOutputTooSmall);
    EXPECT_EQ(dec->decode_fec({}, pcm, 960), kErrorInvalidInput);
    EXPECT_EQ(dec->decode_fec(packets[0], pcm, 950), kErrorInvalidInput);
    EXPECT_EQ(dec->decode(packets[0], pcm), 960);  // still usable
}

}  // namespace
}  // namespace sb::media::codec
