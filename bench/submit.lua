-- wrk script for bench/run.sh: POST /svc/<service>/<action>/ with a unique JSON body per
-- request, so that every request is a new submission (202). Identical bodies would be
-- de-duplicated by request id into 200s and not measure the accept path.
--
-- Environment: BENCH_KEY (API key, required), BENCH_PATH (default /svc/bench/echo/),
-- BENCH_TAG (makes bodies unique across wrk runs on the same store).
-- done() prints machine-readable lines "bench: <name> <value>" that run.sh reads.

local key = os.getenv("BENCH_KEY") or error("BENCH_KEY is not set")
local path = os.getenv("BENCH_PATH") or "/svc/bench/echo/"
local tag = os.getenv("BENCH_TAG") or "t"

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Per-thread state. The counters are globals of the thread's Lua state: done() reads them
-- through thread:get(), which sees globals only.
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
  return wrk.format("POST", path, headers, prefix .. counter .. '"}')
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
  io.write(string.format("bench: responses %d\n", summary.requests))
  io.write(string.format("bench: accepted_202 %d\n", a))
  io.write(string.format("bench: other_2xx %d\n", o))
  io.write(string.format("bench: non_2xx %d\n", e))
  io.write(string.format("bench: socket_errors %d\n", errs.connect + errs.read + errs.write + errs.timeout))
  io.write(string.format("bench: seconds %.3f\n", seconds))
  io.write(string.format("bench: accepted_per_s %.1f\n", a / seconds))
  io.write(string.format("bench: latency_p50_ms %.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("bench: latency_p99_ms %.2f\n", latency:percentile(99) / 1000))
end
