package postgresstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessionkit/sessionkit/stores/sqlstore"
)

// maxRecordSizeLimit stays well below bytea's 1 GB so that an accepted
// record can always be written.
const maxRecordSizeLimit = 512 << 20

// dialect is PostgreSQL for the engine. Keys are bytea (a key may hold
// any bytes, NUL included, which text refuses), expiries bigint Unix
// nanoseconds.
var dialect = &sqlstore.Dialect{
	Name:          "postgresstore",
	Queries:       queries,
	Transient:     transient,
	MaxRecordSize: maxRecordSizeLimit,
	// 63 is PostgreSQL's identifier limit (NAMEDATALEN-1), less "_expiry"
	// (and "_usersk").
	MaxTableName: 63 - len("_expiry"),
	CheckTable: func(name string) error {
		if strings.HasPrefix(strings.ToLower(name), "pg_") {
			return fmt.Errorf("postgresstore: table name %q: names starting with pg_ are reserved by PostgreSQL", name)
		}
		return nil
	},
}

func quote(name string) string { return `"` + name + `"` }

func queries(n sqlstore.Names) sqlstore.Queries {
	t, m, u := quote(n.Table), quote(n.Meta), quote(n.Users)
	// Columns qualified by their table, for the statements that join.
	tk, uk := t+`.key`, u+`.session_key`
	live := `NOT EXISTS (SELECT 1 FROM ` + t + ` WHERE ` + tk + ` = ` + uk + ` AND ` + t + `.expiry > `
	return sqlstore.Queries{
		CreateMeta:    `CREATE TABLE IF NOT EXISTS ` + m + ` (name text PRIMARY KEY, value bigint NOT NULL)`,
		ReadVersion:   `SELECT value FROM ` + m + ` WHERE name = 'schema_version'`,
		WriteVersion:  `INSERT INTO ` + m + ` (name, value) VALUES ('schema_version', $1)`,
		UpdateVersion: `UPDATE ` + m + ` SET value = $1 WHERE name = 'schema_version'`,
		Columns:       `SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`,
		CreateTable: []string{
			`CREATE TABLE IF NOT EXISTS ` + t + ` (key bytea PRIMARY KEY, data bytea NOT NULL, expiry bigint NOT NULL)`,
			`CREATE INDEX IF NOT EXISTS ` + quote(n.Expiry) + ` ON ` + t + ` (expiry)`,
			`CREATE TABLE IF NOT EXISTS ` + u + ` (user_key bytea NOT NULL, handle bytea NOT NULL, session_key bytea NOT NULL, stale bigint NOT NULL DEFAULT 0, PRIMARY KEY (user_key, handle))`,
			`CREATE INDEX IF NOT EXISTS ` + quote(n.UsersKey) + ` ON ` + u + ` (session_key)`,
		},

		Load: `SELECT data, expiry FROM ` + t + ` WHERE key = $1 AND expiry > $2`,
		TTL:  `SELECT expiry FROM ` + t + ` WHERE key = $1 AND expiry > $2`,

		Upsert: `INSERT INTO ` + t + ` (key, data, expiry) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`,
		Delete: `DELETE FROM ` + t + ` WHERE key = $1`,
		Touch:  `UPDATE ` + t + ` SET expiry = $1 WHERE key = $2 AND expiry > $3`,
		// The entries go with the record in one statement, also those of
		// a record a Renew took: a Destroy of the old key during its Renew
		// makes the Renew fail.
		DeleteIndexed: `WITH d AS (DELETE FROM ` + t + ` WHERE key = $1) DELETE FROM ` + u + ` WHERE session_key = $1`,

		LockRow: `SELECT data, expiry FROM ` + t + ` WHERE key = $1 FOR UPDATE`,
		Update:  `UPDATE ` + t + ` SET data = $1, expiry = $2 WHERE key = $3`,
		Insert:  `INSERT INTO ` + t + ` (key, data, expiry) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,

		Take: `DELETE FROM ` + t + ` WHERE key = $1 AND expiry > $2 RETURNING data, expiry`,

		UpdateIf: `UPDATE ` + t + ` SET data = $1, expiry = $2 WHERE key = $3 AND data = $4 AND expiry = $5`,

		Count:     `SELECT count(*) FROM ` + t + ` WHERE expiry > $1`,
		Clear:     `DELETE FROM ` + t,
		Cleanup:   `DELETE FROM ` + t + ` WHERE expiry <= $1`,
		PageFirst: `SELECT key, data, expiry FROM ` + t + ` WHERE expiry > $1 ORDER BY key LIMIT $2`,
		Page:      `SELECT key, data, expiry FROM ` + t + ` WHERE key > $1 AND expiry > $2 ORDER BY key LIMIT $3`,

		LockEntry:    `SELECT 1 FROM ` + u + ` WHERE user_key = $1 AND handle = $2 FOR UPDATE`,
		Index:        `INSERT INTO ` + u + ` (user_key, handle, session_key, stale) VALUES ($1, $2, $3, 0) ON CONFLICT (user_key, handle) DO UPDATE SET session_key = excluded.session_key, stale = 0`,
		Repoint:      `UPDATE ` + u + ` SET session_key = $1, stale = 0 WHERE user_key = $2 AND handle = $3`,
		Unindex:      `DELETE FROM ` + u + ` WHERE user_key = $1 AND handle = $2 AND session_key = $3`,
		Drop:         `DELETE FROM ` + u + ` WHERE user_key = $1 AND handle = $2`,
		UserSessions: `SELECT ` + tk + `, ` + t + `.data, ` + t + `.expiry, ` + u + `.handle FROM ` + u + ` JOIN ` + t + ` ON ` + tk + ` = ` + uk + ` WHERE ` + u + `.user_key = $1 AND ` + t + `.expiry > $2`,
		// FOR UPDATE locks the entries; UserRows, the next statement, then
		// reads with a snapshot taken after the locks were granted. (One
		// locking statement joining the records would re-check a row
		// updated meanwhile against the record it first joined.)
		LockUser:   `SELECT 1 FROM ` + u + ` WHERE user_key = $1 FOR UPDATE`,
		UserRows:   `SELECT ` + u + `.handle, ` + uk + `, ` + t + `.data, COALESCE(` + t + `.expiry, 0) FROM ` + u + ` LEFT JOIN ` + t + ` ON ` + tk + ` = ` + uk + ` WHERE ` + u + `.user_key = $1`,
		ClearIndex: `DELETE FROM ` + u,
		MarkStale:  `UPDATE ` + u + ` SET stale = $1 WHERE stale = 0 AND ` + live + `$2)`,
		PruneStale: `DELETE FROM ` + u + ` WHERE stale <> 0 AND stale <= $1 AND ` + live + `$2)`,
	}
}

// transient reports serialization failures and deadlocks, which the
// engine retries.
func transient(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

// lockSQL and unlockSQL take and release the session-level advisory lock
// that serializes migrations of one table; the key is derived from the
// table name and the current schema.
const (
	lockSQL   = `SELECT pg_advisory_lock(hashtextextended('sessionkit:' || current_schema() || '.' || $1, 0))`
	unlockSQL = `SELECT pg_advisory_unlock(hashtextextended('sessionkit:' || current_schema() || '.' || $1, 0))`
)
