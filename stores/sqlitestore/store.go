package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"

	// The pure-Go SQLite driver, registered as "sqlite". It is the driver
	// under GORM's github.com/glebarez/sqlite dialector.
	_ "github.com/glebarez/go-sqlite"
)

// DriverName is the database/sql driver name this package registers and
// [Open] uses: the pure-Go (cgo-free) SQLite driver
// github.com/glebarez/go-sqlite.
const DriverName = "sqlite"

// busyTimeoutMS is the busy_timeout [Open] sets on each connection: how
// long SQLite itself waits for a lock held by another connection. It is
// short because that wait ignores the request's context; longer waits are
// retried by retryBusy, which stops at the context's deadline.
const busyTimeoutMS = 50

// iteratePage is how many rows Iterate reads per query.
const iteratePage = 128

// Compile-time checks of the capabilities core discovers.
var (
	_ core.Store        = (*Store)(nil)
	_ core.DeltaStore   = (*Store)(nil)
	_ core.TouchStore   = (*Store)(nil)
	_ core.TTLStore     = (*Store)(nil)
	_ core.IterStore    = (*Store)(nil)
	_ core.CountStore   = (*Store)(nil)
	_ core.ClearStore   = (*Store)(nil)
	_ core.CleanupStore = (*Store)(nil)
)

// Store is a session store kept in one SQLite table. It implements
// [core.Store] and every optional capability: [core.DeltaStore],
// [core.TouchStore], [core.TTLStore], [core.IterStore], [core.CountStore],
// [core.ClearStore], [core.CleanupStore] and [io.Closer].
//
// A Store is safe for concurrent use by multiple goroutines, and several
// processes may use the same database file at once (see the package
// documentation on WAL mode).
type Store struct {
	db    *sql.DB
	owned bool // Close closes db (Open), or leaves it to the app (New)
	cfg   config
	q     queries

	stLoad, stTTL, stUpsert, stDel, stTouch *sql.Stmt
	stDeleteExpiredKey, stLoadAny           *sql.Stmt
	stCount, stCleanup, stPageFirst, stPage *sql.Stmt

	// writing serializes this Store's writes so that its own goroutines
	// queue in Go rather than poll SQLite's lock; other connections and
	// processes are handled by busy_timeout and retryBusy.
	writing chan struct{}

	closed    atomic.Bool
	closeOnce sync.Once
	stop      context.CancelFunc
	wg        sync.WaitGroup
}

// Open opens (creating it when missing) the SQLite database file at path
// and returns a store that keeps its sessions there. The directory holding
// path must exist: a missing one is an error naming it.
//
// Open sets, on every connection it opens, WAL journal mode, a busy
// timeout of 5 seconds and synchronous=NORMAL (in WAL mode a crash of the
// application loses nothing; a power loss may lose the last sessions
// written, never corrupt the file). It creates the session table when
// missing. A new database file is created with mode 0600, and SQLite gives
// its -wal and -shm files the same mode; an existing file keeps its mode.
// [Store.Close] closes the database.
func Open(path string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	dsn, err := fileDSN(path)
	if err != nil {
		return nil, err
	}
	// The driver creates a missing file with mode 0644 (less the umask);
	// sessions are secrets, so create it 0600 first. SQLite gives the -wal
	// and -shm files the mode of the database file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	db, err := sql.Open(DriverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	// Writes are serialized by the Store; the connections serve
	// concurrent readers. Keeping them idle avoids reopening the file and
	// rerunning the pragmas under load.
	n := max(4, runtime.GOMAXPROCS(0)+2)
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	s, err := newStore(db, true, cfg)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	return s, nil
}

// New returns a store that keeps its sessions in db, an SQLite database the
// application already opened (with this package's driver "sqlite", the
// one GORM's github.com/glebarez/sqlite uses, or any other SQLite driver).
// It creates the session table when missing. [Store.Close] stops the
// store's background cleanup but leaves db open: it belongs to the caller.
//
// The application should open db in WAL mode with a busy timeout, for
// example with the DSN
//
//	file:app.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)
//
// (github.com/glebarez/go-sqlite sets a busy timeout of 5 s by default).
func New(db *sql.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlitestore: New: nil *sql.DB")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	s, err := newStore(db, false, cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return s, nil
}

func newConfig(opts []Option) (config, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return cfg, cfg.validate()
}

// fileDSN checks path and turns it into a URI filename for the driver, so
// that characters such as '?' and '#' in a path stay part of it.
func fileDSN(path string) (string, error) {
	if path == "" {
		return "", errors.New("sqlitestore: Open: empty path")
	}
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return "", fmt.Errorf("sqlitestore: Open: %q is not a file path (for an in-memory or URI database, open a *sql.DB and use New)", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("sqlitestore: Open %s: %w", path, err)
	}
	dir := filepath.Dir(abs)
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("sqlitestore: Open %s: directory %s does not exist", path, dir)
	case err != nil:
		return "", fmt.Errorf("sqlitestore: Open %s: %w", path, err)
	case !fi.IsDir():
		return "", fmt.Errorf("sqlitestore: Open %s: %s is not a directory", path, dir)
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter: file:/C:/...
	}
	p = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
	return fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)", p, busyTimeoutMS), nil
}

func newStore(db *sql.DB, owned bool, cfg config) (*Store, error) {
	s := &Store{
		db:      db,
		owned:   owned,
		cfg:     cfg,
		q:       newQueries(cfg.table),
		writing: make(chan struct{}, 1),
	}
	ctx := context.Background()
	if err := migrate(ctx, db, cfg.table, &s.q); err != nil {
		return nil, fmt.Errorf("table %s: %w", cfg.table, err)
	}
	if err := s.prepare(ctx); err != nil {
		s.closeStmts()
		return nil, fmt.Errorf("table %s: %w", cfg.table, err)
	}
	bg, stop := context.WithCancel(context.Background())
	s.stop = stop
	if cfg.cleanupInterval > 0 {
		s.wg.Add(1)
		go s.cleanupLoop(bg, cfg.cleanupInterval)
	}
	return s, nil
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		st    **sql.Stmt
		query string
	}{
		{&s.stLoad, s.q.load},
		{&s.stTTL, s.q.ttl},
		{&s.stUpsert, s.q.upsert},
		{&s.stDel, s.q.del},
		{&s.stTouch, s.q.touch},
		{&s.stDeleteExpiredKey, s.q.deleteExpiredKey},
		{&s.stLoadAny, s.q.loadAny},
		{&s.stCount, s.q.count},
		{&s.stCleanup, s.q.cleanup},
		{&s.stPageFirst, s.q.pageFirst},
		{&s.stPage, s.q.page},
	} {
		err := retryBusy(ctx, func() error {
			st, err := s.db.PrepareContext(ctx, p.query)
			*p.st = st
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) closeStmts() {
	for _, st := range []*sql.Stmt{
		s.stLoad, s.stTTL, s.stUpsert, s.stDel, s.stTouch,
		s.stDeleteExpiredKey, s.stLoadAny,
		s.stCount, s.stCleanup, s.stPageFirst, s.stPage,
	} {
		if st != nil {
			st.Close()
		}
	}
}

// Close stops the background cleanup and, for a store made by [Open],
// closes the database; a store made by [New] leaves the caller's *sql.DB
// open. Afterwards every method returns an error matching
// [core.ErrClosed]. Close is safe to call more than once; later calls
// return nil.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.stop()
		s.wg.Wait()
		s.closeStmts()
		if s.owned {
			err = s.db.Close()
		}
	})
	return err
}

// check refuses an operation on a closed store or with a done context,
// before touching the database.
func (s *Store) check(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("sqlitestore: %s: %w", op, core.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	return nil
}

// fail wraps a database error, so that errors.Is finds core.ErrClosed
// after a concurrent Close and the context's error when it ended.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("sqlitestore: %s: %w (%v)", op, core.ErrClosed, err)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("sqlitestore: %s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, err)
}

// lockWrite takes this Store's write turn, or gives up when ctx ends.
func (s *Store) lockWrite(ctx context.Context) error {
	select {
	case s.writing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) unlockWrite() { <-s.writing }

func (s *Store) tooLarge(n int) error {
	return fmt.Errorf("sqlitestore: record of %d bytes exceeds the limit of %d bytes: %w", n, s.cfg.maxRecordSize, core.ErrTooLarge)
}

// nanos converts a deadline to the expiry column: Unix nanoseconds, with
// the zero time as 0 (already expired) and far-future times clamped.
func nanos(t time.Time) int64 {
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

// Load returns a copy of the live record stored under key, with the
// expiry in its header set from the expiry column (which [Store.Touch]
// moves). A missing or expired record is found == false with a nil error.
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check(ctx, "load"); err != nil {
		return nil, false, err
	}
	now := time.Now()
	var (
		data []byte
		exp  int64
	)
	err := retryBusy(ctx, func() error {
		return s.stLoad.QueryRowContext(ctx, key, now.UnixNano()).Scan(&data, &exp)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.fail(ctx, "load", err)
	}
	if record.SetExpiry(data, time.Unix(0, exp)) != nil || !record.Live(data, now) {
		return nil, false, nil
	}
	return data, true, nil
}

// Save stores a copy of data under key until expiry, replacing any
// previous record. A record larger than the maximum size (see
// [WithMaxRecordSize]) is an error matching [core.ErrTooLarge]; bytes that
// are not a record are refused with an error matching [core.ErrCorrupt].
func (s *Store) Save(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := s.check(ctx, "save"); err != nil {
		return err
	}
	if len(data) > s.cfg.maxRecordSize {
		return s.tooLarge(len(data))
	}
	if err := record.Check(data); err != nil {
		return fmt.Errorf("sqlitestore: save: %w", err)
	}
	return s.write(ctx, "save", func() error {
		_, err := s.stUpsert.ExecContext(ctx, key, data, nanos(expiry))
		return err
	})
}

// Delete removes the record stored under key; a missing key is a no-op.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.check(ctx, "delete"); err != nil {
		return err
	}
	return s.write(ctx, "delete", func() error {
		_, err := s.stDel.ExecContext(ctx, key)
		return err
	})
}

// write runs one autocommit write statement in this Store's write turn,
// retrying SQLITE_BUSY.
func (s *Store) write(ctx context.Context, op string, fn func() error) error {
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	defer s.unlockWrite()
	if err := retryBusy(ctx, fn); err != nil {
		return s.fail(ctx, op, err)
	}
	return nil
}

// SaveDelta applies d to the record under key with [record.Apply] in
// one transaction that holds the database's write lock from its first
// statement, so no other writer (goroutine or process) comes in between
// the read and the write. It returns errors matching
// [core.ErrSessionExists], [core.ErrSessionGone] and [core.ErrTooLarge].
func (s *Store) SaveDelta(ctx context.Context, key string, d *record.Delta) error {
	if err := s.check(ctx, "save delta"); err != nil {
		return err
	}
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("sqlitestore: save delta: %w", err)
	}
	defer s.unlockWrite()
	var deltaErr error // a refusal by the delta rules, not a database error
	err := retryBusy(ctx, func() error {
		deltaErr = nil
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() // a no-op after Commit
		deltaErr, err = s.applyDelta(ctx, tx, key, d)
		if err != nil || deltaErr != nil {
			return err
		}
		return tx.Commit()
	})
	if err != nil {
		return s.fail(ctx, "save delta", err)
	}
	if deltaErr != nil {
		return fmt.Errorf("sqlitestore: save delta: %w", deltaErr)
	}
	return nil
}

func (s *Store) applyDelta(ctx context.Context, tx *sql.Tx, key string, d *record.Delta) (deltaErr, err error) {
	now := time.Now()
	// The first statement of the transaction is a write, so SQLite takes
	// the write lock (waiting through busy_timeout) before anything is
	// read, whatever BEGIN mode the application's DSN chose: the read
	// below cannot be made stale by another writer. Deleting this key's
	// expired row also makes the insert-if-absent below a plain upsert.
	if _, err := tx.StmtContext(ctx, s.stDeleteExpiredKey).ExecContext(ctx, key, now.UnixNano()); err != nil {
		return nil, err
	}
	var (
		old   []byte
		exp   int64
		found = true
	)
	err = tx.StmtContext(ctx, s.stLoadAny).QueryRowContext(ctx, key).Scan(&old, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		found = false
	} else if err != nil {
		return nil, err
	}
	if found {
		// A corrupt header is left alone: record.Apply counts the record
		// as absent.
		_ = record.SetExpiry(old, time.Unix(0, exp))
	}
	data, expiry, derr := record.Apply(old, found, d, now)
	if derr != nil {
		return derr, nil
	}
	if len(data) > s.cfg.maxRecordSize {
		return s.tooLarge(len(data)), nil
	}
	_, err = tx.StmtContext(ctx, s.stUpsert).ExecContext(ctx, key, data, nanos(expiry))
	return nil, err
}

// Take deletes the live record under key and returns it (with the expiry
// in its header set from the expiry column, as [Store.Load] does), in one
// transaction that holds the database's write lock from its first
// statement: of concurrent Takes, in this process or another, only one
// finds the record. A missing or expired record is found == false; an
// expired row is deleted on the way.
func (s *Store) Take(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check(ctx, "take"); err != nil {
		return nil, false, err
	}
	if err := s.lockWrite(ctx); err != nil {
		return nil, false, fmt.Errorf("sqlitestore: take: %w", err)
	}
	defer s.unlockWrite()
	var (
		data  []byte
		found bool
	)
	err := retryBusy(ctx, func() error {
		data, found = nil, false
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() // a no-op after Commit
		now := time.Now()
		// A write first, for the write lock (see applyDelta).
		if _, err := tx.StmtContext(ctx, s.stDeleteExpiredKey).ExecContext(ctx, key, now.UnixNano()); err != nil {
			return err
		}
		var exp int64
		err = tx.StmtContext(ctx, s.stLoadAny).QueryRowContext(ctx, key).Scan(&data, &exp)
		if errors.Is(err, sql.ErrNoRows) {
			data = nil
			return tx.Commit()
		}
		if err != nil {
			return err
		}
		if record.SetExpiry(data, time.Unix(0, exp)) != nil || !record.Live(data, now) {
			data = nil // corrupt: not a session, left for Save to replace
			return tx.Commit()
		}
		if _, err := tx.StmtContext(ctx, s.stDel).ExecContext(ctx, key); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		found = true
		return nil
	})
	if err != nil {
		return nil, false, s.fail(ctx, "take", err)
	}
	return data, found, nil
}

// Touch sets the expiry of the live record under key with a single UPDATE
// of the expiry column; [Store.Load] then reports it in the record's
// header. Touching a missing or expired key is a no-op and returns nil.
func (s *Store) Touch(ctx context.Context, key string, expiry time.Time) error {
	if err := s.check(ctx, "touch"); err != nil {
		return err
	}
	return s.write(ctx, "touch", func() error {
		_, err := s.stTouch.ExecContext(ctx, nanos(expiry), key, time.Now().UnixNano())
		return err
	})
}

// TTL returns the time left before the record under key expires. A
// missing or expired record is found == false with a nil error.
func (s *Store) TTL(ctx context.Context, key string) (time.Duration, bool, error) {
	if err := s.check(ctx, "ttl"); err != nil {
		return 0, false, err
	}
	now := time.Now()
	var exp int64
	err := retryBusy(ctx, func() error {
		return s.stTTL.QueryRowContext(ctx, key, now.UnixNano()).Scan(&exp)
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
	key  string
	data []byte
	exp  int64
}

// Iterate calls fn for each live record, in key order, until fn returns
// false. It reads the table in pages and holds no connection or lock
// while fn runs, so fn may call any method of the store, including
// Delete of the key it was given. Records saved or deleted during the
// iteration may or may not be visited.
func (s *Store) Iterate(ctx context.Context, fn func(key string, data []byte) bool) error {
	if err := s.check(ctx, "iterate"); err != nil {
		return err
	}
	var (
		after string
		first = true
		page  []row
	)
	for {
		if err := s.check(ctx, "iterate"); err != nil {
			return err
		}
		now := time.Now()
		err := retryBusy(ctx, func() error {
			var err error
			page, err = s.readPage(ctx, first, after, now, page[:0])
			return err
		})
		if err != nil {
			return s.fail(ctx, "iterate", err)
		}
		for _, r := range page {
			if record.SetExpiry(r.data, time.Unix(0, r.exp)) != nil || !record.Live(r.data, time.Now()) {
				continue
			}
			if !fn(r.key, r.data) {
				return nil
			}
		}
		if len(page) < iteratePage {
			return nil
		}
		first, after = false, page[len(page)-1].key
	}
}

func (s *Store) readPage(ctx context.Context, first bool, after string, now time.Time, page []row) ([]row, error) {
	var (
		rows *sql.Rows
		err  error
	)
	if first {
		rows, err = s.stPageFirst.QueryContext(ctx, now.UnixNano(), iteratePage)
	} else {
		rows, err = s.stPage.QueryContext(ctx, after, now.UnixNano(), iteratePage)
	}
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.key, &r.data, &r.exp); err != nil {
			return page, err
		}
		page = append(page, r)
	}
	return page, rows.Err()
}

// Count returns the number of live records.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := s.check(ctx, "count"); err != nil {
		return 0, err
	}
	var n int
	err := retryBusy(ctx, func() error {
		return s.stCount.QueryRowContext(ctx, time.Now().UnixNano()).Scan(&n)
	})
	if err != nil {
		return 0, s.fail(ctx, "count", err)
	}
	return n, nil
}

// Clear deletes every record of the store's table (and nothing else in
// the database).
func (s *Store) Clear(ctx context.Context) error {
	if err := s.check(ctx, "clear"); err != nil {
		return err
	}
	return s.write(ctx, "clear", func() error {
		_, err := s.db.ExecContext(ctx, s.q.clear)
		return err
	})
}

// Cleanup deletes the expired records now and reports how many it
// deleted. The background cleanup (see [WithCleanupInterval]) calls it
// periodically.
func (s *Store) Cleanup(ctx context.Context) (int, error) {
	if err := s.check(ctx, "cleanup"); err != nil {
		return 0, err
	}
	return s.cleanup(ctx)
}

func (s *Store) cleanup(ctx context.Context) (int, error) {
	var n int64
	err := s.write(ctx, "cleanup", func() error {
		res, err := s.stCleanup.ExecContext(ctx, time.Now().UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
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
				s.cfg.logger.Error("sqlitestore: background cleanup failed", "table", s.cfg.table, "err", err)
			}
		}
	}
}
