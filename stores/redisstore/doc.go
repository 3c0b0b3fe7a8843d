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
// [Store.Save] (of a record bound to no user) and [Store.TTL] are one
// round trip each.
// [Store.Iterate], [Store.Count] and [Store.Clear] walk the prefix with
// SCAN (never KEYS) on every master, pipelining their per-key commands.
// A Load, a delta that leaves the user binding alone, a Touch, a Take and
// a Delete cost the same single round trip on a bound session as on any
// other; the writes that change a binding are counted under "User index".
//
// # User index
//
// [Store] implements [core.UserStore] (log out everywhere, active
// devices). Each user with a bound session has one Redis hash under
// prefix+"u:"+user key ([record.UserKey], a hex SHA-256, so no user ID is
// kept in a key), mapping each session's handle to its session key. Its
// key is in another hash slot than the user's sessions, so on a cluster
// (CROSSSLOT) no script covers both: the order of the writes carries the
// guarantee that every live bound session has its entry. The same code
// runs on a single server, a cluster, a Ring or a failover group.
//
//   - A new session bound at its creation (a login: create with a new
//     binding) is written first, then indexed (HSET): its key reaches no
//     client before SaveDelta returns. If indexing fails, the record is
//     deleted and SaveDelta fails. 2 round trips.
//   - Binding a session that exists (SetUser on a live session) writes
//     the entry first, then the record. 2 round trips; 3 when it was bound
//     to another user or handle before, whose entry goes after the record
//     (only while it still names this key). Unbinding writes the record,
//     then removes the entry: 2. Clear keeps the stored binding, in the
//     script (as [record.Apply] does): 1. A delta that sets a binding
//     stamped already (generation not 0) on a live record adds its entry
//     first only if there is none (HSETNX: an entry a Renew repointed
//     meanwhile is kept): 2. [Store.Save] of a new binding writes its
//     entry before the record and again after it (a listing in between
//     may have pruned it): 3. Save of a binding stamped already (as a
//     Renew carries it) writes the record, then repoints the entry, or
//     deletes the record again and fails with [core.ErrSessionGone]
//     when the entry is gone: 2. Removing the entry of a
//     binding a write replaced is housekeeping: if it fails, the write
//     still succeeds, and the entry left names a record bound otherwise,
//     which reads skip and which is pruned once that record is gone.
//   - A new binding (generation 0) gets the generation 1 stamped into the
//     stored copy; the caller's delta is not modified.
//   - Renew: the Take of a bound record leaves a taken mark under the old
//     key (see [Store.Take]). The new record carrying the binding is
//     written, then a script on the user's hash repoints the entry to it
//     if the entry is still there; if it is not (the user's sessions were
//     destroyed meanwhile), the new record is deleted and SaveDelta fails
//     with an error matching [core.ErrSessionGone]. 2 round trips (3 when
//     refused), plus the Take's one.
//   - [Store.Delete] and expiry leave the entry behind, stale: a Delete is
//     one DEL, and removing the entry would need the record's binding
//     first. The hash has no TTL; stale entries stay until the user's
//     sessions are next listed or destroyed, which prune them. An entry
//     whose record is live is never pruned, whatever that record is bound
//     to (a bind may be in flight), nor one whose record carries a taken
//     mark: the Renew in flight would lose its session. A Renew that takes
//     longer than the mark lasts (a minute) between its two steps may be
//     refused if the user's sessions are listed meanwhile.
//
// [Store.UserSessions] is one HGETALL of the user's hash, one pipeline of
// HGETALLs of the sessions it names (on a cluster, one pipeline per
// master holding some of them) and, when stale entries were found, one
// script call pruning them: 2 round trips on a single server, 3 with
// pruning. Each record is checked against its binding: user, handle and
// expiry.
//
// [Store.DeleteUserSessions] is one HGETALL of the user's hash, one
// pipeline reading the header and binding of each session whose handle
// match accepts, one pipeline of single-key scripts each deleting a
// session only while it is live and still holds the binding read, and
// one script call removing the entries of the sessions deleted or found
// gone, each only while it names the key read: 4 round trips on a single
// server (on a cluster each pipeline is one per master holding some of
// the sessions), 1 when the user has no entry. An entry that a Renew in
// flight repointed to its new record meanwhile is followed: that record
// is read and deleted too, a round more, until no entry moves. Once it
// returns no session of the user whose handle match accepted is live,
// and a Renew carrying one's binding finds no entry and is refused. A
// device caught mid-Renew (a taken mark where its record was) is logged
// out that way and counted among the handles returned. Entries match
// rejects are not touched, stale or not.
//
// [Store.Clear] deletes the sessions first and then walks the index
// hashes, removing the entries whose records are gone, so that a login
// landing while Clear runs keeps its entry if it keeps its session.
//
// A session key of the form "u:" followed by 64 hex digits would share
// its Redis key with a user's index hash; core's keys (64 hex digits)
// never have that form.
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
