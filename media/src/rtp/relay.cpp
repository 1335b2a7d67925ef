#include "sb/media/rtp/relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <vector>

#include "relay_worker.h"

namespace sb::media::rtp {

namespace {

// A UDP socket bound to address:port, non-blocking, or -errno.
int bind_udp(const SockAddr& address, std::uint16_t port) {
    SockAddr a = address;
    if (a.is_v6())
        a.u.v6.sin6_port = htons(port);
    else
        a.u.v4.sin_port = htons(port);
    const int fd =
        socket(a.is_v6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (bind(fd, a.raw(), a.size()) != 0) {
        const int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

}  // namespace

struct Relay::Impl {
    explicit Impl(const RelayConfig& c)
        : config(c), recorder(c.recording_min_free_mb * 1024 * 1024) {}
    RelayConfig config;
    Recorder recorder;  // its thread starts with the first recording
    SockAddr bind_address;
    std::vector<std::unique_ptr<RelayWorker>> workers;

    // Port pairs in use, by (port - port_min) / 2; the cursor spreads reuse over the range so
    // that a just-closed port is not handed out again at once (late packets of the old call).
    mutable std::mutex mu;
    std::vector<bool> in_use;
    std::size_t pairs_in_use = 0;
    std::size_t cursor = 0;
    std::mt19937 random{std::random_device{}()};

    // Conference rooms by name. A room lives while its home worker ticks it; the map holds it
    // weakly, and a room that closed (emptied) is replaced by a new one on the next join.
    std::mutex rooms_mu;
    std::map<std::string, std::weak_ptr<ConferenceRoom>, std::less<>> rooms;

    // The room `name` with a place reserved in it, made (and handed to its home worker) if
    // needed; nullptr when it is full.
    std::shared_ptr<ConferenceRoom> reserve_room(std::string_view name) {
        std::lock_guard lock(rooms_mu);
        if (rooms.size() > 256)
            std::erase_if(rooms, [](const auto& entry) { return entry.second.expired(); });
        auto it = rooms.find(name);
        if (it != rooms.end()) {
            if (auto room = it->second.lock()) {
                if (room->reserve()) return room;
                if (!room->closed()) return nullptr;  // full
            }
        }
        auto room = std::make_shared<ConferenceRoom>(std::string(name));
        room->reserve();
        rooms.insert_or_assign(std::string(name), room);
        // A room's home is fixed by its name, so rooms spread over the workers.
        RelayWorker& home = *workers[std::hash<std::string_view>{}(name) % workers.size()];
        WorkerCommand c(WorkerCommand::Kind::add_room, nullptr);
        c.room = room;
        home.post(std::move(c));
        return room;
    }

    void release(std::uint16_t port) {
        std::lock_guard lock(mu);
        const std::size_t i = (port - config.port_min) / 2;
        if (in_use[i]) --pairs_in_use;
        in_use[i] = false;
    }
};

namespace {

// A recording as the media session holds it: ending it stops the file.
class RelayRecording final : public Recording {
  public:
    explicit RelayRecording(std::shared_ptr<RecordingFile> file) : file_(std::move(file)) {}
    ~RelayRecording() override { file_->stop(); }
    const std::string& path() const override { return file_->path(); }
    const std::shared_ptr<RecordingFile>& file() const { return file_; }

  private:
    std::shared_ptr<RecordingFile> file_;
};

class RelayPort final : public MediaPort {
  public:
    RelayPort(Relay::Impl& relay, RelayWorker& worker, PortState& state)
        : relay_(relay), worker_(worker), state_(state), port_(state.rtp_port), box_(state.box) {}
    ~RelayPort() override {
        worker_.post(WorkerCommand(WorkerCommand::Kind::close, &state_));
        relay_.release(port_);
    }

    std::uint16_t rtp_port() const override { return port_; }
    void set_remote(const RemoteSpec& remote) override {
        WorkerCommand c(WorkerCommand::Kind::set_remote, &state_);
        c.spec = remote;
        worker_.post(std::move(c));
    }
    void play(std::unique_ptr<dsp::AudioSource> source) override {
        WorkerCommand c(WorkerCommand::Kind::play, &state_);
        c.source = std::move(source);
        worker_.post(std::move(c));
    }
    void play(std::unique_ptr<dsp::AudioSource> source, std::function<void()> on_end) override {
        WorkerCommand c(WorkerCommand::Kind::play, &state_);
        c.source = std::move(source);
        c.on_end = std::move(on_end);
        worker_.post(std::move(c));
    }
    void set_codecs(const PortCodecs& codecs) override {
        WorkerCommand c(WorkerCommand::Kind::set_codecs, &state_);
        c.codecs = codecs;
        worker_.post(std::move(c));
    }
    void forward_to(MediaPort* to) override {
        PortState* target = nullptr;
        if (auto* t = dynamic_cast<RelayPort*>(to)) {
            // Both ports must be served by one worker: the forwarding is a plain pointer there.
            if (&t->worker_ == &worker_) target = &t->state_;
        }
        WorkerCommand c(WorkerCommand::Kind::forward, &state_);
        c.to = target;
        worker_.post(std::move(c));
    }
    PortStats stats() const override {
        std::lock_guard lock(box_->mu);
        return box_->stats;
    }
    bool join_conference(std::string_view room, const ConferenceOptions& options) override {
        if (!valid_room_name(room)) return false;
        auto reserved = relay_.reserve_room(room);
        if (!reserved) return false;
        WorkerCommand c(WorkerCommand::Kind::join_room, &state_);
        c.room = std::move(reserved);
        c.conference = options;
        worker_.post(std::move(c));
        return true;
    }
    void leave_conference() override {
        worker_.post(WorkerCommand(WorkerCommand::Kind::leave_room, &state_));
    }
    void conference_key(char digit) override {
        WorkerCommand c(WorkerCommand::Kind::room_key, &state_);
        c.digit = digit;
        worker_.post(std::move(c));
    }
    void record(Recording* recording, int channel) override {
        WorkerCommand c(WorkerCommand::Kind::record, &state_);
        if (auto* r = dynamic_cast<RelayRecording*>(recording)) c.recording = r->file();
        c.channel = channel;
        worker_.post(std::move(c));
    }
    void watch_digits(std::function<void(char)> sink) override {
        WorkerCommand c(WorkerCommand::Kind::watch_digits, &state_);
        c.digit_sink = std::move(sink);
        worker_.post(std::move(c));
    }
    void send_digit(char digit, int duration_ms) override {
        WorkerCommand c(WorkerCommand::Kind::send_digit, &state_);
        c.digit = digit;
        c.duration_ms = duration_ms;
        worker_.post(std::move(c));
    }

  private:
    Relay::Impl& relay_;
    RelayWorker& worker_;
    PortState& state_;  // owned by the worker; only its address is used here
    std::uint16_t port_;
    std::shared_ptr<StatsBox> box_;
};

}  // namespace

Result<std::unique_ptr<Relay>> Relay::start(const RelayConfig& config) {
    // Two sockets per port: thousands of calls need more descriptors than the usual soft limit
    // of 1,024, so take what the hard limit allows (as rtpengine and Asterisk do).
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    auto impl = std::make_unique<Impl>(config);
    auto ip = Endpoint::from_ip(config.address, 0);
    if (!ip) return fail("relay: address '" + config.address + "' is not an IP address");
    impl->bind_address = SockAddr::from(*ip);
    if (!config.advertise.empty() && !Endpoint::from_ip(config.advertise, 0))
        return fail("relay: advertised address '" + config.advertise + "' is not an IP address");
    if (config.port_min % 2 != 0) ++impl->config.port_min;
    if (impl->config.port_min < 1024 || config.port_max <= impl->config.port_min)
        return fail("relay: the port range " + std::to_string(config.port_min) + "-" +
                    std::to_string(config.port_max) + " is empty or below 1024");
    if (config.rtcp_interval_ms < 100)
        return fail("relay: the RTCP interval must be at least 100 ms");
    impl->in_use.assign((impl->config.port_max - impl->config.port_min + 1) / 2, false);
    impl->cursor = impl->random() % impl->in_use.size();
    const unsigned workers = config.workers == 0 ? 1 : config.workers;
    for (unsigned i = 0; i < workers; ++i) {
        auto w = RelayWorker::create(config.buffers_per_worker, config.rtcp_interval_ms);
        if (!w) return unexpected(w.error());
        impl->workers.push_back(std::move(*w));
    }
    return std::unique_ptr<Relay>(new Relay(std::move(impl)));
}

Relay::Relay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Relay::~Relay() = default;

Result<std::unique_ptr<Recording>> Relay::start_recording(const std::string& path) {
    auto file = impl_->recorder.open(path);
    if (!file) return unexpected(file.error());
    return std::unique_ptr<Recording>(std::make_unique<RelayRecording>(std::move(*file)));
}

const std::string& Relay::address() const {
    return impl_->config.address;
}

std::size_t Relay::available() const {
    std::lock_guard lock(impl_->mu);
    return impl_->in_use.size() - impl_->pairs_in_use;
}

Result<std::unique_ptr<MediaPort>> Relay::open(std::uint64_t group) {
    Impl& r = *impl_;
    RelayWorker& worker = *r.workers[group % r.workers.size()];
    std::lock_guard lock(r.mu);
    const std::size_t pairs = r.in_use.size();
    for (std::size_t tried = 0; tried < pairs; ++tried) {
        const std::size_t i = r.cursor;
        r.cursor = (r.cursor + 1) % pairs;
        if (r.in_use[i]) continue;
        const auto port = static_cast<std::uint16_t>(r.config.port_min + 2 * i);
        const int rtp = bind_udp(r.bind_address, port);
        if (rtp < 0) continue;  // taken by another program: try the next pair
        const int rtcp = bind_udp(r.bind_address, static_cast<std::uint16_t>(port + 1));
        if (rtcp < 0) {
            close(rtp);
            continue;
        }
        r.in_use[i] = true;
        ++r.pairs_in_use;
        auto state = std::make_unique<PortState>(
            rtp, rtcp, port, static_cast<std::uint32_t>(r.random()),
            static_cast<std::uint16_t>(r.random()), static_cast<std::uint32_t>(r.random()));
        PortState& s = *state;
        WorkerCommand c(WorkerCommand::Kind::add, nullptr);
        c.owned = std::move(state);
        worker.post(std::move(c));
        return std::unique_ptr<MediaPort>(std::make_unique<RelayPort>(r, worker, s));
    }
    return fail("relay: no free RTP port in " + std::to_string(r.config.port_min) + "-" +
                std::to_string(r.config.port_max));
}

RelayTotals Relay::totals() const {
    RelayTotals t;
    for (auto& w : impl_->workers) {
        t.packets_relayed += w->relayed.load(std::memory_order_relaxed);
        t.packets_transcoded += w->transcoded.load(std::memory_order_relaxed);
        t.packets_dropped += w->dropped.load(std::memory_order_relaxed);
        t.send_errors += w->send_errors.load(std::memory_order_relaxed);
        t.open_ports += w->open_ports.load(std::memory_order_relaxed);
        t.wakeups += w->wakeups.load(std::memory_order_relaxed);
    }
    return t;
}

}  // namespace sb::media::rtp
