-- Puts one dead letter back into the buffer, in one step: only the caller that removes it from
-- the dead letters re-buffers it, so a retry run twice (or by two operators) counts it once.
-- KEYS[1]  {prefix}:dl:{connection}:{table}  dead letters of the table
-- ARGV[1]  prefix
-- ARGV[2]  dead letter id
-- ARGV[3]  kind: counter | update | insert
-- ARGV[4..] counter: member, delta, member, delta, …
--           update:  member, field, JSON value, field, JSON value, …
--           insert:  table member ({connection}:{table}), row as JSON
-- Returns 1 when re-buffered, 0 when the dead letter was already gone.
-- An update's field that is pending already was written after the dead letter: it is kept (HSETNX).
if redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then
  return 0
end
local prefix, kind = ARGV[1], ARGV[3]
if kind == 'counter' then
  for i = 4, #ARGV, 2 do
    redis.call('INCRBYFLOAT', prefix .. ':c:' .. ARGV[i], ARGV[i + 1])
    redis.call('SADD', prefix .. ':idx:counters', ARGV[i])
  end
elseif kind == 'update' then
  for i = 5, #ARGV, 2 do
    redis.call('HSETNX', prefix .. ':u:' .. ARGV[4], ARGV[i], ARGV[i + 1])
  end
  redis.call('SADD', prefix .. ':idx:updates', ARGV[4])
else
  redis.call('RPUSH', prefix .. ':q:' .. ARGV[4], ARGV[5])
  redis.call('SADD', prefix .. ':idx:queues', ARGV[4])
end
return 1
