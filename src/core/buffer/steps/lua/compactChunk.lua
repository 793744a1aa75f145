-- Removes entries from one chunk of a list, in one step, if the chunk is still what the compactor
-- read: entries appended meanwhile (at the tail) are never touched.
-- KEYS[1]  the list
-- ARGV[1]  position of the chunk's first entry now
-- ARGV[2]  SHA-1 of the chunk's entries joined with "\n", as read
-- ARGV[3]  keep mask, one character per entry: "1" keep, "0" remove
-- ARGV[4]  a tombstone value that cannot occur in the list
-- Returns the number removed, or -1 when the chunk changed (nothing was removed).
local pos = tonumber(ARGV[1])
local mask = ARGV[3]
local n = #mask
local items = redis.call('LRANGE', KEYS[1], pos, pos + n - 1)
if #items ~= n or redis.sha1hex(table.concat(items, '\n')) ~= ARGV[2] then
  return -1
end
local w = pos
for i = 1, n do
  if mask:sub(i, i) == '1' then
    if w ~= pos + i - 1 then
      redis.call('LSET', KEYS[1], w, items[i])
    end
    w = w + 1
  end
end
local removed = n - (w - pos)
for j = w, pos + n - 1 do
  redis.call('LSET', KEYS[1], j, ARGV[4])
end
if removed > 0 then
  redis.call('LREM', KEYS[1], removed, ARGV[4])
end
return removed
