package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/record"
)

// A memory store for development, tests and single-instance apps, bounded
// so that a flood of sessions cannot exhaust memory.
func ExampleNew() {
	store := memstore.New(memstore.WithMaxEntries(100_000))
	defer store.Close()
	m := core.NewManager(store)
	_ = m // serve with m.Handler(mux), or an adapter's FromManager(m)

	// What the manager keeps there: records under hashed keys.
	now := time.Now()
	rec := record.NewHeader(false, now, now.Add(time.Hour))
	if err := store.Save(context.Background(), core.StoreKey("an-id"), rec, now.Add(time.Hour)); err != nil {
		panic(err)
	}
	n, _ := store.Count(context.Background())
	fmt.Println(n)
	// Output: 1
}
