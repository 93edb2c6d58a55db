-- wrk script for `make bench`: every request POSTs a distinct JSON inquiry to the URL given on
-- wrk's command line (a `json` source). Usage:
--   wrk -t2 -c64 -d10s --latency -s post_inquiry.lua http://127.0.0.1:PORT/in/bench -- TOKEN RUN
-- RUN (0-5) keeps runs against the same server from reusing each other's emails and phones.
-- The body carries no event_id and no Idempotency-Key is sent, so the server does no dedupe
-- look-up: each request is a new inquiry (a new contact, since email and phone are distinct).
-- HANDOFF_BENCH_BODY_PAD=N in the environment adds a "notes" field of about N bytes that the
-- bench source does not map, so only the body as received grows (booking and form providers
-- send a few KB; these bodies are about 200 bytes without it).
-- done() prints one "BENCH key=value ..." line that bench/wrk_runner.cc parses.

local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

local counter = 0
local pad_bytes = tonumber(os.getenv("HANDOFF_BENCH_BODY_PAD") or "0") or 0
local notes = ""
if pad_bytes > 0 then
  local word = "Notes from the form about the job. "
  notes = ',"notes":"' .. string.rep(word, math.ceil(pad_bytes / #word)) .. '"'
end
local headers = {}
local run = 0
local area_codes = {415, 510, 650, 707, 408, 925}

function init(args)
  headers["Content-Type"] = "application/json"
  headers["X-Handoff-Token"] = args[1] or ""
  run = tonumber(args[2] or "0") % #area_codes
end

function request()
  counter = counter + 1
  -- Distinct per run, thread and request: e.g. run 0, thread 1, request 42 →
  -- b0-1-42@example.com and +1 415 300-0042 (a valid US number, so libphonenumber does its
  -- full work; the name and email need trimming and lowercasing).
  local body = string.format(
    '{"name":"  Bench Caller %d-%d ","email":"B%d-%d-%d@Example.com",' ..
    '"phone":"(%d) %d%02d-%04d",' ..
    '"message":"Water heater leaking in the garage, please call back today.",' ..
    '"service":"water heater"%s}',
    tid, counter, run, tid, counter, area_codes[run + 1], 2 + tid,
    math.floor(counter / 10000) % 100, counter % 10000, notes)
  return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d connect_errors=%d read_errors=%d write_errors=%d " ..
    "status_errors=%d timeouts=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
