-- Reads what a counter's total is made of, in one step.
-- KEYS[1]  {prefix}:c:{member}
-- KEYS[2]  {prefix}:b:{member}
-- KEYS[3]  {prefix}:ifc:{member}
-- KEYS[4]  {prefix}:gen:{table}
-- Returns {live or false, base or false, {batch id, delta, …}, generation or false}.
return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), redis.call('HGETALL', KEYS[3]), redis.call('GET', KEYS[4])}
