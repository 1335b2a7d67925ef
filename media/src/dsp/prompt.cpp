#include "sb/media/dsp/prompt.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <iterator>

namespace sb::media::dsp {

namespace {

std::uint32_t le32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
           std::uint32_t{p[3]} << 24;
}
std::uint16_t le16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>(p[0] | p[1] << 8);
}

bool valid_name(std::string_view name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
    });
}

}  // namespace

Result<Prompt> parse_wav(std::span<const std::uint8_t> b) {
    if (b.size() < 12 || std::memcmp(b.data(), "RIFF", 4) != 0 ||
        std::memcmp(b.data() + 8, "WAVE", 4) != 0)
        return fail("not a RIFF/WAVE file");
    std::size_t pos = 12;
    int channels = 0, rate = 0, bits = 0, format = 0;
    std::span<const std::uint8_t> data;
    while (pos + 8 <= b.size()) {
        const std::uint32_t size = le32(b.data() + pos + 4);
        const std::size_t body = pos + 8;
        const std::size_t end = std::min<std::size_t>(b.size(), body + size);
        if (std::memcmp(b.data() + pos, "fmt ", 4) == 0 && end - body >= 16) {
            format = le16(b.data() + body);
            channels = le16(b.data() + body + 2);
            rate = static_cast<int>(le32(b.data() + body + 4));
            bits = le16(b.data() + body + 14);
        } else if (std::memcmp(b.data() + pos, "data", 4) == 0) {
            data = b.subspan(body, end - body);  // a writer that never closed: up to the end
            break;
        }
        pos = body + size + (size & 1);
    }
    if (format == 0) return fail("no fmt chunk");
    if (format != 1 && format != 0xFFFE)
        return fail("WAV format " + std::to_string(format) + " is not PCM");
    if (bits != 16) return fail(std::to_string(bits) + "-bit samples (16-bit PCM expected)");
    if (channels < 1 || channels > 2) return fail(std::to_string(channels) + " channels");
    if (rate < 8000 || rate > 48000) return fail("sample rate " + std::to_string(rate));
    // A data chunk shorter than one frame holds no audio either.
    const std::size_t frames = data.size() / (2u * static_cast<unsigned>(channels));
    if (frames == 0) return fail("no audio data");
    if (frames > static_cast<std::size_t>(rate) * kMaxPromptSeconds)
        return fail("longer than " + std::to_string(kMaxPromptSeconds) + " s");
    Prompt p;
    p.rate = rate;
    p.samples.resize(frames);
    for (std::size_t i = 0; i < frames; ++i) {
        const std::uint8_t* s = data.data() + i * 2u * static_cast<unsigned>(channels);
        int v = static_cast<std::int16_t>(le16(s));
        if (channels == 2) v = (v + static_cast<std::int16_t>(le16(s + 2))) / 2;
        p.samples[i] = static_cast<std::int16_t>(v);
    }
    return p;
}

Result<std::shared_ptr<const Prompt>> load_prompt(const std::filesystem::path& directory,
                                                  std::string_view name) {
    if (!valid_name(name))
        return fail("prompt name '" + std::string(name.substr(0, 64)) +
                    "': letters, digits, '-' and '_' only");
    const std::filesystem::path file = directory / (std::string(name) + ".wav");
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail("prompt '" + std::string(name) + "': cannot read " + file.string());
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
    auto p = parse_wav(bytes);
    if (!p) return fail("prompt " + file.string() + ": " + p.error().message);
    return std::shared_ptr<const Prompt>(std::make_shared<Prompt>(std::move(*p)));
}

bool PromptSource::read(std::span<std::int16_t> out, int rate) {
    std::fill(out.begin(), out.end(), std::int16_t{0});
    const auto& s = prompt_->samples;
    if (loop_ && position_ >= s.size() && !s.empty()) position_ = 0;  // the resampler carries on
    if (position_ >= s.size()) return false;
    if (rate == prompt_->rate) {
        const std::size_t n = std::min(out.size(), s.size() - position_);
        std::copy_n(s.begin() + static_cast<std::ptrdiff_t>(position_), n, out.begin());
        position_ += n;
        return loop_ || position_ < s.size();
    }
    if (!resampler_ || resampler_rate_ != rate) {
        auto r = codec::Resampler::create(prompt_->rate, rate);
        if (!r) return false;
        resampler_.emplace(std::move(*r));
        resampler_rate_ = rate;
    }
    // The input that makes one output frame (exact for 20 ms frames at the usual rates).
    std::size_t n =
        out.size() * static_cast<std::size_t>(prompt_->rate) / static_cast<std::size_t>(rate);
    n = std::min(n, s.size() - position_);
    while (n > 0 && static_cast<std::size_t>(resampler_->output_size(n)) > out.size()) --n;
    if (resampler_->process({s.data() + position_, n}, out) < 0) return false;
    position_ += n;
    return loop_ || position_ < s.size();
}

}  // namespace sb::media::dsp
