package stores_test

import (
	"context"
	"fmt"
	"io"
	"log"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores"
)

// The store comes from a URL, typically an environment variable, and the
// manager's options from the same URL.
func ExampleOpenURL() {
	ctx := context.Background()
	const url = "memory://?timeout=1800"

	store, err := stores.OpenURL(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	defer store.(io.Closer).Close()
	cfg, err := stores.ParseURL(url)
	if err != nil {
		log.Fatal(err)
	}
	m := core.NewManager(store, cfg.Options()...)

	// What a request does: load (here: a new session), change, commit.
	s, err := m.Load(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	s.Set("user_id", 42)
	res, err := m.Commit(ctx, s)
	if err != nil {
		log.Fatal(err)
	}

	// The next request brings the token back.
	s, err = m.Load(ctx, res.Token)
	if err != nil {
		log.Fatal(err)
	}
	id, _ := core.GetAs[int](s, "user_id")
	n, _ := m.Count(ctx)
	fmt.Println("user_id:", id)
	fmt.Println("sessions:", n)
	// Output:
	// user_id: 42
	// sessions: 1
}

// A configuration file's "session:" section decodes into a Config.
func ExampleOpen() {
	cfg := stores.Config{
		Backend: "memory",
		Memory:  stores.MemoryConfig{Timeout: 3600},
	}
	store, err := stores.Open(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer store.(io.Closer).Close()
	m := core.NewManager(store, cfg.Options()...)
	fmt.Println(m.CookieName())

	_, err = stores.Open(context.Background(), stores.Config{Backend: "redis", Redis: stores.RedisConfig{Host: "localhost"}})
	fmt.Println(err)
	// Output:
	// session
	// stores: invalid configuration: redis.port: port must be between 1 and 65535, got 0
}
