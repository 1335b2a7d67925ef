#include "sb/media/rtp/jitter_buffer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <vector>

namespace sb::media::rtp {
namespace {

using Kind = Frame::Kind;

struct Packet {
    std::int64_t arrival_ms;
    std::uint16_t seq;
    std::uint32_t ts;
    bool marker = false;
};

// What the decoder saw. Payloads carry their sequence number, so views can be checked.
struct Out {
    std::int64_t at_ms;
    Kind kind;
    std::uint16_t seq = 0;       // audio: from the payload
    bool has_next = false;       // lost: FEC view present
    std::uint16_t next_seq = 0;  // lost: from the next packet's payload
    std::uint32_t timestamp = 0;
};

std::uint16_t seq_of(std::span<const std::uint8_t> p) {
    return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}

// Drives a JitterBuffer with a fake clock: every `tick_ms` (from `phase_ms`) it delivers the
// packets that have arrived by then, in arrival order, and pops one frame.
class Harness {
  public:
    explicit Harness(JitterConfig config = {}, std::int64_t tick_ms = 20, std::int64_t phase_ms = 0)
        : jb(config), tick_ms_(tick_ms), next_pop_ms_(phase_ms) {}

    void send(Packet p) {
        pending_.push_back(p);
        sorted_ = false;
    }

    void run_until(std::int64_t end_ms) {
        if (!sorted_) {
            std::stable_sort(
                pending_.begin() + static_cast<std::ptrdiff_t>(delivered_), pending_.end(),
                [](const Packet& a, const Packet& b) { return a.arrival_ms < b.arrival_ms; });
            sorted_ = true;
        }
        for (; next_pop_ms_ < end_ms; next_pop_ms_ += tick_ms_) {
            while (delivered_ < pending_.size() &&
                   pending_[delivered_].arrival_ms <= next_pop_ms_) {
                const Packet& p = pending_[delivered_++];
                const std::array<std::uint8_t, 3> payload{static_cast<std::uint8_t>(p.seq >> 8),
                                                          static_cast<std::uint8_t>(p.seq), 0xaa};
                results.push_back(jb.push(p.seq, p.ts, payload, p.marker, p.arrival_ms));
                max_buffered = std::max(max_buffered, jb.buffered());
            }
            const Frame f = jb.pop(next_pop_ms_);
            Out o{next_pop_ms_, f.kind};
            o.timestamp = f.timestamp;
            if (f.kind == Kind::audio) {
                o.seq = seq_of(f.payload);
                EXPECT_EQ(o.seq, f.sequence);
            }
            if (f.kind == Kind::lost && !f.next.empty()) {
                o.has_next = true;
                o.next_seq = seq_of(f.next);
            }
            out.push_back(o);
        }
    }

    std::vector<std::uint16_t> audio() const {
        std::vector<std::uint16_t> seqs;
        for (const Out& o : out)
            if (o.kind == Kind::audio) seqs.push_back(o.seq);
        return seqs;
    }
    int count(Kind k, std::int64_t from_ms = 0, std::int64_t to_ms = INT64_MAX) const {
        return static_cast<int>(std::count_if(out.begin(), out.end(), [&](const Out& o) {
            return o.kind == k && o.at_ms >= from_ms && o.at_ms < to_ms;
        }));
    }
    int count(PushResult r) const {
        return static_cast<int>(std::count(results.begin(), results.end(), r));
    }

    JitterBuffer jb;
    std::vector<Out> out;
    std::vector<PushResult> results;
    std::size_t max_buffered = 0;

  private:
    std::int64_t tick_ms_;
    std::int64_t next_pop_ms_;
    std::vector<Packet> pending_;
    std::size_t delivered_ = 0;
    bool sorted_ = true;
};

// A 20 ms stream at 8 kHz: packet i is sent at 20 i ms.
Packet at(std::uint16_t first_seq, std::uint32_t first_ts, int i, std::int64_t extra_delay_ms = 0) {
    return {20 * i + extra_delay_ms, static_cast<std::uint16_t>(first_seq + i),
            first_ts + 160u * static_cast<std::uint32_t>(i)};
}

std::vector<std::uint16_t> range(std::uint16_t first, int n, int skip = -1) {
    std::vector<std::uint16_t> v;
    for (int i = 0; i < n; ++i)
        if (i != skip) v.push_back(static_cast<std::uint16_t>(first + i));
    return v;
}

bool strictly_in_order(const std::vector<std::uint16_t>& seqs) {
    for (std::size_t i = 1; i < seqs.size(); ++i)
        if (static_cast<std::int16_t>(seqs[i] - seqs[i - 1]) <= 0) return false;
    return true;
}

TEST(JitterBuffer, InOrderStreamPlaysEveryFrameAtTheMinimumDelay) {
    Harness h;
    for (int i = 0; i < 100; ++i) h.send(at(1000, 5000, i));
    std::vector<int> delays;
    for (std::int64_t t = 20; t <= 2000; t += 20) {
        h.run_until(t + 1);
        if (h.out.back().kind == Kind::audio) delays.push_back(h.jb.stats().delay_ms);
    }
    EXPECT_EQ(h.out[0].kind, Kind::empty);  // buffering the first 20 ms
    EXPECT_EQ(h.audio(), range(1000, 100));
    ASSERT_FALSE(delays.empty());
    EXPECT_EQ(*std::min_element(delays.begin(), delays.end()), 20);
    EXPECT_EQ(*std::max_element(delays.begin(), delays.end()), 20);
    EXPECT_EQ(h.jb.stats().target_ms, 20);
    EXPECT_EQ(h.jb.stats().played, 100u);
    EXPECT_EQ(h.jb.stats().lost, 0u);
    EXPECT_EQ(h.jb.stats().concealed, 0u);
    EXPECT_EQ(h.jb.stats().late, 0u);
}

TEST(JitterBuffer, ReorderingWithinThePlayoutDelayComesOutInOrder) {
    Harness h({.min_delay_ms = 60});
    // 1, 3, 2, 4: packet 2 overtaken by 3, still 30 ms before its playout time.
    h.send(at(1, 0, 0));
    h.send(at(1, 0, 2));
    h.send(at(1, 0, 1, 30));
    for (int i = 3; i < 20; ++i) h.send(at(1, 0, i));
    h.run_until(19 * 20 + 60 + 1);  // until the last packet plays
    EXPECT_EQ(h.audio(), range(1, 20));
    EXPECT_EQ(h.jb.stats().lost, 0u);
    EXPECT_EQ(h.jb.stats().concealed, 0u);
    EXPECT_EQ(h.jb.stats().late, 0u);
}

TEST(JitterBuffer, AMissingPacketIsOneLostFrameWithTheNextPayloadForFec) {
    Harness h;
    for (int i = 0; i < 20; ++i)
        if (i != 6) h.send(at(100, 0, i));
    h.run_until(20 * 20 + 1);
    EXPECT_EQ(h.audio(), range(100, 20, 6));
    EXPECT_EQ(h.count(Kind::lost), 1);
    const auto lost =
        std::find_if(h.out.begin(), h.out.end(), [](const Out& o) { return o.kind == Kind::lost; });
    ASSERT_NE(lost, h.out.end());
    EXPECT_TRUE(lost->has_next);
    EXPECT_EQ(lost->next_seq, 107);
    EXPECT_EQ(lost->timestamp, 6u * 160);  // where the missing frame was
    EXPECT_EQ(std::next(lost)->kind, Kind::audio);
    EXPECT_EQ(std::next(lost)->seq, 107);
    EXPECT_EQ(h.jb.stats().lost, 1u);
    EXPECT_EQ(h.jb.stats().concealed, 1u);
}

TEST(JitterBuffer, APacketAfterItsPlayoutTimeIsLateAndNotPlayed) {
    Harness h;
    for (int i = 0; i < 20; ++i) h.send(at(100, 0, i, i == 6 ? 150 : 0));
    h.run_until(20 * 20 + 1);
    EXPECT_EQ(h.audio(), range(100, 20, 6));
    EXPECT_EQ(h.count(PushResult::too_late), 1);
    EXPECT_EQ(h.jb.stats().late, 1u);
    EXPECT_EQ(h.count(Kind::lost), 1);  // concealed at its turn, with 107's FEC
    EXPECT_EQ(h.jb.stats().lost, 1u);
}

TEST(JitterBuffer, DuplicatesAreDropped) {
    Harness h;
    for (int i = 0; i < 30; ++i) {
        h.send(at(7, 0, i));
        h.send(at(7, 0, i, 1));
    }
    h.send({400, 9, 2 * 160});  // a copy of a packet played long ago
    h.run_until(30 * 20 + 1);
    EXPECT_EQ(h.audio(), range(7, 30));
    EXPECT_EQ(h.count(PushResult::duplicate), 31);
    EXPECT_EQ(h.jb.stats().duplicates, 31u);
    EXPECT_EQ(h.jb.stats().lost, 0u);
}

// Uniform random network delay over a range, for `seconds` of 20 ms packets from packet `first`.
void send_with_jitter(Harness& h, std::mt19937& rng, int first, int seconds, int jitter_ms) {
    for (int i = first; i < first + seconds * 50; ++i)
        h.send(at(0, 0, i, static_cast<std::int64_t>(rng() % (jitter_ms + 1))));
}

TEST(JitterBuffer, TheDelayFollowsTheJitterUpAndBackDown) {
    Harness h({}, 20, 7);  // ticks not aligned with the sender's
    std::mt19937 rng(1);
    send_with_jitter(h, rng, 0, 30, 80);
    h.run_until(5'000);
    EXPECT_GT(h.jb.stats().target_ms, 60);
    h.run_until(30'000);
    EXPECT_GT(h.jb.stats().target_ms, 60);
    EXPECT_GT(h.jb.stats().delay_ms, 60);
    const JitterStats busy = h.jb.stats();
    EXPECT_LT(static_cast<double>(busy.late), 0.02 * 1500) << busy.late;
    EXPECT_LT(static_cast<double>(busy.concealed), 0.03 * 1500) << busy.concealed;

    // The network calms down: the delay returns toward the minimum within seconds.
    send_with_jitter(h, rng, 1500, 20, 5);
    h.run_until(40'000);
    EXPECT_EQ(h.jb.stats().target_ms, 20);
    EXPECT_LE(h.jb.stats().delay_ms, 40);
    h.run_until(50'000);
    EXPECT_LE(h.jb.stats().delay_ms, 40);
    EXPECT_EQ(h.jb.stats().late, busy.late);
    EXPECT_TRUE(strictly_in_order(h.audio()));
    // Every packet either played, came too late, or was dropped to shrink the delay.
    const JitterStats& s = h.jb.stats();
    EXPECT_EQ(s.played + s.late + s.skipped + h.jb.buffered(), 2500u);
}

TEST(JitterBuffer, SequenceAndTimestampWrapAround) {
    Harness h;
    for (int i = 0; i < 20; ++i) h.send(at(65530, 0xffffff00u, i));
    h.run_until(20 * 20 + 1);
    EXPECT_EQ(h.audio(), range(65530, 20));
    std::vector<std::uint32_t> ts;
    for (const Out& o : h.out)
        if (o.kind == Kind::audio) ts.push_back(o.timestamp);
    ASSERT_EQ(ts.size(), 20u);
    for (std::size_t i = 0; i < ts.size(); ++i)
        EXPECT_EQ(ts[i], 0xffffff00u + 160u * static_cast<std::uint32_t>(i));
    EXPECT_EQ(h.jb.stats().lost, 0u);
    EXPECT_EQ(h.jb.stats().resyncs, 0u);
}

// Talkspurt 1 (packets 0-49), one second of silence, talkspurt 2 (50-99) starting with the marker
// at timestamp `second_ts`.
void two_talkspurts(Harness& h, std::uint32_t second_ts) {
    for (int i = 0; i < 50; ++i) h.send(at(0, 0, i));
    for (int j = 0; j < 50; ++j)
        h.send({2000 + 20 * j, static_cast<std::uint16_t>(50 + j),
                second_ts + 160u * static_cast<std::uint32_t>(j), j == 0});
    h.run_until(3001);  // until the last packet plays
}

TEST(JitterBuffer, ATalkspurtAfterSilenceKeepsTheTimelineWithoutLosses) {
    Harness h;
    two_talkspurts(h, 2000 * 8);  // the timestamp advanced with the silence
    EXPECT_EQ(h.audio(), range(0, 100));
    EXPECT_LE(h.count(Kind::lost), 3);  // the end of talkspurt 1 looks like a loss for 60 ms
    EXPECT_EQ(h.count(Kind::lost, 2000), 0);
    EXPECT_EQ(h.jb.stats().lost, 0u);
    EXPECT_EQ(h.jb.stats().resyncs, 0u);
    EXPECT_EQ(h.jb.stats().delay_ms, 20);
}

TEST(JitterBuffer, ATimestampJumpResynchronisesWithoutABurstOfLosses) {
    Harness h;
    two_talkspurts(h, 123456789);
    EXPECT_EQ(h.audio(), range(0, 100));
    EXPECT_LE(h.count(Kind::lost), 3);
    EXPECT_EQ(h.count(Kind::lost, 2000), 0);
    EXPECT_EQ(h.jb.stats().lost, 0u);
    EXPECT_EQ(h.jb.stats().resyncs, 1u);
    EXPECT_LE(h.jb.stats().delay_ms, 40);
    // Timestamps are reported as sent.
    const auto first = std::find_if(h.out.begin(), h.out.end(), [](const Out& o) {
        return o.kind == Kind::audio && o.seq == 50;
    });
    ASSERT_NE(first, h.out.end());
    EXPECT_EQ(first->timestamp, 123456789u);
}

TEST(JitterBuffer, PausesWhoseTimestampsStoodStillAreFollowedWithinAFewPackets) {
    // A sender that stops its RTP clock while it pauses (150 ms each time, under the maximum
    // delay, so no jump is detected) and spends 4 sequence numbers on something else meanwhile
    // (RFC 4733 events): each pause moves the stream later on the timeline, and after the
    // second the packets land beyond the maximum delay. They must play again within
    // kLateRunResync packets, not once the old base delay ages out seconds later.
    Harness h;
    std::uint16_t seq = 0;
    std::uint32_t ts = 0;
    std::int64_t t = 0;
    for (int burst = 0; burst < 3; ++burst) {
        for (int i = 0; i < 30; ++i, ++seq, t += 20, ts += 160) h.send({t, seq, ts});
        t += 150;
        seq += 4;
    }
    h.run_until(t + 500);
    const auto played = h.audio();
    const auto last_burst =
        std::count_if(played.begin(), played.end(), [](std::uint16_t s) { return s >= 68; });
    EXPECT_GE(last_burst, 30 - JitterBuffer::kLateRunResync);
    EXPECT_GE(h.jb.stats().resyncs, 1u);
}

TEST(JitterBuffer, ABurstAfterAStallStaysBoundedAndRecovers) {
    Harness h;
    // Packets 50-149 are held upstream and all arrive at 3 s; then the stream resumes.
    for (int i = 0; i < 250; ++i) {
        Packet p = at(0, 0, i);
        if (i >= 50 && i < 150) p.arrival_ms = 3000;
        h.send(p);
    }
    h.run_until(3001);
    EXPECT_LE(h.max_buffered, 32u);
    EXPECT_GT(h.jb.stats().overflow, 0u);
    EXPECT_LE(h.jb.stats().delay_ms, 200);
    h.run_until(5001);  // until the last packet plays
    EXPECT_LE(h.max_buffered, 32u);
    EXPECT_LE(h.jb.stats().delay_ms, 40);
    EXPECT_TRUE(strictly_in_order(h.audio()));
    // Back to normal: the stream after the burst plays whole.
    const auto seqs = h.audio();
    const auto from = std::find(seqs.begin(), seqs.end(), 150);
    ASSERT_NE(from, seqs.end());
    EXPECT_EQ(std::vector<std::uint16_t>(from, seqs.end()), range(150, 100));
    EXPECT_EQ(h.count(Kind::lost, 3001), 0);
    EXPECT_EQ(h.jb.stats().late, 0u);
}

TEST(JitterBuffer, PayloadsLargerThanASlotAreRejected) {
    JitterBuffer jb({});
    std::vector<std::uint8_t> big(JitterBuffer::kMaxPayload + 1, 1);
    EXPECT_EQ(jb.push(1, 0, big, false, 0), PushResult::too_large);
    big.pop_back();
    EXPECT_EQ(jb.push(2, 160, big, false, 20), PushResult::stored);
    EXPECT_EQ(jb.stats().too_large, 1u);
    EXPECT_EQ(jb.stats().received, 2u);
    const Frame f = jb.pop(40);
    ASSERT_EQ(f.kind, Kind::audio);
    EXPECT_EQ(f.payload.size(), JitterBuffer::kMaxPayload);
}

TEST(JitterBuffer, TheFrameDurationFollowsThePacketSpacing) {
    // Opus at 48 kHz configured for 20 ms, sent at 40 ms; the caller pops every 40 ms.
    Harness h({.clock_rate = 48000, .frame_units = 960, .min_delay_ms = 40}, 40);
    for (int i = 0; i < 50; ++i)
        h.send({40 * i, static_cast<std::uint16_t>(i), 1920u * static_cast<std::uint32_t>(i)});
    h.run_until(2200);
    EXPECT_EQ(h.jb.frame_duration(), 1920u);
    EXPECT_EQ(h.audio(), range(0, 50));
    EXPECT_EQ(h.jb.stats().lost, 0u);
    EXPECT_EQ(h.count(Kind::lost, 0, 2000), 0);
}

TEST(JitterBuffer, AStrayPacketIsIgnoredAndARestartFollowed) {
    Harness h;
    for (int i = 0; i < 20; ++i) h.send(at(500, 0, i));
    h.send({205, 30000, 999});  // one stray sequence number: dropped
    // Then the sender restarts its sequence (two following packets, A.1) at 1 s.
    for (int j = 0; j < 20; ++j)
        h.send({1000 + 20 * j, static_cast<std::uint16_t>(9000 + j),
                777u + 160u * static_cast<std::uint32_t>(j)});
    h.run_until(1500);
    EXPECT_EQ(h.count(PushResult::stray), 2);  // the stray, and the restart's first packet
    EXPECT_EQ(h.jb.stats().resyncs, 1u);
    auto expected = range(500, 20);
    const auto restarted = range(9001, 19);
    expected.insert(expected.end(), restarted.begin(), restarted.end());
    EXPECT_EQ(h.audio(), expected);
    EXPECT_EQ(h.jb.stats().lost, 0u);
}

TEST(JitterBuffer, ResetStartsANewSource) {
    Harness h;
    for (int i = 0; i < 10; ++i) h.send(at(100, 0, i));
    h.run_until(300);
    h.jb.reset();  // the SSRC changed
    for (int j = 0; j < 10; ++j)
        h.send({300 + 20 * j, static_cast<std::uint16_t>(40000 + j),
                0x80000000u + 160u * static_cast<std::uint32_t>(j)});
    h.run_until(600);
    auto expected = range(100, 10);
    const auto second = range(40000, 10);
    expected.insert(expected.end(), second.begin(), second.end());
    EXPECT_EQ(h.audio(), expected);
    EXPECT_EQ(h.jb.stats().stray, 0u);
    EXPECT_EQ(h.jb.stats().lost, 0u);
}

}  // namespace
}  // namespace sb::media::rtp
