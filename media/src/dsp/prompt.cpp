#include "sb/media/dsp/prompt.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

namespace sb::media::dsp {

namespace {

std::uint32_t le32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
           std::uint32_t{p[3]} << 24;
}
std::uint16_t le16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>(p[0] | p[1] << 8);
}

constexpr int kFormatPcm = 1;
constexpr int kFormatExtensible = 0xFFFE;

// KSDATAFORMAT_SUBTYPE_PCM, {00000001-0000-0010-8000-00AA00389B71}, as a WAV file stores it
// (its first three fields little-endian). The sub-formats that stand for an old format tag differ
// from it in their first two bytes only, which hold the tag (ksmedia.h's
// DEFINE_WAVEFORMATEX_GUID).
constexpr std::array<std::uint8_t, 16> kSubtypePcm = {
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

// A sub-format GUID as people write it, with the old format tag it stands for when it is one.
std::string describe_sub_format(const std::uint8_t* g) {
    char text[40];
    std::snprintf(text, sizeof text, "{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
                  static_cast<unsigned>(le32(g)), static_cast<unsigned>(le16(g + 4)),
                  static_cast<unsigned>(le16(g + 6)), g[8], g[9], g[10], g[11], g[12], g[13], g[14],
                  g[15]);
    std::string out = text;
    if (std::memcmp(g + 2, kSubtypePcm.data() + 2, kSubtypePcm.size() - 2) == 0) {
        const int tag = le16(g);
        out += " (format " + std::to_string(tag);
        if (tag == 3) out += ", IEEE float";
        if (tag == 6) out += ", A-law";
        if (tag == 7) out += ", mu-law";
        out += ")";
    }
    return out;
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
    std::span<const std::uint8_t> fmt;
    std::span<const std::uint8_t> data;
    while (pos + 8 <= b.size()) {
        const std::uint32_t size = le32(b.data() + pos + 4);
        const std::size_t body = pos + 8;
        const std::size_t end = std::min<std::size_t>(b.size(), body + size);
        if (std::memcmp(b.data() + pos, "fmt ", 4) == 0 && end - body >= 16) {
            fmt = b.subspan(body, end - body);
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
    if (format == kFormatExtensible) {
        // WAVE_FORMAT_EXTENSIBLE: after the 16 bytes of PCM's fmt, cbSize (22 at least),
        // wValidBitsPerSample, dwChannelMask and the SubFormat GUID that says what the samples
        // are; the format tag alone says nothing.
        if (fmt.size() < 40 || le16(fmt.data() + 16) < 22)
            return fail("WAVE_FORMAT_EXTENSIBLE with no sub-format (a fmt chunk of " +
                        std::to_string(fmt.size()) + " bytes, 40 expected)");
        if (std::memcmp(fmt.data() + 24, kSubtypePcm.data(), kSubtypePcm.size()) != 0)
            return fail("WAVE_FORMAT_EXTENSIBLE sub-format " +
                        describe_sub_format(fmt.data() + 24) + " is not PCM");
    } else if (format != kFormatPcm) {
        return fail("WAV format " + std::to_string(format) + " is not PCM");
    }
    if (bits != 16) return fail(std::to_string(bits) + "-bit samples (16-bit PCM expected)");
    if (channels < 1 || channels > 2) return fail(std::to_string(channels) + " channels");
    if (rate < 8000 || rate > 48000) return fail("sample rate " + std::to_string(rate));
    if (format == kFormatExtensible) {
        // The valid bits sit at the top of each 16-bit container, so fewer than 16 play as they
        // are; none, or more than the container holds, is a broken header.
        const int valid = le16(fmt.data() + 18);
        if (valid < 1 || valid > bits)
            return fail("WAVE_FORMAT_EXTENSIBLE with " + std::to_string(valid) + " valid bits in " +
                        std::to_string(bits) + "-bit samples");
    }
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
