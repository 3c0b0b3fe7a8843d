package memcachestore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// defaultPruneGrace is how old an index entry must be before a listing
// may prune it for naming a missing record or one bound otherwise: a new
// binding writes its entry one round trip before its record, so a younger
// entry may belong to a write in flight. It is generous to allow for
// clock skew between application servers; a stale entry costs only a few
// bytes until then.
const defaultPruneGrace = 5 * time.Minute

var _ core.UserStore = (*Store)(nil)

// newGen returns a random non-zero generation for a new user item. It is
// random rather than counted so that an item made after an eviction never
// repeats the generation of the one evicted: the sessions stamped before
// stay invalid.
func newGen() uint64 {
	for {
		if g := rand.Uint64(); g != 0 {
			return g
		}
	}
}

// errUserGone is what a carried binding gets when its user item no longer
// lists it.
var errUserGone = fmt.Errorf("the sessions of the user were destroyed meanwhile, or their index was evicted: %w", core.ErrSessionGone)

// getUser reads the item of user key uk: nil when memcached holds none
// or what it holds is malformed (both mean no session of the user is
// valid). A failing server is an error.
func (s *Store) getUser(op, uk string) (*memcache.Item, *userItem, error) {
	it, err := s.get(op, s.userItemKey(uk))
	if err != nil || it == nil {
		return nil, nil, err
	}
	u, err := decodeUserItem(it.Value)
	if err != nil {
		return it, nil, nil
	}
	return it, u, nil
}

// valid reports whether a record under key whose binding is b is a valid
// session: the item of its user exists, holds the generation b.Gen and
// lists b.Handle under key. One round trip (get).
func (s *Store) valid(op string, b record.Binding, key string) (bool, error) {
	it, err := s.get(op, s.userItemKey(record.UserKey(b.User)))
	if err != nil || it == nil {
		return false, err
	}
	return listsEntry(it.Value, b.Gen, b.Handle, key), nil
}

// checkBound returns whether the live record data under key may be
// returned by Load or Take: an unbound record always may, a bound one
// only when [Store.valid] says so (a second round trip). A binding that
// cannot be decoded leaves the record to core, which refuses it.
func (s *Store) checkBound(op string, data []byte, key string) (bool, error) {
	b, bound, err := record.FindBinding(data)
	if err != nil || !bound {
		return true, nil
	}
	return s.valid(op, b, key)
}

// updateUser reads the item of user key uk with gets and writes back
// what fn makes of it with cas (add when there is none), starting over
// when another writer got in between, as SaveDelta does. fn gets the
// decoded item, nil when there is none or it is malformed (a malformed
// item is then replaced), and returns the item to write, or nil to write
// nothing; it runs once per attempt. The item never expires in
// memcached: it lives until evicted, and every bound Load reads it, which
// keeps an active user's item recent in memcached's LRU.
func (s *Store) updateUser(ctx context.Context, op, uk string, fn func(u *userItem) (*userItem, error)) error {
	ik := s.userItemKey(uk)
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
		var u *userItem
		if it != nil {
			u, _ = decodeUserItem(it.Value)
		}
		nu, err := fn(u)
		if err != nil || nu == nil {
			return err
		}
		b, err := nu.encode()
		if err != nil {
			return fmt.Errorf("memcachestore: %s: %w", op, err)
		}
		if len(b) > s.maxSize {
			return fmt.Errorf("memcachestore: %s: user index item of %d bytes exceeds the limit of %d bytes: %w", op, len(b), s.maxSize, core.ErrTooLarge)
		}
		if err := s.ready(ctx, op); err != nil {
			return err
		}
		verb := "add"
		if it == nil {
			item := &memcache.Item{Key: ik, Value: b}
			err = s.retryStale(func() error { return s.client.Add(item) })
		} else {
			verb = "cas"
			it.Value, it.Expiration = b, 0
			err = s.retryStale(func() error { return s.client.CompareAndSwap(it) })
		}
		if err == nil {
			return nil
		}
		if !lostRace(err) {
			return s.writeErr(op, verb, len(b), err)
		}
		if attempt >= s.maxRetries {
			return fmt.Errorf("memcachestore: %s: user index: %d attempts: %w", op, attempt+1, ErrContention)
		}
	}
}

// pruneAt is the number of entries from which a new binding prunes the
// user's item first. Logging out (Delete) leaves the session's entry
// behind, since Delete does not read the record; without this an
// application that never lists a user's sessions would grow the item
// with every login until it reached memcached's size limit.
const pruneAt = 32

// ensureEntry makes the item of user key uk list handle h under key,
// creating the item with a fresh generation when there is none, and
// returns the item's generation: what a new binding is stamped with.
// Two round trips (gets, then cas or add), one when the entry is there
// already; when the item has [pruneAt] entries or more, it reads their
// records first (one multi-get per server) and drops the stale ones as
// [Store.UserSessions] would.
func (s *Store) ensureEntry(ctx context.Context, op, uk, h, key string) (uint64, error) {
	var gen uint64
	err := s.updateUser(ctx, op, uk, func(u *userItem) (*userItem, error) {
		fresh := u == nil
		if fresh {
			u = &userItem{gen: newGen()}
		}
		gen = u.gen
		if len(u.entries) >= pruneAt && u.find(h) < 0 {
			recs, err := s.getRecords(op, u.entries)
			if err != nil {
				return nil, err
			}
			u.entries, _ = s.siftEntries(u, recs, uk, time.Now())
		}
		now := time.Now().Unix()
		switch i := u.find(h); {
		case i < 0:
			u.entries = append(u.entries, userEntry{handle: h, key: key, added: now})
		case u.entries[i].key == key && !fresh:
			return nil, nil
		default:
			u.entries[i].key, u.entries[i].added = key, now
		}
		return u, nil
	})
	return gen, err
}

// repoint moves the entry of handle h in the item of user key uk to key,
// for a create carrying a binding of generation gen (a Renew). Unless the
// item exists, holds gen and lists h, it writes nothing and returns an
// error matching core.ErrSessionGone. Two round trips (gets, cas).
func (s *Store) repoint(ctx context.Context, op, uk, h string, gen uint64, key string) error {
	return s.updateUser(ctx, op, uk, func(u *userItem) (*userItem, error) {
		i := -1
		if u != nil && u.gen == gen {
			i = u.find(h)
		}
		if i < 0 {
			return nil, fmt.Errorf("memcachestore: %s: %w", op, errUserGone)
		}
		u.entries[i].key, u.entries[i].added = key, time.Now().Unix()
		return u, nil
	})
}

// removeEntry drops the entry of handle h from the item of user key uk
// if it names key. Two round trips (gets, cas), one when there is nothing
// to drop.
func (s *Store) removeEntry(ctx context.Context, op, uk, h, key string) error {
	return s.updateUser(ctx, op, uk, func(u *userItem) (*userItem, error) {
		if u == nil {
			return nil, nil
		}
		i := u.find(h)
		if i < 0 || u.entries[i].key != key {
			return nil, nil
		}
		u.entries = append(u.entries[:i], u.entries[i+1:]...)
		return u, nil
	})
}

// bindRecord does the index work of writing data under key, where old is
// the live record it replaces (nil for none, and for a create), before
// the record is written: it stamps the generation of a new binding into
// data, and returns what to do after the record was written (drop the
// entry of the binding it replaced), or nil.
//
//   - A new binding (Gen 0) gets its entry first, in an item created with
//     a fresh generation if there is none, then is stamped with the
//     item's generation.
//   - A create with a non-zero Gen is a Renew carrying the binding: the
//     entry is repointed to key, and without one (destroyed, evicted) the
//     write fails with an error matching core.ErrSessionGone.
//   - Rebinding or unbinding a record is refused with core.ErrSessionGone
//     unless the record is still valid: a record whose user was logged
//     out everywhere must not come back under a new binding or none.
//   - A rewrite of the same binding (Clear) costs nothing.
func (s *Store) bindRecord(ctx context.Context, op, key string, old, data []byte, create bool) (after func(), err error) {
	nb, bound, err := record.FindBinding(data)
	if err != nil {
		return nil, fmt.Errorf("memcachestore: %s: %w", op, err)
	}
	var ob record.Binding
	oldBound := false
	if old != nil && !create {
		ob, oldBound, _ = record.FindBinding(old)
	}
	same := oldBound && bound && ob.User == nb.User && ob.Handle == nb.Handle
	if oldBound && !same {
		ok, err := s.valid(op, ob, key)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("memcachestore: %s: %w", op, errUserGone)
		}
		after = func() {
			// Best effort: the record no longer holds that binding, and
			// an entry left behind is skipped and pruned on read.
			_ = s.removeEntry(context.WithoutCancel(ctx), op, record.UserKey(ob.User), ob.Handle, key)
		}
	}
	switch {
	case !bound:
	case same && nb.Gen == 0 && ob.Gen != 0:
		// The same binding written anew keeps its generation: stamping
		// the item's would bring back a record invalidated meanwhile.
		if _, err := record.SetGen(data, ob.Gen); err != nil {
			return nil, fmt.Errorf("memcachestore: %s: %w", op, err)
		}
	case same && nb.Gen != 0:
	case nb.Gen == 0:
		gen, err := s.ensureEntry(ctx, op, record.UserKey(nb.User), nb.Handle, key)
		if err != nil {
			return nil, err
		}
		if _, err := record.SetGen(data, gen); err != nil {
			return nil, fmt.Errorf("memcachestore: %s: %w", op, err)
		}
	case create:
		if err := s.repoint(ctx, op, record.UserKey(nb.User), nb.Handle, nb.Gen, key); err != nil {
			return nil, err
		}
	}
	return after, nil
}

// UserSessions returns the valid live sessions of the user whose user key
// is userKey: the records named by the user's item that are live, bound
// to that user under the entry's handle and stamped with the item's
// generation. With no item (never bound, or evicted) or a malformed one,
// no session of the user is valid, so the empty listing is exact. Entries
// older than the prune grace whose record is missing, expired or bound
// otherwise are pruned (best effort, one cas); an entry whose record is
// live and unbound is kept, since it may be a bind in flight. Two round
// trips (get of the item, one multi-get per server), three when it
// prunes.
func (s *Store) UserSessions(ctx context.Context, userKey string) ([]core.UserRecord, error) {
	const op = "user sessions"
	if err := s.ready(ctx, op); err != nil {
		return nil, err
	}
	it, u, err := s.getUser(op, userKey)
	if err != nil || u == nil || len(u.entries) == 0 {
		return nil, err
	}
	recs, err := s.getRecords(op, u.entries)
	if err != nil {
		return nil, err
	}
	keep, out := s.siftEntries(u, recs, userKey, time.Now())
	if len(keep) < len(u.entries) && s.ready(ctx, op) == nil {
		// Best effort, once: a lost race leaves the entries to the next
		// listing.
		if b, err := (&userItem{gen: u.gen, entries: keep}).encode(); err == nil {
			it.Value, it.Expiration = b, 0
			_ = s.retryStale(func() error { return s.client.CompareAndSwap(it) })
		}
	}
	return out, nil
}

// siftEntries returns the entries of u, the item of user key uk, to keep
// and the valid sessions among them, given recs, their records as
// [Store.getRecords] read them. An entry is kept when its record is a
// valid session, is live and unbound (maybe a bind in flight), or when
// the entry is younger than the prune grace (maybe a write in flight);
// the others (record missing, expired, bound otherwise or stamped with
// another generation) are stale.
func (s *Store) siftEntries(u *userItem, recs map[string]*memcache.Item, uk string, now time.Time) (keep []userEntry, valid []core.UserRecord) {
	for _, e := range u.entries {
		rec := recs[s.itemKey(e.key)]
		switch state := entryState(rec, e, uk, u.gen, now); {
		case state == entryValid:
			valid = append(valid, core.UserRecord{Key: e.key, Data: rec.Value})
			keep = append(keep, e)
		case state == entryUnbound || now.Sub(time.Unix(e.added, 0)) < s.pruneGrace:
			keep = append(keep, e)
		}
	}
	return keep, valid
}

// getRecords reads the records the entries name, one multi-get per
// server.
func (s *Store) getRecords(op string, entries []userEntry) (map[string]*memcache.Item, error) {
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = s.itemKey(e.key)
	}
	var m map[string]*memcache.Item
	err := s.retryStale(func() (err error) { m, err = s.client.GetMulti(keys); return err })
	if err != nil {
		return nil, fmt.Errorf("memcachestore: %s: get records: %w", op, err)
	}
	return m, nil
}

// What the record an index entry names is, for the user of user key uk
// whose item holds generation gen.
const (
	entryStale   = iota // missing, expired, corrupt or bound otherwise
	entryUnbound        // live and bound to no user: maybe a bind in flight
	entryInvalid        // live, bound to the user under the handle, another generation
	entryValid          // a valid session of the user
)

func entryState(rec *memcache.Item, e userEntry, uk string, gen uint64, now time.Time) int {
	if rec == nil || !record.Live(rec.Value, now) {
		return entryStale
	}
	b, bound, err := record.FindBinding(rec.Value)
	switch {
	case err != nil:
		return entryStale
	case !bound:
		return entryUnbound
	case b.Handle != e.handle || record.UserKey(b.User) != uk:
		return entryStale
	case b.Gen != gen:
		return entryInvalid
	}
	return entryValid
}

// DeleteUserSessions logs out the sessions of the user whose user key is
// userKey whose handles match accepts. It first removes their entries
// from the user's item with gets and cas: from then on the sessions are
// invalid, so no Load or Take returns them and a Renew carrying one's
// binding fails with core.ErrSessionGone, even before their records are
// deleted. Then it deletes the records that are still bound to the user,
// each with a cas to an empty, already expired value as Take does (best
// effort: they are invalid already, and a failure here is not reported).
//
// It returns the removed handles whose entry named a valid live session
// when the item was read: a handle whose record had expired, was missing
// or was already invalid is not counted. When the records cannot be read
// (their server is down) it returns every removed handle, unchecked, with
// the error. With no item (never bound, or
// evicted: every session of the user is invalid already) it returns none.
// Excepted handles (match returns false) keep their entries and stay
// valid. Three round trips (gets and cas of the item, one multi-get per
// server), plus one per record deleted.
func (s *Store) DeleteUserSessions(ctx context.Context, userKey string, match func(handle string) bool) ([]string, error) {
	const op = "delete user sessions"
	if err := s.ready(ctx, op); err != nil {
		return nil, err
	}
	var removed []userEntry
	var gen uint64
	err := s.updateUser(ctx, op, userKey, func(u *userItem) (*userItem, error) {
		removed, gen = nil, 0
		if u == nil {
			return nil, nil
		}
		gen = u.gen
		keep := u.entries[:0:0]
		for _, e := range u.entries {
			if match(e.handle) {
				removed = append(removed, e)
			} else {
				keep = append(keep, e)
			}
		}
		if len(removed) == 0 {
			return nil, nil
		}
		return &userItem{gen: u.gen, entries: keep}, nil
	})
	if err != nil || len(removed) == 0 {
		return nil, err
	}
	// The sessions are logged out: what follows only frees their records
	// and counts them, so it runs even when ctx ends now.
	dctx := context.WithoutCancel(ctx)
	recs, err := s.getRecords(op, removed)
	if err != nil {
		handles := make([]string, len(removed))
		for i, e := range removed {
			handles[i] = e.handle
		}
		return handles, fmt.Errorf("%w (the sessions are logged out; the handles returned are all those removed, unchecked)", err)
	}
	now := time.Now()
	var handles []string
	for _, e := range removed {
		rec := recs[s.itemKey(e.key)]
		if entryState(rec, e, userKey, gen, now) == entryValid {
			handles = append(handles, e.handle)
		}
		if rec != nil {
			s.dropRecord(dctx, op, rec, userKey, e.handle)
		}
	}
	return handles, nil
}

// dropRecord deletes the record it, read with its CAS token, if it is
// still bound to the user of user key uk under handle, by a cas to an empty, already
// expired value (see [Store.Take]), reading it again when it changed
// meanwhile. Best effort: errors are dropped.
func (s *Store) dropRecord(ctx context.Context, op string, it *memcache.Item, uk, handle string) {
	for attempt := 0; attempt <= s.maxRetries; attempt++ {
		if attempt > 0 {
			if s.backoff(ctx, op, attempt) != nil {
				return
			}
			var err error
			if it, err = s.get(op, it.Key); err != nil || it == nil {
				return
			}
		}
		// Only the record that entry named: a stale entry may name a key
		// whose record the user now holds under another handle, a device
		// the destroy did not ask for.
		b, bound, err := record.FindBinding(it.Value)
		if err != nil || !bound || record.UserKey(b.User) != uk || b.Handle != handle {
			return
		}
		it.Value, it.Expiration = nil, -1
		err = s.retryStale(func() error { return s.client.CompareAndSwap(it) })
		if !errors.Is(err, memcache.ErrCASConflict) {
			return
		}
	}
}
