#include "sb/db/pool.h"

#include "conninfo.h"
#include "db_error.h"
#include "sb/common/log.h"

#include <algorithm>
#include <memory>

namespace sb::db {
namespace {

void call_failure(const Pool::Failure& f, const Error& e) {
    if (!f) return;
    try {
        f(e);
    } catch (const std::exception& ex) {
        SB_ERROR("db", "pool: failure callback threw: {}", ex.what());
    } catch (...) {
        SB_ERROR("db", "pool: failure callback threw");
    }
}

}  // namespace

Pool::Pool(PoolOptions options, const Clock& clock) : options_(std::move(options)), clock_(clock) {
    options_.conninfo = detail::with_connect_timeout(options_.conninfo, 5);
    options_.threads = std::max<std::size_t>(options_.threads, 1);
    options_.queue_capacity = std::max<std::size_t>(options_.queue_capacity, 1);
    threads_.reserve(options_.threads);
    for (std::size_t i = 0; i < options_.threads; ++i)
        threads_.emplace_back([this, i] { run_thread(i); });
}

Pool::~Pool() {
    shutdown();
}

bool Pool::submit(Job job, Failure on_failure) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || queue_.size() >= options_.queue_capacity) return false;
        queue_.push_back(Item{std::move(job), std::move(on_failure)});
    }
    cv_.notify_one();
    return true;
}

std::size_t Pool::queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

void Pool::shutdown() {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            stopping_ = true;
            deadline_ = clock_.now() + options_.shutdown_deadline;
        }
    }
    cv_.notify_all();
    std::lock_guard join_lock(join_mutex_);
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
}

void Pool::run_thread(std::size_t index) {
    std::unique_ptr<pqxx::connection> conn;
    bool backing_off = false;  // after a failed connect: no new attempt before retry_at
    TimePoint retry_at{};
    Duration backoff = options_.reconnect_min;
    std::string last_connect_error;

    for (;;) {
        Item item;
        bool expired = false;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) break;  // stopping and drained
            item = std::move(queue_.front());
            queue_.pop_front();
            expired = stopping_ && clock_.now() >= deadline_;
        }
        if (expired) {
            call_failure(item.on_failure, Error{code(Errc::unavailable),
                                                "database pool shut down before the job ran"});
            continue;
        }

        if (conn && !conn->is_open()) conn.reset();  // broken during the previous job
        if (!conn) {
            const TimePoint now = clock_.now();
            if (backing_off && now < retry_at) {
                // Fail fast while the database is down: callers get an answer at once and can
                // shed load (a 503) instead of every job waiting out a connect timeout.
                auto wait = std::chrono::duration_cast<Duration>(retry_at - now).count();
                call_failure(item.on_failure,
                             Error{code(Errc::unavailable), last_connect_error +
                                                                " (next connect attempt in " +
                                                                std::to_string(wait) + " ms)"});
                continue;
            }
            try {
                conn = std::make_unique<pqxx::connection>(options_.conninfo);
                if (options_.on_connect) options_.on_connect(*conn);
                if (backing_off)
                    SB_INFO("db", "pool thread {}: connected to the database again", index);
                backing_off = false;
                backoff = options_.reconnect_min;
            } catch (...) {
                conn.reset();
                Error e = detail::current_exception_error("connecting to the database");
                last_connect_error = e.message;
                backing_off = true;
                retry_at = now + backoff;
                SB_WARN("db", "pool thread {}: cannot connect ({}); next attempt in {} ms", index,
                        e.message, backoff.count());
                backoff = std::min(backoff * 2, options_.reconnect_max);
                call_failure(item.on_failure, Error{code(Errc::unavailable), e.message});
                continue;
            }
        }

        // A job must never take its DB thread down with it.
        try {
            item.job(*conn);
        } catch (...) {
            Error e = detail::current_exception_error("database job failed");
            SB_ERROR("db", "pool thread {}: {}", index, e.message);
            call_failure(item.on_failure, e);
        }
    }
}

}  // namespace sb::db
