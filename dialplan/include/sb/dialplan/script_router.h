#pragma once
// ScriptRouter: the Router the B2BUA calls for each new call, running the active dialplan script
// in the shard's Engine. Each call keeps the Script it started with, so activating another
// version changes only the calls that start after it.
#include <functional>
#include <memory>

#include "sb/call/router.h"
#include "sb/dialplan/engine.h"

namespace sb::dialplan {

// The script new calls start with (the active version), or nullptr when there is none.
using ScriptSource = std::function<std::shared_ptr<const Script>()>;

class ScriptRouter final : public call::Router {
  public:
    ScriptRouter(ScriptSource source, Limits limits = {});
    call::RouteStep start(std::uint64_t call_id, call::CallApi& api) override;
    call::RouteStep resume(std::uint64_t call_id, call::Outcome outcome) override;
    void cancel(std::uint64_t call_id) override;

  private:
    ScriptSource source_;
    Engine engine_;
};

}  // namespace sb::dialplan
