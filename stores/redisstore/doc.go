// Package redisstore is a sessionkit store backed by Redis through
// [github.com/redis/go-redis/v9]. It takes a [redis.UniversalClient], so one
// store serves a single server, a Sentinel-managed failover group, a Ring
// and a Redis Cluster alike.
//
// # Layout
//
// Each session is one Redis hash under the key prefix+key (default prefix
// "session:"). The hash has one field for the 18-byte record header, one
// field for the record's encoded size and one field per session entry,
// named "k:" followed by the entry's key, so no entry can collide with the
// bookkeeping fields. Because a session is a single Redis key, all of it
// lives in one hash slot and every operation on it is a single-key
// command or a single-key script, which works unchanged on a cluster
// whatever bytes the key holds (a '{' in a key only moves the session to
// another slot).
//
// The header keeps the exact expiry; the key's server-side TTL is set with
// PEXPIREAT to the same instant rounded up to the millisecond, so Redis
// removes dead sessions by itself and [Store.Cleanup] has nothing to do.
// An entry whose own deadline (core's per-key TTL) has passed stays in the
// hash until it is set again, deleted or its session ends; Load leaves it
// out, but it still counts towards the size limit ([WithMaxSize]) until
// then.
//
// The store needs Redis 6.0 or later (SCAN with TYPE); Valkey works too.
//
// # Round trips
//
// [Store.Load] is one HGETALL. [Store.SaveDelta] is one EVALSHA of a Lua
// script that applies the [record.Delta] rules atomically on the server
// (insert-if-absent, no resurrection, clear, set, delete, header replace
// or keep, an expiry that never shrinks when the header is kept); the
// script is sent in full (EVAL) only the first time a server has not seen
// it. [Store.Take] (Renew's delete-if-live that returns the old record)
// is one EVALSHA of a script on the old key alone, so it works on a
// cluster, where the old and new keys live in unrelated slots: of
// concurrent Takes of one session exactly one gets it. [Store.Touch],
// [Store.Save] and [Store.TTL] are one round trip each.
// [Store.Iterate], [Store.Count] and [Store.Clear] walk the prefix with
// SCAN (never KEYS) on every master, pipelining their per-key commands.
//
// # Timeouts
//
// Every method passes its context to go-redis. go-redis honours a
// context's deadline only when the client is built with
// ContextTimeoutEnabled set (or with read and write timeouts), so set it:
// then a request's deadline bounds every store call.
//
//	client := redis.NewUniversalClient(&redis.UniversalOptions{
//		Addrs:                 []string{"127.0.0.1:6379"},
//		ContextTimeoutEnabled: true,
//	})
//	store, err := redisstore.New(client)
//
// The store does not own the client: [Store.Close] stops the store from
// using it but leaves it open; close it yourself after the store.
package redisstore
