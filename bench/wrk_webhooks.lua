-- wrk script: POST pre-signed webhook pushes, one distinct body per request.
-- Reads REQUESTS_FILE (lines "event-sign<TAB>client-id<TAB>json body"); DELAY_MS, when set,
-- paces each connection (connections * 1000 / DELAY_MS = requests per second).
local requests = {}
local index = 0
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")

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
  return delay_ms
end

function done(summary, latency, requests_)
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status, latency:percentile(50),
    latency:percentile(99)))
end
