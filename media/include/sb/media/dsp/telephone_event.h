#pragma once
// RFC 4733 telephone-events: DTMF digits carried as RTP payloads instead of audio. The payload
// format (2.3), the digits' event codes (3.2), and the sender's side of an event's packets
// (2.5.1). The caller wraps payloads in RTP (rtp/rtp_header.h) with the payload type negotiated
// for telephone-event; nothing here knows RTP headers or sockets.
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |     event     |E|R| volume    |          duration             |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "sb/common/result.h"

namespace sb::media::dsp {

inline constexpr std::size_t kTelephoneEventSize = 4;

struct TelephoneEvent {
    std::uint8_t event = 0;      // 0-15 are DTMF (3.2); others are other registries' tones
    bool end = false;            // E: the last packet(s) of the event (2.3.2)
    std::uint8_t volume = 0;     // 0-63: the power is -volume dBm0 (2.3.4)
    std::uint16_t duration = 0;  // so far, in timestamp units, from the RTP timestamp (2.3.5)

    friend bool operator==(const TelephoneEvent&, const TelephoneEvent&) = default;
};

// The first event of a payload. Shorter than 4 bytes is an error; more is allowed (2.5.1.5
// packs several events into one packet, and the receiver acts on each in turn), and the R bit
// is ignored as 2.3.3 asks.
Result<TelephoneEvent> parse_telephone_event(std::span<const std::uint8_t> payload);
// R is written 0; a volume above 63 is written as 63.
std::array<std::uint8_t, kTelephoneEventSize> write_telephone_event(const TelephoneEvent& e);

// RFC 4733 3.2: '0'-'9' are 0-9, '*' 10, '#' 11, 'A'-'D' (either case) 12-15.
std::optional<std::uint8_t> event_for_digit(char digit);
// The inverse, upper case; nothing for events above 15.
std::optional<char> digit_for_event(std::uint8_t event);

// One packet to send: its payload and what the RTP header must carry.
struct TelephoneEventPacket {
    TelephoneEvent event;
    std::array<std::uint8_t, kTelephoneEventSize> payload{};
    bool marker = false;          // the RTP M bit
    std::uint32_t timestamp = 0;  // the RTP timestamp: the event's (or segment's) start
};

// The packets of one event after another, RFC 4733 2.5.1. The caller reports the event's start
// and then each packet interval (its 20 ms media tick) until the end:
//
//   start(5, T)   -> M=1, ts T, duration 1 interval   (2.5.1.2: the first packet is marked)
//   tick()        -> M=0, ts T, duration 2 intervals  (same timestamp, growing duration)
//   ...
//   end()         -> 3 x E=1, ts T, the final duration (2.5.1.4: the end packet three times)
//
// start() stands for the event's first interval: its packet already reports one interval of
// duration, as the packets of 2.5.1.2 report the time elapsed when they are sent (a first
// packet of duration 0 is legal but confuses some receivers). end() adds no time: call it
// instead of the tick in which the event ended, or after it.
//
// An event longer than the 16-bit duration field allows (8.19 s at 8 kHz) continues in a new
// segment (2.5.1.3): the timestamp moves on by the previous segment's duration and the duration
// starts again; the marker is not set again.
//
// Each packet needs its own RTP sequence number, including the end's repeats (2.5.1.4).
class TelephoneEventSender {
  public:
    static constexpr int kEndRepeats = 3;

    // `clock_rate`: the telephone-event payload type's (8000 unless negotiated otherwise);
    // `interval_ms`: the packet interval, normally the audio's ptime.
    explicit TelephoneEventSender(std::uint32_t clock_rate = 8000, std::uint32_t interval_ms = 20);

    // An event started at RTP timestamp `timestamp`; `volume` as in TelephoneEvent (10 is
    // -10 dBm0, a DTMF tone's usual level). An event still in progress is abandoned: call
    // end() first.
    TelephoneEventPacket start(std::uint8_t event, std::uint32_t timestamp,
                               std::uint8_t volume = 10);
    // One more interval of the event in progress. Only while active().
    TelephoneEventPacket tick();
    // The event's end; afterwards the sender is idle. Only while active().
    std::array<TelephoneEventPacket, kEndRepeats> end();

    bool active() const { return active_; }
    // Timestamp units per interval.
    std::uint32_t step() const { return step_; }

  private:
    TelephoneEventPacket packet(bool marker, bool end) const;

    std::uint32_t step_;
    bool active_ = false;
    std::uint8_t event_ = 0;
    std::uint8_t volume_ = 0;
    std::uint32_t timestamp_ = 0;
    std::uint32_t duration_ = 0;
};

}  // namespace sb::media::dsp
