-- Puts one dead letter back into the buffer, in one step: only the caller that removes it from
-- the dead letters re-buffers it, so a retry run twice (or by two operators) counts it once.
-- KEYS[1]  {prefix}:dl:{connection}:{table}  dead letters of the table
-- ARGV[1]  prefix
-- ARGV[2]  dead letter id
-- ARGV[3]  kind: counter | update | insert
-- ARGV[4]  now (ms, the caller's clock): a re-buffered update is recorded as written then
-- ARGV[5]  table member ({connection}:{table})
-- ARGV[6..] counter: member, delta, member, delta, …
--           update:  member, field, JSON value, field, JSON value, … (any number of fields)
--           insert:  row as JSON
-- Writes {prefix}:c:{member} + :idx:counters; or {prefix}:u:{member} + :idx:updates +
-- :ut:{connection}:{table}; or {prefix}:q:{connection}:{table} + :idx:queues. Every key is
-- checked before the first write (removing the dead letter): a step that fails leaves the dead
-- letter where it was and re-buffers nothing.
-- Returns 1 when re-buffered, 0 when the dead letter was already gone.
--@include checks
local prefix, kind, now, tableMember = ARGV[1], ARGV[3], ARGV[4], ARGV[5]
expectType(KEYS[1], 'hash')
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 then
  return 0
end
local utKey = prefix .. ':ut:' .. tableMember
if kind == 'counter' then
  expectType(prefix .. ':idx:counters', 'set')
  for i = 6, #ARGV, 2 do
    local key = prefix .. ':c:' .. ARGV[i]
    if expectType(key, 'string') == 'string' and not finiteNumber(redis.call('GET', key)) then
      wrongType(key, 'a string that is not a number', 'a number')
    end
    if not finiteNumber(ARGV[i + 1]) then
      return redis.error_reply('CORRUPT wbc: delta ' .. ARGV[i + 1] .. ' of ' .. ARGV[i] .. ' is not a number | ' .. KEYS[1] .. ' (field ' .. ARGV[2] .. ')')
    end
  end
elseif kind == 'update' then
  expectType(prefix .. ':idx:updates', 'set')
  expectType(prefix .. ':u:' .. ARGV[6], 'hash')
  expectType(utKey, 'hash')
else
  expectType(prefix .. ':idx:queues', 'set')
  expectType(prefix .. ':q:' .. tableMember, 'list')
end

redis.call('HDEL', KEYS[1], ARGV[2])
if kind == 'counter' then
  for i = 6, #ARGV, 2 do
    redis.call('INCRBYFLOAT', prefix .. ':c:' .. ARGV[i], ARGV[i + 1])
    redis.call('SADD', prefix .. ':idx:counters', ARGV[i])
  end
elseif kind == 'update' then
  -- A field that is pending already was written after the dead letter: it is kept (HSETNX).
  for i = 7, #ARGV, 2 do
    redis.call('HSETNX', prefix .. ':u:' .. ARGV[6], ARGV[i], ARGV[i + 1])
  end
  redis.call('SADD', prefix .. ':idx:updates', ARGV[6])
  local recorded = tonumber(redis.call('HGET', utKey, ARGV[6]) or '')
  if not recorded or recorded < tonumber(now) then
    redis.call('HSET', utKey, ARGV[6], now)
  end
else
  redis.call('RPUSH', prefix .. ':q:' .. tableMember, ARGV[6])
  redis.call('SADD', prefix .. ':idx:queues', tableMember)
end
return 1
