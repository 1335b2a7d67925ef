#pragma once
// Writes registration changes to PostgreSQL behind the SIP threads: persist() only queues; one
// pool job at a time drains the queue in a single transaction (a batch). A failed write keeps the
// batch and retries, so nothing is lost while the database is briefly away.
#include <condition_variable>
#include <mutex>
#include <vector>

#include "sb/db/pool.h"
#include "sb/db/registrations.h"
#include "sb/registrar/registrar.h"

namespace sb::app {

class BindingWriter final : public registrar::BindingSink {
  public:
    explicit BindingWriter(db::Pool& pool) : pool_(pool) {}
    void persist(std::vector<registrar::BindingChange> changes) override;
    // Blocks until everything queued so far is written (or the attempt failed); for shutdown.
    void flush();
    std::size_t pending() const;

  private:
    void schedule();  // with mu_ held
    void write_batch(pqxx::connection& conn);

    db::Pool& pool_;
    mutable std::mutex mu_;
    std::condition_variable idle_;
    std::vector<registrar::BindingChange> queue_;
    bool scheduled_ = false;
    bool failing_ = false;  // the last write failed: its warning is logged, not the retries'
};

// Conversions between the registrar's and the database's view of a binding.
db::Binding to_db(const registrar::Binding& b);
registrar::Binding from_db(const db::Binding& b);

}  // namespace sb::app
