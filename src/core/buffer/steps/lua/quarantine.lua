-- Moves an index member that cannot be flushed (its name does not parse) out of the way, in one
-- step: off its index, its key (if any) renamed under {prefix}:bad:, and recorded with the reason.
-- KEYS[1]  the index holding the member ({prefix}:idx:counters, :idx:updates or :idx:queues)
-- KEYS[2]  the member's key ({prefix}:{kind}:{member})
-- KEYS[3]  where it goes ({prefix}:bad:{kind}:{member})
-- KEYS[4]  {prefix}:idx:bad
-- ARGV[1]  member
-- ARGV[2]  {kind}:{member} (the field in {prefix}:idx:bad)
-- ARGV[3]  reason
-- ARGV[4]  now (ms)
-- Returns 1. Both indexes are checked before the first write.
--@include checks
expectType(KEYS[1], 'set')
expectType(KEYS[4], 'hash')
redis.call('SREM', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[3])
end
redis.call('HSET', KEYS[4], ARGV[2], cjson.encode({reason = ARGV[3], at = tonumber(ARGV[4])}))
return 1
