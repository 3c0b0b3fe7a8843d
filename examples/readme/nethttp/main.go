package main

import (
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/filestore"
)

func main() {
	store, err := filestore.New("./data/sessions")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	m := core.NewManager(store,
		core.WithIdleTimeout(30*time.Minute),
		core.WithLifetime(8*time.Hour),
		core.WithCookie(core.Cookie{Name: "sid"}), // and Secure: true behind HTTPS
	)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		n, _ := core.GetAs[int](s, "visits")
		s.Set("visits", n+1)
		fmt.Fprintf(w, "visits: %d\n", n+1)
	})
	mux.HandleFunc("POST /code", func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		s.SetWithTTL("code", "417203", time.Minute) // gone after a minute
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", m.Handler(mux)))
}
