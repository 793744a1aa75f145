-- Caches a counter's DB base unless a claim or ack of its table happened since it was read.
-- KEYS[1]  {prefix}:gen:{table}
-- KEYS[2]  {prefix}:b:{member}
-- KEYS[3]  {prefix}:c:{member}
-- KEYS[4]  {prefix}:idx:inflight
-- ARGV[1]  generation seen when the DB was read
-- ARGV[2]  base (the DB value without in-flight deltas)
-- ARGV[3]  cache time in milliseconds
-- ARGV[4]  prefix
-- ARGV[5]  member
-- Returns {0} when the generation moved on, else {1, live, in-flight deltas joined with ","} as
-- strings (the engine adds them, exactly). Every read that can fail comes before the one write
-- (SET replaces a key of any type, including a bad base).
--@include checks
--@include inflight
if (readOf('string', 'GET', KEYS[1]) or '0') ~= ARGV[1] then
  return {0}
end
local _, inflight = inflightDeltas(ARGV[4], readOf('set', 'SMEMBERS', KEYS[4]), ARGV[5])
local live = liveDelta(KEYS[3]) or '0'
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return {1, live, table.concat(inflight, ',')}
