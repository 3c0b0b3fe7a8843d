package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	"github.com/sessionkit/sessionkit/core/storetest"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

// BenchmarkCachedHit compares a load from the bare SQLite store with a
// cache hit of the cached store in front of it, on the same record.
func BenchmarkCachedHit(b *testing.B) {
	ctx := context.Background()
	st, err := sqlitestore.Open(filepath.Join(b.TempDir(), "s.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	exp := time.Now().Add(time.Hour)
	data := storetest.Record(exp, "user_id", "42", "name", "Ada Lovelace", "n", "7")
	const key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if err := st.Save(ctx, key, data, exp); err != nil {
		b.Fatal(err)
	}
	cached := cachedstore.New(st, cachedstore.WithCloseBacking(false), cachedstore.WithMaxStale(time.Hour))
	defer cached.Close()
	for name, s := range map[string]core.Store{"sqlite": st, "cached": cached} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, found, err := s.Load(ctx, key); err != nil || !found {
					b.Fatal(found, err)
				}
			}
		})
	}
}
