-- wrk script: create sessions without ever closing them, far past the server's
-- cap; reports how many were created (201) and refused (429), and anything else.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  created, refused, other = 0, 0, 0
end

request = function()
  return wrk.format("POST", "/v1/sessions", { ["Content-Type"] = "application/json" }, "{}")
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status == 429 then
    refused = refused + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local c, r, o = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    r = r + t:get("refused")
    o = o + t:get("other")
  end
  io.write(string.format("sessions: created=%d refused_429=%d other=%d\n", c, r, o))
end
