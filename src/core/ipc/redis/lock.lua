-- Takes a lease if nobody holds it (an expired one is gone already) and bumps its fence.
-- KEYS[1]  the lock key
-- KEYS[2]  the fence counter of that lock (only ever grows)
-- ARGV[1]  owner token
-- ARGV[2]  holder host name
-- ARGV[3]  holder pid
-- ARGV[4]  lease time in milliseconds
-- Returns the stored lease record (JSON) when taken, false when held by someone else.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return false
end
local fence = redis.call('INCR', KEYS[2])
local now = redis.call('TIME')
local record = cjson.encode({
  token = ARGV[1],
  host = ARGV[2],
  pid = tonumber(ARGV[3]),
  acquiredAt = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000),
  fence = fence,
  ttlMs = tonumber(ARGV[4]),
})
redis.call('SET', KEYS[1], record, 'PX', ARGV[4])
return record
