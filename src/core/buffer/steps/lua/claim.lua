-- Moves pending data of one table into a new in-flight batch, in one step: counter deltas
-- (a later increment starts a fresh key), update hashes, and the first rows of the queue.
-- KEYS[1]  {prefix}:idx:counters
-- KEYS[2]  {prefix}:idx:updates
-- KEYS[3]  {prefix}:idx:queues
-- KEYS[4]  {prefix}:idx:inflight
-- KEYS[5]  {prefix}:if:{batchId}       the batch (JSON)
-- KEYS[6]  {prefix}:gen:{table}        generation of the table (guards base caching)
-- KEYS[7]  {prefix}:q:{table}          the table's queue
-- KEYS[8]  {prefix}:lock:flush:fence    the flush fence counter (the claim mark, see ARGV last)
-- KEYS[9]  {prefix}:lock:flush          the flush lease (its record names its holder's token)
-- ARGV[1]  prefix
-- ARGV[2]  batch id
-- ARGV[3]  created at (ms)
-- ARGV[4]  table member ({connection}:{table})
-- ARGV[5]  most queued rows to take
-- ARGV[6]  number of counter members N, then N counter members,
--          then the number of update members M, then M update members,
--          then the flush lease's token, or "" for none. With a token, nothing is claimed unless
--          that lease still holds (answers {"leaseLost":true}), and a claim that takes a batch moves
--          the fence counter past itself (the mark, answered as "mark"): in this very step, so that
--          no snapshot holds the claim without it, and no holder that lost its lease gets a mark
--          above the fence of the lease that replaced it (whose commits would then look rolled back).
-- Also reads and writes {prefix}:ut:{table} (update times, moved into the batch as the third
-- item of an update), {prefix}:ifd:{batchId}, {prefix}:bad:…, {prefix}:idx:bad.
-- Counter deltas and update times travel as the text Redis stores (exact), not as Lua numbers.
-- Keys whose content cannot be flushed (a counter that is not a number, a key of the wrong type,
-- a field that is not JSON) move to {prefix}:bad:{kind}:{member}, recorded in the hash
-- {prefix}:idx:bad, so that they never hold up the rest. So do keys whose names could not be
-- written as SQL: a member whose where is not a flat JSON object of column names and scalars (or
-- is empty), an update field that is not an identifier. Queued rows are taken unchecked (see
-- setAsideRows.lua).
-- Returns the batch JSON (with the keys it quarantined), or false when nothing was claimed or moved.
--@include checks
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
local leaseToken = ARGV[8 + tonumber(ARGV[6]) + tonumber(ARGV[7 + tonumber(ARGV[6])])] or ''
local markFence = leaseToken ~= ''
if markFence then
  expectInteger(KEYS[8])
  local record = redis.call('GET', KEYS[9])
  local ok, lease = pcall(cjson.decode, record or 'null')
  if not ok or type(lease) ~= 'table' or lease.token ~= leaseToken then
    return cjson.encode({leaseLost = true})
  end
end
expectType(prefix .. ':idx:bad', 'hash')
expectType(prefix .. ':ifd:' .. batchId, 'hash')
-- Name checks: the same rules and reasons as src/core/buffer/names.ts (keep them identical).
local NOT_OBJECT = 'the where is not a JSON object of column values'

--@include identifier

-- At most 40 bytes of a name, cut at a UTF-8 character boundary.
local function shown(name)
  if #name <= 40 then
    return name
  end
  local cut = 40
  while cut > 0 do
    local b = string.byte(name, cut + 1)
    if b < 128 or b >= 192 then
      break
    end
    cut = cut - 1
  end
  return string.sub(name, 1, cut) .. '...'
end

-- Byte order (Lua's < follows the server's collation locale).
local function byteBefore(a, b)
  for k = 1, math.min(#a, #b) do
    local x, y = string.byte(a, k), string.byte(b, k)
    if x ~= y then
      return x < y
    end
  end
  return #a < #b
end

local function skip(text, k)
  local b = string.byte(text, k)
  while b == 32 or b == 9 or b == 10 or b == 13 do
    k = k + 1
    b = string.byte(text, k)
  end
  return k
end

-- Index just past the strict JSON string starting at i (a '"'), or nil.
local function endOfString(text, i)
  local k = i + 1
  while true do
    local j = string.find(text, '["\\%z\1-\31]', k)
    if not j then
      return nil
    end
    local c = string.byte(text, j)
    if c == 34 then
      return j + 1
    elseif c ~= 92 then
      return nil
    end
    local e = string.sub(text, j + 1, j + 1)
    if e ~= '' and string.find('"\\/bfnrt', e, 1, true) then
      k = j + 2
    elseif e == 'u' and string.find(text, '^%x%x%x%x', j + 2) then
      k = j + 6
    else
      return nil
    end
  end
end

-- Index just past the strict JSON number starting at i, or nil.
local function endOfNumber(text, i)
  local k = i
  if string.sub(text, k, k) == '-' then
    k = k + 1
  end
  local c = string.sub(text, k, k)
  if c == '0' then
    k = k + 1
  elseif string.find(c, '^[1-9]$') then
    local _, e = string.find(text, '^%d+', k)
    k = e + 1
  else
    return nil
  end
  if string.sub(text, k, k) == '.' then
    local _, e = string.find(text, '^%d+', k + 1)
    if not e then
      return nil
    end
    k = e + 1
  end
  c = string.sub(text, k, k)
  if c == 'e' or c == 'E' then
    k = k + 1
    c = string.sub(text, k, k)
    if c == '+' or c == '-' then
      k = k + 1
    end
    local _, e = string.find(text, '^%d+', k)
    if not e then
      return nil
    end
    k = e + 1
  end
  return k
end

-- Why an encoded where cannot address a row (the first problem in text order), or nil.
-- (Bytes: 123 {, 125 }, 34 ", 58 :, 44 ",", 45 -, 48-57 digits, 91 [.)
local function whereProblem(where)
  if where == '' then
    return 'the where is empty'
  end
  if string.byte(where, 1) ~= 123 then
    return nil
  end
  local n = #where
  local i = skip(where, 2)
  if string.byte(where, i) == 125 then
    if skip(where, i + 1) == n + 1 then
      return 'the where is an empty object'
    end
    return NOT_OBJECT
  end
  local seen = {}
  while true do
    if string.byte(where, i) ~= 34 then
      return NOT_OBJECT
    end
    local keyEnd = endOfString(where, i)
    if not keyEnd then
      return NOT_OBJECT
    end
    local column = string.sub(where, i + 1, keyEnd - 2)
    if not isIdentifier(column) then
      return 'where column "' .. shown(column) .. '" is not a column name'
    end
    if seen[column] then
      return 'where column ' .. column .. ' appears twice'
    end
    seen[column] = true
    i = skip(where, keyEnd)
    if string.byte(where, i) ~= 58 then
      return NOT_OBJECT
    end
    i = skip(where, i + 1)
    local c = string.byte(where, i)
    if c == 34 then
      i = endOfString(where, i)
    elseif c == 45 or (c and c >= 48 and c <= 57) then
      local e = endOfNumber(where, i)
      if e then
        local value = tonumber(string.sub(where, i, e - 1))
        if value ~= value or value == math.huge or value == -math.huge then
          return 'where column ' .. column .. ' holds a number that is not finite, not a string, a finite number or a boolean'
        end
      end
      i = e
    else
      local word = string.sub(where, i, i + 4)
      if string.sub(word, 1, 4) == 'true' then
        i = i + 4
      elseif word == 'false' then
        i = i + 5
      elseif string.sub(word, 1, 4) == 'null' then
        return 'where column ' .. column .. ' holds null, not a string, a finite number or a boolean'
      elseif c == 123 then
        return 'where column ' .. column .. ' holds an object, not a string, a finite number or a boolean'
      elseif c == 91 then
        return 'where column ' .. column .. ' holds an array, not a string, a finite number or a boolean'
      else
        return NOT_OBJECT
      end
    end
    if not i then
      return NOT_OBJECT
    end
    i = skip(where, i)
    c = string.byte(where, i)
    if c == 125 then
      if skip(where, i + 1) == n + 1 then
        return nil
      end
      return NOT_OBJECT
    elseif c ~= 44 then
      return NOT_OBJECT
    end
    i = skip(where, i + 1)
  end
end

local tableHead = ARGV[4] .. ':'
local tableChecked = false
do
  local connection, name = string.match(ARGV[4], '^([^:]+):([^:]+)$')
  tableChecked = connection ~= nil and isIdentifier(connection) and isIdentifier(name)
end

-- Why a counter (withColumn) or update member cannot be flushed, or nil (as parseMember splits it).
-- Positions and anchored searches instead of substrings: a claim checks thousands of names, and
-- each substring is a new string for Lua to hash and keep.
local function memberProblem(member, withColumn)
  local nameReason = withColumn and 'the key name is not {connection}:{table}:{where}:{column}' or 'the key name is not {connection}:{table}:{where}'
  local second
  if tableChecked and string.find(member, tableHead, 1, true) == 1 then
    -- The claim's table ({connection}:{table}) was checked once; most members start with it.
    second = #tableHead
  else
    local first = string.find(member, ':', 1, true)
    second = first and string.find(member, ':', first + 1, true)
    if not first or first == 1 or not second or second == first + 1 then
      return nameReason
    end
    if not isIdentifier(string.sub(member, 1, first - 1)) or not isIdentifier(string.sub(member, first + 1, second - 1)) then
      return nameReason
    end
  end
  local whereEnd
  if withColumn then
    -- The last ':' before an identifier. Most members hold no ':' after the one before the
    -- column: two plain searches find it without the pattern's backtracking.
    local last = string.find(member, ':', second + 1, true)
    if not last then
      return nameReason
    end
    if string.find(member, ':', last + 1, true) then
      last = string.match(member, '^.*():')
    end
    if last <= second + 1 or #member - last > 63 or not string.find(member, '^[A-Za-z_][A-Za-z0-9_]*$', last + 1) then
      return nameReason
    end
    whereEnd = last - 1
  else
    whereEnd = #member
    if whereEnd == second then
      return nameReason
    end
  end
  -- Only a where that opens an object has names in it to check (whereProblem returns nil for any
  -- other non-empty where).
  if string.byte(member, second + 1) ~= 123 then
    return nil
  end
  return whereProblem(string.sub(member, second + 1, whereEnd))
end

--@include strict

local n = tonumber(ARGV[6])
-- Counters are read, taken out of the index and deleted a slice of 1000 keys at a time (MGET,
-- SREM, DEL): three calls per counter made most of the claim's cost. A member named twice (SSCAN
-- may return one twice) is taken once, as the second read of its deleted key would find nothing.
local CLAIM_SLICE = 1000
local counterMembers, counterKeys, named = {}, {}, {}
for i = 7, 6 + n do
  local member = ARGV[i]
  if not named[member] then
    named[member] = true
    counterMembers[#counterMembers + 1] = member
    counterKeys[#counterKeys + 1] = prefix .. ':c:' .. member
  end
end
for from = 1, #counterMembers, CLAIM_SLICE do
  local to = math.min(from + CLAIM_SLICE - 1, #counterMembers)
  redis.call('SREM', KEYS[1], unpack(counterMembers, from, to))
  local values = redis.call('MGET', unpack(counterKeys, from, to))
  local taken = {}
  for j = from, to do
    local member, key = counterMembers[j], counterKeys[j]
    local value = values[j - from + 1]
    -- MGET answers false for a key of another type too: only then is the key read alone.
    if not value then
      value = redis.pcall('GET', key)
    end
    -- Names first: a member whose where (or column) could not be written as SQL never is.
    local badName = value and memberProblem(member, true)
    if badName then
      quarantine('c', member, badName)
      value = false
    end
    if type(value) == 'table' and value.err then
      quarantine('c', member, 'holds a ' .. redis.call('TYPE', key).ok .. ', not a number')
    elseif value then
      -- finiteNumber, not tonumber: Lua reads "0x1p4" or "-0x10", which the engine cannot (NaN).
      local delta = finiteNumber(value)
      if not delta then
        quarantine('c', member, 'holds ' .. shownValue(value) .. ', not a number')
      else
        taken[#taken + 1] = key
        if delta ~= 0 then
          deltas[#deltas + 1] = member
          deltas[#deltas + 1] = value
          -- The stored text, not the Lua number: cjson would keep only 14 significant digits.
          counters[#counters + 1] = {member, value}
        end
      end
    end
  end
  if #taken > 0 then
    redis.call('DEL', unpack(taken))
  end
end
local m = tonumber(ARGV[7 + n])
-- When each row's fields were last written (member → ms), recorded by the update step; moved into
-- the batch with the row. Absent for rows written by others; ignored if the key is not a hash.
local utKey = prefix .. ':ut:' .. ARGV[4]
local utKept = redis.call('TYPE', utKey).ok == 'hash'
-- Hashes whose names and JSON structure are fine wait here for the strictness check of all
-- their values at once.
local pending, pendingValues = {}, {}
for i = 8 + n, 7 + n + m do
  local member = ARGV[i]
  local key = prefix .. ':u:' .. member
  local flat = redis.pcall('HGETALL', key)
  redis.call('SREM', KEYS[2], member)
  local at = utKept and redis.call('HGET', utKey, member)
  if at then
    redis.call('HDEL', utKey, member)
  end
  local badName = memberProblem(member, false)
  if badName then
    if redis.call('EXISTS', key) == 1 then
      quarantine('u', member, badName)
    end
    flat = {}
  end
  if flat.err then
    quarantine('u', member, 'holds a ' .. redis.call('TYPE', key).ok .. ', not a hash')
  elseif #flat > 0 then
    local badField = nil
    for j = 1, #flat, 2 do
      if not isIdentifier(flat[j]) and (not badField or byteBefore(flat[j], badField)) then
        badField = flat[j]
      end
    end
    local bad = nil
    for j = 2, #flat, 2 do
      if not pcall(strictCjson.decode, flat[j]) then
        bad = flat[j - 1]
        break
      end
    end
    if badField then
      quarantine('u', member, 'field "' .. shown(badField) .. '" is not a column name')
    elseif bad then
      quarantine('u', member, 'field ' .. bad .. ' is not JSON')
    else
      pending[#pending + 1] = {member, key, flat, at}
      for j = 2, #flat, 2 do
        pendingValues[#pendingValues + 1] = flat[j]
      end
    end
  end
end
local everyValueStrict = allStrict(pendingValues)
for _, entry in ipairs(pending) do
  local member, key, flat, at = entry[1], entry[2], entry[3], entry[4]
  local bad = nil
  if not everyValueStrict then
    for j = 2, #flat, 2 do
      if not isStrict(flat[j]) then
        bad = flat[j - 1]
        break
      end
    end
  end
  if bad then
    quarantine('u', member, 'field ' .. bad .. ' is not JSON')
  else
    redis.call('DEL', key)
    updates[#updates + 1] = at and {member, flat, at} or {member, flat}
  end
end
local maxInserts = tonumber(ARGV[5])
if maxInserts > 0 then
  local queueType = redis.call('TYPE', KEYS[7]).ok
  if queueType ~= 'list' and queueType ~= 'none' then
    redis.call('SREM', KEYS[3], ARGV[4])
    quarantine('q', ARGV[4], 'holds a ' .. queueType .. ', not a list')
  else
    -- Rows move as they are: the engine checks them (JSON.parse is the reader that counts) and sets
    -- aside the bad ones with setAsideRows before the batch is applied. Checking each row here cost
    -- Redis three times what taking it does.
    inserts = redis.call('LRANGE', KEYS[7], 0, maxInserts - 1)
    if #inserts > 0 then
      redis.call('LTRIM', KEYS[7], #inserts, -1)
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
local answer = batch
if #quarantined > 0 then
  -- The stored batch does not carry them; only this answer does.
  answer = string.sub(answer, 1, -2) .. ',"quarantined":' .. cjson.encode(quarantined) .. '}'
end
redis.call('SADD', KEYS[4], batchId)
redis.call('INCR', KEYS[6])
if markFence then
  answer = string.sub(answer, 1, -2) .. ',"mark":' .. redis.call('INCR', KEYS[8]) .. '}'
end
return answer
