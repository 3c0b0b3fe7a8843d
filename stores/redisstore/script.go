package redisstore

import "github.com/redis/go-redis/v9"

// Hash field names. Entry fields are entryPrefix followed by the entry's
// key, so no entry can be mistaken for a bookkeeping field.
const (
	fieldHeader = "h"
	fieldSize   = "n"
	// fieldTaken is the one field of a taken mark (see takeScript).
	fieldTaken  = "t"
	entryPrefix = "k:"
)

// Result codes of the save script.
const (
	codeOK       = 0
	codeExists   = 1
	codeGone     = 2
	codeTooLarge = 3
	codeNoHeader = 4
)

// luaHelpers are shared by the scripts. Times travel as the record's
// 8-byte big-endian Unix nanoseconds. They are compared byte by byte
// because Lua numbers (doubles) cannot hold them exactly and Lua's string
// comparison follows the server's collation locale.
const luaHelpers = `
local function later(a, b)
  local a1, a2, a3, a4, a5, a6, a7, a8 = a:byte(1, 8)
  local b1, b2, b3, b4, b5, b6, b7, b8 = b:byte(1, 8)
  -- Halves of 32 bits are exact in Lua's doubles; flipping the sign bit
  -- makes the byte order the order of the signed values.
  local x = (((a1 + 128) % 256 * 256 + a2) * 256 + a3) * 256 + a4
  local y = (((b1 + 128) % 256 * 256 + b2) * 256 + b3) * 256 + b4
  if x ~= y then return x > y end
  x = ((a5 * 256 + a6) * 256 + a7) * 256 + a8
  y = ((b5 * 256 + b6) * 256 + b7) * 256 + b8
  return x > y
end

local function millis(t)
  local q, r = 0, 0
  for i = 1, 8 do
    r = r * 256 + t:byte(i)
    local d = math.floor(r / 1000000)
    q = q * 256 + d
    r = r - d * 1000000
  end
  if r > 0 then q = q + 1 end
  return string.format('%.0f', q)
end

local function withexpiry(h, t)
  return string.sub(h, 1, 2) .. t .. string.sub(h, 11)
end
`

// saveScript applies a delta (or, in put mode, a whole record) to the hash
// KEYS[1] atomically, following record.Apply.
//
//	ARGV[1] mode: "c" insert-if-absent, "u" update a live record, "p" put
//	ARGV[2] now, ARGV[3] new header with its expiry set or "" to keep the
//	stored one, ARGV[4] expiry, ARGV[5] two flags: its first byte "1" to
//	clear (every entry but the user binding, as record.Apply does; put
//	mode replaces everything), its second "1" to return the binding
//	stored before (the user index needs it when a write may change a
//	binding), ARGV[6] size limit, ARGV[7] number of keys to delete,
//	ARGV[8] the expiry in Unix milliseconds rounded up (for PEXPIREAT,
//	spared when it is the final one), then the keys to delete, then
//	key/value pairs to set (no key twice).
//
// It returns {code, size}, and {0, size, binding} when asked for the
// binding stored before and there was one. Entries past their own
// deadline are left in place; Load skips them. One HMGET reads the header, the size and the old
// values of the touched fields (their lengths keep the size exact): a
// redis.call costs more inside a script than copying a value of a record
// capped at the store's size limit, so one HMGET beats an HSTRLEN a key.
// In steady state that is three calls: HMGET, HSET and PEXPIREAT.
var saveScript = redis.NewScript(luaHelpers + `
local key = KEYS[1]
local mode, now, newh, exp = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local limit, ndel, expms = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]

-- The fields the delta touches, deletions first; one HMGET reads them
-- with the header and the size (in parts of 1000 for huge deltas).
local fields = {}
for i = 9, 8 + ndel do fields[#fields + 1] = 'k:' .. ARGV[i] end
for i = 9 + ndel, #ARGV - 1, 2 do fields[#fields + 1] = 'k:' .. ARGV[i] end
local nf = #fields
local stored
if nf <= 1000 then
  stored = redis.call('HMGET', key, 'h', 'n', unpack(fields))
else
  stored = redis.call('HMGET', key, 'h', 'n')
  for j = 1, nf, 1000 do
    local part = redis.call('HMGET', key, unpack(fields, j, math.min(j + 999, nf)))
    for x = 1, #part do stored[j + 1 + x] = part[x] end
  end
end
local cur = stored[1]
local live = cur and #cur >= 18 and later(string.sub(cur, 3, 10), now)
if mode == 'c' and live then return {1, 0} end
if mode == 'u' and not live then return {2, 0} end
local oldb = false
if string.sub(ARGV[5], 2, 2) == '1' then oldb = redis.call('HGET', key, 'k:' .. string.char(0) .. 'user') end
local function ok(size)
  if oldb then return {0, size, oldb} end
  return {0, size}
end

local h = newh
if h == '' then
  if not live then return {4, 0} end
  h = cur
  if later(exp, string.sub(cur, 3, 10)) then h = withexpiry(cur, exp) end
end
local final = string.sub(h, 3, 10)
if not later(final, now) then
  redis.call('DEL', key)
  return ok(0)
end

local clear = string.sub(ARGV[5], 1, 1) == '1'
local reset = mode == 'p' or clear or not live
local size = 18
if not reset then size = tonumber(stored[2]) or 18 end

local function varlen(x)
  local l = 1
  while x >= 128 do x = math.floor(x / 128); l = l + 1 end
  return l
end
-- esize is an entry's encoded size from its key and value lengths.
local function esize(kl, vl) return varlen(kl) + kl + varlen(vl) + vl end

-- known[f]: the length field f has now, as this script leaves it.
local known, dels, sets = {}, {}, {}

-- Clear keeps the user binding of a live record (record.Apply does):
-- it is written back after the DEL unless the delta sets or deletes it.
local bk = 'k:' .. string.char(0) .. 'user'
local keepb = false
if clear and live and mode ~= 'p' then
  keepb = redis.call('HGET', key, bk)
  if keepb then
    size = size + esize(#bk - 2, #keepb)
    known[bk] = #keepb
  end
end
local touchedb = false

for j = 1, nf do
  local f = fields[j]
  local l = known[f]
  if l == nil then
    l = 0
    if not reset and stored[j + 2] then l = #stored[j + 2] end
  end
  local kl = #f - 2
  if f == bk then touchedb = true end
  if l > 0 then size = size - esize(kl, l) end
  if j <= ndel then
    if l > 0 then dels[#dels + 1] = f end
    known[f] = 0
  else
    local v = ARGV[8 + ndel + 2 * (j - ndel)]
    size = size + esize(kl, #v)
    known[f] = #v
    sets[#sets + 1] = f
    sets[#sets + 1] = v
  end
end
if size > limit then return {3, size} end
if keepb and not touchedb then
  sets[#sets + 1] = bk
  sets[#sets + 1] = keepb
end

if reset then
  redis.call('DEL', key)
else
  for j = 1, #dels, 1000 do
    redis.call('HDEL', key, unpack(dels, j, math.min(j + 999, #dels)))
  end
end
if #sets <= 1000 then
  redis.call('HSET', key, 'h', h, 'n', size, unpack(sets))
else
  redis.call('HSET', key, 'h', h, 'n', size)
  for j = 1, #sets, 1000 do
    redis.call('HSET', key, unpack(sets, j, math.min(j + 999, #sets)))
  end
end
if final == exp then
  redis.call('PEXPIREAT', key, expms)
else
  redis.call('PEXPIREAT', key, millis(final))
end
return ok(size)
`)

// touchScript moves the deadline of the live record KEYS[1] to ARGV[2]
// (now is ARGV[1]) in its header and its TTL; it returns 1 when the
// record was live, 0 otherwise.
var touchScript = redis.NewScript(luaHelpers + `
local key, now, exp = KEYS[1], ARGV[1], ARGV[2]
local cur = redis.call('HGET', key, 'h')
if not cur or #cur < 18 or not later(string.sub(cur, 3, 10), now) then return 0 end
if not later(exp, now) then
  redis.call('DEL', key)
  return 1
end
redis.call('HSET', key, 'h', withexpiry(cur, exp))
redis.call('PEXPIREAT', key, millis(exp))
return 1
`)

// takeScript deletes the hash KEYS[1] and returns its fields as HGETALL
// does when its header says it is live at ARGV[1] (now); otherwise it
// returns false and deletes a hash whose header is missing, malformed or
// past its expiry. The caller rebuilds the record from the fields at the
// same now, so a hash the script judged live is never dropped on the way.
// It touches KEYS[1] alone, as Redis Cluster requires: Renew's old and new
// keys live in unrelated slots.
//
// A live record bound to a user leaves a taken mark in its place: a hash
// of the one field "t" (no header, so nothing reads it as a record) that
// expires after ARGV[2] milliseconds. While it is there, listing the
// user's sessions does not prune the index entry naming the key, which
// the Renew in flight is about to repoint to its new key.
var takeScript = redis.NewScript(luaHelpers + `
local key, now = KEYS[1], ARGV[1]
local fields = redis.call('HGETALL', key)
if #fields == 0 then return false end
local cur, bound
local bk = 'k:' .. string.char(0) .. 'user'
for i = 1, #fields, 2 do
  if fields[i] == 'h' then cur = fields[i + 1] elseif fields[i] == bk then bound = true end
end
redis.call('DEL', key)
if not cur or #cur < 18 or not later(string.sub(cur, 3, 10), now) then return false end
if bound then
  redis.call('HSET', key, 't', now)
  redis.call('PEXPIRE', key, ARGV[2])
end
return fields
`)

// delBoundScript deletes the live record KEYS[1] if its binding entry
// still holds ARGV[2] (now is ARGV[1]). It returns 1 when it deleted it,
// 0 when the record is missing or not live, 3 when a taken mark is there
// instead (a Renew took it), and 2 when it is live with another binding,
// or none.
var delBoundScript = redis.NewScript(luaHelpers + `
local key, now = KEYS[1], ARGV[1]
local v = redis.call('HMGET', key, 'h', 'k:' .. string.char(0) .. 'user', 't')
local cur = v[1]
if not cur or #cur < 18 or not later(string.sub(cur, 3, 10), now) then
  if v[3] then return 3 end
  return 0
end
if v[2] ~= ARGV[2] then return 2 end
redis.call('DEL', key)
return 1
`)

// unindexScript removes entries of the user index hash KEYS[1]: ARGV
// holds pairs of a handle and a session key, and the entry of the handle
// goes only if it still names that key. It returns {removed, moved}: the
// handles of the entries it removed, and, flat, the pairs of handle and
// key of the entries that name another key now.
var unindexScript = redis.NewScript(`
local removed, moved = {}, {}
for i = 1, #ARGV - 1, 2 do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    removed[#removed + 1] = ARGV[i]
  elseif v then
    moved[#moved + 1] = ARGV[i]
    moved[#moved + 1] = v
  end
end
return {removed, moved}
`)

// repointScript points the entry of handle ARGV[1] in the user index hash
// KEYS[1] to the session key ARGV[2] if there is an entry, and returns 1;
// without one it returns 0: the user's sessions were destroyed (or the
// entry pruned) since the record the binding comes from was read.
var repointScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
`)
