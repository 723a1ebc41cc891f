-- wrk script: POSTs pre-signed Twilio webhooks from requests.tsv, each thread its own slice,
-- so every request is a distinct message (no idempotent replays).
local lines = {}
for line in io.lines(os.getenv("REQUESTS_FILE")) do lines[#lines + 1] = line end
local counter = 0
local next_thread_id = 0
local threads = 1
-- thread_id is a global: thread:set() writes globals of the thread's own Lua state, which a
-- `local` of this chunk would shadow (every thread would then send the same messages, and
-- half of them would be provider retries instead of new messages).
thread_id = 0

function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

function init(args)
  threads = tonumber(os.getenv("WRK_THREADS") or "1")
end

function request()
  local idx = (counter * threads + thread_id) % #lines + 1
  counter = counter + 1
  local sig, body = lines[idx]:match("^([^\t]+)\t(.*)$")
  return wrk.format("POST", "/webhooks/twilio", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = sig,
  }, body)
end
