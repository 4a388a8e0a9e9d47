-- wrk script: POST a distinct, realistic ACheckin delivery on every request.
-- Each thread numbers its own requests; check-in k of thread t gets the timestamp
-- BASE_MS + (k * THREADS + t) seconds, so no two requests of a run repeat a check-in.
-- The user id cycles over 1,000 employees.

local BASE_MS = tonumber(os.getenv("BENCH_BASE_MS") or "1793494800000")
local API_KEY = os.getenv("BENCH_API_KEY") or ""
local THREADS = tonumber(os.getenv("BENCH_THREADS") or "1")

local next_thread_id = 0
local thread_id = 0
local counter = 0

local TEMPLATE = '{"user_id":"NV%04d","sex":"FEMALE","phone_number":"0912345678",' ..
  '"email":"nv%04d@example.vn","company_id":"cmp-1","office_location":"Hà Nội",' ..
  '"workspace_id":"ws-bench","machine_id":"m-01","name":"Nguyễn Thị Lan",' ..
  '"avatar":"https://example.vn/avatars/%04d.png","checkin_timestamp":%.0f,' ..
  '"working_group":{"begin":800,"end":1700}}'

function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

function request()
  counter = counter + 1
  local user = counter % 1000
  local timestamp = BASE_MS + (counter * THREADS + thread_id) * 1000
  local body = string.format(TEMPLATE, user, user, user, timestamp)
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-WEBHOOK-TYPE"] = "CHECKIN",
    ["X-API-KEY"] = API_KEY,
  }
  return wrk.format("POST", "/webhooks/acheckin", headers, body)
end
