-- Adds a counter delta and indexes the key, then reads what the total needs, in one step.
-- KEYS[1]  {prefix}:c:{member}    live delta
-- KEYS[2]  {prefix}:idx:counters  counter index
-- KEYS[3]  {prefix}:b:{member}    cached base
-- KEYS[4]  {prefix}:ifc:{member}  in-flight deltas by batch id
-- KEYS[5]  {prefix}:age:{table}   {since, last} write times of the table
-- KEYS[6]  {prefix}:stats:{table} {writes, flushed} running totals of the table
-- ARGV[1]  delta
-- ARGV[2]  member ({connection}:{table}:{where}:{column})
-- ARGV[3]  now (ms)
-- Returns {live, base or false, in-flight sum}, numbers as strings.
local live = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('HSETNX', KEYS[5], 'since', ARGV[3])
redis.call('HSET', KEYS[5], 'last', ARGV[3])
redis.call('HINCRBY', KEYS[6], 'writes', 1)
local inflight = 0
for _, v in ipairs(redis.call('HVALS', KEYS[4])) do
  inflight = inflight + tonumber(v)
end
return {live, redis.call('GET', KEYS[3]), tostring(inflight)}
