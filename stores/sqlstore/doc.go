// Package sqlstore is the engine under sessionkit's SQL stores
// (sqlitestore, postgresstore, mysqlstore): what is the same for every SQL database,
// written once so that the stores cannot drift. A store package supplies a
// [Dialect] (its SQL text, its transient errors, its column limits) and an
// [Executor] ([NewSQLExecutor] for a *sql.DB, or its own), and wraps the
// [*Store] this package builds. Package sqltest is the test kit they share.
//
// # What the engine does
//
//   - Schema versioning: the session table has a companion table (its name
//     plus "_meta") holding the layout's version ([SchemaVersion]). Opening
//     a store creates both when missing, under the dialect's lock so that
//     several processes starting at once agree, adopts an existing table
//     only if it has the session columns, and refuses one written by a
//     newer release with [ErrSchemaVersion].
//   - The delta: when the store read or wrote the row last (the request's
//     Load), one conditional UPDATE of the merged record WHERE the row is
//     unchanged; otherwise a transaction that locks the row (SELECT ...
//     FOR UPDATE), applies the delta with [record.Apply] and writes the
//     result. A new session is inserted only if absent (no
//     upsert over a row another request inserted meanwhile), and a delta
//     for a session with no live row writes nothing: no resurrection. A
//     store package's own [Executor] may run the same transaction in
//     fewer round trips (postgresstore: two pgx batches).
//   - The take for Renew: delete-if-live returning the record, one
//     statement where the database has DELETE ... RETURNING, else a
//     transaction that locks the row, checks it and deletes it.
//   - Retries: a transaction that fails with an error the dialect calls
//     transient (a deadlock, a serialization failure, a busy database) is
//     run again, until the context's deadline.
//   - The background cleanup that [Store.Close] stops, and the checks every
//     store makes: a table name that is not a plain identifier is refused at
//     construction, and a record over the column's limit is an error
//     matching [core.ErrTooLarge].
//
// Every method is bounded by its context: the drivers cancel a query (or
// abandon its connection) when the context ends. A statement that was
// waiting for a row lock when its context ended may still run on the
// server once the lock is released, as with any database client: a Take
// may then delete the session after its caller saw the error (the user is
// logged out, never forked), and a delta may be applied late, but only
// over the row it was computed from, so it never overwrites a newer one.
package sqlstore
