#pragma once
// Prompts: recorded or synthesised announcements ("please hold", "the number is busy") that the
// dialplan plays to a caller. A prompt is a WAV file (16-bit linear PCM, mono or stereo, 8 to
// 48 kHz) loaded whole into memory, and played by a PromptSource at whatever rate the leg's
// codec takes (speexdsp resampling when the rates differ). Shipped prompts are made with
// espeak-ng by scripts/make-prompts; an administrator replaces one by dropping a WAV of the same
// name into the prompt directory.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "sb/common/result.h"
#include "sb/media/codec/resampler.h"
#include "sb/media/dsp/audio_source.h"

namespace sb::media::dsp {

inline constexpr int kMaxPromptSeconds = 600;

struct Prompt {
    std::vector<std::int16_t> samples;  // mono
    int rate = 8000;
    double seconds() const { return static_cast<double>(samples.size()) / rate; }
};

// Parses a WAV file's bytes: PCM, or WAVE_FORMAT_EXTENSIBLE whose sub-format is PCM, with the
// same constraints. Errors say what is wrong ("not PCM", "24-bit samples", the sub-format found).
Result<Prompt> parse_wav(std::span<const std::uint8_t> bytes);
// Loads `name` from `directory`: names are letters, digits, '-' and '_' (no paths), the file
// is <directory>/<name>.wav.
Result<std::shared_ptr<const Prompt>> load_prompt(const std::filesystem::path& directory,
                                                  std::string_view name);

class PromptSource final : public AudioSource {
  public:
    // `loop`: starts over at the end, without end (music on hold).
    explicit PromptSource(std::shared_ptr<const Prompt> prompt, bool loop = false)
        : prompt_(std::move(prompt)), loop_(loop) {}
    bool read(std::span<std::int16_t> out, int rate) override;

  private:
    std::shared_ptr<const Prompt> prompt_;
    bool loop_ = false;
    std::size_t position_ = 0;  // in the prompt's samples
    std::optional<codec::Resampler> resampler_;
    int resampler_rate_ = 0;
};

}  // namespace sb::media::dsp
