#pragma once
// The fixed RTP header (RFC 3550 5.1) read and rewritten in place, for the relay's hot path:
// no copies, no allocation. Byte order is network order throughout.
#include <cstddef>
#include <cstdint>
#include <span>

namespace sb::media::rtp {

inline constexpr std::size_t kRtpHeaderSize = 12;

inline std::uint16_t load16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
inline std::uint32_t load32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
inline void store16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
inline void store32(std::uint8_t* p, std::uint32_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}

// A view of a received datagram as RTP. Valid only while the buffer is.
class RtpHeader {
  public:
    RtpHeader(std::uint8_t* data, std::size_t size) : p_(data), size_(size) {}

    // Version 2 and long enough for its CSRC list (RFC 3550 A.1's first checks). RTCP
    // multiplexed on the RTP port (RFC 5761 4: packet types 200..204 fall in 72..76 masked) is
    // not RTP.
    bool valid() const {
        if (size_ < kRtpHeaderSize || (p_[0] >> 6) != 2) return false;
        const int pt = payload_type();
        if (pt >= 72 && pt <= 76) return false;
        return size_ >= kRtpHeaderSize + 4u * (p_[0] & 0x0f);
    }
    bool is_rtcp_mux() const {
        return size_ >= 8 && (p_[0] >> 6) == 2 && p_[1] >= 200 && p_[1] <= 204;
    }

    int payload_type() const { return p_[1] & 0x7f; }
    bool marker() const { return (p_[1] & 0x80) != 0; }
    std::uint16_t sequence() const { return load16(p_ + 2); }
    std::uint32_t timestamp() const { return load32(p_ + 4); }
    std::uint32_t ssrc() const { return load32(p_ + 8); }
    std::size_t size() const { return size_; }

    // The payload: after the CSRC list and any header extension (RFC 3550 5.3.1), without
    // padding. Empty when the lengths do not add up.
    std::span<const std::uint8_t> payload() const {
        std::size_t start = kRtpHeaderSize + 4u * (p_[0] & 0x0f);
        std::size_t end = size_;
        if ((p_[0] & 0x10) != 0) {  // extension: 16-bit profile, 16-bit length in words
            if (size_ < start + 4) return {};
            start += 4 + 4u * load16(p_ + start + 2);
        }
        if ((p_[0] & 0x20) != 0 && end > 0) {  // padding: the last byte counts it
            const std::size_t pad = p_[end - 1];
            if (pad == 0 || pad > end) return {};
            end -= pad;
        }
        if (start > end) return {};
        return {p_ + start, end - start};
    }
    std::uint8_t* data() const { return p_; }

    void set_marker() { p_[1] |= 0x80; }
    void set_payload_type(int pt) {
        p_[1] = static_cast<std::uint8_t>((p_[1] & 0x80) | (pt & 0x7f));
    }
    void set_sequence(std::uint16_t v) { store16(p_ + 2, v); }
    void set_timestamp(std::uint32_t v) { store32(p_ + 4, v); }
    void set_ssrc(std::uint32_t v) { store32(p_ + 8, v); }

  private:
    std::uint8_t* p_;
    std::size_t size_;
};

}  // namespace sb::media::rtp
