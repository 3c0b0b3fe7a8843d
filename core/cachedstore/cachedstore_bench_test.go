package cachedstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// The cache-hit benchmarks have a baseline beside them: the same load from
// a memory store, with the same key and record, so that one run compares
// the two (go test -bench 'CachedStore(Hit|MemoryLoad)').

func cachedBenchRecord(exp time.Time) []byte {
	return storetest.Record(exp, "user_id", "42", "name", "gopher", "cart", strings.Repeat("x", 200))
}

// cachedBenchKeys returns n keys shaped like core's (64 hex characters).
func cachedBenchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = strings.Repeat("ab", 28) + strconv.FormatInt(int64(0x10000000+i), 16)
	}
	return keys
}

func cachedBenchFill(b *testing.B, s core.Store, keys []string) {
	exp := time.Now().Add(time.Hour)
	rec := cachedBenchRecord(exp)
	for _, k := range keys {
		if err := s.Save(b.Context(), k, rec, exp); err != nil {
			b.Fatal(err)
		}
		if _, found, err := s.Load(b.Context(), k); !found || err != nil {
			b.Fatal("Load failed")
		}
	}
}

func benchLoadOne(b *testing.B, s core.Store) {
	key := cachedBenchKeys(1)[0]
	cachedBenchFill(b, s, []string{key})
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, found, err := s.Load(ctx, key); !found || err != nil {
			b.Fatal("Load failed")
		}
	}
}

// benchLoadParallel loads 1,000 sessions from all goroutines at once.
func benchLoadParallel(b *testing.B, s core.Store) {
	keys := cachedBenchKeys(1000)
	cachedBenchFill(b, s, keys)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, found, err := s.Load(ctx, keys[i%len(keys)]); !found || err != nil {
				b.Error("Load failed")
				return
			}
			i += 7
		}
	})
}

func benchCachedMemory(b *testing.B) *cachedstore.Store {
	c := cachedstore.New(memstore.New(), cachedstore.WithMaxStale(time.Hour))
	b.Cleanup(func() { c.Close() })
	return c
}

func benchMemory(b *testing.B) *memstore.Store {
	m := memstore.New()
	b.Cleanup(func() { m.Close() })
	return m
}

func BenchmarkCachedStoreHit(b *testing.B)        { benchLoadOne(b, benchCachedMemory(b)) }
func BenchmarkCachedStoreMemoryLoad(b *testing.B) { benchLoadOne(b, benchMemory(b)) }

func BenchmarkCachedStoreHitParallel(b *testing.B) { benchLoadParallel(b, benchCachedMemory(b)) }
func BenchmarkCachedStoreMemoryLoadParallel(b *testing.B) {
	benchLoadParallel(b, benchMemory(b))
}

// BenchmarkCachedStoreMiss measures a load that misses the cache and reads
// a memory backing store: the cache's own overhead on a miss.
func BenchmarkCachedStoreMiss(b *testing.B) {
	clk := newCachedClock()
	c := cachedstore.New(memstore.New(), cachedstore.WithClock(clk.Now), cachedstore.WithMaxStale(time.Nanosecond))
	b.Cleanup(func() { c.Close() })
	key := cachedBenchKeys(1)[0]
	cachedBenchFill(b, c, []string{key})
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		clk.Add(time.Nanosecond) // every cached copy is stale
		if _, found, err := c.Load(ctx, key); !found || err != nil {
			b.Fatal("Load failed")
		}
	}
}

// BenchmarkCachedStoreSaveDeltaLoad is the cycle of a request that changes
// its session: a delta save (which drops the cached copy) and the next
// request's load (a miss).
func BenchmarkCachedStoreSaveDeltaLoad(b *testing.B) {
	c := benchCachedMemory(b)
	key := cachedBenchKeys(1)[0]
	cachedBenchFill(b, c, []string{key})
	ctx := b.Context()
	d := &record.Delta{Expiry: time.Now().Add(time.Hour), Set: storetest.Entries("user_id", "43")}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.SaveDelta(ctx, key, d); err != nil {
			b.Fatal(err)
		}
		if _, found, err := c.Load(ctx, key); !found || err != nil {
			b.Fatal("Load failed")
		}
	}
}
