#include "decoded_leg.h"

#include <algorithm>

namespace sb::media::rtp {

namespace {

bool same_format(const PayloadFormat& a, const PayloadFormat& b) {
    return a.payload_type == b.payload_type && a.encoding == b.encoding &&
           a.clock_rate == b.clock_rate && a.fmtp == b.fmtp;
}

}  // namespace

void DecodedLeg::push(const PayloadFormat& format, std::uint32_t ssrc, std::uint16_t sequence,
                      std::uint32_t timestamp, bool marker, std::span<const std::uint8_t> payload,
                      std::int64_t arrival_ms) {
    if (!format_ || !same_format(*format_, format)) {
        // A new voice format: a decoder (at our rate where the codec can give it, as Opus can)
        // and a jitter buffer on its clock.
        decoder_.reset();
        resampler_.reset();
        jitter_.reset();
        format_ = format;
        last_frame_ = 0;
        fifo_size_ = 0;
        auto id = codec::codec_from_sdp(format.encoding, format.clock_rate, format.channels);
        if (!id) return;
        const int rate = *id == codec::CodecId::opus ? rate_ : 0;
        auto decoder = codec::make_decoder(*id, rate);
        if (!decoder) return;
        if ((*decoder)->sample_rate() != rate_) {
            auto r = codec::Resampler::create((*decoder)->sample_rate(), rate_);
            if (!r) return;
            resampler_.emplace(std::move(*r));
        }
        decoder_ = std::move(*decoder);
        JitterConfig config;
        config.clock_rate = format.clock_rate;
        config.frame_units = static_cast<std::uint32_t>(format.clock_rate / 50);
        jitter_.emplace(config);
        ssrc_ = ssrc;
    }
    if (!decoder_) return;
    if (ssrc != ssrc_) {  // a new source: its own timeline and codec state
        ssrc_ = ssrc;
        jitter_->reset();
        decoder_->reset();
        if (resampler_) resampler_->reset();
        last_frame_ = 0;
    }
    jitter_->push(sequence, timestamp, payload, marker, arrival_ms);
}

bool DecodedLeg::pull(std::span<std::int16_t> frame, std::int64_t now_ms) {
    if (!decoder_) return false;
    const std::size_t want = frame_samples();
    for (int pops = 0; fifo_size_ < want && pops < 6; ++pops) {
        const Frame f = jitter_->pop(now_ms);
        int n = 0;
        if (f.kind == Frame::Kind::audio) {
            n = decoder_->decode(f.payload, decoded_);
            if (n > 0) last_frame_ = n;
        } else if (f.kind == Frame::Kind::lost && last_frame_ > 0) {
            n = f.next.empty() ? decoder_->conceal(decoded_, last_frame_)
                               : decoder_->decode_fec(f.next, decoded_, last_frame_);
        } else {
            break;  // nothing to play this tick
        }
        if (n <= 0) continue;
        const std::span<const std::int16_t> pcm(decoded_.data(), static_cast<std::size_t>(n));
        std::int16_t* into = fifo_.data() + fifo_size_;
        const std::size_t room = fifo_.size() - fifo_size_;
        if (resampler_) {
            if (static_cast<std::size_t>(resampler_->output_size(pcm.size())) > room) break;
            const int m = resampler_->process(pcm, {into, room});
            if (m > 0) fifo_size_ += static_cast<std::size_t>(m);
        } else {
            const std::size_t m = std::min(room, pcm.size());
            std::copy_n(pcm.begin(), m, into);
            fifo_size_ += m;
        }
    }
    if (fifo_size_ == 0) return false;
    const std::size_t take = std::min({want, fifo_size_, frame.size()});
    std::copy_n(fifo_.begin(), take, frame.begin());
    std::fill(frame.begin() + static_cast<std::ptrdiff_t>(take), frame.end(), std::int16_t{0});
    std::copy(fifo_.begin() + static_cast<std::ptrdiff_t>(take),
              fifo_.begin() + static_cast<std::ptrdiff_t>(fifo_size_), fifo_.begin());
    fifo_size_ -= take;
    return true;
}

}  // namespace sb::media::rtp
