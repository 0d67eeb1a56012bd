-- wrk script: each thread POSTs a trivial exec to its own live session; the
-- session exec paths are the script arguments, one per thread
-- (wrk -tN -cN ... -s sessions_exec.lua URL -- PATH1 ... PATHN).
local counter = 0
function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
end

local path
function init(args)
  path = args[index + 1]
end

request = function()
  return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, '{"code": "1 + 1"}')
end
