-- wrk script: POST a trivial exec to one live session, whose path is the
-- script argument (wrk ... -s session_exec.lua URL -- /v1/sessions/ID/exec).
local path

function init(args)
  path = args[1]
end

request = function()
  return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, '{"code": "1 + 1"}')
end
