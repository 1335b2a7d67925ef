-- Compiles, but fails when a call runs it: `dialplan simulate` must report the line.
function route(call)
  local r = call:bridge(call.to)
  call:brige("1002")
end
