"""The Lua scripts a :class:`~modelarts_poller.redis.RedisRateLimiter` runs on the store.

Every time in them is the store's (``TIME``), never a client's: clients whose clocks
differ still share one window. A script runs atomically, so the read of the log and the
grant it decides are one step for every process sharing the key.

``KEYS[1]`` is the grant log, a sorted set of grant numbers scored by the store's time;
``KEYS[2]`` a hash of the shared state: ``pause`` (store time until which nothing is
granted: a 429's ``Retry-After``), ``adv`` (the rate the server advertised, margin
applied), ``tokens``/``stamp`` (the smoothing bucket) and ``seq`` (the last grant number).
"""

from __future__ import annotations

# Members are the grant number and the store's time: unique even when the state was lost
# (evicted) while the log was not.
# ARGV: rate (requests/s, margin applied), wire margin (s), grants made elsewhere to record
# now (a return from the local fallback), keys' lifetime (ms). Returns {1, 0} for a grant,
# {0, microseconds to wait} otherwise. The rule is the local limiter's (RateWindow): the
# n-th grant before this one must be at least window + margin old, and a small bucket
# spreads grants out instead of letting n leave at once. It holds two grants at least (one
# when n is 1): a client wakes for its grant a round trip and a loop's lateness after the
# token is there, and with room for one only, that lateness was lost to every later grant.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local log, state = KEYS[1], KEYS[2]
local rate = tonumber(ARGV[1])
local margin = tonumber(ARGV[2])
local extra = tonumber(ARGV[3])
local keep = tonumber(ARGV[4])
local st = redis.call('HMGET', state, 'pause', 'adv', 'seq', 'tokens', 'stamp')
local pause = tonumber(st[1]) or 0
local adv = tonumber(st[2])
if adv and adv > 0 and adv < rate then rate = adv end
local n, window
if rate >= 1 then
  n = math.floor(rate)
  window = 1.0
else
  n = 1
  window = 1.0 / rate
end
local span = window + margin
redis.call('ZREMRANGEBYSCORE', log, '-inf', now - span)
local seq = tonumber(st[3]) or 0
for i = 1, extra do
  seq = seq + 1
  redis.call('ZADD', log, now, seq .. '@' .. t[1] .. '.' .. t[2])
end
local life = keep
if pause > now and (pause - now) * 1000 + 1000 > life then
  life = math.ceil((pause - now) * 1000) + 1000
end
if extra > 0 then
  redis.call('HSET', state, 'seq', seq)
  redis.call('PEXPIRE', log, life)
  redis.call('PEXPIRE', state, life)
end
if pause > now then
  return {0, math.ceil((pause - now) * 1000000)}
end
local burst = math.min(n, math.max(2, math.floor(n * 0.05)))
local refill = n / window
local tokens = tonumber(st[4]) or burst
local stamp = tonumber(st[5]) or now
if now > stamp then
  tokens = math.min(burst, tokens + (now - stamp) * refill)
  stamp = now
end
local wait = 0
if tokens < 1 - 1e-9 then
  wait = (1 - tokens) / refill
end
local count = redis.call('ZCARD', log)
if count >= n then
  local nth = redis.call('ZRANGE', log, count - n, count - n, 'WITHSCORES')
  local free_at = tonumber(nth[2]) + span
  if free_at - now > wait then
    wait = free_at - now
  end
end
if wait > 0 then
  redis.call('HSET', state, 'tokens', tokens, 'stamp', stamp)
  redis.call('PEXPIRE', state, life)
  return {0, math.ceil(wait * 1000000)}
end
seq = seq + 1
redis.call('ZADD', log, now, seq .. '@' .. t[1] .. '.' .. t[2])
redis.call('HSET', state, 'tokens', math.max(0, tokens - 1), 'stamp', stamp, 'seq', seq)
redis.call('PEXPIRE', log, life)
redis.call('PEXPIRE', state, life)
return {1, 0}
"""

# ARGV: pause (seconds from the store's now, 0 for none), advertised rate (0 for none),
# keys' lifetime (ms). A pause only ever extends the shared one.
SIGNAL = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = KEYS[1]
local pause = tonumber(ARGV[1])
local adv = tonumber(ARGV[2])
local life = tonumber(ARGV[3])
if pause > 0 then
  local current = tonumber(redis.call('HGET', state, 'pause')) or 0
  if now + pause > current then
    redis.call('HSET', state, 'pause', now + pause)
  end
  if pause * 1000 + 1000 > life then
    life = math.ceil(pause * 1000) + 1000
  end
end
if adv > 0 then
  redis.call('HSET', state, 'adv', adv)
end
local ttl = redis.call('PTTL', state)
if ttl < life then
  redis.call('PEXPIRE', state, life)
end
return 1
"""
