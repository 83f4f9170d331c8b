-- wrk script for bench/run-deals.sh: POST /svc/deal/<name>/ with a unique body
-- {"inputs":{"text":"<tag>-<thread>-<n>"}} per request, so that every deal is a new submission
-- (202). Everything else (counting 202s, other 2xx and errors, the "bench: …" lines of done())
-- is bench/submit.lua's, loaded from the same folder.
--
-- Environment: BENCH_KEY (API key, required), BENCH_PATH (required: /svc/deal/<name>/),
-- BENCH_TAG (makes bodies unique across wrk runs on the same store).

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "submit.lua")

local deal_path = os.getenv("BENCH_PATH") or error("BENCH_PATH is not set (/svc/deal/<name>/)")
local deal_tag = os.getenv("BENCH_TAG") or "t"
local deal_headers = {
  ["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY"),
  ["Content-Type"] = "application/json",
}
local deal_prefix
local deal_counter = 0

local offer_init = init
function init(args)
  offer_init(args)
  deal_prefix = '{"inputs":{"text":"' .. deal_tag .. "-" .. tostring(id) .. "-"
end

function request()
  deal_counter = deal_counter + 1
  return wrk.format("POST", deal_path, deal_headers, deal_prefix .. deal_counter .. '"}}')
end
