-- For the `dialplan simulate` tests: ring the dialled extension; busy ends the call with 486.
function route(call)
  call:set_caller_id(call.from, "Sim " .. call.from_name)
  local r = call:bridge{call.to, timeout = 20}
  if r.result == "busy" then
    call:hangup(486, "Busy Here")
  end
end
