-- For the `dialplan simulate` tests: 3000 is a conference room with a welcome prompt first; 3001
-- answers, plays a prompt and returns (the PBX then hangs up); 3002 is a menu: key 1 rings 1002.
function route(call)
  if call.to == "3000" then
    call:answer()
    call:playback("welcome")
    call:conference("staff", {mute_key = "#"})
  elseif call.to == "3001" then
    call:answer()
    call:playback("closed")
    return
  elseif call.to == "3002" then
    if call:play_and_collect("menu", {max = 1, timeout = 3}) == "1" then
      call:bridge("1002")
      return
    end
  end
  call:hangup(404)
end
