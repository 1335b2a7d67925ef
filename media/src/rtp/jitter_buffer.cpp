#include "sb/media/rtp/jitter_buffer.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace sb::media::rtp {

namespace {

// NetEQ's relative-delay histogram (WebRTC delay_manager.cc / underrun_optimizer.cc).
constexpr double kQuantile = 0.97;
constexpr double kForget = 0.983;
constexpr int kBaseWindowMs = 2000;  // NetEQ's 2 s history of arrivals
constexpr int kMaxFrameMs = 120;     // the longest frame a voice codec sends (Opus, RFC 6716)

}  // namespace

JitterBuffer::JitterBuffer(const JitterConfig& config)
    : clock_rate_(config.clock_rate > 0 ? config.clock_rate : 8000),
      capacity_(std::clamp<std::size_t>(config.capacity, 2, kMaxCapacity)),
      frame_(config.frame_units > 0 ? config.frame_units
                                    : static_cast<std::uint32_t>(clock_rate_ / 50)),
      slots_(std::make_unique<Slot[]>(capacity_)) {
    const int min_ms = std::clamp(config.min_delay_ms, 0, 2000);
    const int max_ms = std::clamp(config.max_delay_ms, min_ms, 2000);
    min_u_ = units(min_ms);
    max_u_ = units(max_ms);
    // The buckets cover [0, max]: resolution where the target can be.
    bucket_ms_ = std::max(1, (max_ms + kBuckets - 2) / (kBuckets - 1));
    target_u_ = min_u_;
    stats_.target_ms = min_ms;
}

void JitterBuffer::reset() {
    stats_.flushed += static_cast<std::uint64_t>(std::popcount(present_));
    started_ = false;
    playing_ = false;
    present_ = 0;
    seen_ = 0;
    have_offset_ = false;
    frame_candidate_ = 0;
    dry_u_ = 0;
    excess_since_ms_ = -1;
}

void JitterBuffer::start(std::uint16_t seq, std::uint32_t ts, std::int64_t pos,
                         std::int64_t arrival_u) {
    started_ = true;
    playing_ = false;
    play_seq_ = seq;
    highest_seq_ = seq;
    present_ = 0;
    seen_ = 1;
    play_pos_ = pos;
    highest_pos_ = pos;
    highest_ts_ = ts;
    highest_arrival_u_ = arrival_u;
    bad_seq_ = 1u << 16;
    dry_u_ = 0;
    excess_since_ms_ = -1;
}

void JitterBuffer::advance(std::int64_t n) {
    play_seq_ += n;
    present_ = n >= 64 ? 0 : present_ >> n;
}

PushResult JitterBuffer::push(std::uint16_t seq, std::uint32_t rtp_timestamp,
                              std::span<const std::uint8_t> payload, bool marker,
                              std::int64_t arrival_ms) {
    ++stats_.received;
    if (payload.size() > kMaxPayload) {
        ++stats_.too_large;
        return PushResult::too_large;
    }
    const std::int64_t arrival_u = units(arrival_ms);
    std::int64_t ext = 0;
    std::int64_t pos = 0;
    if (!started_) {
        // Any origin will do for the timeline: this one makes the first offset 0.
        start(seq, rtp_timestamp, arrival_u, arrival_u);
        ext = seq;
        pos = arrival_u;
    } else {
        const auto d = static_cast<std::int16_t>(seq - static_cast<std::uint16_t>(highest_seq_));
        if (d >= kMaxDropout || d < -kMaxMisorder) {
            // RFC 3550 A.1: a far jump is a restart only when the next packet follows it.
            if (seq != bad_seq_) {
                bad_seq_ = (seq + 1u) & 0xffffu;
                ++stats_.stray;
                return PushResult::stray;
            }
            stats_.flushed += static_cast<std::uint64_t>(std::popcount(present_));
            ++stats_.resyncs;
            // The new sequence continues the timeline where its arrival puts it, so the base
            // delay and the histogram stay meaningful.
            pos = highest_pos_ + std::max<std::int64_t>(arrival_u - highest_arrival_u_, frame_);
            start(seq, rtp_timestamp, pos, arrival_u);
            ext = seq;
        } else if (d > 0) {
            ext = highest_seq_ + d;
            const std::int64_t ts_gap = static_cast<std::int32_t>(rtp_timestamp - highest_ts_);
            const std::int64_t arrival_gap = arrival_u - highest_arrival_u_;
            if (std::llabs(ts_gap - arrival_gap) > max_u_) {
                // The timestamp jumped (a sender restarting its clock, a source switch that did
                // not rebase, or a stall upstream): place the packet where its arrival puts it,
                // at least one frame per sequence number on.
                pos = highest_pos_ + std::max<std::int64_t>(arrival_gap, d * std::int64_t{frame_});
                ++stats_.resyncs;
            } else {
                pos = highest_pos_ + ts_gap;
                // The frame duration follows the spacing of consecutive packets, once two agree
                // (a talkspurt start's gap is silence, not a frame).
                if (d == 1 && !marker && ts_gap > 0 && ts_gap <= units(kMaxFrameMs)) {
                    const auto gap = static_cast<std::uint32_t>(ts_gap);
                    if (gap == frame_candidate_) frame_ = gap;
                    frame_candidate_ = gap;
                }
            }
            seen_ = (d >= 64 ? 0 : seen_ << d) | 1u;
            highest_seq_ = ext;
            highest_pos_ = pos;
            highest_ts_ = rtp_timestamp;
            highest_arrival_u_ = arrival_u;
        } else {
            const int back = -d;
            if (back < 64) {
                if ((seen_ >> back) & 1u) {
                    ++stats_.duplicates;
                    return PushResult::duplicate;
                }
                seen_ |= std::uint64_t{1} << back;
            }
            ext = highest_seq_ - back;
            pos = highest_pos_ + static_cast<std::int32_t>(rtp_timestamp - highest_ts_);
            // A reordered packet from before a timestamp jump: place it by its sequence number.
            const std::int64_t expected = highest_pos_ - back * std::int64_t{frame_};
            if (std::llabs(pos - expected) > max_u_) pos = expected;
        }
    }
    observe_delay(arrival_u - pos, arrival_u);

    if (ext < play_seq_) {
        const std::int64_t below = play_seq_ - ext;
        if (playing_ || highest_seq_ - ext >= static_cast<std::int64_t>(capacity_)) {
            ++stats_.late;
            return PushResult::too_late;
        }
        // Before playout starts, an earlier packet extends the window down.
        present_ <<= below;
        play_seq_ = ext;
        play_pos_ = pos;
    } else if (playing_ && pos < play_pos_ && arrival_u - pos - base_offset() > max_u_) {
        // Its frame was concealed, and playing it now would exceed the maximum delay. When that
        // lasts (a sender whose timestamps stopped while it paused, a path that got slower for
        // good), the stream has moved later on the timeline: take this arrival as the new base
        // delay rather than drop everything until the old minimum ages out (seconds).
        if (++late_run_ < kLateRunResync) {
            ++stats_.late;
            return PushResult::too_late;
        }
        cur_min_ = prev_min_ = arrival_u - pos;
        window_start_u_ = arrival_u;
        ++stats_.resyncs;
    }
    late_run_ = 0;

    PushResult result = PushResult::stored;
    std::int64_t offset = ext - play_seq_;
    const auto capacity = static_cast<std::int64_t>(capacity_);
    if (offset >= capacity) {
        // Full: evict the oldest (see push() in the header).
        const std::int64_t n = offset - capacity + 1;
        const std::uint64_t gone = n >= 64 ? present_ : present_ & ((std::uint64_t{1} << n) - 1);
        const auto evicted = std::popcount(gone);
        if (evicted > 0) {
            stats_.overflow += static_cast<std::uint64_t>(evicted);
            result = PushResult::overflow;
        }
        if (playing_) stats_.lost += static_cast<std::uint64_t>(n - evicted);
        advance(n);
        offset = capacity - 1;
    }
    Slot& s = slot(ext);
    s.pos = pos;
    s.timestamp = rtp_timestamp;
    s.sequence = seq;
    s.marker = marker;
    s.size = static_cast<std::uint16_t>(payload.size());
    if (!payload.empty()) std::memcpy(s.payload.data(), payload.data(), payload.size());
    present_ |= std::uint64_t{1} << offset;
    if (!playing_) {
        // Before playout the window starts at the oldest packet held.
        advance(std::countr_zero(present_));
        play_pos_ = slot(play_seq_).pos;
    }
    return result;
}

void JitterBuffer::observe_delay(std::int64_t offset, std::int64_t arrival_u) {
    // The base delay: the smallest offset over the current and the previous window (a running
    // minimum without a history to store). Windows turn on arrivals, so a long silence keeps the
    // last minimum rather than trusting the first packet after it.
    if (!have_offset_) {
        cur_min_ = offset;
        prev_min_ = offset;
        window_start_u_ = arrival_u;
        have_offset_ = true;
    }
    if (arrival_u - window_start_u_ >= units(kBaseWindowMs)) {
        prev_min_ = cur_min_;
        cur_min_ = offset;
        window_start_u_ = arrival_u;
    }
    cur_min_ = std::min(cur_min_, offset);

    const int relative_ms = to_ms(offset - base_offset());
    const int bucket = std::min(relative_ms / bucket_ms_, kBuckets - 1);
    // Exponential forgetting; the first samples weigh equally, so the estimate settles within a
    // few packets instead of trusting the first one (NetEQ's start_forget_weight).
    if (samples_ < 1'000'000) ++samples_;
    const double forget = std::min(kForget, 1.0 - 1.0 / samples_);
    for (double& h : histogram_) h *= forget;
    histogram_[static_cast<std::size_t>(bucket)] += 1.0 - forget;

    int quantile = kBuckets - 1;
    double sum = 0;
    for (int i = 0; i < kBuckets; ++i) {
        sum += histogram_[static_cast<std::size_t>(i)];
        if (sum >= kQuantile) {
            quantile = i;
            break;
        }
    }
    // The bucket's upper edge: a delay in it is covered.
    target_u_ = std::clamp(units((quantile + 1) * bucket_ms_), min_u_, max_u_);
    stats_.target_ms = to_ms(target_u_);
}

bool JitterBuffer::drop_due(bool across_holes) {
    // The packet due is bit 0; drop it only for a later one to play instead.
    const std::uint64_t rest = present_ >> 1;
    if (rest == 0) return false;
    const int holes = std::countr_zero(rest);
    if (!across_holes) {
        // Gently: only within continuous audio, where one frame replaces the next.
        if (holes > 0 || slot(play_seq_ + 1).pos - slot(play_seq_).pos > frame_) return false;
    }
    ++stats_.skipped;
    stats_.lost += static_cast<std::uint64_t>(holes);
    advance(1 + holes);
    play_pos_ = slot(play_seq_).pos;
    return true;
}

Frame JitterBuffer::play(std::int64_t now_u) {
    const Slot& s = slot(play_seq_);
    Frame f;
    f.kind = Frame::Kind::audio;
    f.payload = std::span<const std::uint8_t>(s.payload.data(), s.size);
    f.timestamp = s.timestamp;
    f.duration = frame_;
    f.sequence = s.sequence;
    f.marker = s.marker;
    stats_.delay_ms = to_ms(delay_at(now_u));
    play_pos_ = s.pos + frame_;
    advance(1);
    dry_u_ = 0;
    ++stats_.played;
    return f;
}

Frame JitterBuffer::hole(std::int64_t d) {
    Frame f;
    f.kind = Frame::Kind::lost;
    f.duration = frame_;
    f.timestamp = timestamp_at(play_pos_);
    const bool dry = present_ == 0;
    if (dry) dry_u_ += frame_;
    if (d < target_u_ && d + frame_ <= max_u_) {
        // Below target: wait for it (the playout point stays, the delay grows by a frame).
    } else {
        if (!dry) {
            // Give up on it; its successor may carry its FEC.
            if (present_ & 2u) {
                const Slot& next = slot(play_seq_ + 1);
                f.next = std::span<const std::uint8_t>(next.payload.data(), next.size);
            }
            ++stats_.lost;
            advance(1);
        }
        // Dry, the sequence number stays: the missing frame may be silence (the next packet
        // starts a talkspurt later on the timeline) or late (it plays when it comes, within max).
        play_pos_ += frame_;
    }
    if (dry && dry_u_ > units(kDryConcealMs)) {
        f.kind = Frame::Kind::empty;
        f.next = {};
        return f;
    }
    ++stats_.concealed;
    return f;
}

Frame JitterBuffer::pop(std::int64_t now_ms) {
    Frame silence;
    silence.duration = frame_;
    if (!started_) return silence;
    const std::int64_t now_u = units(now_ms);
    if (!playing_) {
        if (present_ == 0 || delay_at(now_u) < target_u_) return silence;
        playing_ = true;
    }
    const std::int64_t due_before = play_pos_ + frame_;
    if ((present_ & 1u) && slot(play_seq_).pos >= due_before) {
        // The next packet is here but later on the timeline: the sender was silent (RFC 3551
        // 4.1). Above target, cut the silence at once: nothing audible is lost (Ramjee et al.).
        const std::int64_t excess = delay_at(now_u) - target_u_;
        if (excess >= frame_) {
            const std::int64_t frames = excess / frame_;
            play_pos_ += std::min(slot(play_seq_).pos - play_pos_, frames * frame_);
        }
    }
    if (present_ != 0) {
        const int holes = std::countr_zero(present_);
        const Slot& s = slot(play_seq_ + holes);
        if (s.pos < play_pos_ + frame_) {
            // Due, or overdue: it arrived after its frame was concealed in a dry buffer (the
            // delay grows by its lateness, see push()). The holes before it were concealed then.
            if (holes > 0) {
                stats_.lost += static_cast<std::uint64_t>(holes);
                advance(holes);
            }
            play_pos_ = s.pos;
            const std::int64_t d = delay_at(now_u);
            if (d > max_u_) {
                // A burst after a stall: back to the target at once.
                while (delay_at(now_u) >= target_u_ + frame_ && drop_due(true)) {
                }
                excess_since_ms_ = -1;
            } else if (d >= target_u_ + frame_) {
                if (excess_since_ms_ < 0) {
                    excess_since_ms_ = now_ms;
                } else if (now_ms - excess_since_ms_ >= kShrinkHoldMs && drop_due(false)) {
                    excess_since_ms_ = now_ms;
                }
            } else {
                excess_since_ms_ = -1;
                // A talkspurt start below target: delay it by a frame of silence, for free.
                if (d < target_u_ && s.marker) {
                    stats_.delay_ms = to_ms(d);
                    return silence;
                }
            }
            return play(now_u);
        }
    }
    const std::int64_t d = delay_at(now_u);
    stats_.delay_ms = to_ms(d);
    if (present_ & 1u) {
        // Still in a silence gap. Below target, hold it a frame longer (the delay grows, for
        // free); otherwise keep the timeline.
        if (d >= target_u_) play_pos_ += frame_;
        silence.timestamp = timestamp_at(play_pos_);
        return silence;
    }
    return hole(d);
}

}  // namespace sb::media::rtp
