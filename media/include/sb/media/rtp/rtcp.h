#pragma once
// RTCP sender and receiver reports (RFC 3550 6.4), SDES CNAME (6.5) and BYE (6.6), read from and
// written to compound packets (6.1, A.2). What the relay needs to report on the streams it
// receives, learn round-trip times from what the far end reports, and tell a far end's RTCP
// apart from garbage. Other packet types (APP, XR, RTPFB/PSFB feedback) are skipped by length.
//
// Bounded and allocation-free except for the CNAME: the parser never reads past the span it is
// given; a Report holds at most kMaxReportBlocks blocks in place.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sb/common/result.h"

namespace sb::media::rtp {

// RC is 5 bits (RFC 3550 6.4.1).
inline constexpr std::size_t kMaxReportBlocks = 31;
// SDES item text is at most 255 octets (RFC 3550 6.5).
inline constexpr std::size_t kMaxCnameSize = 255;
// The largest compound write_compound produces: SR with 31 blocks (772), SDES with a 255-octet
// CNAME (268), BYE (8).
inline constexpr std::size_t kMaxCompoundSize = 1048;

inline constexpr std::uint8_t kRtcpSr = 200;
inline constexpr std::uint8_t kRtcpRr = 201;
inline constexpr std::uint8_t kRtcpSdes = 202;
inline constexpr std::uint8_t kRtcpBye = 203;

// One reception report block (RFC 3550 6.4.1), about the stream from `ssrc`.
struct ReportBlock {
    std::uint32_t ssrc = 0;
    std::uint8_t fraction_lost = 0;  // of the packets expected since the last report, x256
    // Signed: duplicates can make it negative (A.3). 24 bits on the wire: written clamped to
    // [-0x800000, 0x7fffff], read sign-extended.
    std::int32_t cumulative_lost = 0;
    std::uint32_t extended_highest_seq = 0;  // cycles << 16 | highest sequence number
    std::uint32_t jitter = 0;                // interarrival jitter, timestamp units (A.8)
    std::uint32_t lsr = 0;   // middle 32 bits of the last SR's NTP timestamp, 0 if none
    std::uint32_t dlsr = 0;  // delay since that SR, 1/65536 s

    bool operator==(const ReportBlock&) const = default;
};

// The sender information of an SR (RFC 3550 6.4.1).
struct SenderInfo {
    std::uint64_t ntp_timestamp = 0;  // seconds since 1900 << 32 | fraction
    std::uint32_t rtp_timestamp = 0;  // the same instant in the stream's timestamp units
    std::uint32_t packet_count = 0;
    std::uint32_t octet_count = 0;  // payload octets

    bool operator==(const SenderInfo&) const = default;
};

// What one participant's compound packet says: its SR or RR (and the RRs that continue it),
// its CNAME, whether it said goodbye.
struct Report {
    std::uint32_t ssrc = 0;            // the sender of the SR/RR
    std::optional<SenderInfo> sender;  // present for an SR
    std::array<ReportBlock, kMaxReportBlocks> blocks{};
    std::size_t block_count = 0;
    bool bye = false;
    std::optional<std::string> cname;  // the CNAME item of the first SDES chunk (parse only)

    std::span<const ReportBlock> report_blocks() const { return {blocks.data(), block_count}; }
    // False when the report already holds kMaxReportBlocks.
    bool add_block(const ReportBlock& b) {
        if (block_count == kMaxReportBlocks) return false;
        blocks[block_count++] = b;
        return true;
    }
};

// Parses and validates a compound packet (RFC 3550 A.2): every packet version 2; the first an
// SR or RR; padding only on the last; the packets' lengths add up to the datagram exactly.
// Report blocks of further SR/RR packets from the same SSRC are appended (6.4.2: more than 31
// sources); those of other SSRCs and blocks beyond kMaxReportBlocks are ignored. Errors say
// what is wrong: "RTCP: length 7 words past the end of the packet". A reduced-size (RFC 5506)
// packet fails: the first packet must be an SR or RR.
Result<Report> parse_compound(std::span<const std::uint8_t> data);

// Writes an SR (if report.sender) or RR with report's blocks, then SDES with `cname` (every
// compound carries one, RFC 3550 6.1), then a BYE if report.bye (6.6: BYE last). report.cname
// is not used. Returns the bytes written, or 0 if they do not fit in `out` (kMaxCompoundSize
// always does) or `cname` is longer than kMaxCnameSize.
std::size_t write_compound(std::span<std::uint8_t> out, const Report& report,
                           std::string_view cname);

// The middle 32 bits of an NTP timestamp: what LSR and RTT arithmetic use (RFC 3550 6.4.1).
constexpr std::uint32_t middle_32(std::uint64_t ntp) {
    return static_cast<std::uint32_t>(ntp >> 16);
}

// A wall-clock time (ns since 1970, e.g. from CLOCK_REALTIME) as an NTP timestamp (RFC 5905
// 6: seconds since 1900). Seconds wrap modulo 2^32 (era 1 starts in 2036), which the middle-32
// arithmetic tolerates.
std::uint64_t ntp_from_unix_ns(std::int64_t unix_ns);

// The round trip to the reporter (RFC 3550 6.4.1): A - LSR - DLSR in 1/65536 s, where A is the
// middle 32 bits of the NTP time the report arrived. Modular, so the 18-hour wrap of the middle
// 32 bits is harmless. nullopt if the reporter has no SR from us (LSR 0) or the result is
// negative (clocks, or a block not about our SR).
std::optional<double> round_trip_ms(std::uint32_t now_middle32, const ReportBlock& block);

}  // namespace sb::media::rtp
