#include "sb/db/call_record_store.h"

#include "db_error.h"
#include "sb/common/log.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>

namespace sb::db {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// One spool line: the row as a JSON object (the detail stays its own JSON text).
std::string to_line(const CallRecordRow& r) {
    nlohmann::json j = {{"uuid", r.uuid},
                        {"call_id", r.call_id},
                        {"caller", r.caller},
                        {"callee", r.callee},
                        {"started_at_ms", r.started_at_ms},
                        {"answered_at_ms", r.answered_at_ms},
                        {"ended_at_ms", r.ended_at_ms},
                        {"status", r.status},
                        {"end_reason", r.end_reason},
                        {"recording", r.recording},
                        {"direct_media", r.direct_media},
                        {"detail", r.detail_json}};
    // Invalid UTF-8 (a From user is only bytes to SIP) is replaced, not thrown on.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + '\n';
}

std::optional<CallRecordRow> from_line(const std::string& line) {
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return std::nullopt;
    try {
        CallRecordRow r;
        r.uuid = j.at("uuid").get<std::string>();
        r.call_id = j.at("call_id").get<std::string>();
        r.caller = j.at("caller").get<std::string>();
        r.callee = j.at("callee").get<std::string>();
        r.started_at_ms = j.at("started_at_ms").get<std::int64_t>();
        r.answered_at_ms = j.at("answered_at_ms").get<std::int64_t>();
        r.ended_at_ms = j.at("ended_at_ms").get<std::int64_t>();
        r.status = j.at("status").get<int>();
        r.end_reason = j.at("end_reason").get<std::string>();
        r.recording = j.at("recording").get<std::string>();
        r.direct_media = j.at("direct_media").get<bool>();
        r.detail_json = j.at("detail").get<std::string>();
        if (!check_call_record(r)) return std::nullopt;
        return r;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

// Writes all of `data` and makes it durable; false with errno set on failure.
bool write_durably(int fd, const std::string& data) {
    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    return ::fdatasync(fd) == 0;
}

// Errors that say the database is away (retry the same rows later), as against errors that say
// a row itself cannot be stored.
bool is_outage(const Error& e) {
    return e.code != code(Errc::invalid_argument) && e.code != code(Errc::query_failed) &&
           e.code != code(Errc::already_exists);
}

}  // namespace

struct CallRecordStore::State {
    State(Pool& p, CallRecordStoreOptions o) : pool(p), options(std::move(o)) {}
    ~State() {
        if (fd >= 0) ::close(fd);
    }

    Pool& pool;
    CallRecordStoreOptions options;
    std::filesystem::path rejected_path;
    int fd = -1;  // the spool, O_APPEND

    mutable std::mutex mu;
    std::condition_variable wake;     // the thread: rows queued, retry asked, stopping
    std::condition_variable settled;  // flush(): the thread finished a round
    std::vector<CallRecordRow> queue;
    bool stopping = false;
    bool retry_now = false;
    Stats stats;
    std::uint64_t rounds = 0;
    // Rows the spool could not take (disk full, I/O error): kept in memory and written straight
    // to the database, after the spool's rows.
    std::vector<CallRecordRow> unspooled;
    SteadyTime next_try{};
    Duration backoff{0};
    bool outage_logged = false;
    std::uint64_t written_in_outage = 0;

    // Rows the thread has taken from the queue and not yet spooled: flush() must not see them
    // as gone between the two.
    std::size_t in_hand = 0;

    // Rows not yet in the database (with mu held).
    bool pending() const { return in_hand > 0 || stats.spooled > 0 || !unspooled.empty(); }

    void run();
    std::vector<CallRecordRow> spool(std::vector<CallRecordRow> rows);
    void reject(const std::string& line, const std::string& why);
    bool drain(std::vector<CallRecordRow> fresh);
    Status write_rows(std::vector<CallRecordRow>& rows, std::uint64_t& done, std::size_t& next);
    Status write_spool_file(std::uint64_t& done);
    Status write(std::vector<CallRecordRow> rows);
    Result<std::size_t> write_isolating(std::vector<CallRecordRow>& rows);
};

Result<std::unique_ptr<CallRecordStore>> CallRecordStore::open(Pool& pool,
                                                               CallRecordStoreOptions options) {
    if (options.batch == 0) options.batch = 1;
    auto state = std::make_unique<State>(pool, std::move(options));
    const auto& path = state->options.spool;
    state->rejected_path = path;
    state->rejected_path += ".rejected";
    state->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (state->fd < 0)
        return fail("call record spool " + path.string() + ": " + std::strerror(errno));
    // Rows an earlier run left behind. A last line cut short by a crash gets its newline now, so
    // the next row does not run into it (the cut line is then rejected, with a log line, not lost).
    std::ifstream in(path, std::ios::binary);
    std::string line;
    std::uint64_t lines = 0;
    bool ends_cut = false;
    while (std::getline(in, line)) {
        if (!line.empty()) ++lines;
        ends_cut = in.eof();  // getline hit the end without a newline
    }
    if (ends_cut && !write_durably(state->fd, "\n"))
        return fail("call record spool " + path.string() + ": " + std::strerror(errno));
    state->stats.spooled = lines;
    if (lines > 0)
        SB_INFO("db", "call records: {} left in {} by an earlier run; writing them first", lines,
                path.string());
    return std::unique_ptr<CallRecordStore>(new CallRecordStore(std::move(state)));
}

CallRecordStore::CallRecordStore(std::unique_ptr<State> state)
    : state_(std::move(state)), thread_([s = state_.get()] { s->run(); }) {}

CallRecordStore::~CallRecordStore() {
    {
        std::lock_guard lock(state_->mu);
        state_->stopping = true;
    }
    state_->wake.notify_all();
    thread_.join();
}

void CallRecordStore::add(CallRecordRow row) {
    // Checked on the store's thread (spool()), which also rejects: nothing waits here. Only the
    // first row of a batch wakes the thread; the rest ride along.
    bool wake = false;
    {
        std::lock_guard lock(state_->mu);
        wake = state_->queue.empty();
        state_->queue.push_back(std::move(row));
    }
    if (wake) state_->wake.notify_one();
}

bool CallRecordStore::flush(Duration limit) {
    std::unique_lock lock(state_->mu);
    state_->retry_now = true;
    const std::uint64_t round = state_->rounds;
    state_->wake.notify_one();
    // At least one round after the retry was asked, and nothing left anywhere.
    return state_->settled.wait_for(lock, limit, [&] {
        return state_->rounds > round && state_->queue.empty() && !state_->pending();
    });
}

CallRecordStore::Stats CallRecordStore::stats() const {
    std::lock_guard lock(state_->mu);
    return state_->stats;
}

const std::filesystem::path& CallRecordStore::spool_path() const {
    return state_->options.spool;
}

void CallRecordStore::State::run() {
    for (;;) {
        std::vector<CallRecordRow> rows;
        bool stop = false;
        bool try_db = false;
        {
            std::unique_lock lock(mu);
            auto due = [&] { return pending() && std::chrono::steady_clock::now() >= next_try; };
            auto ready = [&] { return stopping || retry_now || !queue.empty() || due(); };
            if (pending())
                wake.wait_until(lock, next_try, ready);
            else
                wake.wait(lock, ready);
            if (retry_now) next_try = {};
            retry_now = false;
            rows.swap(queue);
            in_hand = rows.size();
            stop = stopping;
        }
        std::vector<CallRecordRow> fresh;
        if (!rows.empty()) fresh = spool(std::move(rows));
        {
            std::lock_guard lock(mu);
            in_hand = 0;  // spooled, kept in memory or rejected by now
            try_db = !stop && pending() && std::chrono::steady_clock::now() >= next_try;
        }
        if (try_db) drain(std::move(fresh));
        {
            std::lock_guard lock(mu);
            ++rounds;
        }
        settled.notify_all();
        if (stop) return;
    }
}

// Appends the rows to the spool and gives back those it wrote there (the rest are rejected or
// kept in memory).
std::vector<CallRecordRow> CallRecordStore::State::spool(std::vector<CallRecordRow> rows) {
    std::string data;
    std::vector<CallRecordRow> good;
    for (CallRecordRow& r : rows) {
        if (auto st = check_call_record(r); !st) {
            reject(to_line(r), st.error().message);
            continue;
        }
        data += to_line(r);
        good.push_back(std::move(r));
    }
    if (good.empty()) return {};
    if (write_durably(fd, data)) {
        std::lock_guard lock(mu);
        stats.spooled += good.size();
        return good;
    }
    SB_ERROR("db", "call records: cannot write the spool {}: {}; keeping {} in memory",
             options.spool.string(), std::strerror(errno), good.size());
    std::lock_guard lock(mu);
    for (auto& r : good) unspooled.push_back(std::move(r));
    return {};
}

void CallRecordStore::State::reject(const std::string& line, const std::string& why) {
    SB_ERROR("db", "call records: {}; the record is kept in {}", why, rejected_path.string());
    const int rfd = ::open(rejected_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (rfd < 0 || !write_durably(rfd, line.back() == '\n' ? line : line + '\n'))
        SB_ERROR("db", "call records: cannot write {}: {}; the record was: {}",
                 rejected_path.string(), std::strerror(errno), line);
    if (rfd >= 0) ::close(rfd);
    std::lock_guard lock(mu);
    ++stats.rejected;
}

// Writes rows in transactions of options.batch; on failure `next` is the first row not written.
Status CallRecordStore::State::write_rows(std::vector<CallRecordRow>& rows, std::uint64_t& done,
                                          std::size_t& next) {
    for (next = 0; next < rows.size(); next += options.batch) {
        const auto first = rows.begin() + static_cast<std::ptrdiff_t>(next);
        const auto last =
            rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), next + options.batch));
        std::vector<CallRecordRow> chunk(first, last);
        auto n = write_isolating(chunk);
        if (!n) return Unexpected<Error>{n.error()};
        done += *n;
    }
    return {};
}

// Writes every readable row of the spool file, in order; unreadable lines are rejected.
Status CallRecordStore::State::write_spool_file(std::uint64_t& done) {
    std::ifstream in(options.spool, std::ios::binary);
    std::string line;
    std::vector<CallRecordRow> chunk;
    std::size_t next = 0;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        if (auto row = from_line(line)) {
            chunk.push_back(std::move(*row));
            if (chunk.size() < options.batch) continue;
            if (auto st = write_rows(chunk, done, next); !st) return st;
            chunk.clear();
        } else {
            reject(line, "an unreadable line in the spool");
        }
    }
    return write_rows(chunk, done, next);
}

// Writes the spool's rows, then the unspooled ones; true when all are in the database. `fresh`
// are the rows just appended: when they are all the spool holds (the usual case, the database
// being up), they are written as they are instead of read back from the file.
bool CallRecordStore::State::drain(std::vector<CallRecordRow> fresh) {
    Status result;
    std::uint64_t done = 0;
    std::size_t next = 0;
    std::uint64_t in_spool = 0;
    {
        std::lock_guard lock(mu);
        in_spool = stats.spooled;
    }
    if (in_spool > 0) {
        result = in_spool == fresh.size() ? write_rows(fresh, done, next) : write_spool_file(done);
        if (result) {
            // All of it is in the database: start the spool afresh. Only this thread appends.
            if (::ftruncate(fd, 0) != 0)
                SB_ERROR("db", "call records: cannot empty the spool {}: {}",
                         options.spool.string(), std::strerror(errno));
            std::lock_guard lock(mu);
            stats.spooled = 0;
        }
    }
    if (result) {
        std::vector<CallRecordRow> mem;
        {
            std::lock_guard lock(mu);
            mem.swap(unspooled);
        }
        result = write_rows(mem, done, next);
        if (!result) {
            // Back in front of anything that failed to spool meanwhile, in order.
            std::lock_guard lock(mu);
            mem.erase(mem.begin(), mem.begin() + static_cast<std::ptrdiff_t>(next));
            mem.insert(mem.end(), std::make_move_iterator(unspooled.begin()),
                       std::make_move_iterator(unspooled.end()));
            unspooled.swap(mem);
        }
    }
    std::lock_guard lock(mu);
    stats.written += done;
    stats.database_ok = bool(result);
    if (result) {
        backoff = Duration{0};
        next_try = {};
        if (outage_logged)
            SB_INFO("db", "call records: the database is back; {} records written from the spool",
                    written_in_outage + done);
        outage_logged = false;
        written_in_outage = 0;
        return true;
    }
    written_in_outage += done;
    backoff = backoff.count() == 0 ? options.retry_min : std::min(backoff * 2, options.retry_max);
    next_try = std::chrono::steady_clock::now() + backoff;
    if (!outage_logged)
        SB_WARN("db", "call records: {}; keeping them in {} and retrying", result.error().message,
                options.spool.string());
    outage_logged = true;
    return false;
}

// One transaction through the pool, waited for at most job_timeout.
Status CallRecordStore::State::write(std::vector<CallRecordRow> rows) {
    auto shared = std::make_shared<std::vector<CallRecordRow>>(std::move(rows));
    auto promise = std::make_shared<std::promise<Status>>();
    auto future = promise->get_future();
    const bool queued = pool.submit(
        [shared, promise](pqxx::connection& conn) {
            promise->set_value(insert_call_records(conn, *shared));
        },
        [promise](const Error& e) { promise->set_value(Unexpected<Error>{e}); });
    if (!queued) return detail::fail(Errc::busy, "write call records: the database queue is full");
    if (future.wait_for(options.job_timeout) != std::future_status::ready)
        return detail::fail(Errc::unavailable, "write call records: no answer from the database");
    return future.get();
}

// Writes `rows` and says how many went in; when the database refuses the batch itself (not an
// outage), writes them one by one and rejects only the rows it refuses, so one bad row cannot
// hold up the spool forever.
Result<std::size_t> CallRecordStore::State::write_isolating(std::vector<CallRecordRow>& rows) {
    Status st = write(rows);
    if (st) return rows.size();
    if (is_outage(st.error())) return Unexpected<Error>{st.error()};
    std::size_t written = 0;
    for (CallRecordRow& r : rows) {
        Status one = write({r});
        if (one) {
            ++written;
            continue;
        }
        if (is_outage(one.error())) return Unexpected<Error>{one.error()};
        reject(to_line(r), one.error().message);
    }
    return written;
}

}  // namespace sb::db
