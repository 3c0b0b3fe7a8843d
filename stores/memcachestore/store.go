package memcachestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// ErrContention is returned (wrapped) by SaveDelta and Touch when every
// compare-and-swap attempt lost to a concurrent writer of the same session
// (see [WithMaxCASRetries]). Nothing was written by the failed call.
var ErrContention = errors.New("memcachestore: CAS retries exhausted: too many concurrent writers of one session")

// maxRelative is the longest expiration memcached reads as a number of
// seconds from now (30 days); larger numbers are absolute Unix times.
const maxRelative = 30 * 24 * 60 * 60

// Store is a [core.Store] backed by memcached through a gomemcache client.
// It implements [core.DeltaStore], [core.TakeStore] and [core.TouchStore]
// with gets and CAS, [core.TTLStore] from the record header,
// [core.UserStore] with a per-user item and generation (see the package
// doc, "Users"), and [io.Closer]; the iteration capabilities report
// [core.ErrNotSupported].
//
// A Store is safe for concurrent use by multiple goroutines.
type Store struct {
	client     *memcache.Client
	prefix     string
	maxRetries int
	maxSize    int
	pruneGrace time.Duration
	closed     atomic.Bool
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
)

// New returns a store that keeps sessions in the memcached servers of
// client. The caller owns client: [Store.Close] does not close it, and its
// Timeout bounds every call the store makes. New fails when client is nil or
// an option is invalid.
func New(client *memcache.Client, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("memcachestore: nil *memcache.Client")
	}
	c := config{prefix: DefaultPrefix, maxRetries: DefaultMaxCASRetries, maxSize: DefaultMaxItemSize}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	return &Store{client: client, prefix: c.prefix, maxRetries: c.maxRetries, maxSize: c.maxSize, pruneGrace: defaultPruneGrace}, nil
}

// ready reports why a call must not reach the server: the store is closed
// or ctx is done.
func (s *Store) ready(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("memcachestore: %s: %w", op, core.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memcachestore: %s: %w", op, err)
	}
	return nil
}

// get fetches the item under ik; a miss is (nil, nil). Any other failure,
// a dead server included, is an error, never a miss.
func (s *Store) get(op, ik string) (*memcache.Item, error) {
	var it *memcache.Item
	err := s.retryStale(func() (err error) { it, err = s.client.Get(ik); return err })
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("memcachestore: %s: get: %w", op, err)
	}
	return it, nil
}

// Load returns the record under key. A missing or expired record is
// found == false with a nil error; an unreachable server is an error. A
// record bound to a user is returned only while it is valid (its user's
// item lists it and holds its generation, see the package doc), which
// costs a second round trip (get of the user's item); an invalid one is
// found == false. The returned slice is the caller's. One round trip
// (get) for an unbound record.
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.ready(ctx, "load"); err != nil {
		return nil, false, err
	}
	it, err := s.get("load", s.itemKey(key))
	if err != nil || it == nil {
		return nil, false, err
	}
	if !record.Live(it.Value, time.Now()) {
		return nil, false, nil
	}
	if ok, err := s.checkBound("load", it.Value, key); err != nil || !ok {
		return nil, false, err
	}
	return it.Value, true, nil
}

// Save stores data under key until expiry, replacing any previous record.
// Data larger than the store's item size limit is an error matching
// [core.ErrTooLarge]; bytes that are not a record are refused with an error
// matching [core.ErrCorrupt]. One round trip (set). Data bound to a user
// by a new binding (generation 0) first gets its entry in the user's item
// (gets, then cas or add) and is stored stamped with the item's
// generation; Save reads no previous record, so the entry of a binding it
// replaces is left behind, to be pruned on read.
func (s *Store) Save(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := s.ready(ctx, "save"); err != nil {
		return err
	}
	if err := s.checkSize("save", len(data)); err != nil {
		return err
	}
	if err := record.Check(data); err != nil {
		return fmt.Errorf("memcachestore: save: %w", err)
	}
	b, bound, err := record.FindBinding(data)
	if err != nil {
		return fmt.Errorf("memcachestore: save: %w", err)
	}
	if bound && b.Gen == 0 {
		gen, err := s.ensureEntry(ctx, "save", record.UserKey(b.User), b.Handle, key)
		if err != nil {
			return err
		}
		data = bytes.Clone(data)
		if _, err := record.SetGen(data, gen); err != nil {
			return fmt.Errorf("memcachestore: save: %w", err)
		}
	}
	it := &memcache.Item{Key: s.itemKey(key), Value: data, Expiration: expiration(expiry, time.Now())}
	if err := s.retryStale(func() error { return s.client.Set(it) }); err != nil {
		return s.writeErr("save", "set", len(data), err)
	}
	return nil
}

// Delete removes the record under key; a missing key is a no-op. One round
// trip (delete).
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.ready(ctx, "delete"); err != nil {
		return err
	}
	err := s.retryStale(func() error { return s.client.Delete(s.itemKey(key)) })
	if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return fmt.Errorf("memcachestore: delete: %w", err)
	}
	return nil
}

// SaveDelta applies d to the record under key with [record.Apply]'s
// rules, atomically: it reads the item with gets and writes it back with
// cas (or add when there is no item), and starts over when another writer
// got in between, at most the configured number of times. Two round trips
// when uncontended and d leaves the user binding alone. A delta that
// changes the binding does the user index's work (see the package doc,
// "Users"): a new binding adds its entry to the user's item before the
// record is written (two more), a create carrying a binding (Renew)
// repoints the entry first or fails with an error matching
// [core.ErrSessionGone] (two more), and unbinding or rebinding checks
// that the record is still valid first (one more) and drops the old
// entry after the write (two more).
func (s *Store) SaveDelta(ctx context.Context, key string, d *record.Delta) error {
	const op = "save delta"
	if err := s.ready(ctx, op); err != nil {
		return err
	}
	_, _, bindingChanged, err := record.DeltaBinding(d)
	if err != nil {
		return fmt.Errorf("memcachestore: %s: %w", op, err)
	}
	ik := s.itemKey(key)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := s.backoff(ctx, op, attempt); err != nil {
				return err
			}
		}
		it, err := s.get(op, ik)
		if err != nil {
			return err
		}
		var old []byte
		if it != nil {
			old = it.Value
		}
		now := time.Now()
		data, expiry, err := record.Apply(old, it != nil, d, now)
		if err != nil {
			return fmt.Errorf("memcachestore: %s: %w", op, err)
		}
		if err := s.checkSize(op, len(data)); err != nil {
			return err
		}
		var after func()
		if bindingChanged {
			if after, err = s.bindRecord(ctx, op, key, old, data, d.Create); err != nil {
				return err
			}
		}
		if err := s.ready(ctx, op); err != nil {
			return err
		}
		verb := "add"
		if it == nil {
			item := &memcache.Item{Key: ik, Value: data, Expiration: expiration(expiry, now)}
			err = s.retryStale(func() error { return s.client.Add(item) })
		} else {
			verb = "cas"
			it.Value, it.Expiration = data, expiration(expiry, now)
			err = s.retryStale(func() error { return s.client.CompareAndSwap(it) })
		}
		if err == nil {
			if after != nil {
				after()
			}
			return nil
		}
		if !lostRace(err) {
			return s.writeErr(op, verb, len(data), err)
		}
		if attempt >= s.maxRetries {
			return fmt.Errorf("memcachestore: %s: %d attempts: %w", op, attempt+1, ErrContention)
		}
	}
}

// Take deletes the record under key if it is live and returns it. The
// text protocol's delete takes no CAS token (gomemcache does not speak
// the meta protocol, whose md does), so a delete after the read could
// remove a record another writer put there meanwhile; instead Take reads
// the item with gets and, when it holds a live record, cas-es it to an
// empty value with an expiration of -1, which memcached stores already
// expired.
// memcached applies a cas under the item's lock, so of concurrent Takes
// exactly one succeeds: the others find the item changed (EXISTS: a
// writer replaced it, so they read again and take what it holds now) or
// gone (NOT_FOUND: it was taken, deleted or expired, so they report
// found == false). What the winner leaves is no item at all to every
// later command: get misses, so Load, TTL and Touch find nothing, a
// SaveDelta without Create fails with [core.ErrSessionGone] (no
// resurrection) and one with Create adds a new record. Even if a server
// ever returned it, the empty value is no live record and counts as
// absent. A missing, expired or corrupt record is found == false and is
// left for memcached to drop. One round trip (gets) for a missing record,
// two (gets, cas) to take one when uncontended; CAS conflicts are retried
// as SaveDelta's are and end with [ErrContention]. A record bound to a
// user is taken only while it is valid, as Load checks it (one more round
// trip); an invalid one is found == false and left in place. Take leaves
// the record's entry in the user's item, for the Renew that repoints it.
func (s *Store) Take(ctx context.Context, key string) ([]byte, bool, error) {
	const op = "take"
	if err := s.ready(ctx, op); err != nil {
		return nil, false, err
	}
	ik := s.itemKey(key)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := s.backoff(ctx, op, attempt); err != nil {
				return nil, false, err
			}
		}
		it, err := s.get(op, ik)
		if err != nil {
			return nil, false, err
		}
		if it == nil || !record.Live(it.Value, time.Now()) {
			return nil, false, nil
		}
		if ok, err := s.checkBound(op, it.Value, key); err != nil || !ok {
			return nil, false, err
		}
		if err := s.ready(ctx, op); err != nil {
			return nil, false, err
		}
		data := it.Value
		it.Value, it.Expiration = nil, -1
		err = s.retryStale(func() error { return s.client.CompareAndSwap(it) })
		switch {
		case err == nil:
			return data, true, nil
		case errors.Is(err, memcache.ErrCacheMiss):
			return nil, false, nil
		case !lostRace(err):
			return nil, false, fmt.Errorf("memcachestore: %s: cas: %w", op, err)
		case attempt >= s.maxRetries:
			return nil, false, fmt.Errorf("memcachestore: %s: %d attempts: %w", op, attempt+1, ErrContention)
		}
	}
}

// Touch sets the expiry of the record under key, in memcached and in the
// record header, through gets and cas with the same retries as SaveDelta.
// A missing or expired record is left alone. Two round trips when
// uncontended.
func (s *Store) Touch(ctx context.Context, key string, expiry time.Time) error {
	const op = "touch"
	if err := s.ready(ctx, op); err != nil {
		return err
	}
	ik := s.itemKey(key)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := s.backoff(ctx, op, attempt); err != nil {
				return err
			}
		}
		it, err := s.get(op, ik)
		if err != nil {
			return err
		}
		now := time.Now()
		if it == nil || !record.Live(it.Value, now) {
			return nil
		}
		if err := record.SetExpiry(it.Value, expiry); err != nil {
			return fmt.Errorf("memcachestore: %s: %w", op, err)
		}
		if err := s.ready(ctx, op); err != nil {
			return err
		}
		it.Expiration = expiration(expiry, now)
		err = s.retryStale(func() error { return s.client.CompareAndSwap(it) })
		if err == nil {
			return nil
		}
		if !lostRace(err) {
			return s.writeErr(op, "cas", len(it.Value), err)
		}
		if attempt >= s.maxRetries {
			return fmt.Errorf("memcachestore: %s: %d attempts: %w", op, attempt+1, ErrContention)
		}
	}
}

// TTL returns the time left before the record under key expires, read from
// the record header (memcached cannot report an item's expiry). One round
// trip (get).
func (s *Store) TTL(ctx context.Context, key string) (time.Duration, bool, error) {
	data, found, err := s.Load(ctx, key)
	if err != nil || !found {
		return 0, false, err
	}
	exp, err := record.Expiry(data)
	if err != nil {
		return 0, false, fmt.Errorf("memcachestore: ttl: %w", err)
	}
	ttl := time.Until(exp)
	if ttl <= 0 {
		return 0, false, nil
	}
	return ttl, true, nil
}

// Iterate returns an error matching [core.ErrNotSupported]: memcached
// cannot list its keys.
func (s *Store) Iterate(ctx context.Context, fn func(key string, data []byte) bool) error {
	return s.unsupported(ctx, "iterate")
}

// Count returns an error matching [core.ErrNotSupported]: memcached cannot
// list its keys.
func (s *Store) Count(ctx context.Context) (int, error) {
	return 0, s.unsupported(ctx, "count")
}

// Clear returns an error matching [core.ErrNotSupported]: memcached cannot
// list the keys under the store's prefix, and flushing the servers would
// drop other applications' items.
func (s *Store) Clear(ctx context.Context) error {
	return s.unsupported(ctx, "clear")
}

// Cleanup returns 0: memcached drops expired items itself.
func (s *Store) Cleanup(ctx context.Context) (int, error) {
	if err := s.ready(ctx, "cleanup"); err != nil {
		return 0, err
	}
	return 0, nil
}

// Close marks the store closed: later calls fail with an error matching
// [core.ErrClosed]. It does not close the client, which the caller owns,
// and is safe to call more than once.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

func (s *Store) unsupported(ctx context.Context, op string) error {
	if err := s.ready(ctx, op); err != nil {
		return err
	}
	return fmt.Errorf("memcachestore: %s: memcached cannot list keys: %w", op, core.ErrNotSupported)
}

func (s *Store) checkSize(op string, n int) error {
	if n > s.maxSize {
		return fmt.Errorf("memcachestore: %s: record of %d bytes exceeds the limit of %d bytes: %w", op, n, s.maxSize, core.ErrTooLarge)
	}
	return nil
}

// writeErr wraps the failure of a write, turning memcached's "object too
// large" reply (the server's -I limit is below the store's) into
// core.ErrTooLarge.
func (s *Store) writeErr(op, verb string, n int, err error) error {
	if strings.Contains(err.Error(), "object too large") {
		return fmt.Errorf("memcachestore: %s: record of %d bytes is over the server's item size limit (memcached -I; the store's limit is %d bytes): %w", op, n, s.maxSize, core.ErrTooLarge)
	}
	return fmt.Errorf("memcachestore: %s: %s: %w", op, verb, err)
}

// lostRace reports whether a conditional write failed because the item
// changed, appeared or vanished since it was read.
func lostRace(err error) bool {
	return errors.Is(err, memcache.ErrCASConflict) || errors.Is(err, memcache.ErrNotStored) || errors.Is(err, memcache.ErrCacheMiss)
}

// backoff waits a short random time before retry number attempt: up to
// 0.5 ms doubled per attempt, capped at 16 ms, so that racing writers
// spread out.
func (s *Store) backoff(ctx context.Context, op string, attempt int) error {
	limit := 500 * time.Microsecond << min(attempt-1, 5)
	t := time.NewTimer(limit/2 + rand.N(limit/2))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("memcachestore: %s: %w", op, ctx.Err())
	case <-t.C:
	}
	return s.ready(ctx, op)
}

// expirySlack is added to every native expiration. memcached's clock
// ticks once a second and its "now" may lag the real time by up to about
// two seconds, so an item given exactly the seconds left could vanish
// before its deadline; the exact deadline is in the record header, which
// Load checks, so a late native expiry costs only memory.
const expirySlack = 2

// expiration converts expiry to memcached's exptime at now: the time left
// rounded up to the second plus [expirySlack], as a relative number of
// seconds up to 30 days and as an absolute Unix time beyond (capped at the
// largest memcached accepts), or -1 (already expired) for a deadline that
// has passed.
func expiration(expiry, now time.Time) int32 {
	d := expiry.Sub(now)
	if d <= 0 {
		return -1
	}
	if secs := (d+time.Second-1)/time.Second + expirySlack; secs <= maxRelative {
		return int32(secs)
	}
	abs := expiry.Unix() + expirySlack
	if expiry.Nanosecond() > 0 {
		abs++
	}
	return int32(min(abs, math.MaxInt32))
}

// retryStale runs fn again when it failed on a stale pooled connection
// (EOF, connection reset, broken pipe), never on a timeout. Repeating is
// safe: a stale connection never reached a live server, memcached keeps
// nothing across a restart, and a repeated cas or add that did land fails
// as a lost race, which the callers already handle by reading again.
//
// A call is repeated at most once per idle connection the client may keep,
// plus one: gomemcache closes a connection that failed this way, so the
// last try dials afresh.
func (s *Store) retryStale(fn func() error) error {
	idle := s.client.MaxIdleConns
	if idle < 1 {
		idle = memcache.DefaultMaxIdleConns
	}
	var err error
	for range idle + 2 {
		err = fn()
		if !stale(err) {
			return err
		}
	}
	return err
}

func stale(err error) bool {
	return err != nil && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
}
