// Package sqlitestore is a sessionkit store kept in an SQLite database,
// through the pure-Go driver github.com/glebarez/go-sqlite: it builds and
// runs with CGO_ENABLED=0.
//
// # Opening
//
// [Open] opens (or creates) a database file of its own:
//
//	store, err := sqlitestore.Open("/var/lib/myapp/sessions.db")
//	if err != nil { ... }
//	defer store.Close()
//	m := core.NewManager(store)
//
// [New] uses a *sql.DB the application already has, so sessions live in
// the application's database. A GORM application using the
// github.com/glebarez/sqlite dialector shares the same driver and hands
// over its pool:
//
//	gormDB, err := gorm.Open(sqlite.Open("file:app.db?_pragma=journal_mode(WAL)"), &gorm.Config{})
//	sqlDB, err := gormDB.DB()
//	store, err := sqlitestore.New(sqlDB)
//
// Closing a store made by New stops its background cleanup and leaves the
// application's *sql.DB open.
//
// # Table
//
// Sessions are rows of one table (default "sessionkit_sessions", see
// [WithTable]): key TEXT PRIMARY KEY, data BLOB NOT NULL and expiry
// INTEGER NOT NULL (Unix nanoseconds), with an index on expiry. A second
// table, the same name plus "_meta", records the layout's version
// ([SchemaVersion]) so that a later release can migrate the table; a table
// written by a newer release is refused with [ErrSchemaVersion]. The store
// does not touch PRAGMA user_version, which belongs to the application.
//
// The user index ([core.UserStore]: [core.Manager.UserSessions],
// [core.Manager.DestroyUserSessions], [core.Manager.DestroySession]) is a
// third table, the same name plus "_users": user_key TEXT (a hash of the
// user ID, record.UserKey), handle TEXT, session_key TEXT, stale INTEGER,
// primary key (user_key, handle), with an index on session_key. A version
// 1 table (before the index) is migrated in place when a store opens it.
// The row of a bound session is written in the record's write
// transaction. SQLite has no statement that deletes from two tables, so
// Delete (a logout) leaves the row to the cleanup, skipped on read
// meanwhile; stale is when the cleanup found the row's session gone, and
// the row goes a cleanup later, at least [sqlstore.StaleGrace] after (a
// Renew between its Take and its create keeps its row).
// DestroyUserSessions takes the write lock, reads the user's rows with
// their records and deletes the matching ones in one transaction. A bound
// session's Load and steady-state save are the statements an unbound
// one's are.
//
// Touch is a single UPDATE of the expiry column; Load sets the record
// header's expiry from that column on the copy it returns. A background
// goroutine deletes expired rows every 5 minutes ([WithCleanupInterval]);
// [Store.Close] stops it.
//
// # Concurrency and several processes
//
// SaveDelta of a session this store loaded or saved last is one
// conditional UPDATE of the merged record (record.Apply on the row as
// loaded) WHERE the row still holds the bytes and expiry it had. Otherwise
// SaveDelta reads, merges and writes in one
// transaction whose first statement is a write, so SQLite grants it the
// write lock before it reads, and no other writer, in this process or
// another, can slip in between. Writes of one Store queue in Go; writers
// of other connections and processes wait briefly in SQLite's busy
// handler, and SQLITE_BUSY left over is retried until the context's
// deadline (5 seconds without one), so "database is locked" does not reach
// the application under ordinary contention, and a lock held by another
// process never keeps a request past its deadline.
//
// That needs WAL mode (readers and the writer do not block each other)
// and a busy timeout on every connection. Open sets both, with
// synchronous=NORMAL. With New they are the application's choice: open the
// database with "_pragma=journal_mode(WAL)" in the DSN (WAL mode persists
// in the file) and keep a busy timeout (github.com/glebarez/go-sqlite sets
// 5 seconds unless the DSN says otherwise, e.g. "_pragma=busy_timeout(50)").
// SQLite's busy wait does not see the request's context: with New, a write
// can outlive a request's deadline by up to the busy timeout the
// application set, so keep it short.
package sqlitestore
