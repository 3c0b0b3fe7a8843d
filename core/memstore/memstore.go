package memstore

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// Store is a [core.Store] that keeps records in the process's memory, in
// a map split into shards with a lock each. It implements every optional
// capability: [core.DeltaStore], [core.TakeStore], [core.TouchStore],
// [core.TTLStore], [core.IterStore], [core.CountStore], [core.ClearStore],
// [core.CleanupStore], [core.UserStore] and [io.Closer].
//
// Records never leave the process: they are lost on restart and not shared
// between instances of an app, so the memory store suits development,
// tests and single-instance deployments.
//
// Load returns the store's own slice without copying; the store never
// modifies a slice it has handed out (Save copies once, Touch and SaveDelta
// build a new slice), so callers must not modify it either.
//
// Bounded by [WithMaxEntries], the store evicts the sessions closest
// to their expiry first, logged-in or not: a flood of anonymous sessions
// evicts idle logged-in users; see there.
//
// A background goroutine started by [New] removes expired
// records (see [WithCleanupInterval]); [Store.Close] stops it.
//
// A Store is safe for concurrent use by multiple goroutines.
type Store struct {
	shards     []memShard
	mask       uint64
	seed       maphash.Seed
	maxEntries int
	maxSize    int
	now        func() time.Time

	n       atomic.Int64 // entries held, live or not yet swept
	evictMu sync.Mutex   // one eviction at a time

	idx userIndex

	closed    atomic.Bool
	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
}

type memShard struct {
	mu sync.RWMutex
	m  map[string]memEntry
	_  [32]byte // pads the shard to 64 bytes: neighbouring locks stay off one cache line
}

type memEntry struct {
	data   []byte // never modified once stored
	expiry int64  // Unix nanoseconds
}

// Option configures a [Store]; see the With functions.
type Option func(*config)

type config struct {
	shards     int
	interval   time.Duration
	maxEntries int
	maxSize    int // 0: no limit
	maxSizeSet bool
	now        func() time.Time
}

// WithCleanupInterval sets how often the background goroutine removes
// expired records. Expired records are never returned whatever the
// interval; sweeping only frees their memory. Zero starts no goroutine
// (call [Store.Cleanup] yourself); d must not be negative. Default: 1
// minute.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) { c.interval = d }
}

// WithMaxEntries bounds the number of records the store holds. When a
// new key would exceed n, the store first drops expired records and then
// evicts the live records closest to their expiry, about 1% of n at a time
// so that the cost of finding them is shared by many saves. Evicting a
// record logs its user out. Zero means no bound; n must not be negative.
// Default: no bound.
//
// Which sessions go first: the store orders by the expiry the manager
// saved, nothing else; it does not read the records, so it cannot tell a
// logged-in user's session from an anonymous one. With one idle timeout
// for all, a session's expiry is its last save or touch plus that timeout
// (capped by its lifetime), so eviction is close to least recently
// written first: idle sessions go before busy ones, sessions near the end
// of their lifetime early, remember-me sessions (a much later expiry)
// last. The record just saved has the latest expiry and stays.
//
// So a flood of new sessions pushes out logged-in users: after n anonymous
// requests that each create a session, only the sessions whose expiry is
// later than the flood's remain (remember-me ones, and those written
// during the flood); every other user is logged out, the idle ones first,
// while the flood's own sessions stay. Each eviction round also scans and
// sorts every record. An app facing the internet should create no session
// for anonymous visitors (keep what they need, such as a CSRF token, in a
// cookie), or size n for the flood it must survive.
func WithMaxEntries(n int) Option {
	return func(c *config) { c.maxEntries = n }
}

// WithMaxRecordSize makes Save and SaveDelta refuse, with an error
// matching [core.ErrTooLarge], a record of more than n bytes; n must be
// positive. Default: no limit.
func WithMaxRecordSize(n int) Option {
	return func(c *config) { c.maxSize, c.maxSizeSet = n, true }
}

// WithShards sets the number of shards, each a map with its own lock;
// it is rounded up to a power of two. More shards mean less contention
// between goroutines saving different sessions. n must be between 1 and
// 65,536. Default: 64.
func WithShards(n int) Option {
	return func(c *config) { c.shards = n }
}

// WithClock sets the clock the store judges expiry by. Every store judges
// by its own clock (the manager's [core.WithClock] does not reach it), so a
// test that moves the manager's clock moves the store's with this option.
// Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// maxShards bounds [WithShards].
const maxShards = 1 << 16

// New returns an empty memory store and starts its cleanup goroutine;
// call [Store.Close] to stop it. A bad option value is a programming
// error: New panics with a message naming the option and the value.
func New(opts ...Option) *Store {
	c := config{shards: 64, interval: time.Minute, now: time.Now}
	for _, o := range opts {
		if o == nil {
			panic("memstore: New: nil Option")
		}
		o(&c)
	}
	switch {
	case c.interval < 0:
		panic(fmt.Sprintf("memstore: WithCleanupInterval(%v): must not be negative", c.interval))
	case c.maxEntries < 0:
		panic(fmt.Sprintf("memstore: WithMaxEntries(%d): must not be negative", c.maxEntries))
	case c.maxSizeSet && c.maxSize <= 0:
		panic(fmt.Sprintf("memstore: WithMaxRecordSize(%d): must be positive", c.maxSize))
	case c.shards < 1 || c.shards > maxShards:
		panic(fmt.Sprintf("memstore: WithShards(%d): must be between 1 and %d", c.shards, maxShards))
	case c.now == nil:
		panic("memstore: WithClock(nil): must not be nil")
	}

	n := 1
	for n < c.shards {
		n <<= 1
	}
	s := &Store{
		shards:     make([]memShard, n),
		mask:       uint64(n - 1),
		seed:       maphash.MakeSeed(),
		maxEntries: c.maxEntries,
		maxSize:    c.maxSize,
		now:        c.now,
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	for i := range s.shards {
		s.shards[i].m = make(map[string]memEntry)
	}
	s.idx.m = make(map[string]map[string]indexEntry)
	if c.interval > 0 {
		go s.sweep(c.interval)
	} else {
		close(s.done)
	}
	return s
}

var (
	_ core.DeltaStore   = (*Store)(nil)
	_ core.TakeStore    = (*Store)(nil)
	_ io.Closer         = (*Store)(nil)
	_ core.TouchStore   = (*Store)(nil)
	_ core.TTLStore     = (*Store)(nil)
	_ core.IterStore    = (*Store)(nil)
	_ core.CountStore   = (*Store)(nil)
	_ core.ClearStore   = (*Store)(nil)
	_ core.CleanupStore = (*Store)(nil)
	_ core.UserStore    = (*Store)(nil)
)

func (s *Store) sweep(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.removeExpired(s.now().UnixNano())
		}
	}
}

// Close stops the cleanup goroutine and waits for it to exit. Afterwards
// every method returns an error matching [core.ErrClosed]. Close always returns
// nil and may be called more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.stop)
	})
	<-s.done
	return nil
}

// begin reports why an operation must not run: a done context or a closed
// store.
func (s *Store) begin(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %s: %w", op, err)
	}
	if s.closed.Load() {
		return fmt.Errorf("memstore: %s: %w", op, core.ErrClosed)
	}
	return nil
}

func (s *Store) shard(key string) *memShard {
	return &s.shards[maphash.String(s.seed, key)&s.mask]
}

func (s *Store) tooLarge(n int) error {
	if s.maxSize > 0 && n > s.maxSize {
		return fmt.Errorf("memstore: record of %d bytes exceeds the limit of %d bytes: %w", n, s.maxSize, core.ErrTooLarge)
	}
	return nil
}

// live reports whether e is a record that has not expired at now (Unix
// nanoseconds). It checks the header too, so that a record whose stored
// deadline disagrees with its data is never returned past either.
func (e memEntry) live(now int64) bool {
	if e.expiry <= now {
		return false
	}
	exp, err := record.Expiry(e.data)
	return err == nil && exp.UnixNano() > now
}

// Load returns the record under key. The returned slice is the store's own
// and must not be modified.
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.begin(ctx, "load"); err != nil {
		return nil, false, err
	}
	sh := s.shard(key)
	sh.mu.RLock()
	e, ok := sh.m[key]
	sh.mu.RUnlock()
	if !ok || !e.live(s.now().UnixNano()) {
		return nil, false, nil
	}
	return e.data, true, nil
}

// Save stores a copy of data under key until expiry. Saving a record whose
// expiry has already passed deletes the key. Bytes that are not a record
// are refused with an error matching [core.ErrCorrupt].
func (s *Store) Save(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := s.begin(ctx, "save"); err != nil {
		return err
	}
	if err := record.Check(data); err != nil {
		return fmt.Errorf("memstore: save: %w", err)
	}
	if err := s.tooLarge(len(data)); err != nil {
		return err
	}
	exp := expiry.UnixNano()
	if exp <= s.now().UnixNano() {
		s.remove(key)
		return nil
	}
	data = bytes.Clone(data)
	b, bound, err := record.FindBinding(data)
	if err != nil {
		return fmt.Errorf("memstore: save: %w", err)
	}
	if !bound {
		if old, existed := s.put(key, memEntry{data: data, expiry: exp}); existed {
			s.unindex(key, old.data)
		}
		return nil
	}
	s.idx.mu.Lock()
	sh := s.shard(key)
	sh.mu.Lock()
	old, existed := sh.m[key]
	create := !existed || !old.live(s.now().UnixNano())
	err = s.idx.bind(key, data, b, create, old.data)
	if err == nil {
		sh.m[key] = memEntry{data: data, expiry: exp}
	}
	sh.mu.Unlock()
	s.idx.mu.Unlock()
	if err != nil {
		return fmt.Errorf("memstore: save: %w", err)
	}
	if !existed {
		s.grew()
	}
	return nil
}

// put stores e under key, returns the entry it replaced, and evicts
// records when the store grew past its bound.
func (s *Store) put(key string, e memEntry) (memEntry, bool) {
	sh := s.shard(key)
	sh.mu.Lock()
	old, existed := sh.m[key]
	sh.m[key] = e
	sh.mu.Unlock()
	if !existed {
		s.grew()
	}
	return old, existed
}

// grew accounts for a new key and evicts when the store is over its bound.
func (s *Store) grew() {
	if n := s.n.Add(1); s.maxEntries > 0 && n > int64(s.maxEntries) {
		s.evict()
	}
}

func (s *Store) remove(key string) {
	sh := s.shard(key)
	sh.mu.Lock()
	e, existed := sh.m[key]
	delete(sh.m, key)
	sh.mu.Unlock()
	if existed {
		s.n.Add(-1)
		s.unindex(key, e.data)
	}
}

// unindex removes the index entry of the deleted record data under key,
// after the record: the index never misses a live bound record.
func (s *Store) unindex(key string, data []byte) {
	b, bound, _ := record.FindBinding(data)
	if !bound {
		return
	}
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	s.idx.drop(record.UserKey(b.User), b.Handle, key)
}

// Delete removes the record under key; deleting a missing key is a no-op.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.begin(ctx, "delete"); err != nil {
		return err
	}
	s.remove(key)
	return nil
}

// Take deletes the live record under key and returns it, under the key's
// shard lock; an expired record is deleted and reported as not found.
// The returned slice is the one Load handed out and must not be modified.
func (s *Store) Take(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.begin(ctx, "take"); err != nil {
		return nil, false, err
	}
	sh := s.shard(key)
	sh.mu.Lock()
	e, existed := sh.m[key]
	delete(sh.m, key)
	sh.mu.Unlock()
	if !existed {
		return nil, false, nil
	}
	s.n.Add(-1)
	now := s.now().UnixNano()
	if !e.live(now) {
		s.unindex(key, e.data)
		return nil, false, nil
	}
	// The index entry stays, marked, for the Renew that carries the
	// binding to a new key (see core.UserStore).
	if b, bound, _ := record.FindBinding(e.data); bound {
		s.idx.mu.Lock()
		s.idx.markTaken(record.UserKey(b.User), b.Handle, key, now)
		s.idx.mu.Unlock()
	}
	return e.data, true, nil
}

// SaveDelta applies d to the record under key with [record.Apply], holding
// the key's shard lock so that concurrent deltas never lose an update.
func (s *Store) SaveDelta(ctx context.Context, key string, d *record.Delta) error {
	if err := s.begin(ctx, "save delta"); err != nil {
		return err
	}
	b, bound, changed, err := record.DeltaBinding(d)
	if err != nil {
		return fmt.Errorf("memstore: save delta: %w", err)
	}
	// A delta that changes a binding holds the index lock around the
	// record's, so that the two change together; a new unbound session
	// (the usual create) and a delta that leaves the binding alone do not
	// touch the index.
	indexed := changed && (bound || !d.Create)
	if indexed {
		s.idx.mu.Lock()
	}
	existed, err := s.saveDelta(key, d, b, bound, indexed)
	if indexed {
		s.idx.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("memstore: save delta: %w", err)
	}
	if !existed {
		s.grew()
	}
	return nil
}

// saveDelta is SaveDelta under the shard lock (and the index lock when
// indexed); it reports whether the key held a record before.
func (s *Store) saveDelta(key string, d *record.Delta, b record.Binding, bound, indexed bool) (existed bool, err error) {
	now := s.now()
	sh := s.shard(key)
	sh.mu.Lock()
	old, existed := sh.m[key]
	found := existed && old.live(now.UnixNano())
	data, expiry, err := record.Apply(old.data, found, d, now)
	if err == nil {
		err = s.tooLarge(len(data))
	}
	if err == nil && indexed {
		if bound {
			err = s.idx.bind(key, data, b, d.Create, old.data)
		} else {
			if ob, found, _ := record.FindBinding(old.data); found {
				s.idx.drop(record.UserKey(ob.User), ob.Handle, key)
			}
		}
	}
	if err != nil {
		sh.mu.Unlock()
		return existed, err
	}
	exp := expiry.UnixNano()
	if exp <= now.UnixNano() {
		// An already expired result deletes the record; its index entry
		// goes when the sweep finds it taken, or with the record's user.
		delete(sh.m, key)
		sh.mu.Unlock()
		if existed {
			s.n.Add(-1)
		}
		return true, nil
	}
	sh.m[key] = memEntry{data: data, expiry: exp}
	sh.mu.Unlock()
	return existed, nil
}

// Touch moves the deadline of the record under key to expiry, in the store
// and in a new copy of the record's header. Touching a missing or expired
// record is a no-op.
func (s *Store) Touch(ctx context.Context, key string, expiry time.Time) error {
	if err := s.begin(ctx, "touch"); err != nil {
		return err
	}
	now := s.now().UnixNano()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[key]
	if !ok || !e.live(now) {
		return nil
	}
	data := bytes.Clone(e.data)
	if err := record.SetExpiry(data, expiry); err != nil {
		return fmt.Errorf("memstore: touch: %w", err)
	}
	sh.m[key] = memEntry{data: data, expiry: expiry.UnixNano()}
	return nil
}

// TTL returns the time left before the record under key expires.
func (s *Store) TTL(ctx context.Context, key string) (time.Duration, bool, error) {
	if err := s.begin(ctx, "ttl"); err != nil {
		return 0, false, err
	}
	sh := s.shard(key)
	sh.mu.RLock()
	e, ok := sh.m[key]
	sh.mu.RUnlock()
	now := s.now().UnixNano()
	if !ok || !e.live(now) {
		return 0, false, nil
	}
	return time.Duration(e.expiry - now), true, nil
}

type memItem struct {
	key  string
	data []byte
}

// Iterate calls fn for each live record. It copies one shard's records at
// a time and calls fn without holding a lock, so fn may call back into the
// store. The data passed to fn must not be modified.
func (s *Store) Iterate(ctx context.Context, fn func(key string, data []byte) bool) error {
	if err := s.begin(ctx, "iterate"); err != nil {
		return err
	}
	var items []memItem
	for i := range s.shards {
		if err := s.begin(ctx, "iterate"); err != nil {
			return err
		}
		sh := &s.shards[i]
		now := s.now().UnixNano()
		items = items[:0]
		sh.mu.RLock()
		for k, e := range sh.m {
			if e.live(now) {
				items = append(items, memItem{k, e.data})
			}
		}
		sh.mu.RUnlock()
		for _, it := range items {
			if !fn(it.key, it.data) {
				return nil
			}
		}
	}
	return nil
}

// Count returns the number of live records. It visits every record.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := s.begin(ctx, "count"); err != nil {
		return 0, err
	}
	now := s.now().UnixNano()
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, e := range sh.m {
			if e.live(now) {
				n++
			}
		}
		sh.mu.RUnlock()
	}
	return n, nil
}

// Clear deletes every record.
func (s *Store) Clear(ctx context.Context) error {
	if err := s.begin(ctx, "clear"); err != nil {
		return err
	}
	// The index lock is held throughout, so that no session bound during
	// the Clear keeps its record while losing its index entry.
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n := len(sh.m)
		sh.m = make(map[string]memEntry)
		sh.mu.Unlock()
		s.n.Add(-int64(n))
	}
	s.idx.m = make(map[string]map[string]indexEntry)
	return nil
}

// Cleanup removes expired records now and reports how many it removed.
func (s *Store) Cleanup(ctx context.Context) (int, error) {
	if err := s.begin(ctx, "cleanup"); err != nil {
		return 0, err
	}
	return s.removeExpired(s.now().UnixNano()), nil
}

func (s *Store) removeExpired(now int64) int {
	removed := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n := 0
		var gone []memItem
		for k, e := range sh.m {
			if !e.live(now) {
				delete(sh.m, k)
				gone = append(gone, memItem{k, e.data})
				n++
			}
		}
		sh.mu.Unlock()
		s.n.Add(-int64(n))
		removed += n
		for _, it := range gone {
			s.unindex(it.key, it.data)
		}
	}
	s.idx.mu.Lock()
	s.idx.pruneTaken(now)
	s.idx.mu.Unlock()
	return removed
}

// evict brings the store back under its bound: expired records go first,
// then the live ones closest to expiry, plus a margin of about 1% of the
// bound so that the next saves do not scan again.
func (s *Store) evict() {
	s.evictMu.Lock()
	defer s.evictMu.Unlock()
	limit := int64(s.maxEntries)
	if s.n.Load() <= limit {
		return
	}
	now := s.now().UnixNano()
	s.removeExpired(now)
	excess := s.n.Load() - limit
	if excess <= 0 {
		return
	}
	excess += limit / 100

	type victim struct {
		key    string
		expiry int64
	}
	var all []victim
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for k, e := range sh.m {
			all = append(all, victim{k, e.expiry})
		}
		sh.mu.RUnlock()
	}
	slices.SortFunc(all, func(a, b victim) int { return cmp.Compare(a.expiry, b.expiry) })
	for _, v := range all[:min(int(excess), len(all))] {
		sh := s.shard(v.key)
		sh.mu.Lock()
		// A record touched since the scan keeps its place.
		e, ok := sh.m[v.key]
		if ok && e.expiry == v.expiry {
			delete(sh.m, v.key)
		}
		sh.mu.Unlock()
		if ok && e.expiry == v.expiry {
			s.n.Add(-1)
			s.unindex(v.key, e.data)
		}
	}
}
