-- Sets aside the queued rows of an in-flight batch that cannot be inserted, in one step: they move,
-- in order, to the end of the table's list of bad rows, with the reason in the bad-key index, and
-- the batch keeps the rest. The claim takes queued rows unchecked; the engine checks every row it
-- claims and calls this only for a batch where it found a bad one.
-- KEYS[1]  {prefix}:if:{batchId}          the batch (JSON, as the claim stored it)
-- KEYS[2]  {prefix}:bad:q:{table}          the table's bad rows (list)
-- KEYS[3]  {prefix}:idx:bad                the bad-key index (hash)
-- ARGV[1]  table member ({connection}:{table}): the batch's own
-- ARGV[2]  now (ms)
-- A row is bad when it is not a JSON object read as strictly as the engine's JSON.parse reads it,
-- has no columns, or has a column whose name is not an identifier (src/core/buffer/names.ts
-- rowProblem; the reasons are badRowsReason's).
-- Returns false when the batch is gone; {"foreign":true} when it is not a batch the claim wrote
-- (not JSON, another table, rows not kept as JSON text): nothing is written, the engine sets such
-- a batch aside whole; else {"setAside":n,"reason":…,"left":entries left in the batch}.
-- Rewriting the batch changes nothing else in it: counter deltas, update fields and times are
-- text in a batch the claim wrote, and its createdAt an integer of 13 digits (cjson keeps 14).
--@include checks
--@include identifier
--@include strict
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
expectType(KEYS[2], 'list')
expectType(KEYS[3], 'hash')

-- 'object' when the row is not a JSON object, 'names' when it has no columns or a key that is not
-- an identifier, nil when it can be inserted.
local function rowProblem(row)
  if not string.match(row, '^%s*{') then
    return 'object'
  end
  local decoded
  ok, decoded = pcall(strictCjson.decode, row)
  if not ok or type(decoded) ~= 'table' or not isStrict(row) then
    return 'object'
  end
  if next(decoded) == nil then
    return 'names'
  end
  for name in pairs(decoded) do
    if type(name) ~= 'string' or not isIdentifier(name) then
      return 'names'
    end
  end
  return nil
end

local kept, bad, notObjects = {}, {}, 0
for _, row in ipairs(batch.inserts) do
  local problem = rowProblem(row)
  if not problem then
    kept[#kept + 1] = row
  else
    bad[#bad + 1] = row
    if problem == 'object' then
      notObjects = notObjects + 1
    end
  end
end
local left = #batch.counters + #batch.updates + #kept
if #bad == 0 then
  return cjson.encode({setAside = 0, left = left})
end
local parts = {}
if notObjects > 0 then
  parts[#parts + 1] = notObjects .. ' queued row(s) not a JSON object'
end
if #bad > notObjects then
  parts[#parts + 1] = (#bad - notObjects) .. ' queued row(s) without columns or with a name that is not a column name'
end
local reason = table.concat(parts, '; ')
-- In slices: Lua's unpack stops at a few thousand values.
for i = 1, #bad, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(bad, i, math.min(i + 999, #bad)))
end
redis.call('HSET', KEYS[3], 'q:' .. ARGV[1], cjson.encode({reason = reason, at = tonumber(ARGV[2])}))
batch.inserts = kept
redis.call('SET', KEYS[1], cjson.encode(batch))
return cjson.encode({setAside = #bad, reason = reason, left = left})
