-- wrk script of bench/peers: the SDK's token request (Metadata: true). WRK_MISS=1 asks for a resource
-- no request asked before (WRK_SEED keeps runs apart), so every request misses any cache. done()
-- prints one line `WRK_JSON {...}` with counts and latency percentiles in microseconds.
wrk.headers["Metadata"] = "true"
local miss = os.getenv("WRK_MISS") == "1"
local seed = os.getenv("WRK_SEED") or "0"
local base = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource="
local fixed = base .. "https%3A%2F%2Fmanagement.azure.com%2F"
local counter = 0

request = function()
  if miss then
    counter = counter + 1
    return wrk.format("GET", base .. "https%3A%2F%2Fr" .. seed .. "-" .. counter .. ".bench.example%2F")
  end
  return wrk.format("GET", fixed)
end

done = function(summary, latency, requests)
  local points = {}
  for _, p in ipairs({ 1, 5, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 97, 98, 99, 99.5, 99.9 }) do
    points[#points + 1] = string.format('"%s":%d', tostring(p), latency:percentile(p))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"errors":%d,"non2xx":%d,"minUs":%d,"maxUs":%d,"meanUs":%.1f,"percentilesUs":{%s}}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency.min, latency.max, latency.mean, table.concat(points, ",")))
end
