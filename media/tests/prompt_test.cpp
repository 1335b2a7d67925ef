#include "sb/media/dsp/prompt.h"

#include <gtest/gtest.h>

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
