-- wrk script: GET /v1/consent for phones spread over PHONES numbers PREFIX0000000, … Each
-- thread formats its requests once, in init (before wrk starts its clock), so that sending one
-- costs the load generator, which shares the machine's cores with the server, no Lua work per
-- request (the /healthz baseline runs without a script).
local key = os.getenv("API_KEY")
local number = os.getenv("SENDER")
local n = tonumber(os.getenv("PHONES") or "100000")
local prefix = os.getenv("PREFIX") or "%2B1415"
local requests = {}
local counter = 0

function init(args)
  local headers = { ["Authorization"] = "Bearer " .. key }
  for i = 1, n do
    local phone = prefix .. string.format("%07d", (i * 7919) % n)
    requests[i] = wrk.format("GET", "/v1/consent?phone=" .. phone .. "&number=" .. number, headers)
  end
end

function request()
  counter = counter + 1
  if counter > n then counter = 1 end
  return requests[counter]
end
