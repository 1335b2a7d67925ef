#include "binding_writer.h"

#include <pqxx/pqxx>
#include <stdexcept>
#include <thread>

#include "sb/common/log.h"
#include "sb/db/registrations.h"

namespace sb::app {

db::Binding to_db(const registrar::Binding& b) {
    db::Binding d;
    d.aor = b.aor;
    d.contact = b.contact;
    d.expires_at = b.expires_at;
    d.q = b.q;
    d.instance_id = b.instance_id;
    d.reg_id = b.reg_id;
    d.path = b.path;
    d.call_id = b.call_id;
    d.cseq = b.cseq;
    d.user_agent = b.user_agent;
    d.received = b.received.remote.to_string();
    d.transport = std::string(to_string(b.received.transport));
    return d;
}

registrar::Binding from_db(const db::Binding& d) {
    registrar::Binding b;
    b.aor = d.aor;
    b.contact = d.contact;
    b.expires_at = d.expires_at;
    b.q = d.q;
    b.instance_id = d.instance_id;
    b.reg_id = d.reg_id;
    b.path = d.path;
    b.call_id = d.call_id;
    b.cseq = static_cast<std::uint32_t>(d.cseq);
    b.user_agent = d.user_agent;
    b.persisted_expires_at = d.expires_at;
    if (auto ep = Endpoint::from_string(d.received)) b.received.remote = *ep;
    b.received.transport = d.transport == "TCP"   ? TransportKind::tcp
                           : d.transport == "TLS" ? TransportKind::tls
                                                  : TransportKind::udp;
    return b;
}

void BindingWriter::persist(std::vector<registrar::BindingChange> changes) {
    std::lock_guard lock(mu_);
    for (auto& c : changes) queue_.push_back(std::move(c));
    schedule();
}

void BindingWriter::schedule() {
    if (scheduled_ || queue_.empty()) return;
    scheduled_ = true;
    bool ok = pool_.submit([this](pqxx::connection& conn) { write_batch(conn); },
                           [this](const Error& e) {
                               {
                                   // Once per outage, not at every retry (5 a second).
                                   std::lock_guard lock(mu_);
                                   if (!failing_)
                                       SB_WARN("db", "registration write failed, will retry: {}",
                                               e.message);
                                   failing_ = true;
                               }
                               std::this_thread::sleep_for(std::chrono::milliseconds(200));
                               std::lock_guard lock(mu_);
                               scheduled_ = false;
                               schedule();
                               idle_.notify_all();
                           });
    if (!ok) scheduled_ = false;  // queue full: the next persist() tries again
}

void BindingWriter::write_batch(pqxx::connection& conn) {
    std::vector<registrar::BindingChange> batch;
    {
        std::lock_guard lock(mu_);
        batch.swap(queue_);
    }
    try {
        // In order; consecutive upserts go to the database as one statement batch.
        std::vector<db::Binding> upserts;
        auto flush_upserts = [&] {
            if (upserts.empty()) return;
            if (auto st = db::upsert_bindings(conn, upserts); !st)
                throw std::runtime_error(st.error().message);
            upserts.clear();
        };
        for (const auto& c : batch) {
            if (c.kind == registrar::BindingChange::upsert) {
                upserts.push_back(to_db(c.binding));
                continue;
            }
            flush_upserts();
            auto r = c.kind == registrar::BindingChange::remove
                         ? db::delete_bindings(conn, c.binding.aor, {c.binding.contact})
                         : db::delete_all_bindings(conn, c.binding.aor);
            if (!r) throw std::runtime_error(r.error().message);
        }
        flush_upserts();
    } catch (...) {
        // Put the batch back in front of anything queued meanwhile, then let the pool report it.
        std::lock_guard lock(mu_);
        batch.insert(batch.end(), std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.end()));
        queue_.swap(batch);
        throw;
    }
    std::lock_guard lock(mu_);
    if (failing_) SB_INFO("db", "registration writes succeed again");
    failing_ = false;
    scheduled_ = false;
    schedule();
    idle_.notify_all();
}

void BindingWriter::flush() {
    std::unique_lock lock(mu_);
    idle_.wait_for(lock, std::chrono::seconds(10),
                   [this] { return queue_.empty() && !scheduled_; });
}

std::size_t BindingWriter::pending() const {
    std::lock_guard lock(mu_);
    return queue_.size();
}

}  // namespace sb::app
