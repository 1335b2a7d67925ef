#include "sb/media/dsp/prompt.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

namespace sb::media::dsp {
namespace {

std::vector<std::uint8_t> wav(const std::vector<std::int16_t>& samples, int rate,
                              int channels = 1) {
    std::vector<std::uint8_t> b(44 + samples.size() * 2);
    auto put32 = [&](std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
    };
    auto put16 = [&](std::size_t at, std::uint16_t v) {
        b[at] = static_cast<std::uint8_t>(v);
        b[at + 1] = static_cast<std::uint8_t>(v >> 8);
    };
    std::memcpy(b.data(), "RIFF", 4);
    put32(4, static_cast<std::uint32_t>(b.size() - 8));
    std::memcpy(b.data() + 8, "WAVEfmt ", 8);
    put32(16, 16);
    put16(20, 1);
    put16(22, static_cast<std::uint16_t>(channels));
    put32(24, static_cast<std::uint32_t>(rate));
    put32(28, static_cast<std::uint32_t>(rate * channels * 2));
    put16(32, static_cast<std::uint16_t>(channels * 2));
    put16(34, 16);
    std::memcpy(b.data() + 36, "data", 4);
    put32(40, static_cast<std::uint32_t>(samples.size() * 2));
    std::memcpy(b.data() + 44, samples.data(), samples.size() * 2);
    return b;
}

// The same file with WAVE_FORMAT_EXTENSIBLE's 40-byte fmt chunk: `sub_format` the SubFormat GUID
// (16 bytes as stored), `valid_bits` its wValidBitsPerSample.
std::vector<std::uint8_t> extensible_wav(const std::vector<std::int16_t>& samples, int rate,
                                         const std::array<std::uint8_t, 16>& sub_format,
                                         int valid_bits = 16, int channels = 1) {
    std::vector<std::uint8_t> plain = wav(samples, rate, channels);
    // RIFF, WAVE and the 16-byte fmt chunk, made 40 bytes of WAVE_FORMAT_EXTENSIBLE: cbSize,
    // wValidBitsPerSample, dwChannelMask (front centre, or front left and right), SubFormat.
    std::vector<std::uint8_t> b(plain.begin(), plain.begin() + 36);
    b[16] = 40;
    b[20] = 0xFE;
    b[21] = 0xFF;
    b.insert(b.end(), {22, 0, static_cast<std::uint8_t>(valid_bits), 0,
                       static_cast<std::uint8_t>(channels == 1 ? 4 : 3), 0, 0, 0});
    b.insert(b.end(), sub_format.begin(), sub_format.end());
    b.insert(b.end(), plain.begin() + 36, plain.end());  // the data chunk
    const auto riff = static_cast<std::uint32_t>(b.size() - 8);
    for (int i = 0; i < 4; ++i) b[4 + i] = static_cast<std::uint8_t>(riff >> (8 * i));
    return b;
}

// KSDATAFORMAT_SUBTYPE_PCM and _IEEE_FLOAT as a file stores them.
constexpr std::array<std::uint8_t, 16> kPcm = {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00,
                                               0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
constexpr std::array<std::uint8_t, 16> kFloat = {0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00,
                                                 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

std::vector<std::int16_t> sine(double hz, int rate, double seconds) {
    std::vector<std::int16_t> s(static_cast<std::size_t>(rate * seconds));
    for (std::size_t i = 0; i < s.size(); ++i)
        s[i] = static_cast<std::int16_t>(10000 *
                                         std::sin(2 * M_PI * hz * static_cast<double>(i) / rate));
    return s;
}

double rms(std::span<const std::int16_t> s) {
    double sum = 0;
    for (auto x : s) sum += static_cast<double>(x) * x;
    return s.empty() ? 0 : std::sqrt(sum / static_cast<double>(s.size()));
}

TEST(Prompt, ParsesPcmWavAndRejectsWhatItCannotPlay) {
    auto p = parse_wav(wav(sine(700, 16000, 0.5), 16000));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->rate, 16000);
    EXPECT_EQ(p->samples.size(), 8000u);
    EXPECT_DOUBLE_EQ(p->seconds(), 0.5);
    EXPECT_FALSE(parse_wav(std::vector<std::uint8_t>{1, 2, 3}));
    auto bytes = wav(sine(700, 16000, 0.1), 16000);
    bytes[34] = 24;  // 24-bit
    auto e = parse_wav(bytes);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find("24-bit"), std::string::npos);
}

// Found by tests/fuzz/rtp_fuzz (regressions/wav-data-shorter-than-a-frame.rtp): a data chunk of
// one byte, or of one sample of a stereo file, parsed as a prompt of no samples.
TEST(Prompt, DataShorterThanOneFrameIsNoAudio) {
    auto bytes = wav({1000}, 8000, 2);  // one 16-bit sample: half a stereo frame
    auto e = parse_wav(bytes);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().message, "no audio data");
    bytes = wav({1000}, 8000);
    bytes.pop_back();  // one byte of data
    EXPECT_FALSE(parse_wav(bytes));
    bytes.push_back(0);
    EXPECT_TRUE(parse_wav(bytes));
}

// WAVE_FORMAT_EXTENSIBLE says what its samples are in its SubFormat GUID: it was taken as PCM
// whatever that said, so float samples played as noise.
TEST(Prompt, ExtensibleWavIsTakenWhenItsSubFormatIsPcm) {
    const std::vector<std::int16_t> samples = sine(700, 16000, 0.1);
    auto plain = parse_wav(wav(samples, 16000));
    auto p = parse_wav(extensible_wav(samples, 16000, kPcm));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->rate, 16000);
    EXPECT_EQ(p->samples, plain->samples);
    auto stereo = parse_wav(extensible_wav(samples, 16000, kPcm, 16, 2));
    ASSERT_TRUE(stereo) << stereo.error().message;
    EXPECT_EQ(stereo->samples.size(), samples.size() / 2);
    // 12 valid bits sit at the top of each 16-bit container: they play as they are.
    EXPECT_TRUE(parse_wav(extensible_wav(samples, 16000, kPcm, 12)));
}

TEST(Prompt, ExtensibleWavOfAnotherSubFormatIsRefusedNamingIt) {
    const std::vector<std::int16_t> samples = sine(700, 16000, 0.1);
    auto e = parse_wav(extensible_wav(samples, 16000, kFloat));
    ASSERT_FALSE(e) << "16-bit, but not PCM";
    EXPECT_EQ(e.error().message,
              "WAVE_FORMAT_EXTENSIBLE sub-format {00000003-0000-0010-8000-00AA00389B71} "
              "(format 3, IEEE float) is not PCM");
    std::array<std::uint8_t, 16> other{};
    for (std::size_t i = 0; i < other.size(); ++i) other[i] = static_cast<std::uint8_t>(0xA0 + i);
    e = parse_wav(extensible_wav(samples, 16000, other));
    ASSERT_FALSE(e);
    EXPECT_EQ(
        e.error().message,
        "WAVE_FORMAT_EXTENSIBLE sub-format {A3A2A1A0-A5A4-A7A6-A8A9-AAABACADAEAF} is not PCM");
}

TEST(Prompt, ExtensibleWavHasPcmsConstraintsAndConsistentValidBits) {
    const std::vector<std::int16_t> samples = sine(700, 16000, 0.1);
    auto bytes = extensible_wav(samples, 16000, kPcm);
    bytes[34] = 24;  // wBitsPerSample
    auto e = parse_wav(bytes);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find("24-bit"), std::string::npos) << e.error().message;
    bytes = extensible_wav(samples, 4000, kPcm);
    EXPECT_FALSE(parse_wav(bytes)) << "4 kHz";
    for (int valid : {0, 17, 24}) {
        e = parse_wav(extensible_wav(samples, 16000, kPcm, valid));
        ASSERT_FALSE(e) << valid;
        EXPECT_EQ(e.error().message, "WAVE_FORMAT_EXTENSIBLE with " + std::to_string(valid) +
                                         " valid bits in 16-bit samples");
    }
    // The format tag without the extension that says what the samples are.
    bytes = wav(samples, 16000);
    bytes[20] = 0xFE;
    bytes[21] = 0xFF;
    e = parse_wav(bytes);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().message,
              "WAVE_FORMAT_EXTENSIBLE with no sub-format (a fmt chunk of 16 bytes, 40 expected)");
    bytes = extensible_wav(samples, 16000, kPcm);
    bytes[36] = 0;  // cbSize
    e = parse_wav(bytes);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find("no sub-format"), std::string::npos);
}

TEST(Prompt, NamesCannotLeaveTheDirectory) {
    EXPECT_FALSE(load_prompt("/tmp", "../etc/passwd"));
    EXPECT_FALSE(load_prompt("/tmp", "a/b"));
    EXPECT_FALSE(load_prompt("/tmp", ""));
    auto missing = load_prompt("/nonexistent-dir", "welcome");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("cannot read"), std::string::npos);
}

TEST(Prompt, PlaysAtTheLegsRateToItsEnd) {
    for (int rate : {8000, 16000, 48000}) {
        auto p = std::make_shared<Prompt>(*parse_wav(wav(sine(700, 16000, 1.0), 16000)));
        PromptSource source(p);
        std::vector<std::int16_t> frame(static_cast<std::size_t>(rate / 50));
        int frames = 0;
        double loud = 0;
        while (source.read(frame, rate) && frames < 200) {
            ++frames;
            if (frames > 2) loud += rms(frame);
        }
        EXPECT_NEAR(frames, 49, 2) << rate;            // one second of 20 ms frames
        EXPECT_GT(loud / (frames - 2), 5000) << rate;  // 10000 peak: about 7071 RMS
    }
}

TEST(Prompt, MusicLoopsWithoutEndOrGap) {
    for (int rate : {8000, 16000}) {
        auto p = std::make_shared<Prompt>(*parse_wav(wav(sine(700, 16000, 0.5), 16000)));
        PromptSource music(p, true);
        std::vector<std::int16_t> frame(static_cast<std::size_t>(rate / 50));
        int frames = 0;
        double quietest = 1e9;
        for (; frames < 200 && music.read(frame, rate); ++frames)  // 4 s of a 0.5 s file
            if (frames > 2) quietest = std::min(quietest, rms(frame));
        EXPECT_EQ(frames, 200) << rate;
        EXPECT_GT(quietest, 4000) << "a gap where the file starts over, at " << rate;
    }
}

}  // namespace
}  // namespace sb::media::dsp
