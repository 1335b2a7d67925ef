#pragma once
// The call interface the dialplan drives is defined by b2bua/call (dialplan -> b2bua/call); these
// names keep the engine's code in its own vocabulary.
#include "sb/call/call_api.h"

namespace sb::dialplan {

using call::BridgeMedia;
using call::BridgeRequest;
using call::BridgeResult;
using call::CallApi;
using call::CollectRequest;
using call::ConferenceRequest;
using call::LogLevel;
using call::Outcome;
using call::parse_bridge_result;
using call::to_string;
using call::valid_dtmf_key;
using call::valid_room_name;

}  // namespace sb::dialplan
