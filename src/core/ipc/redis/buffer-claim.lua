-- Moves pending data of one table into a new in-flight batch, in one step: counter deltas
-- (a later increment starts a fresh key), update hashes, and the first rows of the queue.
-- KEYS[1]  {prefix}:idx:counters
-- KEYS[2]  {prefix}:idx:updates
-- KEYS[3]  {prefix}:idx:queues
-- KEYS[4]  {prefix}:idx:inflight
-- KEYS[5]  {prefix}:if:{batchId}       the batch (JSON)
-- KEYS[6]  {prefix}:gen:{table}        generation of the table (guards base caching)
-- KEYS[7]  {prefix}:q:{table}          the table's queue
-- ARGV[1]  prefix
-- ARGV[2]  batch id
-- ARGV[3]  created at (ms)
-- ARGV[4]  table member ({connection}:{table})
-- ARGV[5]  most queued rows to take
-- ARGV[6]  number of counter members N, then N counter members,
--          then the number of update members M, then M update members
-- Also reads and writes {prefix}:ut:{table} (update times, moved into the batch as the third
-- item of an update), {prefix}:ifd:{batchId}, {prefix}:bad:…, {prefix}:idx:bad.
-- Counter deltas and update times travel as the text Redis stores (exact), not as Lua numbers.
-- Keys whose content cannot be flushed (a counter that is not a number, a key of the wrong type,
-- a field or row that is not JSON) move to {prefix}:bad:{kind}:{member}, recorded in the hash
-- {prefix}:idx:bad, so that they never hold up the rest.
-- Returns the batch JSON (with the keys it quarantined), or false when nothing was claimed or moved.
local prefix, batchId = ARGV[1], ARGV[2]
local counters, updates, inserts, quarantined = {}, {}, {}, {}
-- member, delta pairs for {prefix}:ifd:{batchId} (what readers add to a total while in flight)
local deltas = {}
local now = ARGV[3]

local function quarantine(kind, member, reason)
  local key = prefix .. ':' .. kind .. ':' .. member
  redis.call('RENAME', key, prefix .. ':bad:' .. kind .. ':' .. member)
  redis.call('HSET', prefix .. ':idx:bad', kind .. ':' .. member, cjson.encode({reason = reason, at = tonumber(now)}))
  quarantined[#quarantined + 1] = {kind .. ':' .. member, reason}
end

-- Every key written below is checked first: Redis keeps what a failed script wrote before failing,
-- and a claim that stopped half-way would have taken keys without recording the batch.
for k = 1, 4 do
  expectType(KEYS[k], 'set')
end
expectInteger(KEYS[6])
expectType(prefix .. ':idx:bad', 'hash')
expectType(prefix .. ':bad:q:' .. ARGV[4], 'list')
expectType(prefix .. ':ifd:' .. batchId, 'hash')

local n = tonumber(ARGV[6])
for i = 7, 6 + n do
  local member = ARGV[i]
  local key = prefix .. ':c:' .. member
  local value = redis.pcall('GET', key)
  redis.call('SREM', KEYS[1], member)
  if type(value) == 'table' and value.err then
    quarantine('c', member, 'holds a ' .. redis.call('TYPE', key).ok .. ', not a number')
  elseif value then
    -- finiteNumber, not tonumber: Lua reads "0x1p4" or "-0x10", which the engine cannot (NaN).
    local delta = finiteNumber(value)
    if not delta then
      -- Shown as JSON text of the value (or of the raw text when it is not JSON).
      local ok, decoded = pcall(cjson.decode, value)
      local shown = cjson.encode((ok and type(decoded) ~= 'number') and decoded or value)
      quarantine('c', member, 'holds ' .. string.sub(shown, 1, 40) .. ', not a number')
    else
      redis.call('DEL', key)
      if delta ~= 0 then
        deltas[#deltas + 1] = member
        deltas[#deltas + 1] = value
        -- The stored text, not the Lua number: cjson would keep only 14 significant digits.
        counters[#counters + 1] = {member, value}
      end
    end
  end
end
local m = tonumber(ARGV[7 + n])
-- When each row's fields were last written (member → ms), recorded by the update step; moved into
-- the batch with the row. Absent for rows written by others; ignored if the key is not a hash.
local utKey = prefix .. ':ut:' .. ARGV[4]
local utKept = redis.call('TYPE', utKey).ok == 'hash'
for i = 8 + n, 7 + n + m do
  local member = ARGV[i]
  local key = prefix .. ':u:' .. member
  local flat = redis.pcall('HGETALL', key)
  redis.call('SREM', KEYS[2], member)
  local at = utKept and redis.call('HGET', utKey, member)
  if at then
    redis.call('HDEL', utKey, member)
  end
  if flat.err then
    quarantine('u', member, 'holds a ' .. redis.call('TYPE', key).ok .. ', not a hash')
  elseif #flat > 0 then
    local bad = nil
    for j = 2, #flat, 2 do
      if not pcall(cjson.decode, flat[j]) then
        bad = flat[j - 1]
        break
      end
    end
    if bad then
      quarantine('u', member, 'field ' .. bad .. ' is not JSON')
    else
      redis.call('DEL', key)
      updates[#updates + 1] = at and {member, flat, at} or {member, flat}
    end
  end
end
local maxInserts = tonumber(ARGV[5])
if maxInserts > 0 then
  local queueType = redis.call('TYPE', KEYS[7]).ok
  if queueType ~= 'list' and queueType ~= 'none' then
    redis.call('SREM', KEYS[3], ARGV[4])
    quarantine('q', ARGV[4], 'holds a ' .. queueType .. ', not a list')
  else
    local rows = redis.call('LRANGE', KEYS[7], 0, maxInserts - 1)
    if #rows > 0 then
      redis.call('LTRIM', KEYS[7], #rows, -1)
    end
    local badRows = 0
    for _, row in ipairs(rows) do
      -- A row is a JSON object: it starts with "{" and decodes.
      if string.match(row, '^%s*{') and pcall(cjson.decode, row) then
        inserts[#inserts + 1] = row
      else
        redis.call('RPUSH', prefix .. ':bad:q:' .. ARGV[4], row)
        badRows = badRows + 1
      end
    end
    if badRows > 0 then
      local reason = badRows .. ' queued row(s) not a JSON object'
      redis.call('HSET', prefix .. ':idx:bad', 'q:' .. ARGV[4], cjson.encode({reason = reason, at = tonumber(now)}))
      quarantined[#quarantined + 1] = {'q:' .. ARGV[4], reason}
    end
    if redis.call('LLEN', KEYS[7]) == 0 then
      redis.call('SREM', KEYS[3], ARGV[4])
    end
  end
end
if #counters + #updates + #inserts == 0 then
  if #quarantined == 0 then
    return false
  end
  return cjson.encode({empty = true, quarantined = quarantined})
end
-- Rows and field values stay JSON text inside the batch; the engine decodes them.
local batch = cjson.encode({
  id = batchId, table = ARGV[4], createdAt = tonumber(ARGV[3]),
  counters = counters, updates = updates, inserts = inserts, encoded = true,
})
redis.call('SET', KEYS[5], batch)
for i = 1, #deltas, 1000 do
  redis.call('HSET', prefix .. ':ifd:' .. batchId, unpack(deltas, i, math.min(i + 999, #deltas)))
end
if #quarantined > 0 then
  -- The stored batch does not carry them; only this answer does.
  batch = string.sub(batch, 1, -2) .. ',"quarantined":' .. cjson.encode(quarantined) .. '}'
end
redis.call('SADD', KEYS[4], batchId)
redis.call('INCR', KEYS[6])
return batch
