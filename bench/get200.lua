-- wrk script for bench/run-panel.sh: the GET of wrk's URL (with its -H headers), where every
-- answer must be 200. wrk itself counts only statuses above 399 as errors, so a redirect to the
-- login page (302, an expired or missing cookie) would pass unnoticed without this check.
-- done() prints "bench: <name> <value>" lines: answers, 200s, others, socket errors, req/s and
-- the latency percentiles (ms).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

n200 = 0
nother = 0

function response(status, hdrs, body)
  if status == 200 then
    n200 = n200 + 1
  else
    nother = nother + 1
    if nother <= 3 then
      io.stderr:write("bench: status " .. status .. "\n")
    end
  end
end

function done(summary, latency, requests)
  local ok, other = 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("n200")
    other = other + t:get("nother")
  end
  local seconds = summary.duration / 1e6
  local errs = summary.errors
  io.write(string.format("bench: answers %d\n", summary.requests))
  io.write(string.format("bench: ok_200 %d\n", ok))
  io.write(string.format("bench: non_200 %d\n", other))
  io.write(string.format("bench: socket_errors %d\n", errs.connect + errs.read + errs.write + errs.timeout))
  io.write(string.format("bench: seconds %.3f\n", seconds))
  io.write(string.format("bench: per_s %.1f\n", ok / seconds))
  io.write(string.format("bench: latency_p50_ms %.3f\n", latency:percentile(50) / 1000))
  io.write(string.format("bench: latency_p99_ms %.3f\n", latency:percentile(99) / 1000))
end
