#include "sb/dialplan/active_script.h"

#include <utility>

namespace sb::dialplan {

std::shared_ptr<const Script> ActiveScript::get() const {
    std::lock_guard lock(mutex_);
    return script_;
}

std::int64_t ActiveScript::version() const {
    std::lock_guard lock(mutex_);
    return version_;
}

void ActiveScript::set(std::shared_ptr<const Script> script, std::int64_t version) {
    if (script && script->version != version) {
        auto copy = std::make_shared<Script>(*script);
        copy->version = version;
        script = std::move(copy);
    }
    // The old script is released outside the lock: the last reference may free a large source.
    std::shared_ptr<const Script> old;
    {
        std::lock_guard lock(mutex_);
        old = std::exchange(script_, std::move(script));
        version_ = version;
    }
}

}  // namespace sb::dialplan
