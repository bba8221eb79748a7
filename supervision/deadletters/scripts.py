"""Lua scripts: every change to the dead-letter keys happens atomically in one of these.

ARGV[1] is always the base (`<prefix>:dlq`); key names follow `keys.py`.
"""

from __future__ import annotations

_COMMON = """
local base = ARGV[1]
local index = base .. ':index'
local removed = base .. ':removed'
local stats = base .. ':stats'

local function letter_key(id) return base .. ':letter:' .. id end

local function count_down(field)
  if redis.call('HINCRBY', stats, field, -1) <= 0 then redis.call('HDEL', stats, field) end
end

-- Remove one letter and every index entry of it; 1 if it existed.
local function drop(id)
  local key = letter_key(id)
  local fields = redis.call('HMGET', key, 'actor', 'error_type')
  redis.call('ZREM', index, id)
  local actor, err = fields[1], fields[2]
  if not actor then return 0 end
  redis.call('DEL', key)
  redis.call('ZREM', base .. ':actor:' .. actor, id)
  redis.call('ZREM', base .. ':error:' .. err, id)
  count_down('actor:' .. actor)
  count_down('error:' .. err)
  return 1
end

local function bury(id, now) redis.call('ZADD', removed, now, id) end

-- Retention: drop letters older than the cutoff, then the oldest beyond
-- max_entries, at most `budget` letters in all; returns how many were dropped.
local function trim(cutoff, max_entries, max_tombstones, budget)
  local dropped = 0
  local old = redis.call('ZRANGE', index, '-inf', '(' .. cutoff, 'BYSCORE', 'LIMIT', 0, budget)
  for _, id in ipairs(old) do dropped = dropped + drop(id) end
  local excess = redis.call('ZCARD', index) - max_entries
  if excess > 0 and dropped < budget then
    local oldest = redis.call('ZRANGE', index, 0, math.min(excess, budget - dropped) - 1)
    for _, id in ipairs(oldest) do dropped = dropped + drop(id) end
  end
  redis.call('ZREMRANGEBYSCORE', removed, '-inf', '(' .. cutoff)
  redis.call('ZREMRANGEBYRANK', removed, 0, -max_tombstones - 1)
  return dropped
end
"""

# ARGV: base, id, json, score, actor, error_type, cutoff, max_entries,
# max_tombstones, budget. Returns 1 added, 0 already stored, -1 removed before.
ADD = (
    _COMMON
    + """
local id = ARGV[2]
local key = letter_key(id)
if redis.call('EXISTS', key) == 1 then return 0 end
if redis.call('ZSCORE', removed, id) then return -1 end
local score, actor, err = ARGV[4], ARGV[5], ARGV[6]
redis.call('HSET', key, 'data', ARGV[3], 'actor', actor, 'error_type', err, 'state', 'dead')
redis.call('ZADD', index, score, id)
redis.call('ZADD', base .. ':actor:' .. actor, score, id)
redis.call('ZADD', base .. ':error:' .. err, score, id)
redis.call('HINCRBY', stats, 'actor:' .. actor, 1)
redis.call('HINCRBY', stats, 'error:' .. err, 1)
trim(ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]))
return 1
"""
)

# ARGV: base, now, id... Returns how many of the ids existed and were removed.
REMOVE = (
    _COMMON
    + """
local now = ARGV[2]
local n = 0
for i = 3, #ARGV do
  if drop(ARGV[i]) == 1 then
    bury(ARGV[i], now)
    n = n + 1
  end
end
return n
"""
)

# ARGV: base, cutoff, max_entries, max_tombstones, budget. Returns how many were dropped.
TRIM = (
    _COMMON
    + """
return trim(ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]))
"""
)

# ARGV: base, id, now, stale_before, token. Marks the letter 'requeuing' unless
# someone else holds a fresh claim. Returns {'claimed', data} | {'busy'} | {'missing'}.
CLAIM = (
    _COMMON
    + """
local key = letter_key(ARGV[2])
local fields = redis.call('HMGET', key, 'data', 'state', 'claimed_at')
if not fields[1] then return {'missing'} end
if fields[2] == 'requeuing' and tonumber(fields[3]) >= tonumber(ARGV[4]) then
  return {'busy'}
end
redis.call('HSET', key, 'state', 'requeuing', 'claimed_at', ARGV[3], 'claim', ARGV[5])
return {'claimed', fields[1]}
"""
)

# ARGV: base, id, token, now. The put succeeded: remove the letter if the claim is ours.
FINISH = (
    _COMMON
    + """
local id = ARGV[2]
if redis.call('HGET', letter_key(id), 'claim') ~= ARGV[3] then return 0 end
drop(id)
bury(id, ARGV[4])
return 1
"""
)

# ARGV: base, id, token. The put failed: give the letter back if the claim is ours.
RELEASE = (
    _COMMON
    + """
local key = letter_key(ARGV[2])
if redis.call('HGET', key, 'claim') ~= ARGV[3] then return 0 end
redis.call('HSET', key, 'state', 'dead')
redis.call('HDEL', key, 'claim', 'claimed_at')
return 1
"""
)

# ARGV: base, first_key, second_key, max, min, offset, limit (limit -1 = all).
# Ids in `first_key` within [min, max] that are also in `second_key`, newest first.
SELECT_BOTH = """
local first, second = ARGV[2], ARGV[3]
local max, min = ARGV[4], ARGV[5]
local skip, limit = tonumber(ARGV[6]), tonumber(ARGV[7])
local out = {}
local pos = 0
local chunk = 500
while limit < 0 or #out < limit do
  local ids = redis.call('ZRANGE', first, max, min, 'BYSCORE', 'REV', 'LIMIT', pos, chunk)
  for _, id in ipairs(ids) do
    if redis.call('ZSCORE', second, id) then
      if skip > 0 then skip = skip - 1
      elseif limit < 0 or #out < limit then out[#out + 1] = id end
    end
  end
  if #ids < chunk then break end
  pos = pos + chunk
end
return out
"""
