-- wrk script for bench/run.sh: POST /svc/<service>/<action>/ with a unique JSON body per
-- request, so that every request is a new submission (202). Identical bodies would be
-- de-duplicated by request id into 200s and not measure the accept path.
--
-- Environment: BENCH_KEY (API key, required), BENCH_PATH (default /svc/bench/echo/),
-- BENCH_TAG (makes bodies unique across wrk runs on the same store).
-- BENCH_FAIL_EVERY=N (default 0: never) with BENCH_FAIL_PATH (default /svc/bench/fail/): every
-- N-th request of a thread goes to that path instead (run-panel.sh: an offer whose handler
-- fails permanently, so failed requests are spread evenly over the store's history).
-- BENCH_REQUESTS=N with BENCH_THREADS=T (wrk's -t) and BENCH_DONE_DIR (an empty folder): send
-- exactly N requests in all (each thread its share) and stop each thread once all its answers
-- are in; the last thread to finish ends wrk, instead of running for -d (give a -d longer than
-- the run needs). Used by run-distributed.sh.
-- done() prints machine-readable lines "bench: <name> <value>" that run.sh reads.

local key = os.getenv("BENCH_KEY") or error("BENCH_KEY is not set")
local path = os.getenv("BENCH_PATH") or "/svc/bench/echo/"
local tag = os.getenv("BENCH_TAG") or "t"
local fail_path = os.getenv("BENCH_FAIL_PATH") or "/svc/bench/fail/"
local fail_every = tonumber(os.getenv("BENCH_FAIL_EVERY") or "0") or 0

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

-- Fixed-count mode: each thread's share of BENCH_REQUESTS.
local total = tonumber(os.getenv("BENCH_REQUESTS") or "")
local share, nthreads, done_dir
local reserved = 0
answered = 0

function init(args)
  prefix = '{"text":"' .. tag .. "-" .. tostring(id) .. "-"
  if total then
    nthreads = tonumber(os.getenv("BENCH_THREADS") or "") or error("BENCH_REQUESTS needs BENCH_THREADS")
    done_dir = os.getenv("BENCH_DONE_DIR") or error("BENCH_REQUESTS needs BENCH_DONE_DIR")
    share = math.floor(total / nthreads) + ((id < total % nthreads) and 1 or 0)
  end
end

if total then
  -- wrk calls delay() before every request() of a connection (the first one included). A request
  -- is reserved here, so the thread never sends more than its share; connections left without
  -- one wait far longer than the run lasts (the thread is stopped before they would send).
  function delay()
    if reserved < share then
      reserved = reserved + 1
      return 0
    end
    return 3600000
  end
end

-- A stopped thread ends its own loop, but wrk's main thread sleeps for the whole -d unless it
-- gets SIGINT (then it joins the threads and reports as usual). Each thread leaves a file in
-- BENCH_DONE_DIR; the one that sees all of them starts a background shell that sends wrk SIGINT
-- every 10 ms until wrk is gone: the kernel may hand a signal to any thread of wrk that has not
-- exited yet, and only the main thread's sleep must be interrupted. (popen, not os.execute:
-- system() would ignore SIGINT in wrk while its shell runs.)
local function thread_done()
  wrk.thread:stop()
  local f = assert(io.open(done_dir .. "/thread-" .. id, "w"))
  f:close()
  for i = 0, nthreads - 1 do
    local g = io.open(done_dir .. "/thread-" .. i, "r")
    if not g then return end
    g:close()
  end
  local p = io.popen("(while kill -INT $PPID 2>/dev/null; do sleep 0.01; done) >/dev/null 2>&1 &")
  p:close()
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
  answered = answered + 1
  if share and answered == share then
    thread_done()
  end
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
  local a, o, e, n = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    n = n + t:get("answered")
    a = a + t:get("n202")
    o = o + t:get("nother2xx")
    e = e + t:get("nerror")
  end
  local seconds = summary.duration / 1e6
  local errs = summary.errors
  io.write(string.format("bench: responses %d\n", summary.requests))
  io.write(string.format("bench: answered %d\n", n))
  io.write(string.format("bench: accepted_202 %d\n", a))
  io.write(string.format("bench: other_2xx %d\n", o))
  io.write(string.format("bench: non_2xx %d\n", e))
  io.write(string.format("bench: socket_errors %d\n", errs.connect + errs.read + errs.write + errs.timeout))
  io.write(string.format("bench: seconds %.3f\n", seconds))
  io.write(string.format("bench: accepted_per_s %.1f\n", a / seconds))
  io.write(string.format("bench: latency_p50_ms %.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("bench: latency_p99_ms %.2f\n", latency:percentile(99) / 1000))
end
