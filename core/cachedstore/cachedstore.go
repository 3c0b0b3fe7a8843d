package cachedstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// Store is a two-tier [core.Store]: a bounded in-process cache in front of
// a slower backing store (SQLite, Redis, Memcache, a remote server).
//
// Load serves a record from the cache when it holds a fresh copy and
// otherwise reads the backing store and keeps what it read. Save, SaveDelta,
// Touch and Delete go through to the backing store and then update or drop
// the cached copy, so this process never serves a value it has itself
// overwritten or deleted, even when a Load that read the old value is still
// in flight. Missing records are not cached.
//
// A cached copy is served until the earliest of:
//   - the record's own expiry (kept in its header), checked with the
//     store's clock (see [WithClock]);
//   - the staleness bound (see [WithMaxStale], default 5 seconds)
//     after the backing store was read. This is the price of the cache in
//     an app running several processes: a write or delete made by another
//     process is seen here at most that late. A shorter bound costs more
//     reads of the backing store; an app whose only writer is this process
//     can use a long one.
//
// The cache holds at most [WithMaxEntries] records (default 10,000)
// and about [WithMaxBytes] bytes (default 64 MiB), and evicts the
// least recently used records first. Evicting only costs a later read of
// the backing store; it never loses a session.
//
// Load hands every caller the cached slice itself: callers must not modify
// it (see [core.Store.Load]), and the cached store never does.
//
// Store implements every optional capability and passes each through
// honestly. SaveDelta, Touch and Take use the backing store's atomic
// operation when it has one and otherwise the manager's best-effort
// fallbacks (load, apply, save; load, delete). The cached store serializes
// the writes of one key within this process, so a fallback loses no update
// among its own callers (other processes can still interleave). TTL, Iterate, Count, Clear and Cleanup delegate to the
// backing store and return an error matching [core.ErrNotSupported] when it
// lacks the capability. Clear also empties the cache; Cleanup also drops
// the cached copies that can no longer be served.
//
// Close closes the backing store too (when it implements [io.Closer]),
// unless [WithCloseBacking](false) says that the caller keeps
// ownership of it.
//
// A Store is safe for concurrent use by multiple goroutines. It
// starts no goroutine.
type Store struct {
	backing      core.Store
	shards       []cacheShard
	mask         uint64
	seed         maphash.Seed
	maxStale     int64 // nanoseconds
	now          func() time.Time
	closeBacking bool

	// keyLocks serializes the writes of one key within this process, so
	// that a fallback (load, apply, save) loses no update among this
	// process's writers. Any backing store may need one: it may lack an
	// atomic delta, touch or take, or report ErrNotSupported for them at
	// run time, as a wrapper of a plainer store does.
	keyLocks []sync.Mutex

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var (
	_ core.DeltaStore   = (*Store)(nil)
	_ core.TakeStore    = (*Store)(nil)
	_ core.TouchStore   = (*Store)(nil)
	_ core.TTLStore     = (*Store)(nil)
	_ core.IterStore    = (*Store)(nil)
	_ core.CountStore   = (*Store)(nil)
	_ core.ClearStore   = (*Store)(nil)
	_ core.CleanupStore = (*Store)(nil)
	_ io.Closer         = (*Store)(nil)
)

const (
	// cacheStripes is the number of generation counters per shard; a write
	// bumps the one its key hashes to.
	cacheStripes = 64
	// cacheEntryOverhead approximates the memory an entry costs besides its
	// key and data (entry struct, map slot).
	cacheEntryOverhead = 128
	maxCacheShards     = 16
	keyLockCount       = 256
)

// cacheShard is one independent LRU: a map and an intrusive doubly linked
// list whose front is the most recently used entry.
type cacheShard struct {
	mu   sync.Mutex
	m    map[string]*cacheEntry
	list cacheEntry // sentinel: list.next is the front, list.prev the back

	// gens holds the write generations: a Load that missed inserts what it
	// read only if no write of a key of the same stripe completed since it
	// started, so it never caches a value a write has replaced.
	gens [cacheStripes]uint64

	n, maxN         int
	bytes, maxBytes int64

	hits, misses, evictions uint64
}

type cacheEntry struct {
	key      string
	data     []byte // never modified
	fetched  int64  // Unix nanoseconds when the backing store was read
	deadline int64  // Unix nanoseconds: the earlier of expiry and fetched+maxStale
	size     int64
	prev     *cacheEntry
	next     *cacheEntry
}

// Option configures a [Store]; see the With functions.
type Option func(*config)

type config struct {
	maxStale     time.Duration
	maxEntries   int
	maxBytes     int64
	now          func() time.Time
	closeBacking bool
}

// WithMaxStale sets the staleness bound: how long a cached copy may
// be served without reading the backing store again. Another process's
// write or delete is seen by this one at most d late, and so is a record
// that another process's touch shortened; this process's own writes are
// seen at once. d must be positive. Default: 5 seconds.
func WithMaxStale(d time.Duration) Option {
	return func(c *config) { c.maxStale = d }
}

// WithMaxEntries bounds the number of records the cache holds. Zero
// means no bound on the count (the byte bound still applies); n must not
// be negative. Default: 10,000.
func WithMaxEntries(n int) Option {
	return func(c *config) { c.maxEntries = n }
}

// WithMaxBytes bounds the memory the cache holds, counted as the
// keys and records plus a fixed overhead per entry; a record too large for
// the bound is never cached. Zero means no bound on the size; n must not
// be negative. Default: 64 MiB.
func WithMaxBytes(n int64) Option {
	return func(c *config) { c.maxBytes = n }
}

// WithClock sets the clock the cache checks record expiry and the
// staleness bound with; tests inject a fake one. now must not be nil.
// Default: [time.Now].
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithCloseBacking sets whether [Store.Close] also closes the
// backing store (when it implements [io.Closer]). Pass false when the
// backing store is shared and its owner closes it. Default: true, so that
// closing the cached store releases everything behind it.
func WithCloseBacking(close bool) Option {
	return func(c *config) { c.closeBacking = close }
}

// New returns a cached store in front of backing, which must not
// be nil. A bad option value is a programming error: New panics with a
// message naming the option and the value. The cached store takes ownership of backing unless
// [WithCloseBacking](false) is given.
func New(backing core.Store, opts ...Option) *Store {
	if backing == nil {
		panic("cachedstore: New(nil backing store)")
	}
	c := config{
		maxStale:     5 * time.Second,
		maxEntries:   10_000,
		maxBytes:     64 << 20,
		now:          time.Now,
		closeBacking: true,
	}
	for _, o := range opts {
		if o == nil {
			panic("cachedstore: New: nil Option")
		}
		o(&c)
	}
	switch {
	case c.maxStale <= 0:
		panic(fmt.Sprintf("cachedstore: WithMaxStale(%v): must be positive", c.maxStale))
	case c.maxEntries < 0:
		panic(fmt.Sprintf("cachedstore: WithMaxEntries(%d): must not be negative", c.maxEntries))
	case c.maxBytes < 0:
		panic(fmt.Sprintf("cachedstore: WithMaxBytes(%d): must not be negative", c.maxBytes))
	case c.now == nil:
		panic("cachedstore: WithClock(nil): must not be nil")
	}
	// Small bounds get fewer shards, down to one exact LRU, so that a
	// shard's share of the bound stays meaningful.
	n := maxCacheShards
	for n > 1 && ((c.maxEntries > 0 && c.maxEntries/n < 64) || (c.maxBytes > 0 && c.maxBytes/int64(n) < 1<<20)) {
		n /= 2
	}
	s := &Store{
		backing:      backing,
		shards:       make([]cacheShard, n),
		mask:         uint64(n - 1),
		seed:         maphash.MakeSeed(),
		maxStale:     int64(c.maxStale),
		now:          c.now,
		closeBacking: c.closeBacking,
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.m = make(map[string]*cacheEntry)
		sh.list.next, sh.list.prev = &sh.list, &sh.list
		// Split the bounds exactly: the first shards take the remainder.
		if c.maxEntries > 0 {
			sh.maxN = c.maxEntries / n
			if i < c.maxEntries%n {
				sh.maxN++
			}
		}
		if c.maxBytes > 0 {
			sh.maxBytes = c.maxBytes / int64(n)
			if int64(i) < c.maxBytes%int64(n) {
				sh.maxBytes++
			}
		}
	}
	s.keyLocks = make([]sync.Mutex, keyLockCount)
	return s
}

// Backing returns the store behind the cache.
func (c *Store) Backing() core.Store { return c.backing }

func (c *Store) begin(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cachedstore: %s: %w", op, err)
	}
	if c.closed.Load() {
		return fmt.Errorf("cachedstore: %s: %w", op, core.ErrClosed)
	}
	return nil
}

func (c *Store) hash(key string) uint64 { return maphash.String(c.seed, key) }

func (c *Store) shardOf(h uint64) *cacheShard { return &c.shards[h&c.mask] }

func stripeOf(h uint64) int { return int(h>>32) % cacheStripes }

// Load returns the record under key, from the cache when it holds a copy
// that is live and fresh, and otherwise from the backing store. The
// returned slice may be shared with other callers and must not be modified.
func (c *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := c.begin(ctx, "load"); err != nil {
		return nil, false, err
	}
	h := c.hash(key)
	sh := c.shardOf(h)
	stripe := stripeOf(h)
	start := c.now().UnixNano()
	sh.mu.Lock()
	if e := sh.m[key]; e != nil {
		if start < e.deadline {
			sh.moveToFront(e)
			sh.hits++
			data := e.data
			sh.mu.Unlock()
			return data, true, nil
		}
		sh.remove(e)
	}
	sh.misses++
	gen := sh.gens[stripe]
	sh.mu.Unlock()

	data, found, err := c.backing.Load(ctx, key)
	if err != nil || !found {
		return nil, false, err
	}
	if !record.Live(data, c.now()) {
		return nil, false, nil
	}
	if e := c.newEntry(key, data, start); e != nil {
		sh.mu.Lock()
		if sh.gens[stripe] == gen {
			c.put(sh, e)
		}
		sh.mu.Unlock()
	}
	return data, true, nil
}

// newEntry returns an entry for data read from the backing store at
// fetched, or nil when data cannot be served or not kept.
func (c *Store) newEntry(key string, data []byte, fetched int64) *cacheEntry {
	exp, err := record.Expiry(data)
	if err != nil {
		return nil
	}
	deadline := min(exp.UnixNano(), fetched+c.maxStale)
	if exp.IsZero() || deadline <= c.now().UnixNano() {
		return nil
	}
	return &cacheEntry{
		key:      key,
		data:     data,
		fetched:  fetched,
		deadline: deadline,
		size:     int64(len(key)+len(data)) + cacheEntryOverhead,
	}
}

// put inserts e, replacing an older copy of its key, and evicts from the
// back until the shard is within its bounds. The shard must be locked.
func (c *Store) put(sh *cacheShard, e *cacheEntry) {
	if c.closed.Load() || (sh.maxBytes > 0 && e.size > sh.maxBytes) {
		return
	}
	if old := sh.m[e.key]; old != nil {
		if old.fetched > e.fetched {
			return // a copy read later is already there
		}
		sh.remove(old)
	}
	sh.m[e.key] = e
	e.prev, e.next = &sh.list, sh.list.next
	e.next.prev = e
	sh.list.next = e
	sh.n++
	sh.bytes += e.size
	for (sh.maxN > 0 && sh.n > sh.maxN) || (sh.maxBytes > 0 && sh.bytes > sh.maxBytes) {
		sh.remove(sh.list.prev)
		sh.evictions++
	}
}

func (sh *cacheShard) moveToFront(e *cacheEntry) {
	if sh.list.next == e {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = &sh.list, sh.list.next
	e.next.prev = e
	sh.list.next = e
}

func (sh *cacheShard) remove(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	delete(sh.m, e.key)
	sh.n--
	sh.bytes -= e.size
}

// reset empties the shard and bumps every generation, so that no Load in
// flight inserts what it read before. The shard must be locked.
func (sh *cacheShard) reset() {
	clear(sh.m)
	sh.list.next, sh.list.prev = &sh.list, &sh.list
	sh.n, sh.bytes = 0, 0
	for i := range sh.gens {
		sh.gens[i]++
	}
}

// cacheWrite is one write in progress: where its key lives in the cache,
// the generation seen when it started and the key lock it holds, if any.
type cacheWrite struct {
	key    string
	sh     *cacheShard
	stripe int
	gen    uint64
	start  int64
	lock   *sync.Mutex
}

func (c *Store) beginWrite(key string) cacheWrite {
	h := c.hash(key)
	w := cacheWrite{key: key, sh: c.shardOf(h), stripe: stripeOf(h), start: c.now().UnixNano()}
	w.lock = &c.keyLocks[h>>56%keyLockCount]
	w.lock.Lock()
	w.sh.mu.Lock()
	w.gen = w.sh.gens[w.stripe]
	w.sh.mu.Unlock()
	return w
}

// endWrite drops the cached copy of the key and bumps its generation. When
// no other write of the stripe completed since w began, replace (if not
// nil) may return the new copy to keep: of overlapping writes only the
// first to finish may, and the later ones drop it again, so the cache
// never keeps a copy older than the backing store's.
func (c *Store) endWrite(w cacheWrite, replace func(old *cacheEntry) *cacheEntry) {
	sh := w.sh
	sh.mu.Lock()
	old := sh.m[w.key]
	var e *cacheEntry
	if replace != nil && sh.gens[w.stripe] == w.gen {
		e = replace(old)
	}
	if old != nil {
		sh.remove(old)
	}
	sh.gens[w.stripe]++
	if e != nil {
		c.put(sh, e)
	}
	sh.mu.Unlock()
	if w.lock != nil {
		w.lock.Unlock()
	}
}

// Save stores data under key in the backing store and keeps a copy of it
// in the cache. Bytes that are not a record are refused with an error
// matching [core.ErrCorrupt], whatever the backing store would do with them.
func (c *Store) Save(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := c.begin(ctx, "save"); err != nil {
		return err
	}
	if err := record.Check(data); err != nil {
		return fmt.Errorf("cachedstore: save: %w", err)
	}
	w := c.beginWrite(key)
	err := c.backing.Save(ctx, key, data, expiry)
	var e *cacheEntry
	// A record whose header disagrees with expiry is not kept: the backing
	// store may report either.
	// Nor is a new binding, whose generation the backing store stamps
	// (see core.UserStore).
	b, bound, berr := record.FindBinding(data)
	newBinding := berr != nil || (bound && b.Gen == 0)
	if exp, xerr := record.Expiry(data); err == nil && xerr == nil && exp.Equal(expiry) && !newBinding {
		e = c.newEntry(key, bytes.Clone(data), w.start)
	}
	c.endWrite(w, func(*cacheEntry) *cacheEntry { return e })
	return err
}

// SaveDelta applies d to the record under key in the backing store, with
// its atomic [core.DeltaStore.SaveDelta] when it has one and otherwise with the
// fallback of load, [record.Apply], save (serialized per key within this process), then
// applies it to the cached copy (a new session is cached as written). A
// failed save drops the cached copy.
func (c *Store) SaveDelta(ctx context.Context, key string, d *record.Delta) error {
	if err := c.begin(ctx, "save delta"); err != nil {
		return err
	}
	w := c.beginWrite(key)
	err := c.backingSaveDelta(ctx, key, d)
	var patch func(*cacheEntry) *cacheEntry
	// A delta that binds the record to a user is not applied to the cached
	// copy: the backing store stamps the binding's generation (see
	// core.UserStore), which the copy would lack, so the next Load reads
	// the record as stored.
	_, bound, changed, berr := record.DeltaBinding(d)
	if err == nil && !(berr == nil && changed && bound) {
		// The backing store now holds the delta applied to what it had.
		// Applied to the cached copy it gives the same record unless
		// another process wrote in between, which the copy may miss for
		// as long as any cached copy may: it keeps the age of the read it
		// came from. A new session is what was just written.
		patch = func(old *cacheEntry) *cacheEntry {
			now := c.now()
			fetched := now.UnixNano()
			var base []byte
			if old != nil {
				if now.UnixNano() >= old.deadline {
					return nil
				}
				base, fetched = old.data, old.fetched
			} else if !d.Create {
				return nil
			}
			data, _, err := record.Apply(base, base != nil, d, now)
			if err != nil {
				return nil
			}
			return c.newEntry(w.key, data, fetched)
		}
	}
	c.endWrite(w, patch)
	return err
}

// Touch moves the deadline of the record under key in the backing store,
// with its [core.TouchStore.Touch] when it has one and otherwise with the
// fallback of load, patch the header, save, and moves the deadline of the cached copy too.
// Touching a missing key is a no-op.
func (c *Store) Touch(ctx context.Context, key string, expiry time.Time) error {
	if err := c.begin(ctx, "touch"); err != nil {
		return err
	}
	w := c.beginWrite(key)
	err := c.backingTouch(ctx, key, expiry)
	var patch func(*cacheEntry) *cacheEntry
	if err == nil {
		patch = func(old *cacheEntry) *cacheEntry {
			// Only a copy that can still be served is patched: touching
			// an expired record is a no-op in the backing store too.
			if old == nil || c.now().UnixNano() >= old.deadline {
				return nil
			}
			data := bytes.Clone(old.data)
			if record.SetExpiry(data, expiry) != nil {
				return nil
			}
			// The copy is as old as the read it came from.
			return c.newEntry(w.key, data, old.fetched)
		}
	}
	c.endWrite(w, patch)
	return err
}

// Delete removes the record under key from the backing store and the
// cache. Deleting a missing key is a no-op.
func (c *Store) Delete(ctx context.Context, key string) error {
	if err := c.begin(ctx, "delete"); err != nil {
		return err
	}
	w := c.beginWrite(key)
	err := c.backing.Delete(ctx, key)
	c.endWrite(w, nil)
	return err
}

// Take takes the record under key from the backing store, with its
// atomic [core.TakeStore.Take] when it has one (so the take is as atomic as the
// backing store makes it, across processes too) and otherwise with the
// best-effort fallback of load, then delete, and drops the cached copy. The cached
// copy is never what is returned: another instance may have deleted the
// record meanwhile.
func (c *Store) Take(ctx context.Context, key string) ([]byte, bool, error) {
	if err := c.begin(ctx, "take"); err != nil {
		return nil, false, err
	}
	w := c.beginWrite(key)
	data, found, err := c.backingTake(ctx, key)
	c.endWrite(w, nil)
	return data, found, err
}

// TTL returns the backing store's [core.TTLStore.TTL], or an error matching
// [core.ErrNotSupported] when it has none (so that the manager falls back to
// reading the record's header).
func (c *Store) TTL(ctx context.Context, key string) (time.Duration, bool, error) {
	if err := c.begin(ctx, "ttl"); err != nil {
		return 0, false, err
	}
	if ts, ok := c.backing.(core.TTLStore); ok {
		return ts.TTL(ctx, key)
	}
	return 0, false, notSupported(c.backing, "ttl")
}

// Iterate calls fn for each live record of the backing store, or returns
// an error matching [core.ErrNotSupported] when it cannot iterate. It neither
// reads nor fills the cache.
func (c *Store) Iterate(ctx context.Context, fn func(key string, data []byte) bool) error {
	if err := c.begin(ctx, "iterate"); err != nil {
		return err
	}
	if is, ok := c.backing.(core.IterStore); ok {
		return is.Iterate(ctx, fn)
	}
	return notSupported(c.backing, "iterate")
}

// Count returns the number of live records of the backing store, or an
// error matching [core.ErrNotSupported] when it cannot count.
func (c *Store) Count(ctx context.Context) (int, error) {
	if err := c.begin(ctx, "count"); err != nil {
		return 0, err
	}
	if cs, ok := c.backing.(core.CountStore); ok {
		return cs.Count(ctx)
	}
	return 0, notSupported(c.backing, "count")
}

// Clear deletes every record of the backing store, or returns an error
// matching [core.ErrNotSupported] when it cannot. It empties the cache in
// either case.
func (c *Store) Clear(ctx context.Context) error {
	if err := c.begin(ctx, "clear"); err != nil {
		return err
	}
	err := notSupported(c.backing, "clear")
	if cs, ok := c.backing.(core.ClearStore); ok {
		err = cs.Clear(ctx)
	}
	c.dropAll()
	return err
}

func (c *Store) dropAll() {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.reset()
		sh.mu.Unlock()
	}
}

// Cleanup removes the expired records of the backing store, or returns an
// error matching [core.ErrNotSupported] when it cannot, and reports how many it
// removed. It also drops the cached copies that expired or went stale.
func (c *Store) Cleanup(ctx context.Context) (int, error) {
	if err := c.begin(ctx, "cleanup"); err != nil {
		return 0, err
	}
	n, err := 0, notSupported(c.backing, "cleanup")
	if cs, ok := c.backing.(core.CleanupStore); ok {
		n, err = cs.Cleanup(ctx)
	}
	now := c.now().UnixNano()
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for e := sh.list.next; e != &sh.list; {
			next := e.next
			if now >= e.deadline {
				sh.remove(e)
			}
			e = next
		}
		sh.mu.Unlock()
	}
	return n, err
}

// Close empties the cache and, unless [WithCloseBacking](false) was
// given, closes the backing store when it implements [io.Closer],
// returning its error. Afterwards every method returns an error matching
// [core.ErrClosed]. Calling Close again returns the first call's result.
func (c *Store) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.dropAll()
		if cl, ok := c.backing.(io.Closer); ok && c.closeBacking {
			c.closeErr = cl.Close()
		}
	})
	return c.closeErr
}

// Stats is a snapshot of a [Store]'s cache: what it holds and
// how it has served loads since it was made.
type Stats struct {
	// Entries and Bytes are what the cache holds now (Bytes as counted by
	// the byte bound).
	Entries int
	Bytes   int64
	// Hits counts loads served from the cache, Misses loads that read the
	// backing store, Evictions copies dropped to stay within the bounds.
	Hits, Misses, Evictions uint64
}

// Stats returns a snapshot of the cache's counters.
func (c *Store) Stats() Stats {
	var s Stats
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		s.Entries += sh.n
		s.Bytes += sh.bytes
		s.Hits += sh.hits
		s.Misses += sh.misses
		s.Evictions += sh.evictions
		sh.mu.Unlock()
	}
	return s
}

// notSupported is the error of a capability the backing store lacks.
func notSupported(backing core.Store, op string) error {
	return fmt.Errorf("cachedstore: backing store %T: %s: %w", backing, op, core.ErrNotSupported)
}

// backingSaveDelta applies d in the backing store: with its atomic
// SaveDelta when it has one, otherwise by load, [record.Apply], save, which
// the caller's per-key write serializes within this process.
func (c *Store) backingSaveDelta(ctx context.Context, key string, d *record.Delta) error {
	if ds, ok := c.backing.(core.DeltaStore); ok {
		err := ds.SaveDelta(ctx, key, d)
		if !errors.Is(err, core.ErrNotSupported) {
			return err
		}
	}
	old, found, err := c.backing.Load(ctx, key)
	if err != nil {
		return err
	}
	data, expiry, err := record.Apply(old, found, d, c.now())
	if err != nil {
		return err
	}
	return c.backing.Save(ctx, key, data, expiry)
}

// backingTouch moves the deadline in the backing store: with its Touch
// when it has one, otherwise by rewriting the record with its header's
// expiry patched.
func (c *Store) backingTouch(ctx context.Context, key string, expiry time.Time) error {
	if ts, ok := c.backing.(core.TouchStore); ok {
		err := ts.Touch(ctx, key, expiry)
		if !errors.Is(err, core.ErrNotSupported) {
			return err
		}
	}
	data, found, err := c.backing.Load(ctx, key)
	if err != nil || !found {
		return err
	}
	data = bytes.Clone(data)
	if err := record.SetExpiry(data, expiry); err != nil {
		return err
	}
	return c.backing.Save(ctx, key, data, expiry)
}

// backingTake takes the record from the backing store: atomically with
// its Take when it has one, otherwise best-effort, load then delete.
func (c *Store) backingTake(ctx context.Context, key string) ([]byte, bool, error) {
	if ts, ok := c.backing.(core.TakeStore); ok {
		data, found, err := ts.Take(ctx, key)
		if !errors.Is(err, core.ErrNotSupported) {
			return data, found, err
		}
	}
	data, found, err := c.backing.Load(ctx, key)
	if err != nil || !found || !record.Live(data, c.now()) {
		return nil, false, err
	}
	data = bytes.Clone(data)
	if err := c.backing.Delete(ctx, key); err != nil {
		return nil, false, err
	}
	return data, true, nil
}
