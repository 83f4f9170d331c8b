-- wrk script for bench/run-panel.sh's seeding: POST /svc/bench/echo/ with a unique JSON body
-- per request (as bench/submit.lua), except every BENCH_FAIL_EVERY-th request of a connection's
-- thread, which goes to BENCH_FAIL_PATH (an offer whose handler fails permanently), so the store
-- holds failed requests spread evenly over its history, not in one block.
--
-- Environment: BENCH_KEY (API key, required), BENCH_PATH (default /svc/bench/echo/),
-- BENCH_FAIL_PATH (default /svc/bench/fail/), BENCH_FAIL_EVERY (default 100; 0: never),
-- BENCH_TAG (makes bodies unique across wrk runs on the same store).
-- done() prints "bench: <name> <value>" lines that run-panel.sh reads.

local key = os.getenv("BENCH_KEY") or error("BENCH_KEY is not set")
local path = os.getenv("BENCH_PATH") or "/svc/bench/echo/"
local fail_path = os.getenv("BENCH_FAIL_PATH") or "/svc/bench/fail/"
local fail_every = tonumber(os.getenv("BENCH_FAIL_EVERY") or "100") or 100
local tag = os.getenv("BENCH_TAG") or "t"

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Per-thread state; the counters are globals so that done() can read them with thread:get().
local prefix
local counter = 0
n202 = 0
nother2xx = 0
nerror = 0
local headers = {
  ["Authorization"] = "Bearer " .. key,
  ["Content-Type"] = "application/json",
}

function init(args)
  prefix = '{"text":"' .. tag .. "-" .. tostring(id) .. "-"
end

function request()
  counter = counter + 1
  local p = path
  if fail_every > 0 and counter % fail_every == 0 then
    p = fail_path
  end
  return wrk.format("POST", p, headers, prefix .. counter .. '"}')
end

function response(status, hdrs, body)
  if status == 202 then
    n202 = n202 + 1
  elseif status >= 200 and status < 300 then
    nother2xx = nother2xx + 1
  else
    nerror = nerror + 1
    if nerror <= 3 then
      io.stderr:write("bench: status " .. status .. " " .. (body or "") .. "\n")
    end
  end
end

function done(summary, latency, requests)
  local a, o, e = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("n202")
    o = o + t:get("nother2xx")
    e = e + t:get("nerror")
  end
  local seconds = summary.duration / 1e6
  local errs = summary.errors
  io.write(string.format("bench: accepted_202 %d\n", a))
  io.write(string.format("bench: other_2xx %d\n", o))
  io.write(string.format("bench: non_2xx %d\n", e))
  io.write(string.format("bench: socket_errors %d\n", errs.connect + errs.read + errs.write + errs.timeout))
  io.write(string.format("bench: seconds %.3f\n", seconds))
  io.write(string.format("bench: accepted_per_s %.1f\n", a / seconds))
end
