#pragma once
// ActiveScript: the compiled dialplan that new calls start with.
//
// Threading: every method may be called from any thread. Worker shards call get() once per new
// call and keep the shared_ptr for the call's whole life, so a call in progress finishes on the
// version it started with; the loader calls set() when another version is activated. get() is a
// mutex-protected shared_ptr copy (tens of nanoseconds, no allocation).
#include <cstdint>
#include <memory>
#include <mutex>

#include "sb/dialplan/engine.h"

namespace sb::dialplan {

class ActiveScript {
public:
    ActiveScript() = default;
    ActiveScript(const ActiveScript&) = delete;
    ActiveScript& operator=(const ActiveScript&) = delete;

    // The active script, or null before the first set(). Its `version` field is the stored
    // version it was compiled from (the same as version() at the moment of the copy).
    std::shared_ptr<const Script> get() const;
    // The active version, 0 before the first set().
    std::int64_t version() const;
    // Replaces the active script. `version` is also what version() reports; when `script`'s own
    // version field differs, a copy carrying `version` is stored, so get()->version and
    // version() always agree.
    void set(std::shared_ptr<const Script> script, std::int64_t version);

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const Script> script_;
    std::int64_t version_ = 0;
};

}  // namespace sb::dialplan
