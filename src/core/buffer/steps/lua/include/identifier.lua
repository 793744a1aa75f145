-- A column, table or connection name the engine writes as SQL: the rule of src/core/buffer/names.ts
-- (keep them identical). No KEYS or ARGV of its own.
local function isIdentifier(name)
  return #name <= 63 and string.find(name, '^[A-Za-z_][A-Za-z0-9_]*$') ~= nil
end
