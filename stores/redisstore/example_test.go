package redisstore_test

import (
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/redisstore"
)

// A store over a Redis Cluster; the same code takes a single server's
// address. ContextTimeoutEnabled lets each request's deadline bound the
// store's calls.
func ExampleNew() {
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close() // the store does not close it

	store, err := redisstore.New(client, redisstore.WithPrefix("myapp:session:"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	manager := core.NewManager(store)
	_ = manager
}
