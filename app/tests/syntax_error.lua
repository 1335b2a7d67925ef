-- Line 4 has a syntax error: `dialplan check` must name it.
function route(call)
    call:bridge{call.to, timeout = 20}
    if call.to == "1001" then
end
