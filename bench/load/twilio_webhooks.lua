-- wrk script: POSTs pre-signed Twilio webhooks from requests.tsv, each thread its own slice,
-- so every request is a distinct message (no idempotent replays). Each thread formats its
-- slice's requests once, in init (before wrk starts its clock), so that sending one costs the
-- load generator, which shares the machine's cores with the server, no Lua work per request.
local lines = {}
for line in io.lines(os.getenv("REQUESTS_FILE")) do lines[#lines + 1] = line end
local next_thread_id = 0
local requests = {}
local counter = 0
-- thread_id is a global: thread:set() writes globals of the thread's own Lua state, which a
-- `local` of this chunk would shadow (every thread would then send the same messages, and
-- half of them would be provider retries instead of new messages).
thread_id = 0

function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

function init(args)
  local threads = tonumber(os.getenv("WRK_THREADS") or "1")
  for idx = thread_id + 1, #lines, threads do
    local sig, body = lines[idx]:match("^([^\t]+)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", "/webhooks/twilio", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = sig,
    }, body)
  end
  lines = nil
end

function request()
  counter = counter + 1
  if counter > #requests then counter = 1 end
  return requests[counter]
end
