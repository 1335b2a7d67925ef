#pragma once
// What the B2BUA is given of an extension: its database row as a credential for the cache.
// Here because the composition root is the one place that knows both the database (which checks
// only a tone plan's shape) and the media engine (which knows the plans).
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sb/db/extensions.h"
#include "sb/registrar/credential_cache.h"

namespace sb::app {

// The extensions warned about for a tone plan we lack, each with its code. A row is loaded again
// at every change of it and at every (re)connection of the NOTIFY listener; the warning should
// come once, not at each. Thread-safe: reloads run on the database pool's threads.
class ToneWarnings {
  public:
    // True the first time `number` is seen with `code` since it last had a plan we know.
    bool first(std::string_view number, std::string_view code);
    // `number` has a plan we know again (or is gone): a bad code later is warned about anew.
    void forget(std::string_view number);

  private:
    std::mutex mu_;
    std::unordered_map<std::string, std::string> code_of_;
};

// The row as a credential. A stored tone plan the media engine has (any case, "UK" for GB) is
// carried as its code; one it has not (written past the CLI, e.g. by psql, or by a newer
// Switchboard with more plans before a downgrade) becomes the system's plan, with a warning the
// first time (see ToneWarnings), rather than reaching every call it makes.
registrar::Credential to_credential(const db::Extension& e, ToneWarnings& warnings);

}  // namespace sb::app
