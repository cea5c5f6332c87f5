"""The Lua scripts of the Redis store. Each runs atomically on the server.

Session scripts get ``KEYS = [meta, turns, nsindex]`` (see :mod:`agentkernel.stores.redis._keys`)
and the key stem as ``ARGV[1]``; they derive namespace keys from the stem, which share the
session's hash tag and so its Cluster slot.

Redis does not roll back a script that fails half-way, so the commit script reads and checks
everything (version, life, key types, transcript length, namespace count) before its first write:
it either writes the whole change or nothing.

A session that lost some of its keys (an eviction, an operator's ``DEL``) is corrupt, never absent
and never silently overwritten: the header counts turns and namespaces, and keys that outlive their
header are found by both scripts (see ``LEFTOVERS``).
"""

from __future__ import annotations

__all__ = ["ACQUIRE_LEASE", "COMMIT", "DELETE", "INDEX_REMOVE", "LOAD", "RELEASE_LEASE", "RENEW_LEASE"]

# Shared by COMMIT and LOAD: what of a session remains although its header key is gone.
LEFTOVERS = r"""
local function leftovers(meta, turns, nsindex)
  local left = {}
  if redis.call('EXISTS', turns) == 1 then left[#left + 1] = 'its transcript (' .. turns .. ')' end
  if redis.call('EXISTS', nsindex) == 1 then left[#left + 1] = 'its namespace index (' .. nsindex .. ')' end
  if #left == 0 then return false end
  return 'its header (' .. meta .. ') is missing but ' .. table.concat(left, ' and ') .. ' remain'
end
"""

# Shared by COMMIT and LOAD: the namespace index and hashes agree with the names the header lists.
NAMESPACES = r"""
local function namespace_problem(nsindex, listed, names, nskey)
  if not listed then return 'the header does not list its namespaces' end
  local counted = 0
  for _ in string.gmatch(listed, '%S+') do counted = counted + 1 end
  local held = {}
  for _, name in ipairs(names) do held[#held + 1] = name end
  table.sort(held)
  if table.concat(held, ' ') ~= listed then
    return 'the namespace index (' .. nsindex .. ') lists ' .. #names .. ' namespaces but the header counts ' .. counted
  end
  for _, name in ipairs(names) do
    if redis.call('EXISTS', nskey(name)) == 0 then
      return 'the hash of namespace ' .. name .. ' (' .. nskey(name) .. ') is missing'
    end
  end
  return false
end
"""

# KEYS: meta, turns, nsindex, the owner's listing index (all in the owner's slot).
# ARGV: stem, expected version, new version, commit id, meta record, ttl ms, clear transcript (0/1),
#       new turn count, expected life, new life, listing score (updated_at), session id, then three
#       counted sections and the turns:
#       n, cleared names...; n, (name, k, keys...)...; n, (name, k, key, value, ...)...; n, turns...
# Returns {"ok"} | {"conflict", actual version[, "life"]} | {"corrupt", detail}.
COMMIT = LEFTOVERS + NAMESPACES + r"""
local RECENT_COMMITS = 16  -- ids of the latest commits, so a retry after a lost reply is recognised
local meta, turns, nsindex = KEYS[1], KEYS[2], KEYS[3]
local stem = ARGV[1]
local function nskey(name) return stem .. 'ns:' .. name end

-- read and check: nothing below writes until every check passed
local function wrong(key, want)
  local held = redis.call('TYPE', key)['ok']
  if held ~= 'none' and held ~= want then return key .. ' holds a ' .. held .. ', expected a ' .. want end
  return false
end
local problem = wrong(meta, 'hash') or wrong(turns, 'list') or wrong(nsindex, 'set')
if problem then return {'corrupt', problem} end

local stored = redis.call('HMGET', meta, 'version', 'commit', 'turns', 'life', 'nss')
local recent = stored[2] or ''
if string.find(' ' .. recent .. ' ', ' ' .. ARGV[4] .. ' ', 1, true) then
  return {'ok'}  -- this very change was applied by an earlier attempt (whose reply was lost)
end
local exists = stored[1] ~= false
if not exists then
  problem = leftovers(meta, turns, nsindex)  -- never write a new session over what remains of one
  if problem then return {'corrupt', problem} end
end
local actual = 0
if exists then
  actual = tonumber(stored[1])
  if not actual then return {'corrupt', 'the version field is not a number'} end
end
local names = {}
if exists then  -- a damaged session is reported as such, whatever version the change expects
  local held = redis.call('LLEN', turns)
  if held ~= tonumber(stored[3]) then
    return {'corrupt', 'the transcript holds ' .. held .. ' turns but the header counts ' .. tostring(stored[3])}
  end
  names = redis.call('SMEMBERS', nsindex)
  problem = namespace_problem(nsindex, stored[5], names, nskey)
  if problem then return {'corrupt', problem} end
end
if actual ~= tonumber(ARGV[2]) then
  return {'conflict', tostring(actual)}
end
if exists and stored[4] ~= ARGV[9] then
  return {'conflict', tostring(actual), 'life'}  -- prepared in an earlier life of this id
end

local i = 13
local cleared = {}
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do cleared[#cleared + 1] = ARGV[i]; i = i + 1 end
local deleted = {}
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local count = tonumber(ARGV[i + 1])
  deleted[#deleted + 1] = {ARGV[i], i + 2, i + 1 + count}
  i = i + 2 + count
end
local updated = {}
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local count = tonumber(ARGV[i + 1])
  updated[#updated + 1] = {ARGV[i], i + 2, i + 1 + 2 * count}
  i = i + 2 + 2 * count
end
n = tonumber(ARGV[i]); i = i + 1
local first_turn, last_turn = i, i + n - 1

for _, name in ipairs(names) do problem = problem or wrong(nskey(name), 'hash') end
for _, group in ipairs(deleted) do problem = problem or wrong(nskey(group[1]), 'hash') end
for _, group in ipairs(updated) do problem = problem or wrong(nskey(group[1]), 'hash') end
problem = problem or wrong(KEYS[4], 'zset')
if problem then return {'corrupt', problem} end

-- write
local function chunked(command, key, from, to)
  while from <= to do
    local stop = math.min(from + 999, to)
    redis.call(command, key, unpack(ARGV, from, stop))
    from = stop + 1
  end
end
for _, name in ipairs(cleared) do
  redis.call('DEL', nskey(name))
  redis.call('SREM', nsindex, name)
end
if ARGV[7] == '1' then redis.call('DEL', turns) end
for _, group in ipairs(deleted) do
  chunked('HDEL', nskey(group[1]), group[2], group[3])
  if redis.call('EXISTS', nskey(group[1])) == 0 then redis.call('SREM', nsindex, group[1]) end
end
local indexed = {}
for _, name in ipairs(names) do indexed[name] = true end
for _, group in ipairs(updated) do
  -- a hash neither the header nor the index refers to is unreachable (what is left of a session
  -- whose other keys were all lost): never merge it into this session
  if not indexed[group[1]] then redis.call('DEL', nskey(group[1])) end
  chunked('HSET', nskey(group[1]), group[2], group[3])
  redis.call('SADD', nsindex, group[1])
end
chunked('RPUSH', turns, first_turn, last_turn)
local ids = {}
for id in string.gmatch(recent, '%S+') do ids[#ids + 1] = id end
ids[#ids + 1] = ARGV[4]
while #ids > RECENT_COMMITS do table.remove(ids, 1) end
local listed = redis.call('SMEMBERS', nsindex)
table.sort(listed)
redis.call('HSET', meta, 'version', ARGV[3], 'life', ARGV[10], 'record', ARGV[5], 'commit', table.concat(ids, ' '),
  'turns', ARGV[8], 'nss', table.concat(listed, ' '))

local ttl = tonumber(ARGV[6])
local all = {meta, turns, nsindex}
for _, name in ipairs(redis.call('SMEMBERS', nsindex)) do all[#all + 1] = nskey(name) end
for _, key in ipairs(all) do
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('PERSIST', key) end
end

-- The owner's listing, in this same script: it lives as long as its longest-lived session (a
-- session that never expires makes it persistent; a shorter TTL never shortens it). Entries of
-- sessions that are gone are dropped when a listing meets them.
local index = KEYS[4]
local current = redis.call('PTTL', index)
redis.call('ZADD', index, 'GT', ARGV[11], ARGV[12])
if ttl == 0 then
  redis.call('PERSIST', index)
elseif current == -2 or (current >= 0 and current < ttl) then
  redis.call('PEXPIRE', index, ttl)
end
return {'ok'}
"""

# ARGV: stem, turns wanted (-1: all). Returns false (absent), {"corrupt", detail} (keys missing), or
# {"ok", record, turn total, turns, {name, {k, v, ...}, ...}}.
LOAD = LEFTOVERS + NAMESPACES + r"""
local meta, turns, nsindex = KEYS[1], KEYS[2], KEYS[3]
local function nskey(name) return ARGV[1] .. 'ns:' .. name end
if redis.call('EXISTS', meta) == 0 then
  local problem = leftovers(meta, turns, nsindex)
  if problem then return {'corrupt', problem} end
  return false
end
local head = redis.call('HMGET', meta, 'record', 'nss')
local record = head[1]
local names = redis.call('SMEMBERS', nsindex)
local problem = namespace_problem(nsindex, head[2], names, nskey)
if problem then return {'corrupt', problem} end
local total = redis.call('LLEN', turns)
local wanted = tonumber(ARGV[2])
local items = {}
if wanted < 0 then
  items = redis.call('LRANGE', turns, 0, -1)
elseif wanted > 0 then
  items = redis.call('LRANGE', turns, -wanted, -1)
end
local state = {}
for _, name in ipairs(names) do
  state[#state + 1] = name
  state[#state + 1] = redis.call('HGETALL', nskey(name))
end
return {'ok', record, total, items, state}
"""

# KEYS: as COMMIT's. ARGV: stem, session id. Returns {existed (0/1), meta record or false}. Works
# whatever the keys hold, and on whatever remains of a session that lost some of them.
DELETE = r"""
local meta, turns, nsindex = KEYS[1], KEYS[2], KEYS[3]
local record = false
local existed = math.min(1, redis.call('EXISTS', meta, turns, nsindex))
if redis.call('TYPE', meta)['ok'] == 'hash' then
  local head = redis.call('HMGET', meta, 'record', 'nss')
  record = head[1]
  -- the header lists the namespaces too, so their hashes go even if the index was lost
  for name in string.gmatch(head[2] or '', '%S+') do redis.call('DEL', ARGV[1] .. 'ns:' .. name) end
end
if redis.call('TYPE', nsindex)['ok'] == 'set' then
  for _, name in ipairs(redis.call('SMEMBERS', nsindex)) do redis.call('DEL', ARGV[1] .. 'ns:' .. name) end
end
redis.call('DEL', meta, turns, nsindex)
if redis.call('TYPE', KEYS[4])['ok'] == 'zset' then redis.call('ZREM', KEYS[4], ARGV[2]) end
return {existed, record}
"""

# KEYS: lease. ARGV: token, ttl ms. Take a free lease, or extend one this token already holds.
ACQUIRE_LEASE = r"""
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

RENEW_LEASE = r"""
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

RELEASE_LEASE = r"""
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

# KEYS: user index. ARGV: session id, score. Remove the entry only if nobody re-scored it since.
INDEX_REMOVE = r"""
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""
