package mysqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

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

// ErrSchemaVersion is returned (wrapped) by [New] when the session table
// was created by a newer release, whose layout this release does not know.
var ErrSchemaVersion = sqlstore.ErrSchemaVersion

// setupTimeout bounds the table creation and schema check of [New].
const setupTimeout = 30 * time.Second

// Store is a session store kept in one MySQL or MariaDB table. It
// implements [core.Store] and every optional capability: [core.DeltaStore],
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

// New returns a store that keeps its sessions in a table of db, a *sql.DB
// opened with github.com/go-sql-driver/mysql (driver name "mysql"),
// creating the table when missing. [Store.Close] stops the background
// cleanup and leaves db open: it belongs to the caller.
func New(db *sql.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("mysqlstore: New: nil *sql.DB")
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	s, err := sqlstore.New(ctx, sqlstore.NewSQLExecutor(db, false, sqlLock), dialect, opts...)
	if err != nil {
		return nil, err
	}
	return &Store{s}, nil
}
