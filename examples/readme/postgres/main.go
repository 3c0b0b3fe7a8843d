package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/postgresstore"
)

func main() {
	url := os.Getenv("DATABASE_URL") // postgres://user:password@host:5432/db
	if url == "" {
		url = "postgres://localhost:5432/app"
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	// Creates the table sessionkit_sessions when missing; a *sql.DB of
	// pgx's stdlib driver works too: postgresstore.NewDB(db).
	store, err := postgresstore.New(pool)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // stops the cleanup, leaves the pool open
	m := core.NewManager(store)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		n, _ := core.GetAs[int](s, "visits")
		s.Set("visits", n+1)
		fmt.Fprintf(w, "visits: %d\n", n+1)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", m.Handler(mux)))
}
