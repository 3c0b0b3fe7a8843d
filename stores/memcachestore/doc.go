// Package memcachestore keeps sessionkit sessions in memcached, through
// the [github.com/bradfitz/gomemcache/memcache] client.
//
//	client := memcache.New("10.0.0.1:11211", "10.0.0.2:11211")
//	client.Timeout = 200 * time.Millisecond
//	store, err := memcachestore.New(client, memcachestore.WithPrefix("myapp:"))
//
// Each session is one memcached item holding the whole encoded record.
// The caller owns the client: [Store.Close] only makes later calls fail
// with core.ErrClosed.
//
// # Timeouts and contexts
//
// gomemcache takes no context. Every call the store makes is bounded by
// the client's Timeout field instead (gomemcache's default is 500 ms, per
// connect and per read or write); set it to what a request may wait. The
// store still checks the context before each call to the server and
// between compare-and-swap retries, so a done context never reaches the
// server, but a call already sent runs to completion or to the timeout.
//
// # Keys
//
// Items are named prefix + key (default prefix "session:"). memcached keys
// are at most 250 bytes with no spaces or control characters, so a key
// that is long or contains anything but ASCII letters, digits and "-_.:"
// is replaced by "#" and the hex SHA-256 of the key. Plain keys never
// contain "#", so two different keys never share an item. The hex keys
// core passes are always plain.
//
// # Expiry
//
// Each item gets memcached's own expiration, rounded up to the second
// plus two seconds, because memcached's clock ticks once a second and may
// lag: a relative number of seconds up to 30 days, and an absolute Unix
// time beyond, since memcached reads larger numbers that way. The exact
// deadline lives in the record header; Load checks it, so a record is
// never returned after its deadline even while memcached still holds it.
//
// # Atomic updates
//
// SaveDelta and Touch read the item with gets and write it back with cas
// (add when there was no item), starting over after a short random backoff
// when another writer got in between, at most [WithMaxCASRetries] times;
// then they fail with [ErrContention]. Take (Renew's delete-if-live that
// returns the old record) reads with gets and cas-es the item to an empty
// value that memcached stores already expired (exptime -1), because the
// text protocol's delete takes no CAS token: of concurrent Takes exactly
// one wins, and what it leaves is a miss to every later command, so a
// SaveDelta without Create cannot bring the session back. Load and TTL
// take one round trip, SaveDelta, Touch and Take two when uncontended
// (for sessions bound to a user, see "Users" below).
//
// # Users: log out everywhere
//
// The store implements core.UserStore ([core.Manager.UserSessions],
// DestroyUserSessions and DestroySession). Each user with a bound session
// has one item, named prefix, "!" and the user key (record.UserKey: the
// hex SHA-256 of the user ID, never the ID itself), that holds a random
// 64-bit generation and one entry per session: its handle, its store key
// and when the entry was written. The item has no expiration; memcached
// keeps it until it evicts it, and since every bound Load reads it an
// active user's item stays recent in memcached's LRU.
//
// memcached may evict any item, the user's item included, so the item
// cannot merely index the sessions: it decides which are valid. A record
// bound to a user is a valid session only while the user's item exists,
// holds the generation stamped into the record when it was bound
// (record.Binding.Gen), and lists the record's handle under its key.
// Load, TTL and Take return nothing else (found == false), and core then
// starts a fresh session. Therefore:
//
//   - Eviction of a user's item logs that user out everywhere, at once:
//     the store fails closed. So does an item whose bytes do not parse.
//     The next login makes a new item with a new random generation
//     (random, not counted, so that it never repeats the evicted one's), so
//     the sessions stamped before stay invalid for good.
//   - Loading a bound session costs a second round trip, the get of the
//     user's item; so do TTL and Take of one. Unbound sessions cost
//     nothing more than without the index.
//   - DestroyUserSessions removes the matching entries from the item with
//     one compare-and-swap: from then on those sessions are invalid, a
//     request in flight cannot save them back (their records are gone,
//     or invalid if the delete failed) and a Renew carrying one's binding
//     fails with core.ErrSessionGone. Then it deletes their records, best
//     effort: they are invalid already.
//
// What the store honours: the listing is exact while the item lives; once
// it is evicted the listing is empty, which is then the truth, since no
// session of the user is valid. The count DestroyUserSessions returns is
// the number of removed handles that named a valid live session when the
// item was read; a device that renews or logs out at the same moment may
// be missing from the count, never from the logout. With no item it is 0,
// and DestroySession reports core.ErrSessionGone: every session of the
// user is logged out already. except is honoured: the excepted entries
// stay in the item and their sessions stay valid.
//
// How writes keep the item: a new binding (generation 0) adds its entry,
// creating the item if needed, before the record is written, stamped with
// the item's generation. A Renew's create carrying a binding repoints its
// entry to the new key first, and fails with core.ErrSessionGone, writing
// nothing, unless the item still holds the binding's generation and
// handle. Unbinding or rebinding a record first checks that it is still
// valid, and fails with core.ErrSessionGone otherwise, so that a session
// logged out (by an eviction, say) cannot come back unbound or bound to
// another user; the old entry is removed after the record is written. A
// binding that races DestroyUserSessions of the same user may end
// invalid, that is logged out: never the other way round.
//
// Logging out (Delete) and expiry leave the session's entry behind.
// Listing drops entries older than five minutes (a younger one may
// belong to a write in flight; the margin allows for clock skew between
// application servers) whose record is missing, expired or bound
// otherwise, and so does a new binding once the item holds 32 entries,
// at the cost of one multi-get. An entry whose record is live and
// unbound is kept: it may be a bind in flight. An entry takes 97 bytes
// with core's keys and handles (about 10,000 sessions of one user fit in
// memcached's default 1 MiB); an item larger than [WithMaxItemSize]
// fails the login with core.ErrTooLarge.
//
// Round trips, uncontended: Load and TTL 1 for an unbound session, 2 for
// a bound one; Save 1 (3 for a new binding); SaveDelta and Touch 2; Take
// 2 (3 when bound); a create with a new binding 4 (5 when the item holds
// 32 entries or more), a Renew's create carrying the binding 4 (so a
// bound Renew costs 7 with its Take), binding an existing record 4,
// unbinding 5, rebinding 7; UserSessions 2 (1 with no item, 3 when it
// prunes); DestroyUserSessions 3 plus one per session deleted. A
// multi-get takes one round trip per server, in parallel.
//
// # What memcached cannot do
//
// memcached cannot list keys or report an item's expiry. TTL is answered
// from the expiry kept in the record header. Iterate, Count and Clear
// return an error matching core.ErrNotSupported (Clear does not flush the
// servers, which may hold other data). Cleanup returns 0: the servers drop
// expired items themselves. memcached is a cache: under memory pressure it
// evicts items, which logs their users out (a user's item: every session
// of that user, see above), so give it room.
//
// # Failures
//
// A server that is down or unreachable is an error from every call for
// the keys it holds, never a missing session; keys on the other servers
// of the client keep working (gomemcache does not move keys to another
// server). A user's item and that user's records may sit on different
// servers: while the item's server is down, loading any bound session of
// that user is an error too, and binding, listing and destroying them
// fail. When the server comes back empty, its sessions are simply not
// found, and the users whose items it held are logged out everywhere. After a restart, the first call over each idle connection the
// client pooled before may fail once.
//
// Records larger than [WithMaxItemSize] (default 1 MiB, memcached's
// default item limit) fail with core.ErrTooLarge before reaching the
// server; so does a record the server refuses as too large for its own
// limit.
package memcachestore
