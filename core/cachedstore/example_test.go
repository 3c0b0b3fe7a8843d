package cachedstore_test

import (
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	"github.com/sessionkit/sessionkit/core/memstore"
)

// A cache in front of a slower store (SQLite, Redis, ...; a memory store
// stands in for it here). Another instance's logout is seen here at most
// WithMaxStale late: keep it short for apps where that matters.
func ExampleNew() {
	backing := memstore.New() // in production: sqlitestore.Open, redisstore.New, ...
	store := cachedstore.New(backing,
		cachedstore.WithMaxStale(time.Second),
		cachedstore.WithMaxEntries(10_000),
	)
	defer store.Close() // closes backing too, unless WithCloseBacking(false)
	m := core.NewManager(store)
	_ = m // serve with m.Handler(mux), or an adapter's FromManager(m)

	fmt.Println(store.Stats().Entries)
	// Output: 0
}
