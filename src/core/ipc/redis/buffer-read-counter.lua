-- Reads what a counter's total is made of, in one step.
-- KEYS[1]  {prefix}:c:{member}
-- KEYS[2]  {prefix}:b:{member}
-- KEYS[3]  {prefix}:idx:inflight
-- KEYS[4]  {prefix}:gen:{table}
-- ARGV[1]  prefix
-- ARGV[2]  member
-- Returns {live or false, base or false, {batch id, delta, …}, generation or false}; the deltas
-- come from {prefix}:ifd:{batchId} of each batch in flight that holds the member.
local inflight = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local v = redis.call('HGET', ARGV[1] .. ':ifd:' .. id, ARGV[2])
  if v then
    inflight[#inflight + 1] = id
    inflight[#inflight + 1] = v
  end
end
return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), inflight, redis.call('GET', KEYS[4])}
