package mysqlstore_test

import (
	"database/sql"
	"log"
	"net/http"
	"os"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/mysqlstore"
)

// New keeps the sessions in a table of the application's MySQL or MariaDB
// database.
func Example() {
	db, err := sql.Open("mysql", os.Getenv("MYSQL_DSN")) // user:password@tcp(host:3306)/app
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	store, err := mysqlstore.New(db, mysqlstore.WithTable("sessions"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // stops the cleanup; db stays open

	m := core.NewManager(store)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		core.FromContext(r.Context()).Set("visited", true)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", m.Handler(mux)))
}
