package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	skpostgres "github.com/sessionkit/sessionkit/stores/postgresstore"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

// readMostlySessions is how many sessions the read-mostly run cycles over.
const readMostlySessions = 100

// BenchmarkReadMostly serves, in-process through net/http, the read-mostly
// scenario: of every 20 requests of a returning user, 19 only read the
// session (GET /read) and one increments its counter (GET /), on SQLite,
// the cached store over SQLite and PostgreSQL. The cached store's value
// shows here: its reads are served from memory.
func BenchmarkReadMostly(b *testing.B) {
	for _, c := range []struct {
		name string
		open func(b *testing.B) core.Store
	}{
		{"sqlite", func(b *testing.B) core.Store { return readMostlySQLite(b) }},
		{"cached-sqlite", func(b *testing.B) core.Store {
			c := cachedstore.New(readMostlySQLite(b), cachedstore.WithCloseBacking(false))
			b.Cleanup(func() { c.Close() })
			return c
		}},
		{"postgres", func(b *testing.B) core.Store {
			u := os.Getenv(postgresURLEnv)
			if u == "" {
				b.Fatal(errNoSQL(postgresURLEnv))
			}
			pool, err := pgxpool.New(context.Background(), u)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(pool.Close)
			table := benchTable()
			b.Cleanup(func() {
				pool.Exec(context.Background(), `DROP TABLE IF EXISTS "`+table+`", "`+table+`_meta"`)
			})
			s, err := skpostgres.New(pool, skpostgres.WithTable(table))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := readMostlyHandler(c.open(b))
			cookies := make([]string, readMostlySessions)
			for i := range cookies {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
				if w.Code != http.StatusOK || len(w.Result().Cookies()) == 0 {
					b.Fatalf("seeding: status %d", w.Code)
				}
				cookies[i] = w.Result().Cookies()[0].String()
			}
			b.ReportAllocs()
			i := 0
			cpu := cpuTime()
			for b.Loop() {
				path := "/read"
				if i%20 == 0 {
					path = "/"
				}
				r := httptest.NewRequest("GET", path, nil)
				r.Header.Set("Cookie", cookies[i%readMostlySessions])
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: status %d", path, w.Code)
				}
				i++
			}
			reportCPU(b, cpu, i)
		})
	}
}

func readMostlySQLite(b *testing.B) *sqlitestore.Store {
	s, err := sqlitestore.Open(fmt.Sprintf("%s/readmostly-%s.db", b.TempDir(), benchTable()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func readMostlyHandler(store core.Store) http.Handler {
	m := core.NewManager(store, core.WithCookie(core.Cookie{Name: CookieName}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		n, _ := core.GetAs[int](s, "n")
		s.Set("n", n+1)
		w.Write([]byte(strconv.Itoa(n + 1)))
	})
	mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
		n, _ := core.GetAs[int](core.FromContext(r.Context()), "n")
		w.Write([]byte(strconv.Itoa(n)))
	})
	return m.Handler(mux)
}
