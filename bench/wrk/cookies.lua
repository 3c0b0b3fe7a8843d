-- wrk script for sessionkit's benchmarks: every request is GET / with a
-- session cookie read from the file given after "--" (one "name=value"
-- Cookie header a line). With one line every request sends that cookie;
-- with many, each thread cycles through all of them from its own offset
-- (pass wrk's thread count after the file for that).
-- done() prints one machine-readable line:
--   RESULT <requests/s> <p99 latency in µs> <requests> <errors> <non-2xx>

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local reqs = {}
local n = 0
local i = 0

function init(args)
  local path = args[1]
  if path == nil then
    error("usage: wrk ... -s cookies.lua URL -- COOKIE_FILE")
  end
  for line in io.lines(path) do
    if line ~= "" then
      n = n + 1
      reqs[n] = wrk.format("GET", "/", { ["Cookie"] = line })
    end
  end
  if n == 0 then
    error("no cookie in " .. path)
  end
  -- Spread the threads over the cookies: args[2] is wrk's thread count.
  local total = tonumber(args[2] or "1") or 1
  if total < 1 then total = 1 end
  i = math.floor(id * n / total) % n
end

function request()
  i = i % n + 1
  return reqs[i]
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format("RESULT %.1f %d %d %d %d\n",
    summary.requests / seconds, latency:percentile(99), summary.requests, errors, e.status))
end
