-- Merges pending column values of one row (last write wins), indexes the row and records when it
-- was written, in one step.
-- KEYS[1]  {prefix}:u:{member}   pending fields (JSON per field)
-- KEYS[2]  {prefix}:idx:updates  update index
-- KEYS[3]  {prefix}:age:{table}  {since, last} write times of the table
-- KEYS[4]  {prefix}:stats:{table} {writes, flushed} running totals of the table
-- KEYS[5]  {prefix}:ut:{table}   member → when its fields were last written (ms, the latest stamp seen); the claim moves
--                                it into the batch, so updates reaching one row can be ordered
-- ARGV[1]  member ({connection}:{table}:{where})
-- ARGV[2]  now (ms, the caller's clock)
-- ARGV[3..] field, JSON value, field, JSON value, … (any number: written in slices)
-- Every key is checked before the first write, so a wrong-typed key fails the step with nothing written.
--@include checks
--@include stamp
expectType(KEYS[1], 'hash')
expectType(KEYS[2], 'set')
expectStampable(KEYS[3], KEYS[4])
expectType(KEYS[5], 'hash')
hsetFlat(KEYS[1], ARGV, 3)
redis.call('SADD', KEYS[2], ARGV[1])
-- A write stamped earlier than one already recorded (another caller's clock runs ahead) keeps the later time.
local recorded = tonumber(redis.call('HGET', KEYS[5], ARGV[1]) or '')
if not recorded or recorded < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
end
stamp(KEYS[3], KEYS[4], ARGV[2], 1)
return 1
