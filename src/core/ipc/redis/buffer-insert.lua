-- Queues rows for a batched INSERT and indexes the queue, in one step.
-- KEYS[1]  {prefix}:q:{connection}:{table}  queue (JSON rows)
-- KEYS[2]  {prefix}:idx:queues              queue index
-- ARGV[1]  member ({connection}:{table})
-- ARGV[2..] rows as JSON
-- Returns the queue length.
local length = redis.call('RPUSH', KEYS[1], unpack(ARGV, 2))
redis.call('SADD', KEYS[2], ARGV[1])
return length
