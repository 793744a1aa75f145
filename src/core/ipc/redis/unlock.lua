-- Releases a lease only for the holder whose token is stored in it (compare and delete).
-- KEYS[1]  the lock key
-- ARGV[1]  owner token
-- Returns {1} when released, {0} when nobody holds it, {-1, value, pttl} when another owner does.
local raw = redis.call('GET', KEYS[1])
if not raw then
  return {0}
end
local ok, record = pcall(cjson.decode, raw)
if ok and type(record) == 'table' and record.token == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {1}
end
return {-1, raw, redis.call('PTTL', KEYS[1])}
