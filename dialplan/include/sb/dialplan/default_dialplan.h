#pragma once
// The dialplan Switchboard ships with (dialplan/default.lua, embedded at build time): extensions
// call each other by number, anything else gets 404. `switchboard run` stores and activates it
// when the database has no active dialplan yet.
#include <string_view>

namespace sb::dialplan {

inline constexpr std::string_view kDefaultDialplanName = "default.lua";

// The source text of dialplan/default.lua.
std::string_view default_dialplan_source();

}  // namespace sb::dialplan
