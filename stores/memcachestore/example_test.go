package memcachestore_test

import (
	"log"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores/memcachestore"
)

// The client's Timeout bounds every call the store makes, since gomemcache
// takes no context.
func ExampleNew() {
	client := memcache.New("10.0.0.1:11211", "10.0.0.2:11211")
	client.Timeout = 200 * time.Millisecond
	defer client.Close()

	store, err := memcachestore.New(client, memcachestore.WithPrefix("myapp:session:"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	manager := core.NewManager(store, core.WithIdleTimeout(30*time.Minute))
	_ = manager
}
