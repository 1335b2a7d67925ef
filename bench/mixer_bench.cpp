// The conference mixer's tick (dsp/mixer.h) at 16 kHz: 10 and 50 participants, everyone mixed
// (max_speakers 0) and the 4 loudest. Every participant sends a frame every tick (the worst case:
// nobody silent or muted); items = participant frames mixed. Reference: the naive mix-minus that
// sums the N - 1 others for each participant (O(N^2) per tick), with saturation.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <vector>

#include "sb/media/dsp/mixer.h"

namespace {

using sb::media::dsp::Mixer;
using sb::media::dsp::MixerConfig;
using sb::media::dsp::ParticipantId;

constexpr int kRate = 16000;
constexpr std::size_t kFrame = kRate / 50;

// Participant i's frame: a tone of its own over a little noise, at a level that leaves some
// headroom for 10 but drives the limiter with 50 mixed together.
std::vector<std::int16_t> frame_of(std::size_t i) {
    std::mt19937 rng(static_cast<std::uint32_t>(i));
    std::uniform_int_distribution<int> noise(-300, 300);
    std::vector<std::int16_t> f(kFrame);
    const double hz = 200 + 37.0 * static_cast<double>(i);
    for (std::size_t k = 0; k < kFrame; ++k)
        f[k] = static_cast<std::int16_t>(
            2000 * std::sin(2 * std::numbers::pi * hz * static_cast<double>(k) / kRate) +
            noise(rng));
    return f;
}

void BM_Mixer_Mix(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    MixerConfig config;
    config.sample_rate = kRate;
    config.max_participants = 64;
    config.max_speakers = static_cast<std::size_t>(state.range(1));
    Mixer mixer(config);
    std::vector<ParticipantId> ids;
    for (std::size_t i = 0; i < n; ++i) {
        ids.push_back(*mixer.join());
        std::ranges::copy(frame_of(i), mixer.input(ids.back()).begin());
    }
    for (auto _ : state) {
        // The frames stay in place; taking input() marks them sent, as the relay would.
        for (const ParticipantId& id : ids) benchmark::DoNotOptimize(mixer.input(id).data());
        mixer.mix();
        benchmark::DoNotOptimize(mixer.output(ids[0]).data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
    state.counters["speakers"] = static_cast<double>(mixer.stats().speakers);
    state.counters["limited"] = static_cast<double>(mixer.stats().limited_outputs);
}
BENCHMARK(BM_Mixer_Mix)
    ->ArgNames({"participants", "max_speakers"})
    ->ArgsProduct({{10, 50}, {0, 4}});

// Reference: each participant's output summed from the others, then saturated.
void BM_Naive_MixMinus(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<std::vector<std::int16_t>> in, out(n, std::vector<std::int16_t>(kFrame));
    for (std::size_t i = 0; i < n; ++i) in.push_back(frame_of(i));
    std::vector<std::int32_t> acc(kFrame);
    for (auto _ : state) {
        for (std::size_t i = 0; i < n; ++i) {
            std::fill(acc.begin(), acc.end(), 0);
            for (std::size_t j = 0; j < n; ++j)
                if (j != i)
                    for (std::size_t k = 0; k < kFrame; ++k) acc[k] += in[j][k];
            for (std::size_t k = 0; k < kFrame; ++k)
                out[i][k] = static_cast<std::int16_t>(std::clamp(acc[k], -32768, 32767));
        }
        benchmark::DoNotOptimize(out[0].data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(BM_Naive_MixMinus)->ArgName("participants")->Arg(10)->Arg(50);

}  // namespace
