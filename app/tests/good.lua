-- A dialplan that `switchboard dialplan check` accepts (used by ctest).
function route(call)
    local outcome = call:bridge{call.to, timeout = 20}
    if outcome.result ~= "answered" then
        call:hangup(486)
    end
end
