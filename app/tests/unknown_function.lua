-- Calls a function the dialplan API does not have: `dialplan check` must say so with its line.
brige("1001")
function route(call)
end
