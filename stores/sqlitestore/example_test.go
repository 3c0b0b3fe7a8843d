package sqlitestore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

// Open keeps the sessions in a database file of the store's own.
func Example() {
	dir, err := os.MkdirTemp("", "sqlitestore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := sqlitestore.Open(filepath.Join(dir, "sessions.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	m := core.NewManager(store)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		core.FromContext(r.Context()).Set("visited", true)
	})
	_ = m.Handler(mux) // serve it with http.ListenAndServe

	n, err := m.Count(context.Background())
	fmt.Println(n, err)
	// Output: 0 <nil>
}
