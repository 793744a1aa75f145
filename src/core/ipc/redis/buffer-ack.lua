-- Forgets an applied batch and moves its counter deltas into the cached bases, in one step.
-- KEYS[1]  {prefix}:if:{batchId}
-- KEYS[2]  {prefix}:idx:inflight
-- ARGV[1]  prefix
-- ARGV[2]  batch id
-- ARGV[3..] counter members whose deltas were dead-lettered (they stay out of the bases)
-- Returns 1 when acknowledged, 0 when the batch was already gone.
local raw = redis.call('GET', KEYS[1])
if not raw then
  redis.call('SREM', KEYS[2], ARGV[2])
  return 0
end
local batch = cjson.decode(raw)
local prefix = ARGV[1]
local dead = {}
for i = 3, #ARGV do
  dead[ARGV[i]] = true
end
local flushed = #batch.counters + #batch.updates + #batch.inserts - (#ARGV - 2)
redis.call('HINCRBY', prefix .. ':stats:' .. batch.table, 'flushed', flushed)
redis.call('DEL', prefix .. ':ifd:' .. ARGV[2])
for _, entry in ipairs(batch.counters) do
  local member, delta = entry[1], entry[2]
  if not dead[member] and redis.call('EXISTS', prefix .. ':b:' .. member) == 1 then
    redis.call('INCRBYFLOAT', prefix .. ':b:' .. member, tostring(delta))
  end
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
redis.call('INCR', prefix .. ':gen:' .. batch.table)
return 1
