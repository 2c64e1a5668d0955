-- wrk script: POST pre-signed webhook pushes, one distinct body per request.
-- Reads REQUESTS_FILE (lines "event-sign<TAB>client-id<TAB>json body").
-- RATE_PER_S, when set, paces the requests at that rate across all connections (open loop:
-- each request is given the next free slot of one shared timetable, as webhooks from many
-- independent senders arrive, instead of every connection waiting a fixed delay after its own
-- response, which lines the connections up and sends them in bursts of `-c` requests). When
-- every connection is busy a slot is not banked: the achieved rate then falls short of the
-- target, and the caller reports it. DELAY_MS (a fixed delay before each request per
-- connection, wrk's closed-loop pacing) is kept for comparison.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } orderbot_timespec;
int clock_gettime(int clock_id, orderbot_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("orderbot_timespec")

local requests = {}
local index = 0
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")
local rate = tonumber(os.getenv("RATE_PER_S") or "0")
local interval_ms = rate > 0 and 1000 / rate or 0
local next_at = 0

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

function init(args)
  for line in io.lines(os.getenv("REQUESTS_FILE")) do
    local sign, client, body = line:match("([^\t]*)\t([^\t]*)\t(.*)")
    requests[#requests + 1] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/json", ["Event-Sign"] = sign,
      ["Client-Id"] = client, ["Event-Type"] = "trade_TradePaid"}, body)
  end
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function delay()
  if rate <= 0 then
    return delay_ms
  end
  local now = now_ms()
  if next_at < now then
    next_at = now
  end
  local wait = next_at - now
  next_at = next_at + interval_ms
  return math.floor(wait + 0.5)
end

function done(summary, latency, requests_)
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status, latency:percentile(50),
    latency:percentile(99)))
end
