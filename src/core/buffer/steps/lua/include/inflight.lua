-- The in-flight deltas of one counter: what readers add to its total while batches are in flight.
-- Needs checks (readOf, finiteNumber, wrongType). No KEYS or ARGV of its own: the keys are
-- {prefix}:ifd:{batchId} of each id given (members of {prefix}:idx:inflight).
--@include checks

-- A counter's in-flight delta in {prefix}:ifd:{batchId} (nil when absent); fails naming the key
-- when it is not a number, so that no total is made of text (NaN).
local function inflightDelta(prefix, id, member)
  local key = prefix .. ':ifd:' .. id
  local v = readOf('hash', 'HGET', key, member)
  if v and not finiteNumber(v) then
    wrongType(key, 'a hash whose field ' .. member .. ' is not a number', 'a hash of numbers')
  end
  return v
end

-- The in-flight deltas of a counter over the given batch ids: the ids that hold one, and the deltas
-- (as stored: exact text), in the same order.
local function inflightDeltas(prefix, ids, member)
  local holders, deltas = {}, {}
  for _, id in ipairs(ids) do
    local v = inflightDelta(prefix, id, member)
    if v then
      holders[#holders + 1] = id
      deltas[#deltas + 1] = v
    end
  end
  return holders, deltas
end
