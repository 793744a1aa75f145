-- Adds counter deltas, one after the other, each indexed and followed by the reads its total
-- needs; then stamps each table once. Concurrent callers' increments travel together in one call;
-- each is its own step, and one that fails (a key of the wrong type) does not stop the others.
-- Key names are built here from the prefix and the members (fewer bytes per increment on the wire):
-- {prefix}:c:{member} live delta, {prefix}:b:{member} cached base, {prefix}:idx:inflight batches
-- in flight, {prefix}:ifd:{batchId} their deltas by member, {prefix}:age:{table} {since, last},
-- {prefix}:stats:{table} {writes, flushed}.
-- KEYS[1]                 {prefix}:idx:counters   counter index
-- ARGV[1]                 now (ms)
-- ARGV[2]                 prefix
-- ARGV[3]                 n, the number of increments
-- ARGV[3*i+4 .. 3*i+6]    for the i-th increment (i from 0): delta, member
--                         ({connection}:{table}:{where}:{column}), its table's number t (from 1)
-- ARGV[3*n+3+t]           the t-th table ({connection}:{table})
-- Returns, per increment, 4 items: 1 and {live, base or false, in-flight sum} as strings, or
-- 0, the error message, false, false.
local now, prefix, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
local writes = {}
local inflightIds = redis.call('SMEMBERS', prefix .. ':idx:inflight')
for i = 0, n - 1 do
  local a = 3 * i + 3
  local member = ARGV[a + 2]
  local ok, result = pcall(function()
    local live = redis.call('INCRBYFLOAT', prefix .. ':c:' .. member, ARGV[a + 1])
    redis.call('SADD', KEYS[1], member)
    local inflight = 0
    for _, id in ipairs(inflightIds) do
      local v = redis.call('HGET', prefix .. ':ifd:' .. id, member)
      if v then
        inflight = inflight + tonumber(v)
      end
    end
    return {live, redis.call('GET', prefix .. ':b:' .. member), tostring(inflight)}
  end)
  if ok then
    local t = tonumber(ARGV[a + 3])
    writes[t] = (writes[t] or 0) + 1
    out[#out + 1] = 1
    out[#out + 1] = result[1]
    out[#out + 1] = result[2]
    out[#out + 1] = result[3]
  else
    out[#out + 1] = 0
    out[#out + 1] = type(result) == 'table' and (result.err or tostring(result)) or tostring(result)
    out[#out + 1] = false
    out[#out + 1] = false
  end
end
for t, count in pairs(writes) do
  local table = ARGV[3 * n + 3 + t]
  redis.call('HSETNX', prefix .. ':age:' .. table, 'since', now)
  redis.call('HSET', prefix .. ':age:' .. table, 'last', now)
  redis.call('HINCRBY', prefix .. ':stats:' .. table, 'writes', count)
end
return out
