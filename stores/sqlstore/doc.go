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
//     a store creates the tables when missing, under the dialect's lock so
//     that several processes starting at once agree, adopts an existing
//     table only if it has the session columns, migrates a table of an
//     older version in place under the same lock (version 1 to 2: the
//     user index is added), and refuses one written by a newer release
//     with [ErrSchemaVersion].
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
//   - The user index ([core.UserStore], "log out everywhere"): a table
//     (the session table's name plus "_users") of one row per bound
//     session, (user_key, handle) its primary key, session_key the
//     record's key (indexed), written in the record's own transaction. A
//     write that changes a record's binding ([record.DeltaBinding] of a
//     delta, [record.FindBinding] of a saved record) runs the row
//     transaction, which inserts, deletes or repoints the row with the
//     record: a new binding (Gen 0) has its generation stamped
//     ([record.SetGen]); a create carrying a binding (a Renew) locks its
//     row first and fails with [core.ErrSessionGone], writing nothing,
//     when the row is gone. The one-statement delta is for deltas that
//     leave the binding as it is (Session.Clear writes it again
//     unchanged: that counts as unchanged), so a bound session's steady
//     state costs what an unbound one's does. Take leaves the row for the
//     Renew; Delete removes it in the same statement where the dialect
//     can ([Queries.DeleteIndexed]); the cleanup marks rows whose record
//     is gone and deletes them a cleanup later, after [StaleGrace] (a
//     Renew between its take and its create keeps its row). Listing is
//     one query joining the index and the live sessions, each record
//     checked against its binding; DeleteUserSessions is one transaction
//     that locks the user's rows, reads their records, deletes those
//     still bound to the user that match and the matching rows (stale
//     ones too, so that a Renew in flight finds none), and commits.
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
