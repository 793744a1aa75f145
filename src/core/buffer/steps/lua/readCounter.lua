-- Reads what a counter's total is made of, in one step.
-- KEYS[1]  {prefix}:c:{member}
-- KEYS[2]  {prefix}:b:{member}
-- KEYS[3]  {prefix}:idx:inflight
-- KEYS[4]  {prefix}:gen:{table}
-- ARGV[1]  prefix
-- ARGV[2]  member
-- Returns {live or false, base or false, {batch id, delta, …}, generation or false}; the deltas
-- come from {prefix}:ifd:{batchId} of each batch in flight that holds the member. A cached base
-- that is not a finite number (or a key of another type) reads as absent. Writes nothing.
--@include checks
--@include inflight
local holders, deltas = inflightDeltas(ARGV[1], readOf('set', 'SMEMBERS', KEYS[3]), ARGV[2])
local inflight = {}
for i, id in ipairs(holders) do
  inflight[#inflight + 1] = id
  inflight[#inflight + 1] = deltas[i]
end
local base = redis.pcall('GET', KEYS[2])
if not finiteNumber(base) then
  base = false
end
return {liveDelta(KEYS[1]), base, inflight, readOf('string', 'GET', KEYS[4])}
