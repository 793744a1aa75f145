-- Moves pending data of one table into a new in-flight batch, in one step: counter deltas
-- (a later increment starts a fresh key), update hashes, and the first rows of the queue.
-- KEYS[1]  {prefix}:idx:counters
-- KEYS[2]  {prefix}:idx:updates
-- KEYS[3]  {prefix}:idx:queues
-- KEYS[4]  {prefix}:idx:inflight
-- KEYS[5]  {prefix}:if:{batchId}       the batch (JSON)
-- KEYS[6]  {prefix}:gen:{table}        generation of the table (guards base caching)
-- KEYS[7]  {prefix}:q:{table}          the table's queue
-- ARGV[1]  prefix
-- ARGV[2]  batch id
-- ARGV[3]  created at (ms)
-- ARGV[4]  table member ({connection}:{table})
-- ARGV[5]  most queued rows to take
-- ARGV[6]  number of counter members N, then N counter members,
--          then the number of update members M, then M update members
-- Returns the batch JSON, or false when there was nothing to claim.
local prefix, batchId = ARGV[1], ARGV[2]
local counters, updates, inserts = {}, {}, {}
local n = tonumber(ARGV[6])
for i = 7, 6 + n do
  local member = ARGV[i]
  local key = prefix .. ':c:' .. member
  local value = redis.call('GET', key)
  local delta = value and tonumber(value)
  -- A value that is not a number stays where it is, indexed, for doctor to report.
  if not value or delta then
    redis.call('SREM', KEYS[1], member)
    if value then
      redis.call('DEL', key)
      if delta ~= 0 then
        redis.call('HSET', prefix .. ':ifc:' .. member, batchId, value)
        counters[#counters + 1] = {member, delta}
      end
    end
  end
end
local m = tonumber(ARGV[7 + n])
for i = 8 + n, 7 + n + m do
  local member = ARGV[i]
  local key = prefix .. ':u:' .. member
  local flat = redis.call('HGETALL', key)
  redis.call('SREM', KEYS[2], member)
  if #flat > 0 then
    redis.call('DEL', key)
    updates[#updates + 1] = {member, flat}
  end
end
local maxInserts = tonumber(ARGV[5])
if maxInserts > 0 then
  inserts = redis.call('LRANGE', KEYS[7], 0, maxInserts - 1)
  if #inserts > 0 then
    redis.call('LTRIM', KEYS[7], #inserts, -1)
  end
  if redis.call('LLEN', KEYS[7]) == 0 then
    redis.call('SREM', KEYS[3], ARGV[4])
  end
end
if #counters + #updates + #inserts == 0 then
  return false
end
-- Rows and field values stay JSON text inside the batch; the engine decodes them.
local batch = cjson.encode({
  id = batchId, table = ARGV[4], createdAt = tonumber(ARGV[3]),
  counters = counters, updates = updates, inserts = inserts, encoded = true,
})
redis.call('SET', KEYS[5], batch)
redis.call('SADD', KEYS[4], batchId)
redis.call('INCR', KEYS[6])
return batch
