package postgresstore_test

import (
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/core/storetest"
	"github.com/sessionkit/sessionkit/stores/postgresstore"
)

// TestConformancePool runs the store suite on stores made by New, each in
// a table of its own on the shared pool.
func TestConformancePool(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store { return openStore(t) })
}

// TestConformanceDB runs the store suite on stores made by NewDB over
// pgx's database/sql driver.
func TestConformanceDB(t *testing.T) {
	db := openDB(t)
	storetest.Run(t, func(t *testing.T) core.Store {
		s, err := postgresstore.NewDB(db, postgresstore.WithTable(table(t)))
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

// TestMatrix runs the middleware behaviour matrix through core's net/http
// middleware on the PostgreSQL store, bare and behind the cached store.
func TestMatrix(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		sessiontest.Run(t, sessiontest.NetHTTP(), func(t *testing.T) core.Store { return openStore(t) })
	})
	t.Run("cached", func(t *testing.T) {
		sessiontest.Run(t, sessiontest.NetHTTP(), func(t *testing.T) core.Store {
			return cachedstore.New(openStore(t), cachedstore.WithCloseBacking(false))
		})
	})
}
