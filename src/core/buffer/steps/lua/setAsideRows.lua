-- Sets aside the queued rows of an in-flight batch that the engine found cannot be inserted, in one
-- step: they move, in order, to the end of the table's list of bad rows, with the reason in the
-- bad-key index, and the batch keeps the rest. The claim takes queued rows unchecked; the engine
-- checks each row it claims as it will read it (JSON.parse) and names the bad ones by position, so
-- that what is set aside is exactly what the engine could not insert (a check of Lua's own would
-- disagree with JSON.parse on some texts).
-- KEYS[1]  {prefix}:if:{batchId}          the batch (JSON, as the claim stored it)
-- KEYS[2]  {prefix}:bad:q:{table}          the table's bad rows (list)
-- KEYS[3]  {prefix}:idx:bad                the bad-key index (hash)
-- ARGV[1]  table member ({connection}:{table}): the batch's own
-- ARGV[2]  now (ms)
-- ARGV[3]  how many queued rows the batch held when the engine read it. Only this step removes
--          rows from a batch, so a batch holding another number is not the one the positions
--          were read from (answers {"changed":true}, writes nothing).
-- ARGV[4]  the reason recorded for the table's bad rows
-- ARGV[5..] positions (from 0, ascending) of the rows to set aside
-- Returns false when the batch is gone; {"foreign":true} when it is not a batch the claim wrote
-- (not JSON, another table, rows not kept as JSON text, numbers that cjson would not write back
-- as they are): nothing is written, the engine sets such a batch aside whole; else
-- {"setAside":n,"left":entries left in the batch}.
--@include checks
local raw = redis.call('GET', KEYS[1])
if not raw then
  return false
end
local ok, batch = pcall(cjson.decode, raw)
if not ok or type(batch) ~= 'table' or batch.encoded ~= true or batch.table ~= ARGV[1] or type(batch.inserts) ~= 'table'
  or type(batch.counters) ~= 'table' or type(batch.updates) ~= 'table' then
  return cjson.encode({foreign = true})
end
-- Only what cjson writes back unchanged: text everywhere a number could lose digits.
local function keepsAsWritten()
  local at = batch.createdAt
  if type(at) ~= 'number' or at ~= math.floor(at) or math.abs(at) >= 1e14 then
    return false
  end
  for _, row in ipairs(batch.inserts) do
    if type(row) ~= 'string' then
      return false
    end
  end
  for _, pair in ipairs(batch.counters) do
    if type(pair) ~= 'table' or type(pair[2]) ~= 'string' then
      return false
    end
  end
  for _, entry in ipairs(batch.updates) do
    if type(entry) ~= 'table' or type(entry[2]) ~= 'table' or (entry[3] ~= nil and type(entry[3]) ~= 'string') then
      return false
    end
    for _, item in pairs(entry[2]) do
      if type(item) ~= 'string' then
        return false
      end
    end
  end
  return true
end
if not keepsAsWritten() then
  return cjson.encode({foreign = true})
end
local count = #batch.inserts
-- Positions that are not integers ascending within the rows cannot name rows of this batch.
local named, last = {}, -1
for i = 5, #ARGV do
  local position = tonumber(ARGV[i])
  if not position or position ~= math.floor(position) or position <= last or position >= count then
    return cjson.encode({changed = true})
  end
  named[position + 1] = true
  last = position
end
if count ~= tonumber(ARGV[3]) then
  return cjson.encode({changed = true})
end
local left = #batch.counters + #batch.updates + count - (#ARGV - 4)
if #ARGV == 4 then
  return cjson.encode({setAside = 0, left = left})
end
expectType(KEYS[2], 'list')
expectType(KEYS[3], 'hash')
local kept, bad = {}, {}
for r, row in ipairs(batch.inserts) do
  if named[r] then
    bad[#bad + 1] = row
  else
    kept[#kept + 1] = row
  end
end
-- In slices: Lua's unpack stops at a few thousand values.
for i = 1, #bad, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(bad, i, math.min(i + 999, #bad)))
end
redis.call('HSET', KEYS[3], 'q:' .. ARGV[1], cjson.encode({reason = ARGV[4], at = tonumber(ARGV[2])}))
batch.inserts = kept
redis.call('SET', KEYS[1], cjson.encode(batch))
return cjson.encode({setAside = #bad, left = left})
