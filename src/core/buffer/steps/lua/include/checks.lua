-- Checks shared by the buffer steps (included by the steps that need them: see lua.ts).
-- Redis does not undo a script's writes when the script fails half-way, so a step runs every check
-- that can fail before its first write (or wraps a write that can still fail in pcall).
-- No KEYS or ARGV of its own. A failed check raises "WRONGTYPE wbc: {found} | {expected} | {key}",
-- which the driver turns into a WrongType error naming the key.

local function wrongType(key, found, expected)
  error({err = 'WRONGTYPE wbc: ' .. found .. ' | ' .. expected .. ' | ' .. key})
end

-- A number as the state stores it ("12", "-0.5", "1e-7", INCRBYFLOAT's "0.30000000000000000"
-- trimmed), finite as a double; nil for anything else (text, JSON strings, "inf", " 5", "0x10").
-- Also nil for what INCRBYFLOAT refuses though Lua reads it: 5120 characters or more, and a
-- non-zero mantissa that underflows to 0 ("1e-5000"), so a check that passes lets INCRBYFLOAT run.
-- The driver reads numbers with the same rule (finiteNumber in src/core/ipc/finite-number.ts).
local function finiteNumber(s)
  if type(s) ~= 'string' or #s >= 5120 then
    return nil
  end
  -- The usual case first, without the general patterns: a short integer (always finite).
  if #s <= 16 and string.find(s, '^%-?%d+$') then
    return tonumber(s)
  end
  local mantissa, exponent = string.match(s, '^([-+]?[%d.]+)([eE]?[-+]?%d*)$')
  if not mantissa or not string.find(mantissa, '%d') or string.find(mantissa, '%..*%.') then
    return nil
  end
  if exponent ~= '' and not string.find(exponent, '^[eE][-+]?%d+$') then
    return nil
  end
  local n = tonumber(s)
  if n == 0 and string.find(mantissa, '[1-9]') then
    return nil
  end
  if n and n == n and n > -math.huge and n < math.huge then
    return n
  end
  return nil
end

-- The key's type; fails unless it is absent or of the expected type.
local function expectType(key, expected)
  local found = redis.call('TYPE', key).ok
  if found ~= 'none' and found ~= expected then
    wrongType(key, 'a ' .. found, 'a ' .. expected)
  end
  return found
end

-- An integer as INCR and HINCRBY read it: no leading zero, no "-0", no sign "+", and at most 18
-- characters (so that adding a count cannot overflow).
local function redisInteger(value)
  return value == '0' or (string.find(value, '^-?[1-9]%d*$') ~= nil and #value <= 18)
end

-- Fails unless the hash field is absent or an integer HINCRBY can add to.
local function expectIntegerField(key, field)
  local value = redis.call('HGET', key, field)
  if value and not redisInteger(value) then
    wrongType(key, 'a hash whose field ' .. field .. ' is not an integer', 'a hash of integer counts')
  end
end

-- Fails unless the key is absent or a string holding an integer INCR can add to.
local function expectInteger(key)
  expectType(key, 'string')
  local value = redis.call('GET', key)
  if value and not redisInteger(value) then
    wrongType(key, 'a string that is not an integer', 'an integer')
  end
end

-- The {since, last} age stamp and the {writes} count of a table can take a write.
local function expectStampable(ageKey, statsKey)
  expectType(ageKey, 'hash')
  expectType(statsKey, 'hash')
  expectIntegerField(statsKey, 'writes')
end

-- A read that names its key when that key is of another type (Redis's own error does not).
local function readOf(expected, command, key, ...)
  local result = redis.pcall(command, key, ...)
  if type(result) == 'table' and result.err then
    local found = redis.call('TYPE', key).ok
    if found ~= expected and found ~= 'none' then
      wrongType(key, 'a ' .. found, 'a ' .. expected)
    end
    error(result, 0)
  end
  return result
end

-- HSET of a flat field, value, … list in slices (unpack has a limit of a few thousand values).
local function hsetFlat(key, flat, from)
  for i = from, #flat, 1000 do
    redis.call('HSET', key, unpack(flat, i, math.min(i + 999, #flat)))
  end
end

-- A counter's live delta (nil when absent); fails naming the key when it is not a number.
local function liveDelta(key)
  local v = readOf('string', 'GET', key)
  if v and not finiteNumber(v) then
    wrongType(key, 'a string that is not a number', 'a number')
  end
  return v
end

-- A stored value as it is named in a reason, at most 40 bytes: the JSON it holds written again
-- (a number as its own text), else the raw text as a JSON string, also when cjson reads the value
-- but cannot write it back ("[1e400]": the step would fail after its first writes).
local function shownValue(value)
  local ok, decoded = pcall(cjson.decode, value)
  local encoded, text = pcall(cjson.encode, (ok and type(decoded) ~= 'number') and decoded or value)
  return string.sub(encoded and text or cjson.encode(value), 1, 40)
end
