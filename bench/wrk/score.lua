-- wrk script for the `bottleneck serve` load benchmark (issue 13).
-- POSTs one JSON body, read from a file, to the URL given on wrk's command line:
--   BODY=body.json wrk -t2 -c16 -d10s --latency -s bench/wrk/score.lua http://127.0.0.1:8080/v1/models/dense/score
--   wrk ... -s bench/wrk/score.lua URL -- body.json      (the path as a script argument instead)
-- done() prints one JSON line (latencies in ms; wrk measures them in microseconds).

local function read_body(path)
  local f = assert(io.open(path, "rb"), "score.lua: cannot open body file " .. tostring(path))
  local s = f:read("*a")
  f:close()
  return s
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("BODY") then
  wrk.body = read_body(os.getenv("BODY"))
end

-- Runs in each thread; a script argument overrides $BODY.
function init(args)
  if args[1] then
    wrk.body = read_body(args[1])
  end
  assert(wrk.body, "score.lua: set BODY=file or pass the file after --")
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  -- errors: non-2xx/3xx answers (wrk's "status" counts >= 400) plus socket errors
  local errors = e.status + e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    '{"requests":%d,"duration_s":%.3f,"requests_per_s":%.1f,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"mean_ms":%.3f,"max_ms":%.3f,' ..
    '"errors":%d,"non_2xx":%d,"socket_errors":%d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency.mean / 1e3, latency.max / 1e3,
    errors, e.status, e.connect + e.read + e.write + e.timeout))
end
