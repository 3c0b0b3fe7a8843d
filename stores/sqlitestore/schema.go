package sqlitestore

import (
	"context"
	"database/sql"

	"github.com/sessionkit/sessionkit/stores/sqlstore"
)

// SchemaVersion is the version of the table layout this release creates
// and reads. It is kept in the row ('schema_version') of the table named
// after the session table plus "_meta", so that a later release can
// migrate older tables and this one refuses newer ones.
const SchemaVersion = sqlstore.SchemaVersion

// ErrSchemaVersion is returned (wrapped) by [Open] and [New] when the
// session table was created by a newer release of this package, whose
// layout this release does not know.
var ErrSchemaVersion = sqlstore.ErrSchemaVersion

// dialect is SQLite for the engine. Keys are TEXT (the layout of the
// first release, kept), expiries INTEGER Unix nanoseconds.
var dialect = &sqlstore.Dialect{
	Name:          "sqlitestore",
	Queries:       queries,
	Transient:     isBusy,
	MaxRecordSize: maxRecordSizeLimit,
	MaxTableName:  maxTableNameLen,
	CheckTable:    checkTable,
	Key:           func(key string) any { return key },
}

func quote(name string) string { return `"` + name + `"` }

func queries(n sqlstore.Names) sqlstore.Queries {
	t, m, u := quote(n.Table), quote(n.Meta), quote(n.Users)
	// Columns qualified by their table, for the statements that join.
	tk, uk := t+`.key`, u+`.session_key`
	live := `NOT EXISTS (SELECT 1 FROM ` + t + ` WHERE ` + tk + ` = ` + uk + ` AND ` + t + `.expiry > ?)`
	upsert := `INSERT INTO ` + t + ` (key, data, expiry) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`
	return sqlstore.Queries{
		CreateMeta:    `CREATE TABLE IF NOT EXISTS ` + m + ` (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL)`,
		ReadVersion:   `SELECT value FROM ` + m + ` WHERE name = 'schema_version'`,
		WriteVersion:  `INSERT INTO ` + m + ` (name, value) VALUES ('schema_version', ?)`,
		UpdateVersion: `UPDATE ` + m + ` SET value = ? WHERE name = 'schema_version'`,
		Columns:       `SELECT name FROM pragma_table_info(?)`,
		CreateTable: []string{
			`CREATE TABLE IF NOT EXISTS ` + t + ` (
	key TEXT PRIMARY KEY NOT NULL,
	data BLOB NOT NULL,
	expiry INTEGER NOT NULL
)`,
			`CREATE INDEX IF NOT EXISTS ` + quote(n.Expiry) + ` ON ` + t + ` (expiry)`,
			`CREATE TABLE IF NOT EXISTS ` + u + ` (
	user_key TEXT NOT NULL,
	handle TEXT NOT NULL,
	session_key TEXT NOT NULL,
	stale INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (user_key, handle)
)`,
			`CREATE INDEX IF NOT EXISTS ` + quote(n.UsersKey) + ` ON ` + u + ` (session_key)`,
		},

		Load: `SELECT data, expiry FROM ` + t + ` WHERE key = ? AND expiry > ?`,
		TTL:  `SELECT expiry FROM ` + t + ` WHERE key = ? AND expiry > ?`,

		Upsert: upsert,
		// DeleteIndexed is left empty: SQLite has no statement that
		// deletes from two tables, so Delete leaves the entries to the
		// cleanup.
		Delete: `DELETE FROM ` + t + ` WHERE key = ?`,
		Touch:  `UPDATE ` + t + ` SET expiry = ? WHERE key = ? AND expiry > ?`,

		// The first statement of the row transaction is a write, so SQLite
		// takes the write lock (waiting through busy_timeout) before
		// anything is read, whatever BEGIN mode the application's DSN
		// chose: the read cannot be made stale by another writer. Deleting
		// the key's expired row also makes an insert-if-absent a plain
		// insert.
		BeginWrite: `DELETE FROM ` + t + ` WHERE key = ? AND expiry <= ?`,
		LockRow:    `SELECT data, expiry FROM ` + t + ` WHERE key = ?`,
		Update:     `UPDATE ` + t + ` SET data = ?, expiry = ? WHERE key = ?`,
		// The write lock is held: no other writer can have inserted the
		// key since LockRow found none.
		Insert: upsert,

		UpdateIf: `UPDATE ` + t + ` SET data = ?, expiry = ? WHERE key = ? AND data = ? AND expiry = ?`,

		Count:     `SELECT count(*) FROM ` + t + ` WHERE expiry > ?`,
		Clear:     `DELETE FROM ` + t,
		Cleanup:   `DELETE FROM ` + t + ` WHERE expiry <= ?`,
		PageFirst: `SELECT key, data, expiry FROM ` + t + ` WHERE expiry > ? ORDER BY key LIMIT ?`,
		Page:      `SELECT key, data, expiry FROM ` + t + ` WHERE key > ? AND expiry > ? ORDER BY key LIMIT ?`,

		// The row transaction holds the write lock (BeginWrite).
		LockEntry:    `SELECT 1 FROM ` + u + ` WHERE user_key = ? AND handle = ?`,
		Index:        `INSERT INTO ` + u + ` (user_key, handle, session_key, stale) VALUES (?, ?, ?, 0) ON CONFLICT (user_key, handle) DO UPDATE SET session_key = excluded.session_key, stale = 0`,
		Repoint:      `UPDATE ` + u + ` SET session_key = ?, stale = 0 WHERE user_key = ? AND handle = ?`,
		Unindex:      `DELETE FROM ` + u + ` WHERE user_key = ? AND handle = ? AND session_key = ?`,
		Drop:         `DELETE FROM ` + u + ` WHERE user_key = ? AND handle = ?`,
		UserSessions: `SELECT ` + tk + `, ` + t + `.data, ` + t + `.expiry, ` + u + `.handle FROM ` + u + ` JOIN ` + t + ` ON ` + tk + ` = ` + uk + ` WHERE ` + u + `.user_key = ? AND ` + t + `.expiry > ?`,
		// A write (of nothing: no handle is empty) first, so that the
		// user transaction holds the write lock before it reads, as the
		// row transaction does.
		LockUser:   `DELETE FROM ` + u + ` WHERE user_key = ? AND handle = ''`,
		UserRows:   `SELECT ` + u + `.handle, ` + uk + `, ` + t + `.data, COALESCE(` + t + `.expiry, 0) FROM ` + u + ` LEFT JOIN ` + t + ` ON ` + tk + ` = ` + uk + ` WHERE ` + u + `.user_key = ?`,
		ClearIndex: `DELETE FROM ` + u,
		MarkStale:  `UPDATE ` + u + ` SET stale = ? WHERE stale = 0 AND ` + live,
		PruneStale: `DELETE FROM ` + u + ` WHERE stale <> 0 AND stale <= ? AND ` + live,
	}
}

// lockImmediate begins the migration's write transaction (DDL is
// transactional in SQLite), so that several processes opening a fresh file
// at once agree; unlock commits it, or rolls it back when the migration
// failed.
func lockImmediate(ctx context.Context, conn *sql.Conn, _ string) (func(context.Context, bool) error, error) {
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return nil, err
	}
	return func(ctx context.Context, failed bool) error {
		if !failed {
			_, err := conn.ExecContext(ctx, `COMMIT`)
			if err == nil {
				return nil
			}
			if _, rerr := conn.ExecContext(ctx, `ROLLBACK`); rerr != nil {
				return rerr
			}
			return err
		}
		_, err := conn.ExecContext(ctx, `ROLLBACK`)
		return err
	}, nil
}
