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
// take one round trip, SaveDelta, Touch and Take two when uncontended.
//
// # What memcached cannot do
//
// memcached cannot list keys or report an item's expiry. TTL is answered
// from the expiry kept in the record header. Iterate, Count and Clear
// return an error matching core.ErrNotSupported (Clear does not flush the
// servers, which may hold other data). Cleanup returns 0: the servers drop
// expired items themselves. memcached is a cache: under memory pressure it
// evicts items, which logs their users out, so give it room.
//
// # Failures
//
// A server that is down or unreachable is an error from every call for
// the keys it holds, never a missing session; keys on the other servers
// of the client keep working (gomemcache does not move keys to another
// server). When the server comes back empty, its sessions are simply not
// found. After a restart, the first call over each idle connection the
// client pooled before may fail once.
//
// Records larger than [WithMaxItemSize] (default 1 MiB, memcached's
// default item limit) fail with core.ErrTooLarge before reaching the
// server; so does a record the server refuses as too large for its own
// limit.
package memcachestore
