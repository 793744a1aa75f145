-- Extends a lease, but only for the holder whose token is stored in it.
-- KEYS[1]  the lock key
-- ARGV[1]  owner token
-- ARGV[2]  new lease time in milliseconds
-- Returns 1 when extended, 0 when the lease is gone or held by another owner.
local raw = redis.call('GET', KEYS[1])
if not raw then
  return 0
end
local ok, record = pcall(cjson.decode, raw)
if not ok or type(record) ~= 'table' or record.token ~= ARGV[1] then
  return 0
end
record.ttlMs = tonumber(ARGV[2])
redis.call('SET', KEYS[1], cjson.encode(record), 'PX', ARGV[2])
return 1
