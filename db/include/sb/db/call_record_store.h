#pragma once
// Writes call records to PostgreSQL without losing any (DESIGN.md: "call records survive a
// database outage"). add() only queues; the store's thread appends each batch to a spool file on
// disk (fdatasync) and then inserts the spool's rows in transactions of `batch` rows. The spool is
// emptied once all of it is in the database; while the database is away it keeps growing and is
// retried with backoff, and a spool left by a crash or an outage is written at the next start, in
// order. Rows carry a uuid, so a row written twice (a crash between insert and truncate) is
// stored once.
#include "sb/common/clock.h"
#include "sb/common/result.h"
#include "sb/db/call_records.h"
#include "sb/db/pool.h"

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace sb::db {

struct CallRecordStoreOptions {
    std::filesystem::path spool;  // e.g. DATA/call-records.spool; its directory must exist
    std::size_t batch = 200;      // rows per transaction
    Duration retry_min{1000};     // after a failed write; doubles up to retry_max
    Duration retry_max{30000};
    Duration job_timeout{15000};  // how long one batch may wait for its pool job
};

class CallRecordStore {
  public:
    struct Stats {
        std::uint64_t written = 0;   // rows inserted (or found already there) since open
        std::uint64_t spooled = 0;   // rows in the spool now, not yet known to be in the database
        std::uint64_t rejected = 0;  // rows refused by check_call_record or unreadable in the spool
        bool database_ok = true;     // the last attempt succeeded
    };

    // Opens (creating) the spool; fails when the file cannot be opened for appending.
    // `pool` must outlive the store.
    static Result<std::unique_ptr<CallRecordStore>> open(Pool& pool,
                                                         CallRecordStoreOptions options);
    CallRecordStore(const CallRecordStore&) = delete;
    CallRecordStore& operator=(const CallRecordStore&) = delete;
    // Spools what is still queued (to disk, not necessarily the database) and stops the thread.
    ~CallRecordStore();

    // Any thread; never waits for the disk or the database. A row that check_call_record()
    // refuses is logged and appended to "<spool>.rejected" instead.
    void add(CallRecordRow row);

    // Retries at once, then waits until everything added so far is in the database, at most
    // `limit`. False when some rows are still only in the spool.
    bool flush(Duration limit);

    Stats stats() const;
    const std::filesystem::path& spool_path() const;

    struct State;  // the thread's and the callers' shared state (call_record_store.cpp)

  private:
    explicit CallRecordStore(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
    std::thread thread_;
};

}  // namespace sb::db
