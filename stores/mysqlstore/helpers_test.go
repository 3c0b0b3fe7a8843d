package mysqlstore_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"github.com/sessionkit/sessionkit/stores/mysqlstore"
)

const envDSN = "SESSIONKIT_MYSQL_DSN"

func serverDSN(tb testing.TB) string {
	tb.Helper()
	d := os.Getenv(envDSN)
	if d == "" {
		tb.Fatalf("%s is not set: it must name a MariaDB or MySQL database as a go-sql-driver/mysql DSN (scripts/test.sh starts a server and sets it)", envDSN)
	}
	return d
}

// openDB returns a *sql.DB on the test server, closed when tb ends.
func openDB(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := sql.Open("mysql", serverDSN(tb))
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(40)
	db.SetMaxIdleConns(40)
	tb.Cleanup(func() { db.Close() })
	return db
}

// table returns a fresh table name, dropped with its meta table and user
// index when tb ends (through db).
func table(tb testing.TB, db *sql.DB) string {
	tb.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	tb.Cleanup(func() {
		db.Exec("DROP TABLE IF EXISTS `" + name + "`, `" + name + "_meta`, `" + name + "_users`")
	})
	return name
}

// openStore returns a store on db in a fresh table, closed when tb ends.
func openStore(tb testing.TB, db *sql.DB, opts ...mysqlstore.Option) *mysqlstore.Store {
	tb.Helper()
	s, err := mysqlstore.New(db, append([]mysqlstore.Option{mysqlstore.WithTable(table(tb, db))}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}
