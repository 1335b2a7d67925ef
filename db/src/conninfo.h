#pragma once
// Connection string helpers shared by the pool and the listener.
#include <string>

namespace sb::db::detail {

// Returns `conninfo` (keyword/value or URI form) as a keyword/value string with connect_timeout
// set to `seconds` unless it already has one: libpq's default is to wait forever, which would
// pin a DB thread (and delay shutdown) when a database host silently drops packets.
// An unparsable string is returned unchanged, so the real connect reports the error.
std::string with_connect_timeout(const std::string& conninfo, int seconds);

}  // namespace sb::db::detail
