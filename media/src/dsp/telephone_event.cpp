#include "sb/media/dsp/telephone_event.h"

#include <algorithm>
#include <cassert>
#include <string>

namespace sb::media::dsp {

namespace {

constexpr std::uint32_t kMaxDuration = 0xffff;
constexpr std::uint8_t kMaxVolume = 63;
constexpr std::array<char, 16> kDigits = {'0', '1', '2', '3', '4', '5', '6', '7',
                                          '8', '9', '*', '#', 'A', 'B', 'C', 'D'};

}  // namespace

Result<TelephoneEvent> parse_telephone_event(std::span<const std::uint8_t> payload) {
    if (payload.size() < kTelephoneEventSize)
        return fail("telephone-event: payload of " + std::to_string(payload.size()) +
                    " bytes, needs 4 (RFC 4733 2.3)");
    TelephoneEvent e;
    e.event = payload[0];
    e.end = (payload[1] & 0x80) != 0;
    e.volume = payload[1] & 0x3f;
    e.duration = static_cast<std::uint16_t>(payload[2] << 8 | payload[3]);
    return e;
}

std::array<std::uint8_t, kTelephoneEventSize> write_telephone_event(const TelephoneEvent& e) {
    const std::uint8_t volume = std::min(e.volume, kMaxVolume);
    return {e.event, static_cast<std::uint8_t>((e.end ? 0x80 : 0) | volume),
            static_cast<std::uint8_t>(e.duration >> 8),
            static_cast<std::uint8_t>(e.duration & 0xff)};
}

std::optional<std::uint8_t> event_for_digit(char digit) {
    if (digit >= 'a' && digit <= 'd') digit = static_cast<char>(digit - 'a' + 'A');
    for (std::size_t i = 0; i < kDigits.size(); ++i)
        if (kDigits[i] == digit) return static_cast<std::uint8_t>(i);
    return std::nullopt;
}

std::optional<char> digit_for_event(std::uint8_t event) {
    if (event >= kDigits.size()) return std::nullopt;
    return kDigits[event];
}

TelephoneEventSender::TelephoneEventSender(std::uint32_t clock_rate, std::uint32_t interval_ms)
    : step_(clock_rate * interval_ms / 1000) {
    assert(step_ > 0 && step_ <= kMaxDuration);
}

TelephoneEventPacket TelephoneEventSender::packet(bool marker, bool end) const {
    TelephoneEventPacket p;
    p.event = TelephoneEvent{event_, end, volume_, static_cast<std::uint16_t>(duration_)};
    p.payload = write_telephone_event(p.event);
    p.marker = marker;
    p.timestamp = timestamp_;
    return p;
}

TelephoneEventPacket TelephoneEventSender::start(std::uint8_t event, std::uint32_t timestamp,
                                                 std::uint8_t volume) {
    active_ = true;
    event_ = event;
    volume_ = std::min(volume, kMaxVolume);
    timestamp_ = timestamp;
    duration_ = step_;
    return packet(true, false);
}

TelephoneEventPacket TelephoneEventSender::tick() {
    assert(active_);
    if (duration_ + step_ > kMaxDuration) {
        // 2.5.1.3: a new segment starts where this one ends; RTP timestamps wrap modulo 2^32.
        timestamp_ += duration_;
        duration_ = step_;
    } else {
        duration_ += step_;
    }
    return packet(false, false);
}

std::array<TelephoneEventPacket, TelephoneEventSender::kEndRepeats> TelephoneEventSender::end() {
    assert(active_);
    active_ = false;
    const TelephoneEventPacket p = packet(false, true);
    return {p, p, p};
}

}  // namespace sb::media::dsp
