package main

import (
	"context"
	"io"
	"log"
	"net/http"
	"os"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores"
)

func main() {
	// For example SESSION_STORE=redis://127.0.0.1:6379/0?timeout=1800
	cfg, err := stores.ParseURL(os.Getenv("SESSION_STORE"))
	if err != nil {
		log.Fatal(err) // names the part of the URL at fault, never the password
	}
	store, err := stores.Open(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer store.(io.Closer).Close()

	m := core.NewManager(store, cfg.Options()...) // ?timeout= becomes the idle timeout
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", m.Handler(http.NotFoundHandler())))
}
