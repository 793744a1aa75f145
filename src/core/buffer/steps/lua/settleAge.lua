-- After a flush drained a table: forget its pending-since time when nothing was written since the
-- flush started, else move it up to the flush start (whatever is left was written after it).
-- KEYS[1]  {prefix}:age:{table}
-- ARGV[1]  flush start (ms)
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
if last < tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
elseif tonumber(redis.call('HGET', KEYS[1], 'since') or '0') < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'since', ARGV[1])
end
return 1
