package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
)

// SchemaVersion is the version of the table layout this release creates
// and reads. It is kept in the row ('schema_version') of the table named
// after the session table plus "_meta", so that a later release can
// migrate older tables and this one refuses newer ones.
const SchemaVersion = 1

// ErrSchemaVersion is returned (wrapped) by [Open] and [New] when the
// session table was created by a newer release of this package, whose
// layout this release does not know.
var ErrSchemaVersion = errors.New("sqlitestore: unsupported schema version")

// queries holds the SQL text of a store, with its table names quoted in.
type queries struct {
	createMeta, readVersion, writeVersion string
	tableExists, columns                  string
	createTable, createIndex              string

	load, ttl, upsert, del, touch string
	deleteExpiredKey, loadAny     string
	count, clear, cleanup         string
	pageFirst, page               string
}

func newQueries(table string) queries {
	t := `"` + table + `"`
	meta := `"` + table + `_meta"`
	index := `"` + table + `_expiry"`
	return queries{
		createMeta:   `CREATE TABLE IF NOT EXISTS ` + meta + ` (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL)`,
		readVersion:  `SELECT value FROM ` + meta + ` WHERE name = 'schema_version'`,
		writeVersion: `INSERT INTO ` + meta + ` (name, value) VALUES ('schema_version', ?)`,
		tableExists:  `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`,
		columns:      `SELECT name FROM pragma_table_info(?)`,
		createTable: `CREATE TABLE IF NOT EXISTS ` + t + ` (
	key TEXT PRIMARY KEY NOT NULL,
	data BLOB NOT NULL,
	expiry INTEGER NOT NULL
)`,
		createIndex: `CREATE INDEX IF NOT EXISTS ` + index + ` ON ` + t + ` (expiry)`,

		load:   `SELECT data, expiry FROM ` + t + ` WHERE key = ? AND expiry > ?`,
		ttl:    `SELECT expiry FROM ` + t + ` WHERE key = ? AND expiry > ?`,
		upsert: `INSERT INTO ` + t + ` (key, data, expiry) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`,
		del:    `DELETE FROM ` + t + ` WHERE key = ?`,
		touch:  `UPDATE ` + t + ` SET expiry = ? WHERE key = ? AND expiry > ?`,

		deleteExpiredKey: `DELETE FROM ` + t + ` WHERE key = ? AND expiry <= ?`,
		loadAny:          `SELECT data, expiry FROM ` + t + ` WHERE key = ?`,

		count:     `SELECT count(*) FROM ` + t + ` WHERE expiry > ?`,
		clear:     `DELETE FROM ` + t,
		cleanup:   `DELETE FROM ` + t + ` WHERE expiry <= ?`,
		pageFirst: `SELECT key, data, expiry FROM ` + t + ` WHERE expiry > ? ORDER BY key LIMIT ?`,
		page:      `SELECT key, data, expiry FROM ` + t + ` WHERE key > ? AND expiry > ? ORDER BY key LIMIT ?`,
	}
}

// migrate creates the tables when they are missing and checks the schema
// version of existing ones, inside one write transaction so that several
// processes opening a fresh file at once agree.
func migrate(ctx context.Context, db *sql.DB, table string, q *queries) error {
	return retryBusy(ctx, func() error {
		conn, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
			return err
		}
		if err := migrateTx(ctx, conn, table, q); err != nil {
			if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`); rerr != nil {
				discard(conn)
			}
			return err
		}
		if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
			if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`); rerr != nil {
				discard(conn)
			}
			return err
		}
		return nil
	})
}

func migrateTx(ctx context.Context, conn *sql.Conn, table string, q *queries) error {
	if _, err := conn.ExecContext(ctx, q.createMeta); err != nil {
		return err
	}
	var version int64
	switch err := conn.QueryRowContext(ctx, q.readVersion).Scan(&version); {
	case err == nil:
		if version == SchemaVersion {
			// A table dropped by hand is recreated empty.
			return createTable(ctx, conn, q)
		}
		if version > SchemaVersion {
			return fmt.Errorf("%w %d, newer than the %d this release knows: upgrade sessionkit", ErrSchemaVersion, version, SchemaVersion)
		}
		return fmt.Errorf("%w %d", ErrSchemaVersion, version)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}

	var n int
	if err := conn.QueryRowContext(ctx, q.tableExists, table).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		// A table of that name without our meta row: adopt it only if it
		// has our columns, so that an app's own table is never mistaken
		// for ours.
		cols, err := columns(ctx, conn, q, table)
		if err != nil {
			return err
		}
		for _, c := range []string{"key", "data", "expiry"} {
			if !slices.Contains(cols, c) {
				return fmt.Errorf("exists and is not a session table (columns %v): choose another name with WithTable", cols)
			}
		}
	}
	if err := createTable(ctx, conn, q); err != nil {
		return err
	}
	_, err := conn.ExecContext(ctx, q.writeVersion, SchemaVersion)
	return err
}

func createTable(ctx context.Context, conn *sql.Conn, q *queries) error {
	if _, err := conn.ExecContext(ctx, q.createTable); err != nil {
		return err
	}
	_, err := conn.ExecContext(ctx, q.createIndex)
	return err
}

func columns(ctx context.Context, conn *sql.Conn, q *queries, table string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, q.columns, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}
