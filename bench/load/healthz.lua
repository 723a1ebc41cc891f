-- wrk script: GET /healthz through a request() function, as consent_check.lua sends its requests,
-- so that the load generator does the same work per request in both runs.
local req

function init(args)
  req = wrk.format("GET", "/healthz")
end

function request()
  return req
end
