-- The default dialplan shipped with Switchboard. `switchboard run` stores and activates it on the
-- first start; replace it with your own:
--
--   switchboard dialplan check office.lua     -- compile it, errors with their line
--   switchboard dialplan simulate --file office.lua --from 1001 --to 2000 --outcome busy
--   switchboard dialplan load office.lua      -- store a new version and make it active
--   switchboard dialplan list                 -- every version; activate VERSION rolls back
--
-- The whole API is in docs/dialplan.md. In short:
--
--   call.from, call.from_name     the caller's number and display name
--   call.to, call.uri             the dialled number and the request URI
--   call.extension                {number = "1001", name = "Alice"}, or nil for trunk calls
--   call:header("User-Agent")     a header of the INVITE, or nil
--
--   call:bridge("1001")                               ring one extension, 30 s
--   call:bridge{"1001", "1002", timeout = 20}         ring several at once, first answer wins
--   call:bridge{"1001", "1002", sequential = true}    one after another, timeout each
--   call:hangup(486, "Busy Here")                     end the call with a SIP code; stops here
--   call:set_caller_id("2000", "Reception")           the caller ID the called phones show
--   call:set_header("X-Department", "sales")          a header added to the calls bridge places
--   call:log("text")                                  a line in the PBX log and the call trace
--
--   call:answer()                                     answer the caller ourselves (200 OK)
--   call:playback("welcome")                          play <prompts>/welcome.wav, then go on
--   call:collect_digits{max = 4, timeout = 5}         the keys pressed ("" if none in time)
--   call:play_and_collect("menu", {max = 1})          the same while and after a prompt
--   call:conference("sales")                          into a conference room until hang-up
--   call:record()                                     record the call (see [media] recordings)
--
-- bridge returns r.result ("answered", "busy", "noanswer", "unavailable", "failed") and r.code,
-- the SIP status that decided it (200, 486, 480, 404, 503 ...). When route returns without an
-- answered bridge or a hangup, the PBX ends the call with the last bridge's code (404 if it never
-- bridged). Common codes for hangup: 403 Forbidden, 404 Not Found, 480 Temporarily Unavailable,
-- 486 Busy Here, 603 Decline.

-- A ring group: uncomment, and call it from route() below with `if call.to == "2000" ...`.
--
-- local reception = {"1001", "1002", "1003"}
--
-- local function ring_reception(call)
--   call:set_caller_id(call.from, "Reception: " .. call.from_name)
--   local r = call:bridge{reception[1], reception[2], reception[3], timeout = 20}  -- all at once
--   if r.result ~= "answered" then
--     r = call:bridge{"1004", "1005", timeout = 15, sequential = true}            -- then in turn
--   end
--   if r.result ~= "answered" then
--     call:hangup(480, "Nobody at reception")
--   end
-- end

function route(call)
  -- if call.to == "2000" then return ring_reception(call) end

  -- Extension numbers are 1 to 32 letters, digits and _ . + -; anything else cannot be one.
  if #call.to == 0 or #call.to > 32 or not call.to:match("^[%w_.+-]+$") then
    call:hangup(404, "Not Found")
  end

  -- Extensions call each other by number: ring every phone registered to the dialled one.
  local r = call:bridge{call.to, timeout = 30}
  if r.result ~= "answered" then
    call:log("call to " .. call.to .. " ended: " .. r.result .. " (" .. r.code .. ")")
  end
  -- Returning here ends an unanswered call with the bridge's code: 486 when busy, 480 when
  -- nobody answered or the extension is not registered, 404 when there is no such extension.
end
