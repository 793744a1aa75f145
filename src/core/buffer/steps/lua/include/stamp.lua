-- The stamps every buffered write leaves on its table: {since (first pending write), last (latest
-- write)} in {prefix}:age:{table} and the running count of writes in {prefix}:stats:{table}.
-- No KEYS or ARGV of its own; expectStampable (checks) checks both keys before a step's first write.
local function stamp(ageKey, statsKey, now, writes)
  redis.call('HSETNX', ageKey, 'since', now)
  redis.call('HSET', ageKey, 'last', now)
  redis.call('HINCRBY', statsKey, 'writes', writes)
end
