#include "sb/media/dsp/dtmf.h"

#include <algorithm>
#include <string>

#include <spandsp.h>

namespace sb::media::dsp {

namespace {

// ITU-T Q.23: rows are the low group, columns the high group.
constexpr std::array<std::uint16_t, 4> kRows = {697, 770, 852, 941};
constexpr std::array<std::uint16_t, 4> kColumns = {1209, 1336, 1477, 1633};
constexpr std::array<std::array<char, 4>, 4> kKeypad = {{
    {'1', '2', '3', 'A'},
    {'4', '5', '6', 'B'},
    {'7', '8', '9', 'C'},
    {'*', '0', '#', 'D'},
}};

struct RxFree {
    void operator()(dtmf_rx_state_t* s) const { dtmf_rx_free(s); }
};

}  // namespace

std::optional<DtmfPair> dtmf_pair(char digit) {
    if (digit >= 'a' && digit <= 'd') digit = static_cast<char>(digit - 'a' + 'A');
    for (std::size_t r = 0; r < kRows.size(); ++r)
        for (std::size_t c = 0; c < kColumns.size(); ++c)
            if (kKeypad[r][c] == digit) return DtmfPair{kRows[r], kColumns[c]};
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// DtmfDetector

struct DtmfDetector::State {
    std::unique_ptr<dtmf_rx_state_t, RxFree> rx;
    Options options;
    std::uint64_t processed = 0;  // samples, up to the end of the frame being processed
    char current = 0;
    std::array<DtmfEvent, kMaxPending> queue{};
    std::size_t head = 0;
    std::size_t count = 0;
    std::uint64_t dropped = 0;

    void configure() {
        dtmf_rx_set_realtime_callback(rx.get(), &State::on_change, this);
        // Twists and threshold stay SpanDSP's (-99: unchanged): 8 dB normal, 4 dB reverse.
        dtmf_rx_parms(rx.get(), options.filter_dial_tone ? 1 : 0, -1, -1, -99);
    }

    void push(const DtmfEvent& e) {
        if (count == queue.size()) {
            ++dropped;
            return;
        }
        queue[(head + count) % queue.size()] = e;
        ++count;
    }

    // SpanDSP's real-time callback: `code` is the digit's ASCII code when one is confirmed, 0
    // when it is gone; `level` its power in dBm0; `delay` the samples since the previous report,
    // so at the end, the digit's length (to its 102-sample blocks).
    static void on_change(void* user, int code, int level, int delay) {
        auto* s = static_cast<State*>(user);
        const int ms = std::max(0, delay) * 1000 / kSampleRate;
        if (s->current != 0) {  // whatever comes now, the current digit has ended
            s->push(DtmfEvent{s->current, true, ms, 0, s->processed});
            s->current = 0;
        }
        if (code > 0 && code < 128) {
            s->current = static_cast<char>(code);
            s->push(DtmfEvent{s->current, false, 0, level, s->processed});
        }
    }
};

DtmfDetector::DtmfDetector(std::unique_ptr<State> state) : state_(std::move(state)) {}
DtmfDetector::DtmfDetector(DtmfDetector&&) noexcept = default;
DtmfDetector& DtmfDetector::operator=(DtmfDetector&&) noexcept = default;
DtmfDetector::~DtmfDetector() = default;

Result<DtmfDetector> DtmfDetector::create(const Options& options) {
    auto state = std::make_unique<State>();
    state->rx.reset(dtmf_rx_init(nullptr, nullptr, nullptr));
    if (!state->rx) return fail("DTMF detector: SpanDSP could not allocate its state");
    state->options = options;
    state->configure();
    return DtmfDetector(std::move(state));
}

void DtmfDetector::process(std::span<const std::int16_t> frame) {
    State& s = *state_;
    s.processed += frame.size();
    // dtmf_rx takes an int count and a non-const pointer type in old releases; frames are small.
    dtmf_rx(s.rx.get(), frame.data(), static_cast<int>(frame.size()));
}

std::optional<DtmfEvent> DtmfDetector::pop() {
    State& s = *state_;
    if (s.count == 0) return std::nullopt;
    const DtmfEvent e = s.queue[s.head];
    s.head = (s.head + 1) % s.queue.size();
    --s.count;
    return e;
}

std::uint64_t DtmfDetector::dropped() const {
    return state_->dropped;
}

char DtmfDetector::current() const {
    return state_->current;
}

void DtmfDetector::reset() {
    State& s = *state_;
    dtmf_rx_init(s.rx.get(), nullptr, nullptr);  // in place: no allocation
    s.configure();
    s.processed = 0;
    s.current = 0;
    s.head = 0;
    s.count = 0;
    s.dropped = 0;
}

// ---------------------------------------------------------------------------------------------
// DtmfGenerator

DtmfGenerator::DtmfGenerator(int sample_rate, float low_level_dbm0, float high_level_dbm0)
    : rate_(sample_rate), low_dbm0_(low_level_dbm0), high_dbm0_(high_level_dbm0) {}

Status DtmfGenerator::play(char digit, int duration_ms) {
    return begin(digit, std::clamp(duration_ms, kMinDurationMs, kMaxDurationMs));
}

Status DtmfGenerator::start(char digit) {
    return begin(digit, 0);
}

Status DtmfGenerator::begin(char digit, int duration_ms) {
    const auto pair = dtmf_pair(digit);
    if (!pair) return fail(std::string("DTMF: '") + digit + "' is not a DTMF digit");
    ToneSpec spec = ToneSpec{}.add(pair->low_hz, low_dbm0_).add(pair->high_hz, high_dbm0_);
    if (duration_ms > 0) spec.on(static_cast<std::uint16_t>(duration_ms)).repeat(1);
    if (auto ok = validate(spec, rate_); !ok) return ok;
    tone_.emplace(spec, rate_);
    digit_ = static_cast<char>(digit >= 'a' && digit <= 'd' ? digit - 'a' + 'A' : digit);
    return {};
}

void DtmfGenerator::stop() {
    if (tone_) tone_->stop();
}

void DtmfGenerator::generate(std::span<std::int16_t> out) {
    if (tone_) {
        tone_->generate(out);
    } else {
        std::fill(out.begin(), out.end(), std::int16_t{0});
    }
}

}  // namespace sb::media::dsp
