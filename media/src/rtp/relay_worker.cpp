#include "relay_worker.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <future>

#include "sb/common/log.h"
#include "sb/media/rtp/rtp_header.h"

namespace sb::media::rtp {

namespace {

constexpr std::size_t kBufferSize = 2048;
constexpr unsigned kBufferGroup = 1;
constexpr unsigned kRingEntries = 4096;
constexpr unsigned kMaxFixedFiles = 65536;  // registered sockets per worker: every port fits

// The registered file table cannot be larger than the descriptor limit.
unsigned fixed_file_table_size() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return kMaxFixedFiles;
    return static_cast<unsigned>(std::min<rlim_t>(limit.rlim_cur, kMaxFixedFiles));
}
constexpr std::int64_t kPublishNs = 200'000'000;
constexpr long kWaitNs = 50'000'000;
constexpr long kBatchWaitNs = 200'000;  // the most a packet waits for its batch under load
constexpr unsigned kMaxBatchWait = 64;
constexpr std::int64_t kTickNs = 20'000'000;  // one frame of what we play

// What a completion is about: the low three bits of its user_data (pointers are 8-aligned).
enum Tag : std::uint64_t { kRtp = 0, kRtcp = 1, kSend = 2, kEvent = 3, kIgnore = 4, kFiles = 5 };

int no_file = -1;  // what a fixed-file slot is set to when its port goes (read at submission)
constexpr std::uint64_t kTagMask = 7;

std::uint64_t port_tag(const PortState& p, bool rtcp) {
    return reinterpret_cast<std::uint64_t>(&p) | (rtcp ? kRtcp : kRtp);
}

std::int64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

Result<std::unique_ptr<RelayWorker>> RelayWorker::create(unsigned buffers,
                                                         std::int64_t report_interval_ms) {
    std::unique_ptr<RelayWorker> w(new RelayWorker());  // private constructor
    w->report_interval_ns_ = report_interval_ms * 1'000'000;
    unsigned n = 1;
    while (n < buffers && n < 32768) n <<= 1;
    w->buffers_ = n;
    w->event_fd_ = eventfd(0, EFD_CLOEXEC);
    if (w->event_fd_ < 0) return fail(std::string("relay: eventfd: ") + std::strerror(errno));
    w->buffer_memory_ = std::make_unique<std::uint8_t[]>(std::size_t{n} * kBufferSize);
    w->send_to_.resize(n + kOwnBuffers);
    w->own_memory_ = std::make_unique<std::uint8_t[]>(std::size_t{kOwnBuffers} * kBufferSize);
    for (unsigned i = kOwnBuffers; i > 0; --i) w->own_free_.push_back(n + i - 1);
    w->sending_.reserve(n);
    w->receive_template_.msg_namelen = sizeof(sockaddr_in6);
    w->ports_.reserve(1024);
    if (std::string error = w->start(); !error.empty()) return fail("relay: " + error);
    return w;
}

std::string RelayWorker::start() {
    // The ring is made on the worker's own thread: IORING_SETUP_SINGLE_ISSUER binds it to the
    // thread that creates it, and DEFER_TASKRUN runs completions only when that thread asks,
    // so they come in batches. Setup errors come back through the promise.
    std::promise<std::string> ready;
    auto outcome = ready.get_future();
    thread_ = std::thread([this, &ready] {
        pthread_setname_np(pthread_self(), "sb-relay");  // for top -H, perf and benchmarks
        io_uring_params params{};
        params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                       IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
        params.cq_entries = kRingEntries * 4;
        if (int rc = io_uring_queue_init_params(kRingEntries, &ring_, &params); rc < 0) {
            ready.set_value(std::string("io_uring_setup: ") + std::strerror(-rc));
            return;
        }
        ring_ready_ = true;
        // Registered (fixed) files: the kernel skips looking the socket up for every send.
        const unsigned table = fixed_file_table_size();
        if (int rc = io_uring_register_files_sparse(&ring_, table); rc < 0) {
            ready.set_value(std::string("registering the socket table: ") + std::strerror(-rc));
            return;
        }
        free_slots_.reserve(table);
        for (unsigned i = table; i > 0; --i) free_slots_.push_back(i - 1);
        buf_ring_bytes_ = sizeof(io_uring_buf) * buffers_;
        void* mem = mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE,
                         MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
        if (mem == MAP_FAILED) {
            ready.set_value("mmap of the buffer ring failed");
            return;
        }
        buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
        io_uring_buf_reg reg{};
        reg.ring_addr = reinterpret_cast<std::uint64_t>(mem);
        reg.ring_entries = buffers_;
        reg.bgid = kBufferGroup;
        if (int rc = io_uring_register_buf_ring(&ring_, &reg, 0); rc < 0) {
            ready.set_value(std::string("registering receive buffers: ") + std::strerror(-rc));
            return;
        }
        io_uring_buf_ring_init(buf_ring_);
        const int mask = io_uring_buf_ring_mask(buffers_);
        for (unsigned i = 0; i < buffers_; ++i)
            io_uring_buf_ring_add(buf_ring_, buffer_memory_.get() + std::size_t{i} * kBufferSize,
                                  kBufferSize, static_cast<unsigned short>(i), mask,
                                  static_cast<int>(i));
        io_uring_buf_ring_advance(buf_ring_, static_cast<int>(buffers_));
        ready.set_value("");
        run();
    });
    std::string error = outcome.get();
    if (!error.empty()) thread_.join();
    return error;
}

RelayWorker::~RelayWorker() {
    stop_.store(true);
    if (event_fd_ >= 0) {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = write(event_fd_, &one, sizeof one);
    }
    if (thread_.joinable()) thread_.join();
    for (auto& p : ports_) {
        close(p->rtp_fd);
        close(p->rtcp_fd);
    }
    {
        std::lock_guard lock(mu_);
        for (auto& c : pending_)
            if (c.owned) {
                close(c.owned->rtp_fd);
                close(c.owned->rtcp_fd);
            }
    }
    if (ring_ready_) io_uring_queue_exit(&ring_);
    if (buf_ring_) munmap(buf_ring_, buf_ring_bytes_);
    if (event_fd_ >= 0) close(event_fd_);
}

void RelayWorker::post(WorkerCommand command) {
    // One wakeup per batch of commands, not per command (a call posts a dozen): the eventfd is
    // written only when the queue was empty. Whatever is posted until the worker swaps the
    // queue out rides on that write; after the swap the queue is empty again and the next post
    // writes. (Measured: 15 eventfd writes per anchored call before.)
    bool wake = false;
    {
        std::lock_guard lock(mu_);
        wake = pending_.empty();
        pending_.push_back(std::move(command));
    }
    if (!wake) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = write(event_fd_, &one, sizeof one);
}

void RelayWorker::update_file(unsigned slot, int* fd) {
    // Goes with the next submission instead of a system call of its own (io_uring_register),
    // and ahead of the receives armed after it: SQEs are issued in order.
    io_uring_sqe* s = sqe();
    io_uring_prep_files_update(s, fd, 1, static_cast<int>(slot));
    io_uring_sqe_set_data64(s, kFiles);
    s->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

io_uring_sqe* RelayWorker::sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    if (s == nullptr) {
        io_uring_submit(&ring_);  // the queue is full: hand the batch over and go on
        sends_submitted();
        s = io_uring_get_sqe(&ring_);
    }
    return s;
}

void RelayWorker::sends_submitted() {
    // A UDP send with MSG_DONTWAIT is done when its submission returns: the kernel copied the
    // datagram, or it failed and says so in a completion (and never retries it later, so the
    // buffer is no longer read). Successful sends post no completion at all (CQE_SKIP_SUCCESS),
    // which keeps them from waking the loop.
    for (unsigned bid : sending_) recycle(bid);
    sending_.clear();
}

void RelayWorker::run() {
    auto arm_event = [this] {
        io_uring_sqe* s = sqe();
        io_uring_prep_read(s, event_fd_, &event_value_, sizeof event_value_, 0);
        io_uring_sqe_set_data64(s, kEvent);
    };
    arm_event();
    // The batch size we wait for: half the last batch. (A moving average of the batches, tried
    // on 2026-11-24, woke the loop half as often but cost 10 to 30 % more CPU per packet in
    // interleaved runs: it waits for batches that often do not come within kBatchWaitNs, and a
    // wait that times out costs more than a wakeup by a packet. Half the last batch can settle
    // on waking for every packet or two for a while; that measured no dearer.)
    unsigned wait_for = 1;
    while (!stop_.load(std::memory_order_relaxed)) {
        // One system call: the sends queued by the previous batch go out, and we sleep until
        // packets arrive. Under load we sleep until a batch half as large as the last one is in, or
        // kBatchWaitNs passed: each wakeup costs as much as relaying a few packets, and the
        // kernel only wakes us (DEFER_TASKRUN) when that many are ready. Idle, one packet (or the
        // statistics timeout) wakes us.
        long wait_ns = wait_for > 1 ? kBatchWaitNs : kWaitNs;
        if (ticking())
            wait_ns =
                std::clamp<long>(static_cast<long>(next_tick_ns_ - monotonic_ns()), 0, wait_ns);
        __kernel_timespec wait{0, wait_ns};
        io_uring_cqe* first = nullptr;
        io_uring_submit_and_wait_timeout(&ring_, &first, wait_for, &wait, nullptr);
        sends_submitted();
        now_ns_ = monotonic_ns();
        unsigned head = 0;
        unsigned seen = 0;
        io_uring_cqe* cqe = nullptr;
        bool commands = false;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            ++seen;
            const std::uint64_t data = io_uring_cqe_get_data64(cqe);
            switch (data & kTagMask) {
                case kRtp:
                case kRtcp:
                    on_receive(*cqe, *reinterpret_cast<PortState*>(data & ~kTagMask),
                               (data & kTagMask) == kRtcp);
                    break;
                case kSend:  // only failures complete (the buffer was recycled at submission)
                    send_errors.fetch_add(1, std::memory_order_relaxed);
                    break;
                case kEvent:
                    commands = true;
                    break;
                case kFiles:  // only failures complete: a port the ring could not take (counted
                              // as one refused for the descriptor limit is, in `dropped`)
                    dropped.fetch_add(1, std::memory_order_relaxed);
                    break;
                default:
                    break;
            }
        }
        io_uring_cq_advance(&ring_, seen);
        wait_for = std::clamp(seen / 2, 1u, kMaxBatchWait);
        if (seen != 0) wakeups.fetch_add(1, std::memory_order_relaxed);
        if (recycled_ != 0) {
            io_uring_buf_ring_advance(buf_ring_, static_cast<int>(recycled_));
            recycled_ = 0;
        }
        if (commands) {
            arm_event();
            apply_commands();
        }
        if (ticking() && now_ns_ >= next_tick_ns_) {
            tick();
            next_tick_ns_ += kTickNs;
            if (now_ns_ - next_tick_ns_ > 5 * kTickNs) next_tick_ns_ = now_ns_ + kTickNs;
        }
        if (now_ns_ >= next_publish_ns_) {
            send_reports();
            publish_stats();
            next_publish_ns_ = now_ns_ + kPublishNs;
        }
    }
}

void RelayWorker::apply_commands() {
    {
        std::lock_guard lock(mu_);
        applying_.swap(pending_);
    }
    for (auto& c : applying_) apply(c);
    applying_.clear();
}

void RelayWorker::apply(WorkerCommand& c) {
    switch (c.kind) {
        case WorkerCommand::Kind::add: {
            PortState& p = *c.owned;
            if (free_slots_.size() < 2) {  // more sockets than the descriptor limit allows
                dropped.fetch_add(1, std::memory_order_relaxed);
                close(p.rtp_fd);
                close(p.rtcp_fd);
                break;
            }
            for (auto [fd, slot] : {std::pair{&p.rtp_fd, &p.rtp_slot}, {&p.rtcp_fd, &p.rtcp_slot}}) {
                *slot = free_slots_.back();
                free_slots_.pop_back();
                update_file(*slot, fd);
            }
            p.index = ports_.size();
            ports_.push_back(std::move(c.owned));
            arm_receive(p, false);
            arm_receive(p, true);
            open_ports.fetch_add(1, std::memory_order_relaxed);
            break;
        }
        case WorkerCommand::Kind::set_remote: {
            PortState& p = *c.port;
            p.spec = c.spec;
            p.latch.set_expected(
                p.spec.rtp ? SockAddr::from(*p.spec.rtp) : SockAddr{},
                p.spec.signalling ? SockAddr::from(*p.spec.signalling) : SockAddr{});
            p.rtcp_destination = p.spec.rtcp ? SockAddr::from(*p.spec.rtcp) : SockAddr{};
            p.out.set_clock_rate(p.spec.clock_rate);
            if (!p.connected.empty()) connect_to(p, SockAddr{});  // the latch starts over
            update_room(p);
            break;
        }
        case WorkerCommand::Kind::forward:
            c.port->forward = c.to;
            break;
        case WorkerCommand::Kind::play:
            start_playing(*c.port, std::move(c.source));
            c.port->source_end = c.port->source ? std::move(c.on_end) : nullptr;
            break;
        case WorkerCommand::Kind::set_codecs:
            c.port->codecs = std::move(c.codecs);
            c.port->has_codecs = true;
            ++c.port->codecs_generation;
            update_room(*c.port);
            if (c.port->recording)
                c.port->recording->post_codecs(c.port->recording_channel, c.port->codecs);
            break;
        case WorkerCommand::Kind::close: {
            PortState& p = *c.port;
            // Nothing plays to it any more (a tone, a digit in-band or as events).
            p.source.reset();
            p.source_end = nullptr;
            p.dtmf.reset();
            p.event_sender.reset();
            std::erase(playing_, &p);
            leave_room(p);
            p.digit_sink = nullptr;
            p.recording.reset();
            p.closing = true;
            p.forward = nullptr;
            for (auto& q : ports_) {
                if (q->forward == &p) q->forward = nullptr;
                if (q.get() == &p) continue;
                if (q->transcoder_to == &p) {
                    q->transcoder.reset();
                    q->transcoder_to = nullptr;
                }
            }
            for (bool rtcp : {false, true}) {
                io_uring_sqe* s = sqe();
                io_uring_prep_cancel64(s, port_tag(p, rtcp), 0);
                io_uring_sqe_set_data64(s, kIgnore);
            }
            break;
        }
        case WorkerCommand::Kind::join_room:
            join_room(*c.port, std::move(c.room), c.conference);
            break;
        case WorkerCommand::Kind::leave_room:
            leave_room(*c.port);
            break;
        case WorkerCommand::Kind::room_key:
            if (c.port->room) c.port->room->post_key(c.port->member, c.digit);
            break;
        case WorkerCommand::Kind::record:
            c.port->recording = std::move(c.recording);
            c.port->recording_channel = c.channel;
            if (c.port->recording) c.port->recording->post_codecs(c.channel, c.port->codecs);
            break;
        case WorkerCommand::Kind::watch_digits:
            c.port->digit_sink = std::move(c.digit_sink);
            c.port->sink_event_seen = false;
            break;
        case WorkerCommand::Kind::send_digit:
            send_digit(*c.port, c.digit, c.duration_ms);
            break;
        case WorkerCommand::Kind::add_room:
            if (!ticking()) next_tick_ns_ = now_ns_;
            rooms_.push_back(std::move(c.room));
            break;
    }
}

void RelayWorker::arm_receive(PortState& p, bool rtcp) {
    io_uring_sqe* s = sqe();
    io_uring_prep_recvmsg_multishot(s, static_cast<int>(rtcp ? p.rtcp_slot : p.rtp_slot),
                                    &receive_template_, 0);
    s->flags |= IOSQE_BUFFER_SELECT | IOSQE_FIXED_FILE;
    s->buf_group = kBufferGroup;
    io_uring_sqe_set_data64(s, port_tag(p, rtcp));
    ++p.receives_armed;
}

void RelayWorker::on_receive(const io_uring_cqe& cqe, PortState& p, bool rtcp) {
    if (cqe.res >= 0 && (cqe.flags & IORING_CQE_F_BUFFER) != 0) {
        const unsigned bid = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
        std::uint8_t* buffer = buffer_memory_.get() + std::size_t{bid} * kBufferSize;
        io_uring_recvmsg_out* out = io_uring_recvmsg_validate(buffer, cqe.res, &receive_template_);
        if (out == nullptr || (out->flags & MSG_TRUNC) != 0 || p.closing) {
            recycle(bid);
        } else {
            const SockAddr source = SockAddr::from_raw(io_uring_recvmsg_name(out), out->namelen);
            auto* payload =
                static_cast<std::uint8_t*>(io_uring_recvmsg_payload(out, &receive_template_));
            const auto size = io_uring_recvmsg_payload_length(out, cqe.res, &receive_template_);
            if (rtcp) {
                on_rtcp(p, payload, size, source);
                recycle(bid);
            } else {
                on_rtp(p, bid, payload, size, source);
            }
        }
    }
    if ((cqe.flags & IORING_CQE_F_MORE) == 0) on_receive_ended(p, rtcp);
}

void RelayWorker::on_rtp(PortState& p, unsigned bid, std::uint8_t* data, std::size_t size,
                         const SockAddr& source) {
    RtpHeader h(data, size);
    auto drop = [&] {
        ++p.counters.packets_dropped;
        dropped.fetch_add(1, std::memory_order_relaxed);
        recycle(bid);
    };
    if (!h.valid()) {
        if (h.is_rtcp_mux())
            on_rtcp(p, data, size, source);
        else
            ++p.counters.packets_dropped;
        recycle(bid);
        return;
    }
    if (!p.spec.receive || !p.latch.accept(source, h.ssrc(), h.sequence(), now_ns_)) return drop();
    if (p.latch.latched_expected() && p.connected != p.latch.latched())
        connect_to(p, p.latch.latched());
    ++p.counters.packets_received;
    p.counters.bytes_received += size - kRtpHeaderSize;
    count_received(p, h);
    if (p.counters.first_packet_ms == 0) p.counters.first_packet_ms = now_ns_ / 1'000'000;
    if (p.digit_sink) report_digits(p, h);
    if (p.recording)
        p.recording->post_packet(p.recording_channel, h.ssrc(), h.sequence(), h.timestamp(),
                                 static_cast<std::uint8_t>(h.payload_type()), h.marker(),
                                 h.payload(), now_ns_ / 1'000'000);
    if (p.room) {
        to_room(p, h);
        recycle(bid);
        return;
    }
    PortState* to = p.forward;
    if (to == nullptr || to->room || !to->spec.send || to->latch.destination().empty())
        return drop();
    forward_packet(p, *to, bid, h);
}

void RelayWorker::on_receive_ended(PortState& p, bool rtcp) {
    --p.receives_armed;
    if (!p.closing) {
        arm_receive(p, rtcp);  // out of buffers (ENOBUFS) or an error: receive again
        return;
    }
    if (p.receives_armed == 0) destroy(p);
}

void RelayWorker::send_buffer(PortState& via, const SockAddr& to, unsigned bid, std::uint8_t* data,
                              std::size_t size) {
    io_uring_sqe* s = sqe();
    io_uring_prep_send(s, static_cast<int>(via.rtp_slot), data, size, MSG_DONTWAIT);
    if (!(via.connected == to)) {
        // A plain send with a destination (sendto) spares the kernel copying in a msghdr.
        SockAddr& destination = send_to_[bid];  // must outlive the submission
        destination = to;
        io_uring_prep_send_set_addr(s, destination.raw(),
                                    static_cast<std::uint16_t>(destination.size()));
    }
    s->flags |= IOSQE_FIXED_FILE | IOSQE_CQE_SKIP_SUCCESS;
    sending_.push_back(bid);
    io_uring_sqe_set_data64(s, (std::uint64_t{bid} << 3) | kSend);
}

std::uint8_t* RelayWorker::own_buffer(unsigned id) {
    return own_memory_.get() + std::size_t{id - buffers_} * kBufferSize;
}

std::optional<unsigned> RelayWorker::take_own_buffer() {
    if (own_free_.empty()) return std::nullopt;
    const unsigned id = own_free_.back();
    own_free_.pop_back();
    return id;
}

void RelayWorker::recycle(unsigned bid) {
    if (bid >= buffers_) {  // one of ours, not the kernel's
        own_free_.push_back(bid);
        return;
    }
    io_uring_buf_ring_add(buf_ring_, buffer_memory_.get() + std::size_t{bid} * kBufferSize,
                          kBufferSize, static_cast<unsigned short>(bid),
                          io_uring_buf_ring_mask(buffers_), static_cast<int>(recycled_));
    ++recycled_;
}

void RelayWorker::send_to_fd(int fd, const SockAddr& to, unsigned bid, std::uint8_t* data,
                             std::size_t size) {
    io_uring_sqe* s = sqe();
    io_uring_prep_send(s, fd, data, size, MSG_DONTWAIT);
    SockAddr& destination = send_to_[bid];  // must outlive the submission
    destination = to;
    io_uring_prep_send_set_addr(s, destination.raw(),
                                static_cast<std::uint16_t>(destination.size()));
    s->flags |= IOSQE_CQE_SKIP_SUCCESS;
    sending_.push_back(bid);
    io_uring_sqe_set_data64(s, (std::uint64_t{bid} << 3) | kSend);
}

void RelayWorker::connect_to(PortState& p, const SockAddr& to) {
    // Rare (a latch, a silence, a new SDP): a plain system call. Sends already queued with an
    // address still go out where they were meant to (sendto on a connected UDP socket works).
    if (to.empty()) {
        sockaddr unspec{};
        unspec.sa_family = AF_UNSPEC;
        ::connect(p.rtp_fd, &unspec, sizeof unspec);
        p.connected = SockAddr{};
    } else if (::connect(p.rtp_fd, to.raw(), to.size()) == 0) {
        p.connected = to;
    } else {
        p.connected = SockAddr{};
    }
}

void RelayWorker::publish_stats() {
    for (auto& p : ports_) {
        PortState& s = *p;
        if (!s.connected.empty() && now_ns_ - s.latch.last_ns() > SourceLatch::kSilenceNs)
            connect_to(s, SockAddr{});  // silent: let a new source in (NAT rebinding)
        if (!s.latch.latched().empty()) s.counters.latched = s.latch.latched().endpoint();
        if (s.room && (s.spec.send ? s.latch.destination() : SockAddr{}) != s.room_destination)
            update_room(s);  // a leg that never sent: its SDP address, once trusted
        if (s.receiving) {
            s.counters.packets_lost =
                static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.rx.cumulative_lost()));
            s.counters.jitter_ms = 1000.0 * s.rx.jitter() / s.spec.clock_rate;
        }
        std::lock_guard lock(s.box->mu);
        s.box->stats = s.counters;
    }
}

void RelayWorker::destroy(PortState& p) {
    for (unsigned slot : {p.rtp_slot, p.rtcp_slot}) {
        update_file(slot, &no_file);  // before any later update of the slot: in order
        free_slots_.push_back(slot);
    }
    close(p.rtp_fd);
    close(p.rtcp_fd);
    const std::size_t i = p.index;
    if (i + 1 != ports_.size()) {
        ports_[i] = std::move(ports_.back());
        ports_[i]->index = i;
    }
    ports_.pop_back();
    open_ports.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace sb::media::rtp
