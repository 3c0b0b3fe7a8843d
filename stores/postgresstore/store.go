package postgresstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/sqlstore"
)

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

// SchemaVersion is the version of the table layout this release creates
// and reads (see the package documentation).
const SchemaVersion = sqlstore.SchemaVersion

// ErrSchemaVersion is returned (wrapped) by [New] and [NewDB] when the
// session table was created by a newer release, whose layout this release
// does not know.
var ErrSchemaVersion = sqlstore.ErrSchemaVersion

// setupTimeout bounds the table creation and schema check of [New] and
// [NewDB].
const setupTimeout = 30 * time.Second

// Store is a session store kept in one PostgreSQL table. It implements
// [core.Store] and every optional capability: [core.DeltaStore],
// [core.TakeStore], [core.TouchStore], [core.TTLStore], [core.IterStore],
// [core.CountStore], [core.ClearStore], [core.CleanupStore],
// [core.UserStore] (the user index, see the package documentation) and
// [io.Closer]. Its methods are those of the engine, [sqlstore.Store].
//
// A Store is safe for concurrent use by multiple goroutines, and any number
// of processes may share its table.
type Store struct {
	*sqlstore.Store
}

// New returns a store that keeps its sessions in a table of the database
// pool connects to, creating the table when missing. [Store.Close] stops
// the background cleanup and leaves the pool open: it belongs to the
// caller.
func New(pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, errors.New("postgresstore: New: nil *pgxpool.Pool")
	}
	return newStore(poolExec(pool), opts)
}

// NewDB returns a store that keeps its sessions in a table of db, a
// *sql.DB opened with pgx's database/sql driver (github.com/jackc/pgx/v5/stdlib,
// driver name "pgx"), creating the table when missing. [Store.Close] stops
// the background cleanup and leaves db open: it belongs to the caller.
//
// With pgx's driver the row transactions run as pgx batches on the
// driver's connection, as with [New]; with another PostgreSQL driver they
// run through database/sql, in two more round trips.
func NewDB(db *sql.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("postgresstore: NewDB: nil *sql.DB")
	}
	return newStore(&dbExec{Executor: sqlstore.NewSQLExecutor(db, false, sqlLock), db: db}, opts)
}

func newStore(ex sqlstore.Executor, opts []Option) (*Store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	s, err := sqlstore.New(ctx, ex, dialect, opts...)
	if err != nil {
		return nil, err
	}
	return &Store{s}, nil
}
