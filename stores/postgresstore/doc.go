// Package postgresstore is a sessionkit store kept in a PostgreSQL table,
// through pgx v5 (github.com/jackc/pgx/v5).
//
// # Opening
//
// [New] takes the application's *pgxpool.Pool; [NewDB] takes a *sql.DB
// opened with pgx's database/sql driver (what GORM's postgres dialector and
// sqlc's database/sql mode hold):
//
//	pool, err := pgxpool.New(ctx, "postgres://app@db/app")
//	if err != nil { ... }
//	store, err := postgresstore.New(pool)
//	if err != nil { ... }
//	defer store.Close()
//	m := core.NewManager(store)
//
// Closing the store stops its background cleanup and leaves the pool or
// database open. Every call is bounded by its context: pgx cancels a query
// when the context ends.
//
// # Table
//
// Sessions are rows of one table in the connection's current schema
// (default "sessionkit_sessions", see [WithTable]): key bytea PRIMARY KEY,
// data bytea NOT NULL and expiry bigint NOT NULL (Unix nanoseconds), with
// an index on expiry. A second table, the same name plus "_meta", records
// the layout's version ([SchemaVersion]) so that a later release can
// migrate the table; a table written by a newer release is refused with
// [ErrSchemaVersion]. A third, the same name plus "_users", is the user
// index ([core.UserStore], "log out everywhere"): user_key bytea (a hash
// of the user ID, record.UserKey), handle bytea, session_key bytea,
// stale bigint, primary key (user_key, handle), with an index on
// session_key (stale is when the cleanup found the row's session gone:
// the row goes a cleanup later, at least [sqlstore.StaleGrace] after, so
// that a Renew between its Take and its create keeps it); a version 1
// table (before the index) is migrated in place when a store opens it.
// Creation and migration run under an advisory lock, so several processes starting at once agree. A background
// goroutine deletes expired rows every 5 minutes ([WithCleanupInterval])
// and prunes index rows whose session is gone.
//
// # Round trips and atomicity
//
// With a pool, after each connection's first use of a statement (pgx
// caches the prepared statements), counted by TestRoundTrips at the
// socket and with a pgx tracer:
//
//   - Load, Save, Delete, Touch, TTL, Count and Cleanup: one round trip,
//     one statement each.
//   - Take (Renew): one round trip, DELETE ... RETURNING of the live row.
//   - SaveDelta of a session this store loaded (or saved) last, the
//     steady state of a request: one round trip, an UPDATE of the merged
//     record (record.Apply on the row as loaded) WHERE the row still
//     holds the bytes and expiry it had. The store remembers the rows it
//     read or wrote for that (at most 4096, the sessions in flight).
//   - SaveDelta otherwise (the row changed in between: another request,
//     another process, a Touch; a new session): the row transaction, two
//     round trips, a pgx batch of BEGIN and SELECT ... FOR UPDATE, then a
//     batch of the UPDATE (or insert-if-absent) and COMMIT; after a missed
//     UPDATE that is three in all.
//
// The user index, counted by TestRoundTripsUsers the same way:
//
//   - A bound session's Load and steady-state SaveDelta: one round trip,
//     as an unbound one's (a Clear that writes the binding again too).
//   - SaveDelta that binds, rebinds or unbinds (SetUser), a new bound
//     session, Save of a bound record: the row transaction, two round
//     trips, the index row's statement in the second batch.
//   - A Renew: Take, one round trip (the index row stays), then the create
//     carrying the binding, two round trips: the SELECT ... FOR UPDATE of
//     its index row rides in the first batch, its repointing in the
//     second.
//   - Delete: one round trip, one statement deleting the record and its
//     index row (a data-modifying WITH).
//   - UserSessions: one round trip, one query joining the index and the
//     live sessions.
//   - DeleteUserSessions: two round trips whatever the number of
//     sessions: BEGIN, SELECT ... FOR UPDATE of the user's index rows and
//     the read of their records (a statement of its own, so that it sees
//     what committed before the locks were granted), then the DELETEs and
//     COMMIT.
//
// Either way no update is lost: the conditional UPDATE writes only over
// the exact row the merge started from, and the row lock keeps concurrent
// writers out between the read and the write. A delta for a session with
// no live row writes nothing (no resurrection), and of concurrent creates
// of one key exactly one wins (INSERT ... ON CONFLICT DO NOTHING).
//
// With [NewDB] and pgx's driver the counts are the same.
package postgresstore
