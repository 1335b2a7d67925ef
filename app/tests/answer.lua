-- For the `dialplan simulate` tests: 3000 is a conference room with a welcome prompt first; 3001
-- answers, plays a prompt and returns (the PBX then hangs up).
function route(call)
  if call.to == "3000" then
    call:answer()
    call:playback("welcome")
    call:conference("staff", {mute_key = "#"})
  elseif call.to == "3001" then
    call:answer()
    call:playback("closed")
    return
  end
  call:hangup(404)
end
