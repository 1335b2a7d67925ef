#pragma once
// A fixed set of DB threads, each owning one connection, fed from one bounded queue.
//
// The database is never touched on a shard thread: shards submit jobs here and the job posts its
// result back to the shard's own executor (the pool knows nothing about Asio or SIP).
//
// Threading: submit(), queued() and shutdown() may be called from any thread. Jobs run on a pool
// thread with that thread's connection; a connection is used by one job at a time.
#include "sb/common/clock.h"
#include "sb/common/result.h"

#include <pqxx/connection>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sb::db {

struct PoolOptions {
    std::string conninfo;
    std::size_t threads = 2;
    std::size_t queue_capacity = 1024;
    // After a failed connect a thread fails jobs at once (no connect attempt) until the backoff
    // has passed; the backoff doubles from min to max and resets after a success.
    Duration reconnect_min{100};
    Duration reconnect_max{5000};
    // The destructor runs queued jobs for at most this long, then drops the rest.
    Duration shutdown_deadline{5000};
    // Runs on each new connection before its first job (e.g. to prepare statements).
    std::function<void(pqxx::connection&)> on_connect;
};

class Pool {
  public:
    using Job = std::function<void(pqxx::connection&)>;
    // Called, on a pool thread, instead of a normal completion when the job could not run
    // (no connection, shutdown) or threw. Exactly one of "job returned" or "on_failure called"
    // happens for every accepted job.
    using Failure = std::function<void(const Error&)>;

    // `clock` decides reconnect backoff and the shutdown deadline; it must outlive the pool.
    explicit Pool(PoolOptions options, const Clock& clock = SystemClock::instance());
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;
    // shutdown(): finishes queued jobs up to the deadline, then joins the threads.
    ~Pool();

    // Queues a job; false (and nothing queued) when the queue is full or the pool is shutting
    // down, so callers shed load instead of queueing without bound.
    [[nodiscard]] bool submit(Job job, Failure on_failure = {});

    // Jobs waiting (not running).
    std::size_t queued() const;
    std::size_t capacity() const { return options_.queue_capacity; }

    // Stops accepting jobs, runs the queued ones until the deadline, fails the rest, joins.
    // Idempotent; must not be called from a job.
    void shutdown();

  private:
    struct Item {
        Job job;
        Failure on_failure;
    };
    void run_thread(std::size_t index);

    PoolOptions options_;
    const Clock& clock_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Item> queue_;
    bool stopping_ = false;
    TimePoint deadline_{};
    std::mutex join_mutex_;  // shutdown() from two threads must not join the same thread twice
    std::vector<std::thread> threads_;
};

}  // namespace sb::db
