-- Queues rows for a batched INSERT and indexes the queue, in one step.
-- KEYS[1]  {prefix}:q:{connection}:{table}  queue (JSON rows)
-- KEYS[2]  {prefix}:idx:queues              queue index
-- KEYS[3]  {prefix}:age:{connection}:{table} {since, last} write times of the table
-- KEYS[4]  {prefix}:stats:{connection}:{table} {writes, flushed} running totals of the table
-- ARGV[1]  member ({connection}:{table})
-- ARGV[2]  now (ms)
-- ARGV[3..] rows as JSON (any number: pushed in slices)
-- Returns the queue length. Every key is checked before the first write.
--@include checks
--@include stamp
expectType(KEYS[1], 'list')
expectType(KEYS[2], 'set')
expectStampable(KEYS[3], KEYS[4])
local length = redis.call('LLEN', KEYS[1])
for i = 3, #ARGV, 1000 do
  length = redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('SADD', KEYS[2], ARGV[1])
stamp(KEYS[3], KEYS[4], ARGV[2], #ARGV - 2)
return length
