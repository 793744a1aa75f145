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
-- Returns {0} when the generation moved on, else {1, live, in-flight sum} as strings.
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then
  return {0}
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
local inflight = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  local v = redis.call('HGET', ARGV[4] .. ':ifd:' .. id, ARGV[5])
  if v then
    inflight = inflight + tonumber(v)
  end
end
return {1, redis.call('GET', KEYS[3]) or '0', tostring(inflight)}
