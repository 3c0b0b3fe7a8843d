package mysqlstore_test

import (
	"regexp"
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/core/storetest"
	"github.com/sessionkit/sessionkit/stores/mysqlstore"
	"github.com/sessionkit/sessionkit/stores/sqlstore"
	"github.com/sessionkit/sessionkit/stores/sqlstore/sqltest"
)

// TestConformance runs the store suite, each store in a table of its own
// on one application *sql.DB.
func TestConformance(t *testing.T) {
	db := openDB(t)
	storetest.Run(t, func(t *testing.T) core.Store { return openStore(t, db) })
	if err := db.Ping(); err != nil {
		t.Errorf("the application's db after the stores closed: %v", err)
	}
}

// TestMatrix runs the middleware behaviour matrix through core's net/http
// middleware on the MySQL store, bare and behind the cached store.
func TestMatrix(t *testing.T) {
	db := openDB(t)
	t.Run("mysql", func(t *testing.T) {
		sessiontest.Run(t, sessiontest.NetHTTP(), func(t *testing.T) core.Store { return openStore(t, db) })
	})
	t.Run("cached", func(t *testing.T) {
		sessiontest.Run(t, sessiontest.NetHTTP(), func(t *testing.T) core.Store {
			return cachedstore.New(openStore(t, db), cachedstore.WithCloseBacking(false))
		})
	})
}

var param = regexp.MustCompile(`\$[0-9]+`)

// TestSQL runs the SQL stores' kit.
func TestSQL(t *testing.T) {
	db := openDB(t)
	sqltest.Run(t, sqltest.Harness{
		Open: func(t *testing.T, opts ...sqlstore.Option) (sqltest.Store, error) {
			opts = append([]sqlstore.Option{mysqlstore.WithTable(table(t, db))}, opts...)
			s, err := mysqlstore.New(db, opts...)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		Table: func(t *testing.T) string { return table(t, db) },
		Exec: func(t *testing.T, query string, args ...any) error {
			_, err := db.Exec(param.ReplaceAllString(query, "?"), args...)
			return err
		},
		Int: func(t *testing.T, query string) (int64, error) {
			var n int64
			err := db.QueryRow(query).Scan(&n)
			return n, err
		},
		Quote:         func(name string) string { return "`" + name + "`" },
		MaxRecordSize: 1<<24 - 1,
		Hold: func(t *testing.T, query string, args ...any) func() {
			tx, err := db.Begin()
			if err != nil {
				t.Fatal(err)
			}
			rows, err := tx.Query(param.ReplaceAllString(query, "?"), args...)
			if err != nil {
				tx.Rollback()
				t.Fatal(err)
			}
			rows.Close()
			return func() { tx.Rollback() }
		},
	})
}

func TestNilDB(t *testing.T) {
	if _, err := mysqlstore.New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}
