-- Adds counter deltas, one after the other, each indexed and followed by the reads its total
-- needs; then stamps each table once. Concurrent callers' increments travel together in one call;
-- each is its own step, and one that fails (a key of the wrong type) does not stop the others.
-- Key names are built here from the prefix and the members (fewer bytes per increment on the wire):
-- {prefix}:c:{member} live delta, {prefix}:b:{member} cached base, {prefix}:idx:inflight batches
-- in flight, {prefix}:ifd:{batchId} their deltas by member, {prefix}:age:{table} {since, last},
-- {prefix}:stats:{table} {writes, flushed}.
-- KEYS[1]                 {prefix}:idx:counters   counter index
-- ARGV[1]                 now (ms)
-- ARGV[2]                 prefix
-- ARGV[3]                 n, the number of increments
-- ARGV[3*i+4 .. 3*i+6]    for the i-th increment (i from 0): delta, member
--                         ({connection}:{table}:{where}:{column}), its table's number t (from 1)
-- ARGV[3*n+3+t]           the t-th table ({connection}:{table})
-- Returns, per increment, 5 items: 1, live, base or false, the in-flight deltas as one string
-- joined with "," (exact: the engine adds them), and, when the base is absent, what reading the
-- counter would return ({generation, batch id, delta, …}: its base can be read without another
-- call), else false; or 0, the error message, false, false, false.
-- A cached base that is not a finite number (or a key of another type) reads as absent.
-- Everything that can fail is checked before an increment's first write (INCRBYFLOAT, which
-- itself writes nothing when it fails); a table whose stamp keys cannot be written fails its
-- increments before any of them is applied. INCRBYFLOAT adds in long double, so a counter can
-- grow past the largest double (which the engine would read as Infinity, and the next claim set
-- aside with every delta in it): a delta of 1e15 or more has the counter read first and put
-- back, the increment refused, when it would. A smaller delta cannot take a counter wbc wrote
-- there; text written by someone else at the very edge (DBL_MAX + half a unit, as a long double)
-- can still tip over, and the claim then sets that key aside (reading every counter first would
-- cost every increment a GET).
--@include checks
--@include inflight
--@include stamp
local now, prefix, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
local writes = {}
local inflightIds = readOf('set', 'SMEMBERS', prefix .. ':idx:inflight')
expectType(KEYS[1], 'set')
local tableError = {}
for i = 0, n - 1 do
  local t = tonumber(ARGV[3 * i + 6])
  if tableError[t] == nil then
    local tableName = ARGV[3 * n + 3 + t]
    local ok, e = pcall(expectStampable, prefix .. ':age:' .. tableName, prefix .. ':stats:' .. tableName)
    tableError[t] = ok and false or e
  end
end
for i = 0, n - 1 do
  local a = 3 * i + 3
  local member = ARGV[a + 2]
  local t = tonumber(ARGV[a + 3])
  local ok, result = pcall(function()
    if tableError[t] then
      error(tableError[t], 0)
    end
    local holders, inflight = inflightDeltas(prefix, inflightIds, member)
    local byBatch = {}
    for k, id in ipairs(holders) do
      byBatch[#byBatch + 1] = id
      byBatch[#byBatch + 1] = inflight[k]
    end
    local base = redis.pcall('GET', prefix .. ':b:' .. member)
    local reading = false
    if not finiteNumber(base) then
      base = false
      local tableName = ARGV[3 * n + 3 + t]
      reading = {readOf('string', 'GET', prefix .. ':gen:' .. tableName) or '0'}
      for _, item in ipairs(byBatch) do
        reading[#reading + 1] = item
      end
    end
    local counter = prefix .. ':c:' .. member
    local big = math.abs(tonumber(ARGV[a + 1]) or 0) >= 1e15
    local before = big and readOf('string', 'GET', counter)
    local live = redis.call('INCRBYFLOAT', counter, ARGV[a + 1])
    if big and not finiteNumber(live) then
      if before then
        redis.call('SET', counter, before, 'KEEPTTL')
      else
        redis.call('DEL', counter)
      end
      error({err = 'RANGE wbc: ' .. counter .. ' | adding ' .. ARGV[a + 1] .. ' would take the counter beyond the largest finite number'})
    end
    redis.call('SADD', KEYS[1], member)
    return {live, base, table.concat(inflight, ','), reading}
  end)
  if ok then
    writes[t] = (writes[t] or 0) + 1
    out[#out + 1] = 1
    out[#out + 1] = result[1]
    out[#out + 1] = result[2]
    out[#out + 1] = result[3]
    out[#out + 1] = result[4]
  else
    out[#out + 1] = 0
    out[#out + 1] = type(result) == 'table' and (result.err or tostring(result)) or tostring(result)
    out[#out + 1] = false
    out[#out + 1] = false
    out[#out + 1] = false
  end
end
for t, count in pairs(writes) do
  local tableName = ARGV[3 * n + 3 + t]
  stamp(prefix .. ':age:' .. tableName, prefix .. ':stats:' .. tableName, now, count)
end
return out
