-- wrk script: GET /v1/consent for phones spread over PHONES numbers PREFIX0000000, …
local key = os.getenv("API_KEY")
local number = os.getenv("SENDER")
local n = tonumber(os.getenv("PHONES") or "100000")
local prefix = os.getenv("PREFIX") or "%2B1415"
local i = 0
function request()
  i = i + 1
  local phone = prefix .. string.format("%07d", (i * 7919) % n)
  return wrk.format("GET", "/v1/consent?phone=" .. phone .. "&number=" .. number,
                    { ["Authorization"] = "Bearer " .. key })
end
