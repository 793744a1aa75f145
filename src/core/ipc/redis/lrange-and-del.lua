-- Returns a whole list and deletes it, in one step; refuses (without deleting) a key of another type.
-- KEYS[1]  the list key
-- Returns the list items (JSON strings), or an error reply WRONGTYPE.
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then
  return {}
end
if kind ~= 'list' then
  return redis.error_reply('WRONGTYPE Operation against a key holding the wrong kind of value')
end
local items = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return items
