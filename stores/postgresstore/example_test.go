package postgresstore_test

import (
	"context"
	"database/sql"
	"log"
	"net/http"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/postgresstore"
)

// New keeps the sessions in a table of the application's pgx pool.
func Example() {
	pool, err := pgxpool.New(context.Background(), os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	store, err := postgresstore.New(pool, postgresstore.WithTable("sessions"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // stops the cleanup; the pool stays open

	m := core.NewManager(store)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		core.FromContext(r.Context()).Set("visited", true)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", m.Handler(mux)))
}

// NewDB takes the *sql.DB of pgx's database/sql driver, the one GORM's
// postgres dialector and sqlc hold.
func ExampleNewDB() {
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	store, err := postgresstore.NewDB(db)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	_ = core.NewManager(store)
}
