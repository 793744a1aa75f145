-- Merges pending column values of one row (last write wins) and indexes the row, in one step.
-- KEYS[1]  {prefix}:u:{member}   pending fields (JSON per field)
-- KEYS[2]  {prefix}:idx:updates  update index
-- KEYS[3]  {prefix}:age:{table}  {since, last} write times of the table
-- KEYS[4]  {prefix}:stats:{table} {writes, flushed} running totals of the table
-- ARGV[1]  member ({connection}:{table}:{where})
-- ARGV[2]  now (ms)
-- ARGV[3..] field, JSON value, field, JSON value, …
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('HSETNX', KEYS[3], 'since', ARGV[2])
redis.call('HSET', KEYS[3], 'last', ARGV[2])
redis.call('HINCRBY', KEYS[4], 'writes', 1)
return 1
