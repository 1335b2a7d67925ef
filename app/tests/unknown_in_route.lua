-- A typo that only shows when the line runs: `check` passes (the name is looked up at run time),
-- `simulate` finds it, with its line.
function route(call)
  if call.to == "2000" then
    call:brige("1001")
  end
end
