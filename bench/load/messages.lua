-- wrk script: POST /v1/messages, a marketing message to each of PHONES contacts PREFIX0000000, …
-- in turn (each accepted message is a durable write: an outbox item). As consent_check.lua,
-- each thread formats its requests once, in init, so sending costs the load generator no Lua
-- work per request.
local key = os.getenv("API_KEY")
local number = os.getenv("SENDER")
local n = tonumber(os.getenv("PHONES") or "100000")
local prefix = os.getenv("PREFIX") or "+1416"
local requests = {}
local counter = 0

function init(args)
  local headers = { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }
  for i = 1, n do
    local phone = prefix .. string.format("%07d", (i * 7919) % n)
    local body = '{"to":"' .. phone .. '","from":"' .. number ..
                 '","body":"Spring sale: 20% off everything today","purpose":"marketing"}'
    requests[i] = wrk.format("POST", "/v1/messages", headers, body)
  end
end

function request()
  counter = counter + 1
  if counter > n then counter = 1 end
  return requests[counter]
end
