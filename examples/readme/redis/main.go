package main

import (
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/redisstore"
)

func main() {
	addr := os.Getenv("REDIS_ADDR") // host:port; a redis.NewClusterClient works the same
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()

	store, err := redisstore.New(client) // sessions under "session:<hashed id>"
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // leaves the client open
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
