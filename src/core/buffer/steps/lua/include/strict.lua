-- JSON text as strictly as the engine's JSON.parse reads it (included by the steps that check it).
-- No KEYS or ARGV of its own.
-- cjson also reads hex, inf, nan, "+1", "01", "1.", "-.5", raw control characters inside strings
-- and a NUL after the value (where its reading stops), which the engine's JSON.parse refuses (a
-- claimed batch holding them would be unreadable). A cjson instance of this script's own refuses
-- the first four; the rest are looked for with fast plain searches, and only a text where they
-- might be is checked token by token.
local strictCjson = cjson.new()
strictCjson.decode_invalid_numbers(false)
local CONTROLS = {}
for c = 0, 31 do
  CONTROLS[#CONTROLS + 1] = string.char(c)
end

local function mayBeLenient(text)
  for _, c in ipairs(CONTROLS) do
    if string.find(text, c, 1, true) then
      return true
    end
  end
  local k = 1
  while true do
    local j = string.find(text, '.', k, true)
    if not j then
      return false
    end
    local before, after = string.byte(text, j - 1), string.byte(text, j + 1)
    if not after or after < 48 or after > 57 or not before or before < 48 or before > 57 then
      return true
    end
    k = j + 1
  end
end

-- The token-by-token check (the text already decoded): every string free of raw control
-- characters, every other token a literal or a strict number.
local function strictTokens(text)
  local controls = string.find(text, '[%z\1-\31]') ~= nil
  local rest = string.gsub(string.gsub(text, '\\.', ''), '"[^"]*"', '"')
  if controls then
    local _, all = string.gsub(text, '[%z\1-\31]', '')
    local _, outside = string.gsub(rest, '[%z\1-\31]', '')
    -- Inside a string, or outside one other than the white space JSON allows (tab, LF, CR).
    if all ~= outside or string.find(rest, '[%z\1-\8\11\12\14-\31]') then
      return false
    end
  end
  rest = ' ' .. rest .. ' '
  return not (string.find(rest, '[xXiI]') or string.find(rest, '[nN][aA]') or string.find(rest, '[^eE]%+')
    or string.find(rest, '[^%d%.eE%-%+]0%d') or string.find(rest, '[^eE]%-0%d') or string.find(rest, '%.[^%d]')
    or string.find(rest, '[^%d]%.'))
end

local function isStrict(text)
  return not mayBeLenient(text) or strictTokens(text)
end

-- True when every (decoded) text is strict: looked at as one text first (nothing the checks look
-- for spans the space between two texts), then one by one.
local function allStrict(texts)
  return #texts == 0 or not mayBeLenient(table.concat(texts, ' '))
end
