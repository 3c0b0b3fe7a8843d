package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit/core/record"
)

// Store persists session records. Keys are opaque strings chosen by core
// (the lowercase hex SHA-256 of the session ID; a store adds its own prefix),
// and data is an encoded record whose layout is described in package
// record. A store never interprets data except through that package.
//
// Store is the minimum a third-party backend implements. With only these
// three methods core merges concurrent changes best-effort (load, merge,
// save), and Renew takes the old record best-effort too (load, then
// delete): two concurrent Renews of one session may then both succeed and
// leave two live sessions; and with no user index, log out everywhere is
// a scan (with [IterStore]) that a session bound meanwhile may escape.
// Backends that can do better implement the optional capabilities below
// ([DeltaStore], [TakeStore], [TouchStore], [TTLStore], [IterStore],
// [CountStore], [ClearStore], [CleanupStore], [UserStore] and
// [io.Closer]); core discovers them by type assertion.
//
// Implementations must be safe for concurrent use by multiple goroutines.
type Store interface {
	// Load returns the record stored under key. A missing or expired record
	// is found == false with a nil error: only a failure of the backend is
	// an error. A store must never return a record whose expiry has passed.
	// The caller must not modify data; a store that never mutates what it
	// keeps (copy-on-write) may return its own slice.
	Load(ctx context.Context, key string) (data []byte, found bool, err error)

	// Save stores data under key until expiry, replacing any previous
	// record. The store may round expiry up to its own precision for its
	// native TTL, but core checks the exact deadline kept in data. Bytes
	// that are not a record ([record.Check] fails) must be refused with an
	// error matching [ErrCorrupt], never accepted and then reported as not
	// found by Load.
	Save(ctx context.Context, key string, data []byte, expiry time.Time) error

	// Delete removes the record stored under key. Deleting a key that does
	// not exist is a no-op and returns nil.
	Delete(ctx context.Context, key string) error
}

// DeltaStore is the optional capability of applying a [record.Delta] atomically:
// the store reads the current record, applies the delta with [record.Apply]
// (or an equivalent native operation) and writes the result, with no other
// writer of the same key in between. Every store of this project implements
// it.
type DeltaStore interface {
	Store
	// SaveDelta applies d to the record under key. It returns an error
	// matching [ErrSessionExists] when d.Create is set and a live record
	// already exists, and one matching [ErrSessionGone] when d.Create is not
	// set and no live record exists (no resurrection).
	SaveDelta(ctx context.Context, key string, d *record.Delta) error
}

// TakeStore is the optional capability of taking a record: deleting it
// only if it is live and getting it back, as one atomic step. Renew takes
// the old record before it inserts the new one, so that of two concurrent
// Renews (or a Renew racing a Destroy) only one can take it and no session
// is ever forked or resurrected under a new ID. A store without it gets
// the manager's best-effort fallback (load, then delete), which
// promises neither.
type TakeStore interface {
	Store
	// Take deletes the record under key if it is live (its header's
	// expiry, see [record.Expiry], has not passed) and returns it. No other
	// Take, Load or write of the same key may see the record between the
	// check and the delete: of concurrent Takes of one record exactly one
	// gets found == true. A missing, expired or corrupt record is
	// found == false with a nil error; the store may delete an expired or
	// corrupt record while it is at it. As with Load, the caller must not
	// modify data.
	Take(ctx context.Context, key string) (data []byte, found bool, err error)
}

// TouchStore is the optional capability of moving a record's deadline
// without rewriting its data.
type TouchStore interface {
	Store
	// Touch sets the expiry of the record under key, in the store and in the
	// record's header, so that a later Load returns data whose
	// [record.Expiry] equals expiry. Touching a missing key is a no-op and
	// returns nil.
	Touch(ctx context.Context, key string, expiry time.Time) error
}

// TTLStore is the optional capability of reporting how long a record has
// left to live.
type TTLStore interface {
	Store
	// TTL returns the time left before the record under key expires.
	// A missing or expired record is found == false with a nil error.
	TTL(ctx context.Context, key string) (ttl time.Duration, found bool, err error)
}

// IterStore is the optional capability of visiting every live record.
type IterStore interface {
	Store
	// Iterate calls fn for each live record, in no particular order, until
	// fn returns false or an error occurs. Records saved or deleted during
	// the iteration may or may not be visited. fn must not call back into
	// the store for the same key from within the callback unless the
	// implementation documents that it may.
	Iterate(ctx context.Context, fn func(key string, data []byte) bool) error
}

// CountStore is the optional capability of counting live records.
type CountStore interface {
	Store
	// Count returns the number of live records. Records that expired but
	// were not yet cleaned up are not counted.
	Count(ctx context.Context) (int, error)
}

// ClearStore is the optional capability of deleting every record the store
// holds (only this store's records: a shared Redis database keeps the keys
// outside the store's prefix).
type ClearStore interface {
	Store
	// Clear deletes every record of the store.
	Clear(ctx context.Context) error
}

// CleanupStore is the optional capability of removing expired records now,
// in addition to any background cleanup the store runs.
type CleanupStore interface {
	Store
	// Cleanup removes expired records and reports how many it removed
	// (or -1 when the backend cannot tell).
	Cleanup(ctx context.Context) (removed int, err error)
}

// UserStore is the optional capability of a user index: finding and
// deleting every record bound to a user (see [Session.SetUser]) without
// scanning the store. [Manager.UserSessions], [Manager.DestroyUserSessions]
// and [Manager.DestroySession] use it; without it they fall back to a
// scan with [IterStore], best effort, or report [ErrNotSupported].
//
// The index files a record whose binding is b (see [record.Binding],
// [record.FindBinding], [record.DeltaBinding]) under the user key
// [record.UserKey](b.User), by its handle b.Handle. Every write keeps it:
//
//   - It covers every bound record a client can reach: where a write binds
//     an existing record (or binds it to another user), the entry is
//     written before the record, in the same lock or transaction where
//     there is one. A new record (a create) may be indexed right after it
//     is written, since its key is known to no client before the write
//     returns.
//   - A record written with a binding of Gen 0 is a new binding: the store
//     stamps a non-zero generation into the record it keeps
//     ([record.SetGen], [record.SetEntryGen]). A create whose binding has a
//     non-zero Gen is a Renew carrying the binding to a new key: it is
//     written only if the index still holds an entry for that user and
//     handle, which then names the new key; without one the write fails
//     with an error matching [ErrSessionGone] and leaves no record (write
//     it in one step with the check, or write it first and delete it when
//     the entry is gone). [TakeStore.Take] leaves the entry in place.
//   - An entry is removed after its record is gone (Delete, expiry,
//     cleanup), or left behind: a stale entry, one whose record is
//     missing, is skipped on read and may be pruned then.
//
// Implementations document what their backend adds to these rules.
type UserStore interface {
	Store
	// UserSessions returns the live records bound to the user whose user
	// key is userKey, each checked against its binding: an entry whose
	// record is missing, expired or bound to someone else is skipped. The
	// order is unspecified. The caller must not modify the data.
	UserSessions(ctx context.Context, userKey string) ([]UserRecord, error)

	// DeleteUserSessions deletes every live record bound to the user whose
	// user key is userKey and whose handle match accepts, and returns the
	// handles of the records it deleted. Once it returns no Load returns
	// any of them, and no write in flight brings one back: a delta fails
	// with [ErrSessionGone], and so does a Renew carrying one's binding.
	// match must not call back into the store.
	DeleteUserSessions(ctx context.Context, userKey string, match func(handle string) bool) (handles []string, err error)
}

// UserRecord is one record of a user, as [UserStore.UserSessions] returns
// it.
type UserRecord struct {
	// Key is the record's store key.
	Key string
	// Data is the record.
	Data []byte
}

// Errors returned by stores and by the capability helpers. Match them with
// [errors.Is]; they are usually wrapped with more context.
var (
	// ErrNotSupported is returned (wrapped) when a store lacks an optional
	// capability. Wrappers such as the cached store implement every
	// capability method and return it when their backing store lacks one.
	ErrNotSupported = errors.New("core: operation not supported by this store")

	// ErrSessionGone is [record.ErrSessionGone]: a delta for an existing
	// session found no live record (deleted meanwhile by a logout, Renew
	// or expiry). Core never recreates such a session; [Manager.Commit]
	// returns it (wrapped) for a Renew of a session deleted meanwhile.
	ErrSessionGone = record.ErrSessionGone

	// ErrSessionExists is [record.ErrSessionExists]: a new session was
	// written insert-if-absent and the key already holds a live record.
	ErrSessionExists = record.ErrSessionExists

	// ErrTooLarge is returned when an encoded record exceeds the size a
	// store accepts. The message names the limit.
	ErrTooLarge = errors.New("core: session too large for store")

	// ErrCorrupt is [record.ErrCorrupt]: bytes that are not a record.
	ErrCorrupt = record.ErrCorrupt

	// ErrClosed is returned by a store used after Close.
	ErrClosed = errors.New("core: store closed")
)

func notSupported(s Store, op string) error {
	return fmt.Errorf("core: %T: %s: %w", s, op, ErrNotSupported)
}

// saveDelta applies d to the record under key through s. It uses the
// store's atomic [DeltaStore] capability when present; otherwise (or when
// the store reports [ErrNotSupported]) it falls back to a best-effort
// load, [record.Apply] at now, save, which can lose a concurrent update.
func saveDelta(ctx context.Context, s Store, key string, d *record.Delta, now time.Time) error {
	if ds, ok := s.(DeltaStore); ok {
		err := ds.SaveDelta(ctx, key, d)
		if !errors.Is(err, ErrNotSupported) {
			return err
		}
	}
	old, found, err := s.Load(ctx, key)
	if err != nil {
		return err
	}
	data, expiry, err := record.Apply(old, found, d, now)
	if err != nil {
		return err
	}
	return s.Save(ctx, key, data, expiry)
}

// take deletes the live record under key and returns it. It uses the
// store's atomic [TakeStore] capability when present; otherwise (or when
// the store reports [ErrNotSupported]) it falls back to a best-effort
// load, then delete: two concurrent callers may then both get the record,
// so with a store that has only the three [Store] methods two concurrent
// Renews of one session may both succeed, forking it into two live
// sessions, and a Renew racing a Destroy may bring the session back under
// the new ID. now decides liveness in the fallback.
func take(ctx context.Context, s Store, key string, now time.Time) ([]byte, bool, error) {
	if ts, ok := s.(TakeStore); ok {
		data, found, err := ts.Take(ctx, key)
		if !errors.Is(err, ErrNotSupported) {
			return data, found, err
		}
	}
	data, found, err := s.Load(ctx, key)
	if err != nil || !found {
		return nil, false, err
	}
	if !record.Live(data, now) {
		return nil, false, nil
	}
	data = bytes.Clone(data)
	if err := s.Delete(ctx, key); err != nil {
		return nil, false, err
	}
	return data, true, nil
}

// touch moves the deadline of the record under key. It uses the store's
// [TouchStore] capability when present and otherwise rewrites the record
// with its header's expiry patched (best effort).
func touch(ctx context.Context, s Store, key string, expiry time.Time) error {
	if ts, ok := s.(TouchStore); ok {
		err := ts.Touch(ctx, key, expiry)
		if !errors.Is(err, ErrNotSupported) {
			return err
		}
	}
	data, found, err := s.Load(ctx, key)
	if err != nil || !found {
		return err
	}
	data = append([]byte(nil), data...)
	if err := record.SetExpiry(data, expiry); err != nil {
		return err
	}
	return s.Save(ctx, key, data, expiry)
}

// storeTTL reports the time left before the record under key expires. It
// uses the store's [TTLStore] capability when present; otherwise it loads
// the record and reads the expiry from its header.
func storeTTL(ctx context.Context, s Store, key string, now time.Time) (time.Duration, bool, error) {
	if ts, ok := s.(TTLStore); ok {
		ttl, found, err := ts.TTL(ctx, key)
		if !errors.Is(err, ErrNotSupported) {
			return ttl, found, err
		}
	}
	data, found, err := s.Load(ctx, key)
	if err != nil || !found {
		return 0, false, err
	}
	exp, err := record.Expiry(data)
	if err != nil {
		return 0, false, err
	}
	if !exp.After(now) {
		return 0, false, nil
	}
	return exp.Sub(now), true, nil
}

// iterate calls fn for each live record of s, or returns a wrapped
// [ErrNotSupported] when s cannot iterate.
func iterate(ctx context.Context, s Store, fn func(key string, data []byte) bool) error {
	if is, ok := s.(IterStore); ok {
		return is.Iterate(ctx, fn)
	}
	return notSupported(s, "iterate")
}

// count returns the number of live records in s, or a wrapped
// [ErrNotSupported] when s cannot count.
func count(ctx context.Context, s Store) (int, error) {
	if cs, ok := s.(CountStore); ok {
		return cs.Count(ctx)
	}
	return 0, notSupported(s, "count")
}

// clearAll deletes every record of s, or returns a wrapped
// [ErrNotSupported] when s cannot.
func clearAll(ctx context.Context, s Store) error {
	if cs, ok := s.(ClearStore); ok {
		return cs.Clear(ctx)
	}
	return notSupported(s, "clear")
}
