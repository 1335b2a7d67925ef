#pragma once
// ITU-T G.711 companding: mu-law (PCMU, RTP payload type 0) and A-law (PCMA, 8), RFC 3551 4.5.14.
// Per-sample functions for the DSP code (tones, DTMF, mixing) and span versions for the codec.
//
// Bit-exact with the ITU-T G.191 reference (g711.c): negative values take the one's complement
// magnitude, so a mu-law code depends only on the top 14 bits of the sample and an A-law code
// on the top 12. Encoding is therefore one lookup in a 16K-entry (mu-law) or 4K-entry (A-law)
// table indexed by those bits, decoding one in a 256-entry table; all four are computed at
// compile time from the G.191 formulas. Measured on 160-sample frames (-O2): 74 ns a frame with
// the 16K table, 128 ns with an 8K table of magnitudes plus the sign, 280 ns computing the
// segment with a count of leading zeros (the classic 8-step search is slower still).
//
// Linear values are 16-bit; G.711 works on 14 bits (mu-law) or 13 bits (A-law) of them, so the
// decoded values are the ITU tables' scaled by 4 and 8 (mu-law 0x80 -> 32124, A-law 0xd5 -> 8).
#include <array>
#include <cstdint>
#include <span>

namespace sb::media::codec {

namespace detail {
extern const std::array<std::uint8_t, 1 << 14> kLinearToUlaw;  // by (uint16_t)sample >> 2
extern const std::array<std::uint8_t, 1 << 12> kLinearToAlaw;  // by (uint16_t)sample >> 4
extern const std::array<std::int16_t, 256> kUlawToLinear;
extern const std::array<std::int16_t, 256> kAlawToLinear;
}  // namespace detail

inline std::uint8_t linear_to_ulaw(std::int16_t sample) {
    return detail::kLinearToUlaw[static_cast<std::uint16_t>(sample) >> 2];
}
inline std::uint8_t linear_to_alaw(std::int16_t sample) {
    return detail::kLinearToAlaw[static_cast<std::uint16_t>(sample) >> 4];
}
inline std::int16_t ulaw_to_linear(std::uint8_t code) {
    return detail::kUlawToLinear[code];
}
inline std::int16_t alaw_to_linear(std::uint8_t code) {
    return detail::kAlawToLinear[code];
}

// Block versions: `out` must hold at least as many values as `in` (asserted).
void ulaw_encode(std::span<const std::int16_t> in, std::span<std::uint8_t> out);
void ulaw_decode(std::span<const std::uint8_t> in, std::span<std::int16_t> out);
void alaw_encode(std::span<const std::int16_t> in, std::span<std::uint8_t> out);
void alaw_decode(std::span<const std::uint8_t> in, std::span<std::int16_t> out);

}  // namespace sb::media::codec
