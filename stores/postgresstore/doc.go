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
// [ErrSchemaVersion]. Creation runs under an advisory lock, so several
// processes starting at once agree. A background goroutine deletes expired
// rows every 5 minutes ([WithCleanupInterval]).
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
// Either way no update is lost: the conditional UPDATE writes only over
// the exact row the merge started from, and the row lock keeps concurrent
// writers out between the read and the write. A delta for a session with
// no live row writes nothing (no resurrection), and of concurrent creates
// of one key exactly one wins (INSERT ... ON CONFLICT DO NOTHING).
//
// With [NewDB] and pgx's driver the counts are the same.
package postgresstore
