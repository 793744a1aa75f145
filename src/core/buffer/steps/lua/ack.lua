-- Forgets an applied batch and moves its counter deltas into the cached bases, in one step.
-- KEYS[1]  {prefix}:if:{batchId}
-- KEYS[2]  {prefix}:idx:inflight
-- ARGV[1]  prefix
-- ARGV[2]  batch id
-- ARGV[3]  now (ms)
-- ARGV[4..] counter members whose deltas were dead-lettered (they stay out of the bases)
-- Also writes {prefix}:ifd:{batchId} (deleted), {prefix}:b:{member} (bases), {prefix}:stats:{table}
-- (flushed), {prefix}:gen:{table} (bumped), and for a base that is not a finite number (or a key of
-- another type): moved to {prefix}:bad:b:{member} (no TTL) with its reason in {prefix}:idx:bad.
-- A base is only a cache, so a bad one never blocks the ack; the next read recomputes it.
-- Deltas are the strings the claim stored (older batches: numbers, written with 17 digits).
-- Returns 1 when acknowledged, 0 when the batch was already gone. Everything that can fail is
-- checked before the first write; INCRBYFLOAT on a base (which writes nothing when it fails) is
-- the only write that may still fail, and its failure drops that base. A base and a delta that
-- are both small integers (the usual case) are added here and written with SET … KEEPTTL, which
-- costs Redis about half of INCRBYFLOAT and gives the same text. (A write before a failure would
-- stay, and the ack's retry would add its delta again.)
--@include checks
local prefix, batchId, now = ARGV[1], ARGV[2], ARGV[3]
expectType(KEYS[2], 'set')
local raw = redis.call('GET', KEYS[1])
if not raw then
  redis.call('SREM', KEYS[2], batchId)
  return 0
end
local batch = cjson.decode(raw)
local statsKey = prefix .. ':stats:' .. batch.table
local genKey = prefix .. ':gen:' .. batch.table
local badIndex = prefix .. ':idx:bad'
expectType(statsKey, 'hash')
expectIntegerField(statsKey, 'flushed')
expectInteger(genKey)
expectType(badIndex, 'hash')
local dead = {}
for i = 4, #ARGV do
  dead[ARGV[i]] = true
end
local flushed = #batch.counters + #batch.updates + #batch.inserts - (#ARGV - 3)

-- Bases to move forward ({member, delta}) and bad ones to drop ({member, reason}).
local moves, drops = {}, {}
-- Bases are read a slice of 1000 at a time (MGET); only a base MGET cannot read (absent, or a key
-- of another type) is looked at alone. Nothing is written before all are read and checked; a
-- member named twice takes the general way the second time (its sum is set before the moves).
local ACK_SLICE = 1000
-- An integer INCRBYFLOAT reads as Lua does and a sum of two Lua adds exactly: at most 15
-- characters, no leading zero, no "-0" (a sum of two stays below 2^53, where a double is exact).
local function smallInteger(s)
  return type(s) == 'string' and #s <= 15 and (s == '0' or string.find(s, '^%-?[1-9]%d*$') ~= nil)
end
-- Bases whose delta and value are both small integers get their sum (written below, keeping the
-- key's TTL: that SET cannot fail). The rest go the general way.
local kept, written, sums = {}, {}, {}
for _, entry in ipairs(batch.counters) do
  if not dead[entry[1]] then
    kept[#kept + 1] = entry
  end
end
for from = 1, #kept, ACK_SLICE do
  local to = math.min(from + ACK_SLICE - 1, #kept)
  local keys = {}
  for j = from, to do
    keys[#keys + 1] = prefix .. ':b:' .. kept[j][1]
  end
  local values = redis.call('MGET', unpack(keys))
  for j = from, to do
    local member, delta = kept[j][1], kept[j][2]
    local key = keys[j - from + 1]
    local value = values[j - from + 1]
    if value and not written[key] and smallInteger(value) and smallInteger(delta) then
      written[key] = true
      sums[#sums + 1] = {key, string.format('%.0f', tonumber(value) + tonumber(delta))}
    else
      if type(delta) == 'number' then
        delta = string.format('%.17g', delta)
      end
      local found = value and 'string' or redis.call('TYPE', key).ok
      if found ~= 'none' and not finiteNumber(delta) then
        -- A batch written by someone else (null, an object, text): the base cannot follow it.
        local what = type(delta) == 'string' and shownValue(delta) or (delta == cjson.null and 'null' or 'a ' .. type(delta))
        drops[#drops + 1] = {member, 'batch delta ' .. what .. ' is not a number'}
      elseif found == 'string' then
        if finiteNumber(value) then
          moves[#moves + 1] = {member, delta}
        else
          drops[#drops + 1] = {member, 'cached base holds ' .. shownValue(value) .. ', not a number'}
        end
      elseif found ~= 'none' then
        drops[#drops + 1] = {member, 'cached base holds a ' .. found .. ', not a number'}
      end
    end
  end
end

local function drop(member, reason)
  local key, bad = prefix .. ':b:' .. member, prefix .. ':bad:b:' .. member
  if redis.call('EXISTS', key) == 0 then
    return
  end
  redis.call('RENAME', key, bad)
  redis.call('PERSIST', bad)
  redis.call('HSET', badIndex, 'b:' .. member, cjson.encode({reason = reason .. '; dropped (read again from the database)', at = tonumber(now)}))
end

redis.call('HINCRBY', statsKey, 'flushed', flushed)
redis.call('DEL', prefix .. ':ifd:' .. batchId)
for _, sum in ipairs(sums) do
  redis.call('SET', sum[1], sum[2], 'KEEPTTL')
end
for _, move in ipairs(moves) do
  local ok, value = pcall(redis.call, 'INCRBYFLOAT', prefix .. ':b:' .. move[1], move[2])
  if not ok then
    drop(move[1], 'cached base could not take the delta ' .. tostring(move[2]))
  elseif not finiteNumber(value) then
    drop(move[1], 'cached base grew to ' .. string.sub(value, 1, 40) .. ', beyond a finite number')
  end
end
for _, d in ipairs(drops) do
  drop(d[1], d[2])
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], batchId)
redis.call('INCR', genKey)
return 1
