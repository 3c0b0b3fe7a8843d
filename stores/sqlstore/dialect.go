package sqlstore

import (
	"context"
)

// Dialect is what a store package tells the engine about its database.
// Every field is required unless its comment says otherwise.
type Dialect struct {
	// Name is the store package's name; it begins every error message
	// ("postgresstore: load: ...").
	Name string

	// Queries returns the SQL text of a store whose session table is
	// table, with its meta table meta and its expiry index index (all
	// three already validated, not yet quoted).
	Queries func(table, meta, index string) Queries

	// Transient reports whether err is a failure worth running the
	// statement or transaction again for: a deadlock, a serialization
	// failure, a busy database.
	Transient func(err error) bool

	// MaxRecordSize is the largest record the data column holds; larger
	// values of WithMaxRecordSize are refused.
	MaxRecordSize int

	// MaxTableName is the longest table name accepted, short enough that
	// the derived names (name+"_meta", name+"_expiry") are identifiers.
	MaxTableName int

	// CheckTable, if not nil, refuses table names the database reserves.
	CheckTable func(name string) error

	// Key, if not nil, converts a key to the value bound for the key
	// column (a string for a text column). By default keys are bound as
	// []byte, for a binary column that holds any bytes.
	Key func(key string) any
}

// Queries is the SQL text of one store. Parameters are numbered as listed
// ($1, $2 on PostgreSQL; in that order with ? on MySQL and SQLite). Keys
// are bound as []byte unless the dialect converts them ([Dialect.Key]);
// expiries are Unix nanoseconds.
type Queries struct {
	// Schema.
	CreateMeta   string   // creates the meta table if missing (name, value)
	ReadVersion  string   // the 'schema_version' value
	WriteVersion string   // $1 = version: inserts it
	Columns      string   // $1 = table name: the column names of that table, none if there is no such table
	CreateTable  []string // create the session table and its index if missing

	// Reads: $1 = key, $2 = now. Load returns data, expiry; TTL expiry.
	Load, TTL string

	// Writes.
	Upsert string // $1 key, $2 data, $3 expiry: insert or replace
	Delete string // $1 key
	Touch  string // $1 expiry, $2 key, $3 now: moves a live row's expiry

	// The row transaction.
	// BeginWrite, if not empty, is run first in the row transaction of
	// the database/sql executor ($1 key, $2 now), for a database that
	// takes its write lock at the first write rather than at SELECT ...
	// FOR UPDATE (SQLite: deleting the key's expired row).
	BeginWrite string
	LockRow    string // $1 key: data, expiry of the row, locked until the transaction ends
	Update     string // $1 data, $2 expiry, $3 key
	Insert     string // $1 key, $2 data, $3 expiry: affects 0 rows if the key exists

	// UpdateIf, if not empty, is the one-statement delta: it replaces the
	// row only if it still holds what this store last read or wrote ($1
	// data, $2 expiry, $3 key, $4 the old data, $5 the old expiry) and
	// affects 0 rows otherwise.
	UpdateIf string

	// Take, if not empty, deletes the row if live and returns its data and
	// expiry in one statement ($1 key, $2 now); when empty, Take runs the
	// row transaction.
	Take string

	// Administration.
	Count     string // $1 now
	Clear     string
	Cleanup   string // $1 now
	PageFirst string // $1 now, $2 limit: key, data, expiry of live rows in key order
	Page      string // $1 after, $2 now, $3 limit
}

// Executor runs the engine's SQL on one database handle: [NewSQLExecutor]
// for a *sql.DB, or a store package's own (a pgx pool). Queries are the
// texts of the store's [Queries]; an executor may prepare them up front.
// A missing row is an error matching [database/sql.ErrNoRows].
type Executor interface {
	// QueryRow runs a query that returns at most one row and scans it
	// into dest. The scanned []byte values are the caller's.
	QueryRow(ctx context.Context, query string, args []any, dest ...any) error
	// Query runs a query and calls scan once per row.
	Query(ctx context.Context, query string, args []any, scan func(scan func(dest ...any) error) error) error
	// Exec runs a statement and reports the rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// RowTx runs one row transaction: BEGIN, q.LockRow of key, decide,
	// the write decide chose, COMMIT (ROLLBACK when decide fails). It
	// reports the rows the write affected, 0 for [None].
	RowTx(ctx context.Context, q *Queries, key any, decide Decide) (int64, error)
	// Locked runs fn on one connection while holding a lock, named name,
	// that serializes the schema migration of one table across
	// processes.
	Locked(ctx context.Context, name string, fn func(ex Executor) error) error
	// Prepare readies the queries for use; it is called once, after the
	// migration.
	Prepare(ctx context.Context, queries []string) error
	// Close releases what the executor holds (prepared statements, and
	// the database itself when the store owns it).
	Close() error
}

// Op is what a row transaction writes.
type Op int

// The writes of a row transaction.
const (
	None   Op = iota // write nothing, commit
	Update           // Queries.Update of the locked row
	Insert           // Queries.Insert: the row was absent
	Delete           // Queries.Delete of the locked row
)

// Write is the decision of a row transaction.
type Write struct {
	Op   Op
	Data []byte
	Exp  int64
}

// Statement returns the query and arguments of w for the row of key.
func (w Write) Statement(q *Queries, key any) (string, []any) {
	switch w.Op {
	case Update:
		return q.Update, []any{w.Data, w.Exp, key}
	case Insert:
		return q.Insert, []any{key, w.Data, w.Exp}
	case Delete:
		return q.Delete, []any{key}
	}
	return "", nil
}

// Decide is given the row a row transaction locked (found == false when
// there is none) and returns what to write. An error ends the transaction
// with a rollback.
type Decide func(data []byte, exp int64, found bool) (Write, error)
