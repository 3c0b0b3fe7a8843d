package mysqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"

	"github.com/sessionkit/sessionkit/stores/sqlstore"
)

// maxRecordSizeLimit is what a MEDIUMBLOB holds. The server's
// max_allowed_packet must also exceed the largest record (16 MiB by default
// on MariaDB, 64 MiB on MySQL 8).
const maxRecordSizeLimit = 1<<24 - 1

// lockWait is how long a migration waits for another process's.
const lockWait = 30

// MySQL and MariaDB error numbers the engine retries.
const (
	errDupEntry = 1062 // the insert of a new session lost to a concurrent one: the retry finds its row
	errDeadlock = 1213
)

// dialect is MySQL 8 and MariaDB for the engine, in SQL both accept: no
// row-alias upserts (VALUES() instead) and no RETURNING (Take is a
// transaction). Keys are VARBINARY(1024) (any bytes, compared bytewise),
// expiries BIGINT Unix nanoseconds.
var dialect = &sqlstore.Dialect{
	Name:          "mysqlstore",
	Queries:       queries,
	Transient:     transient,
	MaxRecordSize: maxRecordSizeLimit,
	// 64 is MySQL's identifier limit, less "_expiry" (and "_usersk").
	MaxTableName: 64 - len("_expiry"),
}

func quote(name string) string { return "`" + name + "`" }

func queries(n sqlstore.Names) sqlstore.Queries {
	t, m, u := quote(n.Table), quote(n.Meta), quote(n.Users)
	// Columns qualified by their table, for the statements that join.
	tk, uk := t+".`key`", u+".session_key"
	live := `NOT EXISTS (SELECT 1 FROM ` + t + ` WHERE ` + tk + ` = ` + uk + ` AND ` + t + `.expiry > ?)`
	return sqlstore.Queries{
		CreateMeta:    `CREATE TABLE IF NOT EXISTS ` + m + ` (name VARCHAR(64) NOT NULL PRIMARY KEY, value BIGINT NOT NULL) ENGINE=InnoDB`,
		ReadVersion:   `SELECT value FROM ` + m + ` WHERE name = 'schema_version'`,
		WriteVersion:  `INSERT INTO ` + m + ` (name, value) VALUES ('schema_version', ?)`,
		UpdateVersion: `UPDATE ` + m + ` SET value = ? WHERE name = 'schema_version'`,
		Columns:       `SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?`,
		CreateTable: []string{
			`CREATE TABLE IF NOT EXISTS ` + t + " (`key` VARBINARY(1024) NOT NULL PRIMARY KEY, data MEDIUMBLOB NOT NULL, expiry BIGINT NOT NULL, INDEX " + quote(n.Expiry) + ` (expiry)) ENGINE=InnoDB`,
			`CREATE TABLE IF NOT EXISTS ` + u + ` (user_key VARBINARY(64) NOT NULL, handle VARBINARY(255) NOT NULL, session_key VARBINARY(1024) NOT NULL, stale BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (user_key, handle), INDEX ` + quote(n.UsersKey) + ` (session_key)) ENGINE=InnoDB`,
		},

		Load: `SELECT data, expiry FROM ` + t + " WHERE `key` = ? AND expiry > ?",
		TTL:  `SELECT expiry FROM ` + t + " WHERE `key` = ? AND expiry > ?",

		Upsert: `INSERT INTO ` + t + " (`key`, data, expiry) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE data = VALUES(data), expiry = VALUES(expiry)",
		Delete: `DELETE FROM ` + t + " WHERE `key` = ?",
		Touch:  `UPDATE ` + t + " SET expiry = ? WHERE `key` = ? AND expiry > ?",
		// The record and its entries in one statement (a record a Renew
		// took leaves its entry to the Renew).
		DeleteIndexed: `DELETE ` + t + `, ` + u + ` FROM ` + t + ` LEFT JOIN ` + u + ` ON ` + uk + ` = ` + tk + ` WHERE ` + tk + ` = ?`,

		LockRow: `SELECT data, expiry FROM ` + t + " WHERE `key` = ? FOR UPDATE",
		Update:  `UPDATE ` + t + " SET data = ?, expiry = ? WHERE `key` = ?",
		// A plain INSERT: a concurrent insert of the key makes it fail with
		// a duplicate-key error, which the engine retries (and the retry
		// locks the row). INSERT IGNORE would also hide truncation.
		Insert: `INSERT INTO ` + t + " (`key`, data, expiry) VALUES (?, ?, ?)",

		// MySQL counts changed rows: a delta that changes nothing affects
		// 0 and takes the row transaction, which is as correct.
		UpdateIf: `UPDATE ` + t + " SET data = ?, expiry = ? WHERE `key` = ? AND data = ? AND expiry = ?",

		Count:     `SELECT count(*) FROM ` + t + ` WHERE expiry > ?`,
		Clear:     `DELETE FROM ` + t,
		Cleanup:   `DELETE FROM ` + t + ` WHERE expiry <= ?`,
		PageFirst: "SELECT `key`, data, expiry FROM " + t + " WHERE expiry > ? ORDER BY `key` LIMIT ?",
		Page:      "SELECT `key`, data, expiry FROM " + t + " WHERE `key` > ? AND expiry > ? ORDER BY `key` LIMIT ?",

		LockEntry:    `SELECT 1 FROM ` + u + ` WHERE user_key = ? AND handle = ? FOR UPDATE`,
		Index:        `INSERT INTO ` + u + ` (user_key, handle, session_key, stale) VALUES (?, ?, ?, 0) ON DUPLICATE KEY UPDATE session_key = VALUES(session_key), stale = 0`,
		Repoint:      `UPDATE ` + u + ` SET session_key = ?, stale = 0 WHERE user_key = ? AND handle = ?`,
		Unindex:      `DELETE FROM ` + u + ` WHERE user_key = ? AND handle = ? AND session_key = ?`,
		Drop:         `DELETE FROM ` + u + ` WHERE user_key = ? AND handle = ?`,
		UserSessions: `SELECT ` + tk + `, ` + t + `.data, ` + t + `.expiry, ` + u + `.handle FROM ` + u + ` JOIN ` + t + ` ON ` + tk + ` = ` + uk + ` WHERE ` + u + `.user_key = ? AND ` + t + `.expiry > ?`,
		// A locking read reads the newest rows, the records joined too,
		// and locks them all.
		UserRows:   `SELECT ` + u + `.handle, ` + uk + `, ` + t + `.data, COALESCE(` + t + `.expiry, 0) FROM ` + u + ` LEFT JOIN ` + t + ` ON ` + tk + ` = ` + uk + ` WHERE ` + u + `.user_key = ? FOR UPDATE`,
		ClearIndex: `DELETE FROM ` + u,
		MarkStale:  `UPDATE ` + u + ` SET stale = ? WHERE stale = 0 AND ` + live,
		PruneStale: `DELETE FROM ` + u + ` WHERE stale <> 0 AND stale <= ? AND ` + live,
	}
}

func transient(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == errDeadlock || me.Number == errDupEntry
	}
	return false
}

// lockName derives the migration lock's name from the database and table
// (lock names are limited to 64 characters).
const lockName = `CONCAT('sessionkit:', SHA1(CONCAT(DATABASE(), '.', ?)))`

// sqlLock takes the named lock that serializes migrations of one table
// (GET_LOCK; DDL is not transactional in MySQL).
func sqlLock(ctx context.Context, conn *sql.Conn, name string) (func(context.Context, bool) error, error) {
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(`+lockName+`, ?)`, name, lockWait).Scan(&got); err != nil {
		return nil, err
	}
	if got.Int64 != 1 {
		return nil, fmt.Errorf("another process held the migration lock for %ds", lockWait)
	}
	return func(ctx context.Context, _ bool) error {
		_, err := conn.ExecContext(ctx, `SELECT RELEASE_LOCK(`+lockName+`)`, name)
		return err
	}, nil
}
