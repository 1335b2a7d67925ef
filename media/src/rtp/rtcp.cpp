#include "sb/media/rtp/rtcp.h"

#include <algorithm>
#include <cstring>

#include "sb/media/rtp/rtp_header.h"

namespace sb::media::rtp {

namespace {

constexpr std::size_t kHeaderSize = 4;
constexpr std::size_t kBlockSize = 24;
constexpr std::size_t kSrFixedSize = 28;  // header, SSRC, sender info (RFC 3550 6.4.1)
constexpr std::size_t kRrFixedSize = 8;   // header, SSRC (6.4.2)
constexpr std::uint8_t kSdesCname = 1;

std::string str(std::size_t n) {
    return std::to_string(n);
}

ReportBlock read_block(const std::uint8_t* p) {
    ReportBlock b;
    b.ssrc = load32(p);
    b.fraction_lost = p[4];
    // A 24-bit two's complement number: move its sign bit to bit 31 and shift back
    // (arithmetic in C++20).
    b.cumulative_lost = static_cast<std::int32_t>(load32(p + 4) << 8) >> 8;
    b.extended_highest_seq = load32(p + 8);
    b.jitter = load32(p + 12);
    b.lsr = load32(p + 16);
    b.dlsr = load32(p + 20);
    return b;
}

void write_block(std::uint8_t* p, const ReportBlock& b) {
    const std::int32_t lost = std::clamp(b.cumulative_lost, -0x800000, 0x7fffff);
    store32(p, b.ssrc);
    store32(p + 4,
            std::uint32_t{b.fraction_lost} << 24 | (static_cast<std::uint32_t>(lost) & 0xffffff));
    store32(p + 8, b.extended_highest_seq);
    store32(p + 12, b.jitter);
    store32(p + 16, b.lsr);
    store32(p + 20, b.dlsr);
}

// `size` in bytes, a multiple of 4; the length field counts 32-bit words minus one (6.4.1).
void write_header(std::uint8_t* p, std::size_t count, std::uint8_t type, std::size_t size) {
    p[0] = static_cast<std::uint8_t>(0x80 | count);
    p[1] = type;
    store16(p + 2, static_cast<std::uint16_t>(size / 4 - 1));
}

// An SR or RR (`p` without padding). The first one names the reporter; later ones from the
// same SSRC continue its list of blocks (6.4.2), others are not about this report.
Status read_report(std::span<const std::uint8_t> p, std::size_t count, bool first, Report& report) {
    const bool sr = p[1] == kRtcpSr;
    const std::size_t fixed = sr ? kSrFixedSize : kRrFixedSize;
    // Profile-specific extensions may follow the blocks (6.4.1): longer is fine.
    if (p.size() < fixed + count * kBlockSize)
        return fail(std::string("RTCP: ") + (sr ? "SR" : "RR") + " with " + str(count) +
                    " report blocks needs " + str(fixed + count * kBlockSize) + " bytes, has " +
                    str(p.size()));
    const std::uint32_t ssrc = load32(p.data() + 4);
    if (first) {
        report.ssrc = ssrc;
        if (sr) {
            const std::uint8_t* s = p.data() + 8;
            report.sender = SenderInfo{std::uint64_t{load32(s)} << 32 | load32(s + 4),
                                       load32(s + 8), load32(s + 12), load32(s + 16)};
        }
    } else if (ssrc != report.ssrc) {
        return {};
    }
    for (std::size_t i = 0; i < count; ++i)
        if (!report.add_block(read_block(p.data() + fixed + i * kBlockSize))) break;
    return {};
}

// The CNAME of the first chunk of an SDES packet, if it has one (6.5).
Status read_cname(std::span<const std::uint8_t> p, std::size_t count, Report& report) {
    if (count == 0) return {};
    if (p.size() < kHeaderSize + 4) return fail("RTCP: SDES chunk past the end of the packet");
    for (std::size_t at = kHeaderSize + 4;;) {
        // Items end with a null type octet, so running out of bytes first is malformed.
        if (at >= p.size()) return fail("RTCP: SDES chunk without its terminating null item");
        const std::uint8_t type = p[at];
        if (type == 0) return {};
        if (at + 2 > p.size() || at + 2 + p[at + 1] > p.size())
            return fail("RTCP: SDES item past the end of the packet");
        const std::size_t length = p[at + 1];
        if (type == kSdesCname) {
            report.cname.emplace(reinterpret_cast<const char*>(p.data() + at + 2), length);
            return {};
        }
        at += 2 + length;
    }
}

}  // namespace

Result<Report> parse_compound(std::span<const std::uint8_t> data) {
    if (data.empty()) return fail("RTCP: empty packet");
    Report report;
    bool sdes_seen = false;
    for (std::size_t offset = 0; offset < data.size();) {
        const std::size_t left = data.size() - offset;
        if (left < kHeaderSize)
            return fail("RTCP: " + str(left) +
                        " bytes after the last packet, too few for a header");
        const std::uint8_t* p = data.data() + offset;
        if ((p[0] >> 6) != 2) return fail("RTCP: version " + str(p[0] >> 6) + ", not 2");
        const bool padding = (p[0] & 0x20) != 0;
        const std::size_t count = p[0] & 0x1f;
        const std::uint8_t type = p[1];
        const std::size_t words = load16(p + 2);
        const std::size_t size = (words + 1) * 4;
        // A.2: the packets' lengths must add up to the compound exactly.
        if (size > left)
            return fail("RTCP: length " + str(words) + " words past the end of the packet");
        const bool first = offset == 0;
        if (first && type != kRtcpSr && type != kRtcpRr)
            return fail("RTCP: the first packet is type " + str(type) + ", not SR or RR");
        std::size_t unpadded = size;
        if (padding) {
            // A.2: padding only on the last packet; its last octet counts the padding octets,
            // itself included (5.1).
            if (size != left) return fail("RTCP: padding on a packet that is not the last");
            const std::size_t pad = p[size - 1];
            if (pad == 0 || pad > size - kHeaderSize)
                return fail("RTCP: padding count " + str(pad) + " does not fit the packet");
            unpadded -= pad;
        }
        const std::span<const std::uint8_t> packet(p, unpadded);
        switch (type) {
            case kRtcpSr:
            case kRtcpRr:
                if (Status s = read_report(packet, count, first, report); !s)
                    return unexpected(s.error());
                break;
            case kRtcpSdes:
                if (!sdes_seen) {
                    sdes_seen = true;
                    if (Status s = read_cname(packet, count, report); !s)
                        return unexpected(s.error());
                }
                break;
            case kRtcpBye:
                if (packet.size() < kHeaderSize + 4 * count)
                    return fail("RTCP: BYE with " + str(count) +
                                " sources past the end of the packet");
                report.bye = true;
                break;
            default:  // APP (204), RTPFB/PSFB (205/206, RFC 4585), XR (207, RFC 3611), ...
                break;
        }
        offset += size;
    }
    return report;
}

std::size_t write_compound(std::span<std::uint8_t> out, const Report& report,
                           std::string_view cname) {
    if (cname.size() > kMaxCnameSize) return 0;
    const std::size_t blocks = std::min(report.block_count, kMaxReportBlocks);
    const std::size_t report_size =
        (report.sender ? kSrFixedSize : kRrFixedSize) + blocks * kBlockSize;
    // 6.5: SSRC, the CNAME item, then at least one null octet up to the next 32-bit boundary.
    const std::size_t chunk_size = (4 + 2 + cname.size() + 1 + 3) & ~std::size_t{3};
    const std::size_t sdes_size = kHeaderSize + chunk_size;
    const std::size_t bye_size = report.bye ? kHeaderSize + 4 : 0;
    const std::size_t total = report_size + sdes_size + bye_size;
    if (out.size() < total) return 0;

    std::uint8_t* p = out.data();
    std::memset(p, 0, total);
    write_header(p, blocks, report.sender ? kRtcpSr : kRtcpRr, report_size);
    store32(p + 4, report.ssrc);
    std::uint8_t* b = p + kRrFixedSize;
    if (report.sender) {
        const SenderInfo& s = *report.sender;
        store32(p + 8, static_cast<std::uint32_t>(s.ntp_timestamp >> 32));
        store32(p + 12, static_cast<std::uint32_t>(s.ntp_timestamp));
        store32(p + 16, s.rtp_timestamp);
        store32(p + 20, s.packet_count);
        store32(p + 24, s.octet_count);
        b = p + kSrFixedSize;
    }
    for (std::size_t i = 0; i < blocks; ++i) write_block(b + i * kBlockSize, report.blocks[i]);
    p += report_size;

    write_header(p, 1, kRtcpSdes, sdes_size);
    store32(p + 4, report.ssrc);
    p[8] = kSdesCname;
    p[9] = static_cast<std::uint8_t>(cname.size());
    std::memcpy(p + 10, cname.data(), cname.size());  // the null octets are already there
    p += sdes_size;

    if (report.bye) {
        write_header(p, 1, kRtcpBye, bye_size);
        store32(p + 4, report.ssrc);
    }
    return total;
}

std::uint64_t ntp_from_unix_ns(std::int64_t unix_ns) {
    constexpr std::int64_t kNsPerS = 1'000'000'000;
    constexpr std::uint64_t kUnixEpochInNtp = 2'208'988'800;  // 1970 - 1900 (RFC 5905 6)
    std::int64_t seconds = unix_ns / kNsPerS;
    std::int64_t ns = unix_ns % kNsPerS;
    if (ns < 0) {  // floor, for times before 1970
        ns += kNsPerS;
        --seconds;
    }
    const auto ntp_seconds =
        static_cast<std::uint32_t>(static_cast<std::uint64_t>(seconds) + kUnixEpochInNtp);
    const std::uint64_t fraction = (static_cast<std::uint64_t>(ns) << 32) / kNsPerS;
    return std::uint64_t{ntp_seconds} << 32 | fraction;
}

std::optional<double> round_trip_ms(std::uint32_t now_middle32, const ReportBlock& block) {
    if (block.lsr == 0) return std::nullopt;
    const auto rtt = static_cast<std::int32_t>(now_middle32 - block.lsr - block.dlsr);
    if (rtt < 0) return std::nullopt;
    return rtt * 1000.0 / 65536.0;
}

}  // namespace sb::media::rtp
