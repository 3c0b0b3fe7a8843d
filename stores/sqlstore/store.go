package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// iteratePage is how many rows Iterate reads per query.
const iteratePage = 128

// Compile-time checks of the capabilities core discovers.
var (
	_ core.Store        = (*Store)(nil)
	_ core.DeltaStore   = (*Store)(nil)
	_ core.TakeStore    = (*Store)(nil)
	_ core.TouchStore   = (*Store)(nil)
	_ core.TTLStore     = (*Store)(nil)
	_ core.IterStore    = (*Store)(nil)
	_ core.CountStore   = (*Store)(nil)
	_ core.ClearStore   = (*Store)(nil)
	_ core.CleanupStore = (*Store)(nil)
	_ core.UserStore    = (*Store)(nil)
)

// Store is a session store kept in one SQL table, on the database its
// [Dialect] describes. It implements [core.Store] and every optional
// capability: [core.DeltaStore], [core.TakeStore], [core.TouchStore],
// [core.TTLStore], [core.IterStore], [core.CountStore], [core.ClearStore],
// [core.CleanupStore], [core.UserStore] (a user index in a table of its
// own, written in the record's transaction) and [io.Closer].
//
// A Store is safe for concurrent use by multiple goroutines, and any number
// of processes may share its table.
type Store struct {
	ex  Executor
	d   *Dialect
	cfg Config
	q   Queries

	// seen remembers the row this store last read or wrote for a key, so
	// that a delta of a session this process just loaded is one
	// conditional UPDATE (see SaveDelta).
	seenMu sync.Mutex
	seen   map[string]seenRow

	closed    atomic.Bool
	closeOnce sync.Once
	stop      context.CancelFunc
	wg        sync.WaitGroup
}

// New returns a store that runs its SQL through ex, in the table the
// options name, creating it (and its meta table) when missing.
// [Store.Close] closes ex. Errors in the options are returned before ex is
// used; on any error ex is closed.
func New(ctx context.Context, ex Executor, d *Dialect, opts ...Option) (*Store, error) {
	cfg, err := newConfig(d, opts)
	if err != nil {
		ex.Close()
		return nil, err
	}
	s := &Store{
		ex:  ex,
		d:   d,
		cfg: cfg,
		q:   d.Queries(names(cfg.Table)),
	}
	if s.q.UpdateIf != "" {
		s.seen = make(map[string]seenRow)
	}
	if err := s.retry(ctx, func() error { return s.migrate(ctx) }); err != nil {
		ex.Close()
		return nil, fmt.Errorf("%s: table %s: %w", d.Name, cfg.Table, err)
	}
	q := &s.q
	if err := s.retry(ctx, func() error {
		return ex.Prepare(ctx, []string{
			q.Load, q.TTL, q.Upsert, q.Delete, q.Touch, q.BeginWrite, q.LockRow, q.Update, q.Insert, q.UpdateIf,
			q.Take, q.Count, q.Cleanup, q.PageFirst, q.Page,
			q.DeleteIndexed, q.LockEntry, q.Index, q.Repoint, q.Unindex, q.Drop,
			q.UserSessions, q.LockUser, q.UserRows, q.MarkStale, q.PruneStale,
		})
	}); err != nil {
		ex.Close()
		return nil, fmt.Errorf("%s: table %s: %w", d.Name, cfg.Table, err)
	}
	bg, stop := context.WithCancel(context.Background())
	s.stop = stop
	if cfg.CleanupInterval > 0 {
		s.wg.Add(1)
		go s.cleanupLoop(bg, cfg.CleanupInterval)
	}
	return s, nil
}

// Config returns the store's configuration, with the defaults filled in.
func (s *Store) Config() Config { return s.cfg }

// Queries returns (a copy of) the SQL text the store runs.
func (s *Store) Queries() Queries { return s.q }

// Close stops the background cleanup and closes the executor (which
// closes the database only when the store owns it). Afterwards every
// method returns an error matching [core.ErrClosed].
// Close is safe to call more than once; later calls return nil.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.stop()
		s.wg.Wait()
		err = s.ex.Close()
	})
	return err
}

// check refuses an operation on a closed store or with a done context,
// before touching the database.
func (s *Store) check(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("%s: %s: %w", s.d.Name, op, core.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %s: %w", s.d.Name, op, err)
	}
	return nil
}

// fail wraps a database error, so that errors.Is finds core.ErrClosed
// after a concurrent Close and the context's error when it ended.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("%s: %s: %w (%v)", s.d.Name, op, core.ErrClosed, err)
	}
	cerr := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(dl) {
		// A driver's network deadline, set from ctx's, can fire just
		// before ctx's own timer does.
		cerr = context.DeadlineExceeded
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %s: %w: %w", s.d.Name, op, cerr, err)
	}
	return fmt.Errorf("%s: %s: %w", s.d.Name, op, err)
}

func (s *Store) tooLarge(n int) error {
	return fmt.Errorf("%s: record of %d bytes exceeds the limit of %d bytes: %w", s.d.Name, n, s.cfg.MaxRecordSize, core.ErrTooLarge)
}

// Retrying transient failures: without a deadline, for at most
// retryBudget.
const (
	retryBudget     = 5 * time.Second
	retryBackoffMin = time.Millisecond
	retryBackoffMax = 50 * time.Millisecond
)

// errRetry asks retry to run the transaction again: an insert-if-absent
// lost to a concurrent insert, whose row the next attempt locks.
var errRetry = errors.New("sqlstore: retry")

// retry runs fn until it returns something other than a transient error,
// never past ctx's deadline.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	start := time.Now()
	backoff := retryBackoffMin
	for {
		err := fn()
		if err == nil || !errors.Is(err, errRetry) && !s.d.Transient(err) {
			return err
		}
		wait := backoff/2 + rand.N(backoff)
		if dl, ok := ctx.Deadline(); ok {
			if time.Until(dl) < wait {
				return err
			}
		} else if time.Since(start)+wait > retryBudget {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(ctx.Err(), err)
		case <-t.C:
		}
		backoff = min(2*backoff, retryBackoffMax)
	}
}

// Nanos converts a deadline to the expiry column: Unix nanoseconds, with
// the zero time as 0 (already expired) and far-future times clamped.
func Nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Year() >= 2262:
		return math.MaxInt64
	case t.Year() < 1678:
		return math.MinInt64
	}
	return t.UnixNano()
}

// key returns the value bound for the key column.
func (s *Store) key(key string) any {
	if s.d.Key != nil {
		return s.d.Key(key)
	}
	return []byte(key)
}

// live sets data's header expiry from the expiry column and reports
// whether the record is live at now; a corrupt record is not.
func live(data []byte, exp int64, now time.Time) bool {
	return record.SetExpiry(data, time.Unix(0, exp)) == nil && record.Live(data, now)
}

// Load returns the live record stored under key, with the expiry in its
// header set from the expiry column (which [Store.Touch] moves), in one
// query. A missing or expired record is found == false with a nil error.
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check(ctx, "load"); err != nil {
		return nil, false, err
	}
	now := time.Now()
	var (
		data []byte
		exp  int64
	)
	err := s.retry(ctx, func() error {
		return s.ex.QueryRow(ctx, s.q.Load, []any{s.key(key), now.UnixNano()}, &data, &exp)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.fail(ctx, "load", err)
	}
	// Remember the row only when its header already holds the column's
	// expiry (every row SaveDelta wrote; not one Touch moved since): then
	// the bytes returned are the stored ones.
	raw := expiryIs(data, exp)
	if !live(data, exp, now) {
		return nil, false, nil
	}
	if raw {
		s.remember(key, data, exp)
	} else {
		s.forget(key)
	}
	return data, true, nil
}

// seenRow is a row as stored: its data column and its expiry column.
type seenRow struct {
	data []byte // never modified: Load hands the same bytes to its caller
	exp  int64
}

// maxSeen bounds the rows a store remembers: about the sessions of the
// requests in flight, which are the ones whose delta follows their load.
const maxSeen = 4096

func (s *Store) remember(key string, data []byte, exp int64) {
	if s.seen == nil {
		return
	}
	s.seenMu.Lock()
	if len(s.seen) >= maxSeen {
		for k := range s.seen { // drop one, whichever the map yields
			delete(s.seen, k)
			break
		}
	}
	s.seen[key] = seenRow{data, exp}
	s.seenMu.Unlock()
}

func (s *Store) forget(key string) {
	if s.seen == nil {
		return
	}
	s.seenMu.Lock()
	delete(s.seen, key)
	s.seenMu.Unlock()
}

func (s *Store) recall(key string) (seenRow, bool) {
	if s.seen == nil {
		return seenRow{}, false
	}
	s.seenMu.Lock()
	r, ok := s.seen[key]
	s.seenMu.Unlock()
	return r, ok
}

// expiryIs reports whether data's header holds the expiry exp.
func expiryIs(data []byte, exp int64) bool {
	t, err := record.Expiry(data)
	return err == nil && Nanos(t) == exp
}

// Save stores a copy of data under key until expiry, replacing any
// previous record, in one statement. A record larger than the maximum size
// is an error matching [core.ErrTooLarge]; bytes that are not a record are
// refused with an error matching [core.ErrCorrupt].
//
// A record bound to a user is written in a row transaction with its user
// index entry (see [Store.SaveDelta]); an unbound one over a bound record
// leaves the old entry stale.
func (s *Store) Save(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := s.check(ctx, "save"); err != nil {
		return err
	}
	if len(data) > s.cfg.MaxRecordSize {
		return s.tooLarge(len(data))
	}
	if err := record.Check(data); err != nil {
		return fmt.Errorf("%s: save: %w", s.d.Name, err)
	}
	s.forget(key) // the caller keeps data: it may reuse it
	b, bound, err := record.FindBinding(data)
	if err != nil {
		return fmt.Errorf("%s: save: %w", s.d.Name, err)
	}
	if bound {
		return s.saveBound(ctx, key, data, expiry, b)
	}
	err = s.retry(ctx, func() error {
		_, err := s.ex.Exec(ctx, s.q.Upsert, s.key(key), data, Nanos(expiry))
		return err
	})
	if err != nil {
		return s.fail(ctx, "save", err)
	}
	return nil
}

// Delete removes the record stored under key; a missing key is a no-op.
// Its user index entry goes in the same statement where the dialect can
// ([Queries.DeleteIndexed]); otherwise it is left to the cleanup.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.check(ctx, "delete"); err != nil {
		return err
	}
	s.forget(key)
	query := s.q.Delete
	if s.q.DeleteIndexed != "" {
		query = s.q.DeleteIndexed
	}
	err := s.retry(ctx, func() error {
		_, err := s.ex.Exec(ctx, query, s.key(key))
		return err
	})
	if err != nil {
		return s.fail(ctx, "delete", err)
	}
	return nil
}

// errRefused carries a refusal by the delta rules (or the size limit) out
// of a row transaction, which it rolls back.
type errRefused struct{ err error }

func (e errRefused) Error() string { return e.err.Error() }

// SaveDelta applies d to the record under key with [record.Apply]
// atomically, and returns errors matching [core.ErrSessionExists],
// [core.ErrSessionGone] and [core.ErrTooLarge].
//
// When this store read or wrote the row last (a request's Load before its
// save), the delta is applied to that row and written with one conditional
// UPDATE that succeeds only if the row still holds exactly those bytes and
// that expiry: one round trip. Otherwise (another writer came in between,
// another process, a new session) it runs the row transaction, which locks
// the row (SELECT ... FOR UPDATE) before reading it, so no other writer
// comes in between the read and the write; a new session is inserted only
// if absent.
//
// A delta that changes the record's binding (see [record.DeltaBinding])
// always runs the row transaction, which writes the user index entry with
// the record: a new binding (Gen 0) gets its generation stamped and its
// entry inserted, an old one's entry is deleted, and a create carrying a
// binding (Gen not 0: a Renew) locks the entry first and, when it is
// gone (the user's sessions were destroyed), fails with an error matching
// [core.ErrSessionGone] and writes nothing; otherwise the entry is
// repointed to the new key.
func (s *Store) SaveDelta(ctx context.Context, key string, d *record.Delta) error {
	if err := s.check(ctx, "save delta"); err != nil {
		return err
	}
	b, bound, changed, err := record.DeltaBinding(d)
	if err != nil {
		return fmt.Errorf("%s: save delta: %w", s.d.Name, err)
	}
	k := s.key(key)
	if !d.Create {
		done, err := s.saveIfUnchanged(ctx, key, k, d, b, bound, changed)
		if done || err != nil {
			return err
		}
	}
	var lock *Stmt
	if d.Create && bound && b.Gen != 0 {
		lock = s.lockEntry(b)
	}
	err = s.retry(ctx, func() error {
		op := None
		n, err := s.ex.RowTx(ctx, &s.q, k, lock, func(r Row) (Write, error) {
			if r.Found {
				// A corrupt header is left alone: record.Apply counts the
				// record as absent.
				_ = record.SetExpiry(r.Data, time.Unix(0, r.Exp))
			}
			data, expiry, derr := record.Apply(r.Data, r.Found, d, time.Now())
			if derr != nil {
				return Write{}, errRefused{derr}
			}
			if len(data) > s.cfg.MaxRecordSize {
				return Write{}, errRefused{s.tooLarge(len(data))}
			}
			var also []Stmt
			if changed {
				var ierr error
				if also, ierr = s.reindex(k, r, data, b, bound, d.Create); ierr != nil {
					return Write{}, errRefused{ierr}
				}
			}
			s.remember(key, data, Nanos(expiry)) // forgotten below if the write fails
			op = Update
			if !r.Found {
				op = Insert
			}
			return Write{Op: op, Data: data, Exp: Nanos(expiry), Also: also}, nil
		})
		// An UPDATE that changes nothing affects 0 rows on MySQL: only an
		// insert's 0 means another writer came first.
		if err == nil && op == Insert && n == 0 {
			return errRetry // the insert found a row inserted meanwhile
		}
		return err
	})
	if err != nil {
		s.forget(key)
	}
	if r, ok := errors.AsType[errRefused](err); ok {
		if errors.Is(r.err, core.ErrTooLarge) {
			return r.err
		}
		return fmt.Errorf("%s: save delta: %w", s.d.Name, r.err)
	}
	if err != nil {
		return s.fail(ctx, "save delta", err)
	}
	return nil
}

// saveIfUnchanged is SaveDelta's one-statement path: it applies d to the
// row this store last saw for key and writes the result only if the row is
// unchanged. done is false when it could not (no row remembered, the row
// changed, the delta refused on the remembered row, the delta changes the
// user index entry: the row transaction then decides with the row as it
// is). b, bound and changed are d's binding ([record.DeltaBinding]).
func (s *Store) saveIfUnchanged(ctx context.Context, key string, k any, d *record.Delta, b record.Binding, bound, changed bool) (done bool, err error) {
	old, ok := s.recall(key)
	if !ok {
		return false, nil
	}
	if changed && !sameBinding(old.data, b, bound) {
		return false, nil
	}
	data, expiry, derr := record.Apply(old.data, true, d, time.Now())
	if derr != nil || len(data) > s.cfg.MaxRecordSize {
		return false, nil
	}
	exp := Nanos(expiry)
	var n int64
	err = s.retry(ctx, func() error {
		var err error
		n, err = s.ex.Exec(ctx, s.q.UpdateIf, data, exp, k, old.data, old.exp)
		return err
	})
	if err != nil {
		s.forget(key)
		return false, s.fail(ctx, "save delta", err)
	}
	if n != 1 {
		s.forget(key)
		return false, nil
	}
	s.remember(key, data, exp)
	return true, nil
}

// Take deletes the live record under key and returns it (with the expiry
// in its header set from the expiry column, as [Store.Load] does), as one
// atomic step: a single DELETE ... RETURNING where the dialect has one,
// else a transaction that locks the row, checks it and deletes it. Of
// concurrent Takes only one finds the record. A missing or expired record
// is found == false; a corrupt one is deleted and not found. The record's
// user index entry stays, for the Renew that carries the binding to a new
// key (see [Store.SaveDelta]).
func (s *Store) Take(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check(ctx, "take"); err != nil {
		return nil, false, err
	}
	s.forget(key)
	k := s.key(key)
	var (
		data  []byte
		found bool
	)
	err := s.retry(ctx, func() error {
		data, found = nil, false
		now := time.Now()
		if s.q.Take != "" {
			var exp int64
			err := s.ex.QueryRow(ctx, s.q.Take, []any{k, now.UnixNano()}, &data, &exp)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			found = live(data, exp, now)
			return nil
		}
		_, err := s.ex.RowTx(ctx, &s.q, k, nil, func(r Row) (Write, error) {
			if !r.Found || r.Exp <= now.UnixNano() {
				return Write{}, nil
			}
			if found = live(r.Data, r.Exp, now); found {
				data = r.Data
			}
			return Write{Op: Delete}, nil
		})
		if err != nil {
			data, found = nil, false
		}
		return err
	})
	if err != nil {
		return nil, false, s.fail(ctx, "take", err)
	}
	if !found {
		return nil, false, nil
	}
	return data, true, nil
}

// Touch sets the expiry of the live record under key with a single UPDATE
// of the expiry column; [Store.Load] then reports it in the record's
// header. Touching a missing or expired key is a no-op and returns nil.
func (s *Store) Touch(ctx context.Context, key string, expiry time.Time) error {
	if err := s.check(ctx, "touch"); err != nil {
		return err
	}
	s.forget(key)
	err := s.retry(ctx, func() error {
		_, err := s.ex.Exec(ctx, s.q.Touch, Nanos(expiry), s.key(key), time.Now().UnixNano())
		return err
	})
	if err != nil {
		return s.fail(ctx, "touch", err)
	}
	return nil
}

// TTL returns the time left before the record under key expires. A
// missing or expired record is found == false with a nil error.
func (s *Store) TTL(ctx context.Context, key string) (time.Duration, bool, error) {
	if err := s.check(ctx, "ttl"); err != nil {
		return 0, false, err
	}
	now := time.Now()
	var exp int64
	err := s.retry(ctx, func() error {
		return s.ex.QueryRow(ctx, s.q.TTL, []any{s.key(key), now.UnixNano()}, &exp)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, s.fail(ctx, "ttl", err)
	}
	return time.Unix(0, exp).Sub(now), true, nil
}

type row struct {
	key  []byte
	data []byte
	exp  int64
}

// Iterate calls fn for each live record, in key order (bytewise), until fn
// returns false. It reads the table in pages and holds no connection or
// lock while fn runs, so fn may call any method of the store, including
// Delete of the key it was given. Records saved or deleted during the
// iteration may or may not be visited.
func (s *Store) Iterate(ctx context.Context, fn func(key string, data []byte) bool) error {
	var (
		after []byte
		first = true
		page  []row
	)
	for {
		if err := s.check(ctx, "iterate"); err != nil {
			return err
		}
		now := time.Now()
		err := s.retry(ctx, func() error {
			var err error
			page, err = s.readPage(ctx, first, after, now, page[:0])
			return err
		})
		if err != nil {
			return s.fail(ctx, "iterate", err)
		}
		for _, r := range page {
			if !live(r.data, r.exp, time.Now()) {
				continue
			}
			if !fn(string(r.key), r.data) {
				return nil
			}
		}
		if len(page) < iteratePage {
			return nil
		}
		first, after = false, page[len(page)-1].key
	}
}

func (s *Store) readPage(ctx context.Context, first bool, after []byte, now time.Time, page []row) ([]row, error) {
	query, args := s.q.PageFirst, []any{now.UnixNano(), int64(iteratePage)}
	if !first {
		query, args = s.q.Page, []any{s.key(string(after)), now.UnixNano(), int64(iteratePage)}
	}
	err := s.ex.Query(ctx, query, args, func(scan func(...any) error) error {
		var r row
		if err := scan(&r.key, &r.data, &r.exp); err != nil {
			return err
		}
		page = append(page, r)
		return nil
	})
	return page, err
}

// Count returns the number of live records.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := s.check(ctx, "count"); err != nil {
		return 0, err
	}
	var n int64
	err := s.retry(ctx, func() error {
		return s.ex.QueryRow(ctx, s.q.Count, []any{time.Now().UnixNano()}, &n)
	})
	if err != nil {
		return 0, s.fail(ctx, "count", err)
	}
	return int(n), nil
}

// Clear deletes every entry of the store's user index, then every record
// of its table (and nothing else in the database). In that order a
// session bound while Clear runs keeps its entry whenever it keeps its
// record; an entry whose record the second step deletes is stale, and
// skipped and pruned like any other.
func (s *Store) Clear(ctx context.Context) error {
	if err := s.check(ctx, "clear"); err != nil {
		return err
	}
	if s.seen != nil {
		s.seenMu.Lock()
		clear(s.seen)
		s.seenMu.Unlock()
	}
	err := s.retry(ctx, func() error {
		if _, err := s.ex.Exec(ctx, s.q.ClearIndex); err != nil {
			return err
		}
		_, err := s.ex.Exec(ctx, s.q.Clear)
		return err
	})
	if err != nil {
		return s.fail(ctx, "clear", err)
	}
	return nil
}

// Cleanup deletes the expired records now and reports how many it
// deleted. The background cleanup (see [WithCleanupInterval]) calls it
// periodically. It also prunes the user index: an entry whose record is
// missing or expired is marked stale, and deleted by a later Cleanup at
// least [StaleGrace] after it was marked if its record is still not
// there (the grace is for a Renew between its Take and its create).
func (s *Store) Cleanup(ctx context.Context) (int, error) {
	if err := s.check(ctx, "cleanup"); err != nil {
		return 0, err
	}
	return s.cleanup(ctx)
}

func (s *Store) cleanup(ctx context.Context) (int, error) {
	var n int64
	err := s.retry(ctx, func() error {
		var err error
		n, err = s.ex.Exec(ctx, s.q.Cleanup, time.Now().UnixNano())
		return err
	})
	if err != nil {
		return 0, s.fail(ctx, "cleanup", err)
	}
	err = s.retry(ctx, func() error {
		now := time.Now().UnixNano()
		if _, err := s.ex.Exec(ctx, s.q.MarkStale, now, now); err != nil {
			return err
		}
		_, err := s.ex.Exec(ctx, s.q.PruneStale, now-int64(StaleGrace), now)
		return err
	})
	if err != nil {
		return int(n), s.fail(ctx, "cleanup of the user index", err)
	}
	return int(n), nil
}

func (s *Store) cleanupLoop(ctx context.Context, every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.cleanup(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Error(s.d.Name+": background cleanup failed", "table", s.cfg.Table, "err", err)
			}
		}
	}
}
