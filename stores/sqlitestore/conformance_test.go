package sqlitestore_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/storetest"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

// openStore returns a store on a fresh file of its own, closed by
// t.Cleanup.
func openStore(t testing.TB, opts ...sqlitestore.Option) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "sessions.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// openDB opens a WAL database with the driver's DSN options, as an
// application would for New.
func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open(sqlitestore.DriverName, "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformanceOpen(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store { return openStore(t) })
}

// TestConformanceNew runs the suite on stores that share one application
// database, each in a table of its own.
func TestConformanceNew(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "app.db"))
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) core.Store {
		s, err := sqlitestore.New(db, sqlitestore.WithTable(fmt.Sprintf("sessions_%d", n.Add(1))))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
	if err := db.Ping(); err != nil {
		t.Errorf("the application's db after the stores closed: %v", err)
	}
}

// TestConformanceNewOneConn runs the suite through an application pool of
// a single connection on a database in rollback-journal mode, as some
// applications configure SQLite: no method may wait for a second
// connection, and the store must not depend on WAL.
func TestConformanceNewOneConn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open(sqlitestore.DriverName, "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) core.Store {
		s, err := sqlitestore.New(db, sqlitestore.WithTable(fmt.Sprintf("sessions_%d", n.Add(1))))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "delete" {
		t.Errorf("journal_mode = %q, %v: New must leave the application's mode alone", mode, err)
	}
}
