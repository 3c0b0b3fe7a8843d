// Package mysqlstore is a sessionkit store kept in a MySQL or MariaDB
// table, through github.com/go-sql-driver/mysql. It is tested on MariaDB
// and written in SQL that MySQL 8 accepts too: upserts use VALUES()
// rather than MySQL's row alias (which MariaDB lacks; MySQL 8.0.20 and
// later accept VALUES() there with a deprecation warning), and nothing
// uses RETURNING (which MySQL lacks), so Take is a transaction. MySQL 8
// itself is not tested here: Debian ships no MySQL server.
//
// # Opening
//
// [New] takes the application's *sql.DB:
//
//	db, err := sql.Open("mysql", "app:secret@tcp(db:3306)/app")
//	if err != nil { ... }
//	store, err := mysqlstore.New(db)
//	if err != nil { ... }
//	defer store.Close()
//	m := core.NewManager(store)
//
// Closing the store stops its background cleanup and leaves db open. Every
// call is bounded by its context: the driver abandons (closes) a
// connection whose query outlives it, which ends the server's transaction
// and releases its locks.
//
// # Table
//
// Sessions are rows of one InnoDB table in the connection's database
// (default "sessionkit_sessions", see [WithTable]): `key` VARBINARY(1024)
// PRIMARY KEY, data MEDIUMBLOB NOT NULL and expiry BIGINT NOT NULL (Unix
// nanoseconds), with an index on expiry. A second table, the same name
// plus "_meta", records the layout's version ([SchemaVersion]); a table
// written by a newer release is refused with [ErrSchemaVersion]. A third,
// the same name plus "_users", is the user index ([core.UserStore], "log
// out everywhere"): user_key VARBINARY(64) (a hash of the user ID,
// record.UserKey), handle VARBINARY(255), session_key VARBINARY(1024),
// stale BIGINT, primary key (user_key, handle), with an index on
// session_key (stale is when the cleanup found the row's session gone:
// the row goes a cleanup later, at least [sqlstore.StaleGrace] after, so
// that a Renew between its Take and its create keeps it); a version 1
// table (before the index) is migrated in place when a store opens it.
// Creation and migration run under GET_LOCK, so
// several processes starting at once agree. A background goroutine
// deletes expired rows every 5 minutes ([WithCleanupInterval]) and prunes
// index rows whose session is gone.
//
// # Round trips and atomicity
//
// The statements are prepared on each connection once; then, as
// TestRoundTrips counts them at the socket:
//
//   - Load, Save, Delete, Touch, TTL, Count and Cleanup: one round trip,
//     one statement each.
//   - SaveDelta of a session this store loaded (or saved) last, the
//     steady state of a request: one round trip, an UPDATE of the merged
//     record WHERE the row still holds the bytes and expiry it had (the
//     store remembers the rows it read or wrote, at most 4096). MySQL
//     reports changed rows, so a delta that changes nothing takes the row
//     transaction, which is as correct.
//   - SaveDelta otherwise (the row changed in between, a new session):
//     four round trips of the row transaction (START TRANSACTION, SELECT
//     ... FOR UPDATE, UPDATE or INSERT, COMMIT: the driver has no
//     pipelining), five after a missed UPDATE.
//   - Take (Renew): four round trips (START TRANSACTION, SELECT ... FOR
//     UPDATE, DELETE, COMMIT).
//
// The user index, counted by TestRoundTripsUsers:
//
//   - A bound session's Load and steady-state SaveDelta: one round trip,
//     as an unbound one's (a Clear that writes the binding again too).
//   - SaveDelta that binds, rebinds or unbinds (SetUser), a new bound
//     session, Save of a bound record: the row transaction plus one
//     statement for the index row, five round trips.
//   - A Renew: Take, four round trips (the index row stays), then the
//     create carrying the binding, six: the row transaction plus SELECT
//     ... FOR UPDATE of its index row and its repointing.
//   - Delete: one round trip, one multi-table DELETE of the record and
//     its index row.
//   - UserSessions: one round trip, one query joining the index and the
//     live sessions.
//   - DeleteUserSessions: START TRANSACTION, one SELECT ... FOR UPDATE
//     of the user's index rows joined to their records (a locking read
//     sees the newest rows), two DELETEs per session destroyed (one per
//     stale row), COMMIT: seven for two sessions.
//
// No update is lost: the conditional UPDATE writes only over the exact row
// the merge started from, and the row lock keeps concurrent writers out
// between the read and the write. A delta for a session with no live row
// writes nothing (no resurrection); of concurrent creates of one key
// exactly one wins (the others' INSERT fails on the key, and the retry
// finds the row). PostgreSQL (package postgresstore) does the row
// transaction in two round trips and a Take in one.
//
// Deadlocks (error 1213) are retried until the context's deadline.
package mysqlstore
