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

	// Queries returns the SQL text of a store whose tables and indexes
	// are named n (already validated, not yet quoted).
	Queries func(n Names) Queries

	// Transient reports whether err is a failure worth running the
	// statement or transaction again for: a deadlock, a serialization
	// failure, a busy database.
	Transient func(err error) bool

	// MaxRecordSize is the largest record the data column holds; larger
	// values of WithMaxRecordSize are refused.
	MaxRecordSize int

	// MaxTableName is the longest table name accepted, short enough that
	// the derived names (see [Names]; the longest suffix is "_expiry")
	// are identifiers.
	MaxTableName int

	// CheckTable, if not nil, refuses table names the database reserves.
	CheckTable func(name string) error

	// Key, if not nil, converts a key to the value bound for the key
	// column (a string for a text column). By default keys are bound as
	// []byte, for a binary column that holds any bytes. User keys and
	// handles are bound the same way.
	Key func(key string) any
}

// Names are the names of one store's tables and indexes, derived from the
// session table's name ([WithTable]).
type Names struct {
	Table    string // the session table
	Meta     string // Table+"_meta": the schema version
	Expiry   string // Table+"_expiry": the session table's index on expiry
	Users    string // Table+"_users": the user index (user_key, handle, session_key, stale)
	UsersKey string // Table+"_usersk": the user index's index on session_key
}

// names derives the names of the store whose session table is table.
func names(table string) Names {
	return Names{Table: table, Meta: table + "_meta", Expiry: table + "_expiry", Users: table + "_users", UsersKey: table + "_usersk"}
}

// Queries is the SQL text of one store. Parameters are numbered as listed
// ($1, $2 on PostgreSQL; in that order with ? on MySQL and SQLite). Keys,
// user keys and handles are bound as []byte unless the dialect converts
// them ([Dialect.Key]); expiries are Unix nanoseconds.
//
// The user index (see [core.UserStore]) is the table [Names.Users]: one
// row per bound session, (user_key, handle) its primary key, session_key
// the record's key (indexed), stale the Unix nanoseconds at which the
// cleanup first found its record missing (0 otherwise).
type Queries struct {
	// Schema.
	CreateMeta    string   // creates the meta table if missing (name, value)
	ReadVersion   string   // the 'schema_version' value
	WriteVersion  string   // $1 = version: inserts it
	UpdateVersion string   // $1 = version: replaces it
	Columns       string   // $1 = table name: the column names of that table, none if there is no such table
	CreateTable   []string // create the session table, the user index and their indexes if missing

	// Reads: $1 = key, $2 = now. Load returns data, expiry; TTL expiry.
	Load, TTL string

	// Writes.
	Upsert string // $1 key, $2 data, $3 expiry: insert or replace
	Delete string // $1 key: the session's row only (Take's row transaction uses it)
	Touch  string // $1 expiry, $2 key, $3 now: moves a live row's expiry

	// DeleteIndexed, if not empty, is [Store.Delete]'s statement ($1 key):
	// it deletes the session's row and the user index rows naming it, in
	// one statement. When empty, Delete runs Delete and leaves those rows
	// to the cleanup (stale rows are skipped on read).
	DeleteIndexed string

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

	// The user index.
	// LockEntry ($1 user key, $2 handle) returns a row if the index has
	// that entry, locked until the transaction ends (FOR UPDATE; SQLite's
	// write lock is held already): the check of a Renew carrying a
	// binding.
	LockEntry string
	Index     string // $1 user key, $2 handle, $3 key: insert or replace the entry (stale 0)
	Repoint   string // $1 key, $2 user key, $3 handle: the entry names the key (stale 0)
	Unindex   string // $1 user key, $2 handle, $3 key: delete the entry if it names the key
	Drop      string // $1 user key, $2 handle: delete the entry
	// UserSessions ($1 user key, $2 now) returns key, data, expiry and
	// handle of the user's entries whose records are live, in one query.
	UserSessions string
	// LockUser, if not empty, is run first in the user transaction ($1
	// user key): it locks the user's entries (PostgreSQL: SELECT ... FOR
	// UPDATE, so that UserRows, a statement of its own, reads what
	// committed before the locks were granted), or takes the write lock
	// (SQLite).
	LockUser string
	// UserRows ($1 user key) returns handle, session_key, data and
	// expiry (data NULL and expiry 0 where the record is missing) of each
	// entry of the user, the entries locked (with LockUser, or FOR UPDATE
	// here).
	UserRows string
	// ClearIndex deletes every entry; MarkStale ($1 now, $2 now again)
	// sets stale to now on the entries with stale 0 whose record is
	// missing or expired; PruneStale ($1 cutoff, $2 now) deletes the
	// entries marked stale at or before the cutoff whose record is still
	// missing or expired.
	ClearIndex, MarkStale, PruneStale string
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
	// RowTx runs one row transaction: BEGIN, q.LockRow of key, the query
	// lock when it is not nil (its result is [Row.Locked]), decide, the
	// write decide chose and then [Write.Also], COMMIT (ROLLBACK when
	// decide or a statement fails). It reports the rows the write
	// affected, 0 for [None].
	RowTx(ctx context.Context, q *Queries, key any, lock *Stmt, decide Decide) (int64, error)
	// UserTx runs one user transaction: BEGIN, q.LockUser (if not empty)
	// and q.UserRows of userKey, decide, the statements decide returns,
	// COMMIT (ROLLBACK when decide or a statement fails).
	UserTx(ctx context.Context, q *Queries, userKey any, decide DecideUser) error
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
	// Also are statements run after the write, in the same transaction:
	// the user index's.
	Also []Stmt
}

// Stmt is one statement and its arguments.
type Stmt struct {
	Query string // one of the store's Queries
	Args  []any  // its parameters, in order
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

// Row is what a row transaction read.
type Row struct {
	Data  []byte // the data column, the caller's to modify
	Exp   int64  // the expiry column
	Found bool   // false when there is no row
	// Locked reports whether the transaction's lock query returned a row.
	Locked bool
}

// Decide is given the row a row transaction locked and returns what to
// write. An error ends the transaction with a rollback.
type Decide func(r Row) (Write, error)

// UserRow is one entry of the user index as a user transaction read it,
// with the record it names (Data nil when there is none).
type UserRow struct {
	Handle []byte // the entry's handle
	Key    []byte // the entry's session_key
	Data   []byte // the record under Key, nil when there is none
	Exp    int64  // its expiry column, 0 when there is none
}

// DecideUser is given the locked entries of a user and returns the
// statements to run before the commit. An error ends the transaction
// with a rollback.
type DecideUser func(rows []UserRow) ([]Stmt, error)
