#include "sb/db/listener.h"

#include "conninfo.h"
#include "db_error.h"
#include "sb/common/log.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <pqxx/connection>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/notification>

#include <cerrno>
#include <memory>

namespace sb::db {
namespace {

constexpr int kConnectTimeoutSeconds = 5;

// pqxx delivers notifications per channel to a receiver object; this one forwards to the callback.
class Receiver final : public pqxx::notification_receiver {
  public:
    Receiver(pqxx::connection& c, const std::string& channel, const Listener::Notify& notify)
        : pqxx::notification_receiver(c, channel), notify_(notify) {}
    void operator()(const std::string& payload, int) override {
        try {
            notify_(channel(), payload);
        } catch (const std::exception& e) {
            SB_ERROR("db", "listener: callback for channel {} threw: {}", channel(), e.what());
        } catch (...) {
            SB_ERROR("db", "listener: callback for channel {} threw", channel());
        }
    }

  private:
    const Listener::Notify& notify_;
};

}  // namespace

Listener::Listener(ListenerOptions options, Notify on_notify, Reconnect on_reconnect)
    : options_(std::move(options)),
      on_notify_(std::move(on_notify)),
      on_reconnect_(std::move(on_reconnect)) {
    options_.conninfo = detail::with_connect_timeout(options_.conninfo, kConnectTimeoutSeconds);
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0)
        SB_ERROR("db", "listener: eventfd failed; stop() will wait for the next timeout");
    thread_ = std::thread([this] { run(); });
}

Listener::~Listener() {
    stop();
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Listener::stop() {
    {
        std::lock_guard lock(mutex_);  // so a wait_listening() in progress cannot miss it
        stopping_ = true;
    }
    if (wake_fd_ >= 0) {
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    }
    cv_.notify_all();
    std::lock_guard join_lock(join_mutex_);
    if (thread_.joinable()) thread_.join();
}

bool Listener::wait_listening(Duration timeout) const {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [this] { return listening_.load() || stopping_.load(); }) &&
           listening_.load();
}

bool Listener::sleep_for(Duration d) {
    pollfd p{wake_fd_, POLLIN, 0};
    // A bounded poll even without an eventfd, so stop() still ends the wait.
    int ms = static_cast<int>(d.count());
    while (!stopping_ && ms > 0) {
        int step = wake_fd_ >= 0 ? ms : std::min(ms, 100);
        int n = ::poll(&p, 1, step);
        if (n > 0) break;
        if (n < 0 && errno == EINTR) continue;
        ms -= step;
    }
    return !stopping_;
}

void Listener::run() {
    Duration backoff = options_.reconnect_min;
    while (!stopping_) {
        try {
            pqxx::connection conn(options_.conninfo);
            std::vector<std::unique_ptr<Receiver>> receivers;
            // Each receiver issues its LISTEN as it is made.
            for (const auto& channel : options_.channels)
                receivers.push_back(std::make_unique<Receiver>(conn, channel, on_notify_));
            {
                std::lock_guard lock(mutex_);
                listening_ = true;
            }
            cv_.notify_all();
            backoff = options_.reconnect_min;
            SB_DEBUG("db", "listener: listening on {} channel(s)", receivers.size());
            if (on_reconnect_) {
                try {
                    on_reconnect_();
                } catch (const std::exception& e) {
                    SB_ERROR("db", "listener: on_reconnect threw: {}", e.what());
                }
            }
            const int idle_ms = static_cast<int>(options_.idle_check.count());
            while (!stopping_) {
                pollfd fds[2] = {{conn.sock(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
                int n = ::poll(fds, wake_fd_ >= 0 ? 2 : 1,
                               wake_fd_ >= 0 ? idle_ms : std::min(idle_ms, 100));
                if (n < 0 && errno == EINTR) continue;
                if (stopping_) break;
                if (n == 0) {
                    // Quiet for a while: make sure the server is still there.
                    pqxx::nontransaction tx(conn);
                    tx.exec("select 1");
                }
                conn.get_notifs();  // dispatches to the receivers
                if (!conn.is_open())
                    throw pqxx::broken_connection("connection to the database lost");
            }
            listening_ = false;
            receivers.clear();
            return;  // stopping
        } catch (...) {
            listening_ = false;
            if (stopping_) return;
            Error e = detail::current_exception_error("listener");
            SB_WARN("db", "{}; reconnecting in {} ms", e.message, backoff.count());
        }
        if (!sleep_for(backoff)) return;
        backoff = std::min(backoff * 2, options_.reconnect_max);
    }
}

}  // namespace sb::db
