#pragma once
// LISTEN/NOTIFY on a dedicated thread and connection, for cache invalidation.
//
// Callbacks run on the listener's thread; they should be quick (post to your own executor).
// After a lost connection the listener reconnects with backoff and re-LISTENs; since notifications
// sent while it was away are lost, it then calls on_reconnect so caches can be fully reloaded.
#include "sb/common/clock.h"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sb::db {

struct ListenerOptions {
    std::string conninfo;
    std::vector<std::string> channels;
    Duration reconnect_min{100};
    Duration reconnect_max{5000};
    // With no traffic the connection is checked this often (catches a silently dead peer).
    Duration idle_check{30000};
};

class Listener {
  public:
    using Notify = std::function<void(const std::string& channel, const std::string& payload)>;
    // Called each time LISTEN is (re)established, the first time included: loading caches there
    // closes the window between a load and the LISTEN in which a change would go unnoticed.
    using Reconnect = std::function<void()>;

    // Starts the thread; connecting happens there, so a database that is down does not block.
    Listener(ListenerOptions options, Notify on_notify, Reconnect on_reconnect = {});
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    ~Listener();  // stop()

    // Wakes the thread and joins it; returns promptly even while a connect attempt backs off.
    // Idempotent; must not be called from a callback.
    void stop();

    bool listening() const { return listening_.load(); }
    // Blocks until LISTEN is established or the timeout passes (real time; for startup and tests).
    bool wait_listening(Duration timeout) const;

  private:
    void run();
    bool sleep_for(Duration d);  // false when stopped

    ListenerOptions options_;
    Notify on_notify_;
    Reconnect on_reconnect_;
    int wake_fd_ = -1;  // eventfd: stop() writes, the thread polls it with the socket
    std::atomic<bool> stopping_{false};
    std::atomic<bool> listening_{false};
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    std::mutex join_mutex_;
    std::thread thread_;
};

}  // namespace sb::db
