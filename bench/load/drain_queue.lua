-- wrk script: queues exactly COUNT transactional messages with POST /v1/messages (split over
-- wrk's threads), to phones PREFIX0000001, … in turn; once a thread has sent its share it
-- sends GET /healthz instead, which queues nothing, until wrk's duration ends. Set THREADS to
-- wrk's -t. Transactional, so neither consent nor quiet hours hold them back: the drain
-- benchmark (drain.sh) measures the dispatcher, not the rules.
local key = os.getenv("API_KEY")
local number = os.getenv("SENDER")
local count = tonumber(os.getenv("COUNT") or "100000")
local threads = tonumber(os.getenv("THREADS") or "2")
local prefix = os.getenv("PREFIX") or "+1416"
local next_id = 0

function setup(thread)
  thread:set("first", next_id * math.floor(count / threads))
  thread:set("share", next_id == threads - 1 and count - next_id * math.floor(count / threads)
                      or math.floor(count / threads))
  next_id = next_id + 1
end

local headers, sent, idle

function init(args)
  headers = { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }
  sent = 0
  idle = wrk.format("GET", "/healthz")
end

function request()
  if sent >= share then return idle end
  local phone = prefix .. string.format("%07d", first + sent + 1)
  sent = sent + 1
  return wrk.format("POST", "/v1/messages", headers, '{"to":"' .. phone .. '","from":"' ..
                    number .. '","body":"Your order has shipped","purpose":"transactional"}')
end
