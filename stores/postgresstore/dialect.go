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
	// 63 is PostgreSQL's identifier limit (NAMEDATALEN-1), less "_expiry".
	MaxTableName: 63 - len("_expiry"),
	CheckTable: func(name string) error {
		if strings.HasPrefix(strings.ToLower(name), "pg_") {
			return fmt.Errorf("postgresstore: table name %q: names starting with pg_ are reserved by PostgreSQL", name)
		}
		return nil
	},
}

func quote(name string) string { return `"` + name + `"` }

func queries(table, meta, index string) sqlstore.Queries {
	t, m := quote(table), quote(meta)
	return sqlstore.Queries{
		CreateMeta:   `CREATE TABLE IF NOT EXISTS ` + m + ` (name text PRIMARY KEY, value bigint NOT NULL)`,
		ReadVersion:  `SELECT value FROM ` + m + ` WHERE name = 'schema_version'`,
		WriteVersion: `INSERT INTO ` + m + ` (name, value) VALUES ('schema_version', $1)`,
		Columns:      `SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`,
		CreateTable: []string{
			`CREATE TABLE IF NOT EXISTS ` + t + ` (key bytea PRIMARY KEY, data bytea NOT NULL, expiry bigint NOT NULL)`,
			`CREATE INDEX IF NOT EXISTS ` + quote(index) + ` ON ` + t + ` (expiry)`,
		},

		Load: `SELECT data, expiry FROM ` + t + ` WHERE key = $1 AND expiry > $2`,
		TTL:  `SELECT expiry FROM ` + t + ` WHERE key = $1 AND expiry > $2`,

		Upsert: `INSERT INTO ` + t + ` (key, data, expiry) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`,
		Delete: `DELETE FROM ` + t + ` WHERE key = $1`,
		Touch:  `UPDATE ` + t + ` SET expiry = $1 WHERE key = $2 AND expiry > $3`,

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
