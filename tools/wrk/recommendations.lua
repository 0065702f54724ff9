-- wrk script: GET /v1/users/{user}/recommendations spread uniformly over
-- many users, so the benchmark measures top-N scoring and not one cached
-- user. See README.md, "Benchmarks".
--
--   wrk -t2 -c32 -d30s -s tools/wrk/recommendations.lua http://127.0.0.1:8080
--
-- Environment (all optional):
--   STREAMREC_USERS        how many users (default 943, MovieLens 100K)
--   STREAMREC_FIRST_USER   the first user number (default 1)
--   STREAMREC_USER_PREFIX  text before the number (default "", ml-100k's
--                          ids are 1..943; the synthetic stream's are
--                          user0..user4999: PREFIX=user FIRST_USER=0 USERS=5000)
--   STREAMREC_N            list length n (default 10)
--   STREAMREC_KEY          API key with the read scope, if the server has keys

local users = tonumber(os.getenv("STREAMREC_USERS") or "943")
local first = tonumber(os.getenv("STREAMREC_FIRST_USER") or "1")
local prefix = os.getenv("STREAMREC_USER_PREFIX") or ""
local n = os.getenv("STREAMREC_N") or "10"
local key = os.getenv("STREAMREC_KEY")

local thread_count = 0
function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
end

local headers = {}
function init(args)
  -- A different sequence per thread, the same one run to run.
  math.randomseed(1000 + (id or 0))
  if key and key ~= "" then headers["Authorization"] = "Bearer " .. key end
end

function request()
  local user = prefix .. tostring(first + math.random(0, users - 1))
  return wrk.format("GET", "/v1/users/" .. user .. "/recommendations?n=" .. n, headers)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format(
      "streamrec: %d requests, %.0f req/s, latency p50 %.3f ms p90 %.3f ms p99 %.3f ms, " ..
      "non-2xx %d, socket errors %d\n",
      summary.requests, summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, non2xx,
      summary.errors.connect + summary.errors.read + summary.errors.write +
          summary.errors.timeout))
end
