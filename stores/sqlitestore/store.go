package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/sqlstore"

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
// retried by the engine (package sqlstore), which stops at the context's
// deadline.
const busyTimeoutMS = 50

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

// setupTimeout bounds the table creation and schema check of [Open] and
// [New], busy waits included.
const setupTimeout = 30 * time.Second

// Store is a session store kept in one SQLite table. It implements
// [core.Store] and every optional capability: [core.DeltaStore],
// [core.TakeStore], [core.TouchStore], [core.TTLStore], [core.IterStore],
// [core.CountStore], [core.ClearStore], [core.CleanupStore],
// [core.UserStore] (the user index, see the package documentation) and
// [io.Closer]. Its methods are those of the SQL engine, [sqlstore.Store],
// which postgresstore and mysqlstore share.
//
// A Store is safe for concurrent use by multiple goroutines, and several
// processes may use the same database file at once (see the package
// documentation on WAL mode).
type Store struct {
	*sqlstore.Store
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
	if err := sqlstore.Validate(dialect, opts...); err != nil {
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
	s, err := newStore(db, true, opts) // closes db on error
	if err != nil {
		return nil, fmt.Errorf("%w (database %s)", err, path)
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
	return newStore(db, false, opts)
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

func newStore(db *sql.DB, owned bool, opts []Option) (*Store, error) {
	ex := &writeExec{
		Executor: sqlstore.NewSQLExecutor(db, owned, lockImmediate),
		writing:  make(chan struct{}, 1),
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	s, err := sqlstore.New(ctx, ex, dialect, opts...)
	if err != nil {
		return nil, err
	}
	return &Store{s}, nil
}

// writeExec serializes the writes of one Store so that its own goroutines
// queue in Go rather than poll SQLite's lock; other connections and
// processes are handled by busy_timeout and the engine's retries of
// SQLITE_BUSY.
type writeExec struct {
	sqlstore.Executor
	writing chan struct{}
}

// lock takes this Store's write turn, or gives up when ctx ends.
func (e *writeExec) lock(ctx context.Context) error {
	select {
	case e.writing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *writeExec) unlock() { <-e.writing }

func (e *writeExec) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if err := e.lock(ctx); err != nil {
		return 0, err
	}
	defer e.unlock()
	return e.Executor.Exec(ctx, query, args...)
}

func (e *writeExec) RowTx(ctx context.Context, q *sqlstore.Queries, key any, lock *sqlstore.Stmt, decide sqlstore.Decide) (int64, error) {
	if err := e.lock(ctx); err != nil {
		return 0, err
	}
	defer e.unlock()
	return e.Executor.RowTx(ctx, q, key, lock, decide)
}

func (e *writeExec) UserTx(ctx context.Context, q *sqlstore.Queries, userKey any, decide sqlstore.DecideUser) error {
	if err := e.lock(ctx); err != nil {
		return err
	}
	defer e.unlock()
	return e.Executor.UserTx(ctx, q, userKey, decide)
}
