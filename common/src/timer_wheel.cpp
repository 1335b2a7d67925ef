#include "sb/common/timer_wheel.h"

#include <algorithm>
#include <bit>
#include <cassert>

namespace sb {

Timer::~Timer() {
    if (wheel_ != nullptr) wheel_->cancel(*this);
}

TimerWheel::TimerWheel(TimePoint start, Options options)
    : tick_(std::max<std::int64_t>(1, options.tick.count())),
      mask_(options.slots - 1),
      heads_(options.slots, nullptr),
      nonempty_(options.slots / 64, 0),
      cursor_(tick_of(start.time_since_epoch().count())) {
    assert(options.slots >= 64 && std::has_single_bit(options.slots));
    if (cursor_ < 0) cursor_ = 0;
}

TimerWheel::~TimerWheel() {
    // Owners may outlive the wheel: leave their nodes idle so their destructors don't touch us.
    for (Timer*& head : heads_) {
        for (Timer* t = head; t != nullptr;) {
            Timer* next = t->next_;
            t->prev_ = t->next_ = nullptr;
            t->wheel_ = nullptr;
            t->state_ = Timer::State::idle;
            t = next;
        }
        head = nullptr;
    }
    for (Timer* t : due_) {
        if (t == nullptr) continue;
        t->wheel_ = nullptr;
        t->state_ = Timer::State::idle;
    }
}

void TimerWheel::link(Timer& t, std::int64_t slot_tick) {
    std::size_t slot = static_cast<std::size_t>(slot_tick) & mask_;
    t.index_ = static_cast<std::uint32_t>(slot);
    t.prev_ = nullptr;
    t.next_ = heads_[slot];
    if (t.next_ != nullptr) t.next_->prev_ = &t;
    heads_[slot] = &t;
    nonempty_[slot / 64] |= std::uint64_t{1} << (slot % 64);
    t.state_ = Timer::State::linked;
}

void TimerWheel::unlink(Timer& t) noexcept {
    if (t.state_ == Timer::State::linked) {
        if (t.prev_ != nullptr) {
            t.prev_->next_ = t.next_;
        } else {
            heads_[t.index_] = t.next_;
            if (t.next_ == nullptr) nonempty_[t.index_ / 64] &= ~(std::uint64_t{1} << (t.index_ % 64));
        }
        if (t.next_ != nullptr) t.next_->prev_ = t.prev_;
        t.prev_ = t.next_ = nullptr;
    } else if (t.state_ == Timer::State::firing) {
        due_[t.index_] = nullptr;  // collected for this advance() but not fired yet
    }
    t.state_ = Timer::State::idle;
    t.wheel_ = nullptr;
    --size_;
}

void TimerWheel::schedule(Timer& t, TimePoint when) {
    if (t.state_ != Timer::State::idle) {
        assert(t.wheel_ == this);
        unlink(t);
    }
    std::int64_t ms = when.time_since_epoch().count();
    t.when_ = ms;
    t.seq_ = ++seq_;
    t.wheel_ = this;
    // A deadline already behind the cursor goes into the cursor's slot: it fires at the next
    // advance(), which always rescans that slot.
    link(t, std::max(tick_of(ms), cursor_));
    ++size_;
}

void TimerWheel::cancel(Timer& t) noexcept {
    if (t.state_ == Timer::State::idle) return;
    assert(t.wheel_ == this);
    unlink(t);
}

void TimerWheel::collect_due(std::size_t slot, std::int64_t now_ms) {
    for (Timer* t = heads_[slot]; t != nullptr;) {
        Timer* next = t->next_;
        if (t->when_ <= now_ms) {
            // Unlink from the slot but stay counted and owned: the batch fires it.
            if (t->prev_ != nullptr) t->prev_->next_ = t->next_;
            else heads_[slot] = t->next_;
            if (t->next_ != nullptr) t->next_->prev_ = t->prev_;
            t->prev_ = t->next_ = nullptr;
            t->state_ = Timer::State::firing;
            due_.push_back(t);
        }
        t = next;
    }
    if (heads_[slot] == nullptr) nonempty_[slot / 64] &= ~(std::uint64_t{1} << (slot % 64));
}

std::size_t TimerWheel::advance(TimePoint now) {
    assert(!advancing_ && "TimerWheel::advance() called from a timer callback");
    std::int64_t now_ms = now.time_since_epoch().count();
    std::int64_t end = std::max(tick_of(now_ms), cursor_);
    std::size_t slots = mask_ + 1;
    // Ticks [cursor_, end] map to these slots; more than a lap means every slot once.
    std::int64_t first = end - cursor_ + 1 >= static_cast<std::int64_t>(slots)
                             ? end - static_cast<std::int64_t>(slots) + 1
                             : cursor_;
    if (size_ != 0) {
        for (std::int64_t tk = first; tk <= end;) {
            std::size_t slot = static_cast<std::size_t>(tk) & mask_;
            std::size_t found = next_nonempty(slot);
            if (found == static_cast<std::size_t>(-1)) break;
            std::size_t skip = (found - slot) & mask_;  // empty slots skipped at once
            tk += static_cast<std::int64_t>(skip);
            if (tk > end) break;
            collect_due(found, now_ms);
            ++tk;
        }
    }
    // The current tick stays the cursor: its slot may hold timers due later within the tick.
    cursor_ = end;
    if (due_.empty()) return 0;

    std::sort(due_.begin(), due_.end(), [](const Timer* a, const Timer* b) {
        return a->when_ != b->when_ ? a->when_ < b->when_ : a->seq_ < b->seq_;
    });
    for (std::size_t i = 0; i < due_.size(); ++i) due_[i]->index_ = static_cast<std::uint32_t>(i);

    advancing_ = true;
    std::size_t fired = 0;
    for (std::size_t i = 0; i < due_.size(); ++i) {
        Timer* t = due_[i];
        if (t == nullptr) continue;  // cancelled or rescheduled by an earlier callback
        due_[i] = nullptr;
        t->state_ = Timer::State::idle;
        t->wheel_ = nullptr;
        --size_;
        ++fired;
        t->on_timer();  // may destroy t
    }
    due_.clear();
    advancing_ = false;
    return fired;
}

std::size_t TimerWheel::next_nonempty(std::size_t from) const {
    std::size_t words = nonempty_.size();
    std::size_t w = from / 64;
    std::uint64_t bits = nonempty_[w] & (~std::uint64_t{0} << (from % 64));
    for (std::size_t n = 0; n <= words; ++n) {
        if (bits != 0) return w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
        w = (w + 1) % words;
        bits = nonempty_[w];
    }
    return static_cast<std::size_t>(-1);
}

std::optional<TimePoint> TimerWheel::next_deadline() const {
    if (size_ == 0) return std::nullopt;
    std::size_t slots = mask_ + 1;
    std::size_t start = static_cast<std::size_t>(cursor_) & mask_;
    std::size_t scanned = 0;
    // Walk the lap [cursor_, cursor_ + slots) in tick order; the first slot holding a timer due
    // in this lap holds the earliest deadline.
    while (scanned < slots) {
        std::size_t from = (start + scanned) & mask_;
        std::size_t slot = next_nonempty(from);
        if (slot == static_cast<std::size_t>(-1)) break;
        std::size_t dist = (slot - start) & mask_;
        if (dist < scanned) break;  // wrapped around: lap done
        std::int64_t visit_tick = cursor_ + static_cast<std::int64_t>(dist);
        std::int64_t best = 0;
        bool have = false;
        for (const Timer* t = heads_[slot]; t != nullptr; t = t->next_) {
            if (tick_of(t->when_) <= visit_tick && (!have || t->when_ < best)) {
                best = t->when_;
                have = true;
            }
        }
        if (have) return TimePoint(Duration(best));
        scanned = dist + 1;
    }
    // Everything is at least a lap away.
    return TimePoint(Duration((cursor_ + static_cast<std::int64_t>(slots)) * tick_));
}

}  // namespace sb
