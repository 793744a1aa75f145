-- Merges pending column values of one row (last write wins) and indexes the row, in one step.
-- KEYS[1]  {prefix}:u:{member}   pending fields (JSON per field)
-- KEYS[2]  {prefix}:idx:updates  update index
-- ARGV[1]  member ({connection}:{table}:{where})
-- ARGV[2..] field, JSON value, field, JSON value, …
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('SADD', KEYS[2], ARGV[1])
return 1
