package cachedstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// cachedPlainStore is the minimal third-party store: the three methods of
// core.Store and no capability.
type cachedPlainStore struct {
	mu sync.Mutex
	m  map[string]cachedPlainRecord
}

type cachedPlainRecord struct {
	data   []byte // never modified once stored
	expiry time.Time
}

func newCachedPlainStore() *cachedPlainStore {
	return &cachedPlainStore{m: map[string]cachedPlainRecord{}}
}

func (p *cachedPlainStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	p.mu.Lock()
	r, ok := p.m[key]
	p.mu.Unlock()
	now := time.Now()
	if !ok || !r.expiry.After(now) || !record.Live(r.data, now) {
		return nil, false, nil
	}
	return r.data, true, nil
}

func (p *cachedPlainStore) Save(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !expiry.After(time.Now()) {
		delete(p.m, key)
		return nil
	}
	p.m[key] = cachedPlainRecord{bytes.Clone(data), expiry}
	return nil
}

func (p *cachedPlainStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.m, key)
	p.mu.Unlock()
	return nil
}

// cachedClock is a fake clock that starts at the real time and moves only
// when told.
type cachedClock struct{ ns atomic.Int64 }

func newCachedClock() *cachedClock {
	c := &cachedClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *cachedClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *cachedClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

func newTestCachedStore(t testing.TB, backing core.Store, opts ...cachedstore.Option) *cachedstore.Store {
	t.Helper()
	c := cachedstore.New(backing, opts...)
	t.Cleanup(func() { c.Close() })
	return c
}

func cachedLoad(t *testing.T, s core.Store, key string) []byte {
	t.Helper()
	data, found, err := s.Load(t.Context(), key)
	if err != nil || !found {
		t.Fatalf("Load(%q) = found %v, err %v; want a record", key, found, err)
	}
	return data
}

func cachedWant(t *testing.T, s core.Store, key string, want []byte) {
	t.Helper()
	if err := storetest.SameRecord(cachedLoad(t, s, key), want); err != nil {
		t.Errorf("Load(%q): %v", key, err)
	}
}

func cachedWantMissing(t *testing.T, s core.Store, key string) {
	t.Helper()
	if _, found, err := s.Load(t.Context(), key); found || err != nil {
		t.Errorf("Load(%q) = found %v, err %v; want not found, nil", key, found, err)
	}
}

func cachedSave(t *testing.T, s core.Store, key string, data []byte, exp time.Time) {
	t.Helper()
	if err := s.Save(t.Context(), key, data, exp); err != nil {
		t.Fatalf("Save(%q): %v", key, err)
	}
}

// cachedWantStats fails t unless the hits and misses counted since before
// are the given numbers.
func cachedWantStats(t *testing.T, c *cachedstore.Store, before cachedstore.Stats, hits, misses uint64) {
	t.Helper()
	now := c.Stats()
	if h, m := now.Hits-before.Hits, now.Misses-before.Misses; h != hits || m != misses {
		t.Errorf("%d hits and %d misses, want %d and %d", h, m, hits, misses)
	}
}

func TestCachedStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) core.Store {
		return newTestCachedStore(t, memstore.New(memstore.WithCleanupInterval(50*time.Millisecond)))
	})
}

func TestCachedStoreConformanceTinyCache(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) core.Store {
		return newTestCachedStore(t, memstore.New(), cachedstore.WithMaxEntries(2), cachedstore.WithMaxStale(20*time.Millisecond))
	})
}

func TestCachedStoreConformancePlainBacking(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) core.Store {
		return newTestCachedStore(t, newCachedPlainStore())
	})
}

func TestCachedStoreOwnWritesSeenAtOnce(t *testing.T) {
	t.Parallel()
	for name, backing := range map[string]func() core.Store{
		"memory": func() core.Store { return memstore.New() },
		"plain":  func() core.Store { return newCachedPlainStore() },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clk := newCachedClock()
			c := newTestCachedStore(t, backing(), cachedstore.WithClock(clk.Now), cachedstore.WithMaxStale(time.Hour))
			ctx := t.Context()
			exp := time.Now().Add(time.Hour)

			r1 := storetest.Record(exp, "a", "1")
			cachedSave(t, c, "k", r1, exp)
			before := c.Stats()
			cachedWant(t, c, "k", r1)
			cachedWantStats(t, c, before, 1, 0) // Save kept a copy

			r2 := storetest.Record(exp, "a", "2")
			cachedSave(t, c, "k", r2, exp)
			cachedWant(t, c, "k", r2)

			if err := c.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("b", "3")}); err != nil {
				t.Fatalf("SaveDelta: %v", err)
			}
			before = c.Stats()
			cachedWant(t, c, "k", storetest.Record(exp, "a", "2", "b", "3"))
			cachedWantStats(t, c, before, 1, 0) // SaveDelta applied to the cached copy
			cachedWant(t, c, "k", storetest.Record(exp, "a", "2", "b", "3"))
			cachedWantStats(t, c, before, 2, 0)

			later := exp.Add(time.Hour)
			if err := c.Touch(ctx, "k", later); err != nil {
				t.Fatalf("Touch: %v", err)
			}
			before = c.Stats()
			cachedWant(t, c, "k", storetest.Record(later, "a", "2", "b", "3"))
			cachedWantStats(t, c, before, 1, 0) // Touch moved the cached deadline

			if err := c.Delete(ctx, "k"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			cachedWantMissing(t, c, "k")

			// A failed delta drops the copy too.
			cachedSave(t, c, "k", r1, exp)
			create := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp}
			if err := c.SaveDelta(ctx, "k", create); !errors.Is(err, core.ErrSessionExists) {
				t.Fatalf("SaveDelta (create over a live record): %v, want ErrSessionExists", err)
			}
			if s := c.Stats(); s.Entries != 0 {
				t.Errorf("%d cached entries after a failed SaveDelta, want 0", s.Entries)
			}
			cachedWant(t, c, "k", r1)
		})
	}
}

func TestCachedStoreStalenessBound(t *testing.T) {
	t.Parallel()
	const bound = 5 * time.Second
	clk := newCachedClock()
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	c := newTestCachedStore(t, mem, cachedstore.WithClock(clk.Now), cachedstore.WithMaxStale(bound), cachedstore.WithCloseBacking(false))
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)

	r1 := storetest.Record(exp, "v", "1")
	cachedSave(t, mem, "k", r1, exp)
	cachedWant(t, c, "k", r1) // read from the backing store at clk

	// Another process writes: this one may serve its copy until the bound.
	r2 := storetest.Record(exp, "v", "2")
	cachedSave(t, mem, "k", r2, exp)
	cachedWant(t, c, "k", r1)
	clk.Add(bound - time.Millisecond)
	cachedWant(t, c, "k", r1)
	clk.Add(time.Millisecond)
	cachedWant(t, c, "k", r2)

	// Another process deletes.
	if err := mem.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	clk.Add(bound / 2)
	cachedWant(t, c, "k", r2)
	clk.Add(bound / 2)
	cachedWantMissing(t, c, "k")

	// A copy kept by Save ages from the save, and Touch does not make it
	// younger.
	cachedSave(t, c, "t", r1, exp)
	cachedSave(t, mem, "t", r2, exp)
	clk.Add(bound - time.Millisecond)
	if err := c.Touch(ctx, "t", exp); err != nil {
		t.Fatal(err)
	}
	cachedWant(t, c, "t", r1)
	clk.Add(time.Millisecond)
	cachedWant(t, c, "t", r2)
}

func TestCachedStoreRespectsExpiry(t *testing.T) {
	t.Parallel()
	clk := newCachedClock()
	c := newTestCachedStore(t, memstore.New(), cachedstore.WithClock(clk.Now), cachedstore.WithMaxStale(time.Hour))
	ctx := t.Context()

	exp := clk.Now().Add(time.Second)
	r := storetest.Record(exp, "a", "1")
	cachedSave(t, c, "k", r, exp)
	cachedWant(t, c, "k", r)
	clk.Add(time.Second - time.Millisecond)
	cachedWant(t, c, "k", r)
	// The backing store still holds it by the real clock; the cache's clock
	// says it expired, and neither copy is served.
	clk.Add(time.Millisecond)
	cachedWantMissing(t, c, "k")
	if s := c.Stats(); s.Entries != 0 {
		t.Errorf("%d entries cached after expiry, want 0", s.Entries)
	}

	// A touch that shortens the deadline shortens the cached copy's too.
	clk.Add(-time.Second)
	exp = clk.Now().Add(time.Hour)
	cachedSave(t, c, "t", storetest.Record(exp, "a", "1"), exp)
	if err := c.Touch(ctx, "t", clk.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	cachedLoad(t, c, "t")
	clk.Add(time.Second)
	cachedWantMissing(t, c, "t")
}

func TestCachedStoreSizeBound(t *testing.T) {
	t.Parallel()
	t.Run("entries", func(t *testing.T) {
		t.Parallel()
		c := newTestCachedStore(t, memstore.New(), cachedstore.WithMaxEntries(3))
		exp := time.Now().Add(time.Hour)
		recs := map[string][]byte{}
		for _, k := range []string{"k1", "k2", "k3"} {
			recs[k] = storetest.Record(exp, "k", k)
			cachedSave(t, c, k, recs[k], exp)
		}
		cachedLoad(t, c, "k1") // k2 becomes the least recently used
		recs["k4"] = storetest.Record(exp, "k", "k4")
		cachedSave(t, c, "k4", recs["k4"], exp)
		if s := c.Stats(); s.Entries != 3 || s.Evictions != 1 {
			t.Errorf("Stats = %+v, want 3 entries and 1 eviction", s)
		}
		before := c.Stats()
		for _, k := range []string{"k1", "k3", "k4"} {
			cachedWant(t, c, k, recs[k])
		}
		cachedWantStats(t, c, before, 3, 0)
		cachedWant(t, c, "k2", recs["k2"]) // evicted, read again
		cachedWantStats(t, c, before, 3, 1)
		if s := c.Stats(); s.Entries != 3 {
			t.Errorf("%d entries, want 3", s.Entries)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		t.Parallel()
		exp := time.Now().Add(time.Hour)
		small := storetest.Record(exp, "v", strings.Repeat("s", 100))
		big := storetest.Record(exp, "v", strings.Repeat("b", 10_000))
		c := newTestCachedStore(t, memstore.New(), cachedstore.WithMaxBytes(1000))
		for i := range 20 {
			cachedSave(t, c, fmt.Sprint("s", i), small, exp)
		}
		s := c.Stats()
		if s.Bytes > 1000 || s.Entries == 0 || s.Entries >= 20 {
			t.Errorf("Stats after 20 small records = %+v, want within 1000 bytes", s)
		}
		cachedSave(t, c, "big", big, exp)
		before := c.Stats()
		cachedWant(t, c, "big", big)
		cachedWant(t, c, "big", big)
		cachedWantStats(t, c, before, 0, 2) // too large to cache, still served
		if s := c.Stats(); s.Bytes > 1000 {
			t.Errorf("%d bytes cached, want at most 1000", s.Bytes)
		}
	})
}

// cachedGateStore holds a Load that read the backing store, until told to
// return, so that a test can complete a write in between.
type cachedGateStore struct {
	*memstore.Store
	armed   atomic.Bool
	loaded  chan struct{}
	release chan struct{}
}

func (g *cachedGateStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	data, found, err := g.Store.Load(ctx, key)
	if g.armed.CompareAndSwap(true, false) {
		g.loaded <- struct{}{}
		<-g.release
	}
	return data, found, err
}

func TestCachedStoreLoadInvalidateRace(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(time.Hour)
	old := storetest.Record(exp, "v", "old")
	writes := []struct {
		name string
		fn   func(ctx context.Context, c *cachedstore.Store) error
		want []byte // nil: missing
	}{
		{"Save", func(ctx context.Context, c *cachedstore.Store) error {
			return c.Save(ctx, "k", storetest.Record(exp, "v", "new"), exp)
		}, storetest.Record(exp, "v", "new")},
		{"SaveDelta", func(ctx context.Context, c *cachedstore.Store) error {
			return c.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("v", "new")})
		}, storetest.Record(exp, "v", "new")},
		{"Touch", func(ctx context.Context, c *cachedstore.Store) error {
			return c.Touch(ctx, "k", exp.Add(time.Hour))
		}, storetest.Record(exp.Add(time.Hour), "v", "old")},
		{"Delete", func(ctx context.Context, c *cachedstore.Store) error {
			return c.Delete(ctx, "k")
		}, nil},
		{"Clear", func(ctx context.Context, c *cachedstore.Store) error {
			return c.Clear(ctx)
		}, nil},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			mem := memstore.New()
			t.Cleanup(func() { mem.Close() })
			gate := &cachedGateStore{Store: mem, loaded: make(chan struct{}), release: make(chan struct{})}
			c := newTestCachedStore(t, gate, cachedstore.WithMaxStale(time.Hour))
			ctx := t.Context()
			cachedSave(t, mem, "k", old, exp)

			gate.armed.Store(true)
			type result struct {
				data  []byte
				found bool
				err   error
			}
			done := make(chan result)
			go func() {
				data, found, err := c.Load(ctx, "k")
				done <- result{data, found, err}
			}()
			<-gate.loaded // the Load read the old record and is about to cache it
			if err := w.fn(ctx, c); err != nil {
				t.Fatalf("%s: %v", w.name, err)
			}
			close(gate.release)
			r := <-done
			if r.err != nil || !r.found || !bytes.Equal(r.data, old) {
				t.Errorf("the racing Load = found %v, err %v; want the old record", r.found, r.err)
			}
			if w.want == nil {
				cachedWantMissing(t, c, "k")
			} else {
				cachedWant(t, c, "k", w.want)
			}
		})
	}
}

func TestCachedStoreConcurrentUseStaysCoherent(t *testing.T) {
	t.Parallel()
	for name, backing := range map[string]func() core.Store{
		"memory": func() core.Store { return memstore.New() },
		"plain":  func() core.Store { return newCachedPlainStore() },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := backing()
			c := newTestCachedStore(t, b, cachedstore.WithMaxStale(time.Hour), cachedstore.WithMaxEntries(4))
			ctx := t.Context()
			exp := time.Now().Add(time.Hour)
			keys := []string{"a", "b", "c", "d", "e", "f"}
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(g), 1))
					for i := range 400 {
						k := keys[rng.IntN(len(keys))]
						var err error
						switch rng.IntN(6) {
						case 0:
							err = c.Save(ctx, k, storetest.Record(exp, "v", fmt.Sprint(g, i)), exp)
						case 1:
							err = c.SaveDelta(ctx, k, &record.Delta{Expiry: exp, Set: storetest.Entries("d", fmt.Sprint(g, i))})
							if errors.Is(err, core.ErrSessionGone) {
								err = nil
							}
						case 2:
							err = c.Touch(ctx, k, exp.Add(time.Duration(rng.IntN(1000))*time.Second))
						case 3:
							err = c.Delete(ctx, k)
						default:
							_, _, err = c.Load(ctx, k)
						}
						if err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			// With no other writer, the cache agrees with the backing store.
			for _, k := range keys {
				want, wantFound, err := b.Load(ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				got, found, err := c.Load(ctx, k)
				if err != nil || found != wantFound || !bytes.Equal(got, want) {
					t.Errorf("key %s: cached store has found %v (%d bytes), backing store found %v (%d bytes)", k, found, len(got), wantFound, len(want))
				}
			}
		})
	}
}

func TestCachedStoreCapabilities(t *testing.T) {
	t.Parallel()
	var s core.Store = cachedstore.New(newCachedPlainStore())
	for name, ok := range map[string]bool{
		"DeltaStore":   cachedIs[core.DeltaStore](s),
		"TouchStore":   cachedIs[core.TouchStore](s),
		"TTLStore":     cachedIs[core.TTLStore](s),
		"IterStore":    cachedIs[core.IterStore](s),
		"CountStore":   cachedIs[core.CountStore](s),
		"ClearStore":   cachedIs[core.ClearStore](s),
		"CleanupStore": cachedIs[core.CleanupStore](s),
		"io.Closer":    cachedIs[io.Closer](s),
	} {
		if !ok {
			t.Errorf("CachedStore does not implement %s", name)
		}
	}

	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		c := newTestCachedStore(t, memstore.New())
		ctx := t.Context()
		exp := time.Now().Add(time.Hour)
		for _, k := range []string{"a", "b", "c"} {
			cachedSave(t, c, k, storetest.Record(exp, "k", k), exp)
		}
		if n, err := c.Count(ctx); n != 3 || err != nil {
			t.Errorf("Count = %d, %v; want 3, nil", n, err)
		}
		seen := 0
		if err := c.Iterate(ctx, func(string, []byte) bool { seen++; return true }); err != nil || seen != 3 {
			t.Errorf("Iterate visited %d, err %v; want 3, nil", seen, err)
		}
		if ttl, found, err := c.TTL(ctx, "a"); err != nil || !found || ttl < 59*time.Minute || ttl > time.Hour {
			t.Errorf("TTL = %v, %v, %v; want about an hour", ttl, found, err)
		}
		if n, err := c.Cleanup(ctx); n != 0 || err != nil {
			t.Errorf("Cleanup = %d, %v; want 0, nil", n, err)
		}
		if err := c.Clear(ctx); err != nil {
			t.Fatalf("Clear: %v", err)
		}
		if s := c.Stats(); s.Entries != 0 || s.Bytes != 0 {
			t.Errorf("Stats after Clear = %+v, want an empty cache", s)
		}
		cachedWantMissing(t, c, "a")
		if n, err := c.Count(ctx); n != 0 || err != nil {
			t.Errorf("Count after Clear = %d, %v; want 0, nil", n, err)
		}
	})

	t.Run("plain", func(t *testing.T) {
		t.Parallel()
		c := newTestCachedStore(t, newCachedPlainStore())
		ctx := t.Context()
		exp := time.Now().Add(time.Hour)
		unsupported := func(op string, err error) {
			t.Helper()
			if !errors.Is(err, core.ErrNotSupported) {
				t.Errorf("%s over a store without it: %v, want ErrNotSupported", op, err)
			}
		}
		_, _, err := c.TTL(ctx, "a")
		unsupported("TTL", err)
		unsupported("Iterate", c.Iterate(ctx, func(string, []byte) bool {
			t.Error("Iterate called fn")
			return true
		}))
		_, err = c.Count(ctx)
		unsupported("Count", err)
		unsupported("Clear", c.Clear(ctx))
		_, err = c.Cleanup(ctx)
		unsupported("Cleanup", err)

		// Delta and touch fall back, and the manager's RemainingTTL reads
		// the header. The key is a session's, for RemainingTTL.
		id := strings.Repeat("A", 43)
		key := core.StoreKey(id)
		create := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: storetest.Entries("a", "1")}
		if err := c.SaveDelta(ctx, key, create); err != nil {
			t.Fatalf("SaveDelta (create): %v", err)
		}
		if err := c.SaveDelta(ctx, key, &record.Delta{Expiry: exp, Set: storetest.Entries("b", "2")}); err != nil {
			t.Fatalf("SaveDelta: %v", err)
		}
		later := exp.Add(time.Hour)
		if err := c.Touch(ctx, key, later); err != nil {
			t.Fatalf("Touch: %v", err)
		}
		cachedWant(t, c, key, storetest.Record(later, "a", "1", "b", "2"))
		m := core.NewManager(c)
		if ttl, found, err := m.RemainingTTL(ctx, id); err != nil || !found || ttl < 119*time.Minute {
			t.Errorf("RemainingTTL = %v, %v, %v; want about two hours", ttl, found, err)
		}
	})
}

func cachedIs[T any](s core.Store) bool {
	_, ok := s.(T)
	return ok
}

func TestCachedStoreClose(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	r := storetest.Record(exp, "a", "1")

	mem := memstore.New()
	c := cachedstore.New(mem)
	cachedSave(t, c, "k", r, exp)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, _, err := mem.Load(ctx, "k"); !errors.Is(err, core.ErrClosed) {
		t.Errorf("backing Load after Close: %v, want ErrClosed (Close closes the backing store by default)", err)
	}

	mem = memstore.New()
	t.Cleanup(func() { mem.Close() })
	c = cachedstore.New(mem, cachedstore.WithCloseBacking(false))
	cachedSave(t, c, "k", r, exp)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, _, err := c.Load(ctx, "k"); !errors.Is(err, core.ErrClosed) {
		t.Errorf("Load of a cached record after Close: %v, want ErrClosed", err)
	}
	cachedWant(t, mem, "k", r)
	if s := c.Stats(); s.Entries != 0 {
		t.Errorf("%d entries cached after Close, want 0", s.Entries)
	}
}

// cachedCloseErrStore is a backing store whose Close fails.
type cachedCloseErrStore struct{ *cachedPlainStore }

var errCachedClose = errors.New("close failed")

func (cachedCloseErrStore) Close() error { return errCachedClose }

func TestCachedStoreCloseReportsBackingError(t *testing.T) {
	t.Parallel()
	c := cachedstore.New(cachedCloseErrStore{newCachedPlainStore()})
	for i := range 2 {
		if err := c.Close(); !errors.Is(err, errCachedClose) {
			t.Errorf("Close #%d: %v, want the backing store's error", i+1, err)
		}
	}
}

func TestCachedStoreHitDoesNotAllocate(t *testing.T) {
	c := newTestCachedStore(t, memstore.New())
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	key := strings.Repeat("ab", 32)
	cachedSave(t, c, key, storetest.Record(exp, "a", "1"), exp)
	allocs := testing.AllocsPerRun(100, func() {
		if _, found, err := c.Load(ctx, key); !found || err != nil {
			t.Fatal("Load failed")
		}
	})
	if allocs != 0 {
		t.Errorf("a cache hit allocates %v times, want 0", allocs)
	}
}

// TestCachedStoreOptionsPanic checks that New panics on a nil backing
// store and on a bad option value, with a message naming the option and
// the value.
func TestCachedStoreOptionsPanic(t *testing.T) {
	t.Parallel()
	for want, f := range map[string]func(){
		"cachedstore: WithMaxStale(0s): ":     func() { cachedstore.New(newCachedPlainStore(), cachedstore.WithMaxStale(0)) },
		"cachedstore: WithMaxStale(-1s): ":    func() { cachedstore.New(newCachedPlainStore(), cachedstore.WithMaxStale(-time.Second)) },
		"cachedstore: WithMaxEntries(-1): ":   func() { cachedstore.New(newCachedPlainStore(), cachedstore.WithMaxEntries(-1)) },
		"cachedstore: WithMaxBytes(-1): ":     func() { cachedstore.New(newCachedPlainStore(), cachedstore.WithMaxBytes(-1)) },
		"cachedstore: WithClock(nil)":         func() { cachedstore.New(newCachedPlainStore(), cachedstore.WithClock(nil)) },
		"cachedstore: New(nil backing store)": func() { cachedstore.New(nil) },
		"cachedstore: New: nil Option":        func() { cachedstore.New(newCachedPlainStore(), nil) },
	} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, want) {
					t.Errorf("panic %q, want one starting %q", msg, want)
				}
			}()
			f()
		}()
	}
}

// cachedSlowStore is a capability-less store whose Load takes a while, so
// that unserialized load-apply-save fallbacks would interleave.
type cachedSlowStore struct{ *cachedPlainStore }

func (s cachedSlowStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	data, found, err := s.cachedPlainStore.Load(ctx, key)
	time.Sleep(2 * time.Millisecond) // between the read and the write that follows it
	return data, found, err
}

func TestCachedStoreFallbackSerializesKey(t *testing.T) {
	t.Parallel()
	c := newTestCachedStore(t, cachedSlowStore{newCachedPlainStore()})
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	create := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp}
	if err := c.SaveDelta(ctx, "k", create); err != nil {
		t.Fatalf("SaveDelta (create): %v", err)
	}
	const n = 10
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := c.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries(fmt.Sprint("g", i), "x")}); err != nil {
				t.Error(err)
			}
		})
	}
	// A touch racing the deltas must not write back a record it read
	// before them.
	wg.Go(func() {
		if err := c.Touch(ctx, "k", exp.Add(time.Minute)); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	got := storetest.Values(t, cachedLoad(t, c, "k"))
	for i := range n {
		if k := fmt.Sprint("g", i); got[k] != "x" {
			t.Errorf("entry %s lost: %v", k, got)
		}
	}
}

// TestCachedStoreDeltaOnStaleCopy: a delta applied to the cached copy
// keeps the age of the read the copy came from, so another process's write
// that the copy misses is seen once the staleness bound passes, as for any
// cached copy.
func TestCachedStoreDeltaOnStaleCopy(t *testing.T) {
	t.Parallel()
	clk := newCachedClock()
	backing := memstore.New()
	t.Cleanup(func() { backing.Close() })
	c := newTestCachedStore(t, backing, cachedstore.WithClock(clk.Now), cachedstore.WithMaxStale(time.Minute))
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)

	cachedSave(t, backing, "k", storetest.Record(exp, "a", "1"), exp)
	cachedWant(t, c, "k", storetest.Record(exp, "a", "1")) // cached at t0
	clk.Add(30 * time.Second)
	// Another process adds b.
	cachedSave(t, backing, "k", storetest.Record(exp, "a", "1", "b", "2"), exp)
	if err := c.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("c", "3")}); err != nil {
		t.Fatal(err)
	}
	// The copy misses b until a minute after t0, not after the delta.
	cachedWant(t, c, "k", storetest.Record(exp, "a", "1", "c", "3"))
	clk.Add(31 * time.Second)
	cachedWant(t, c, "k", storetest.Record(exp, "a", "1", "b", "2", "c", "3"))

	// A new session is cached as written.
	before := c.Stats()
	d := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: storetest.Entries("x", "1")}
	if err := c.SaveDelta(ctx, "new", d); err != nil {
		t.Fatal(err)
	}
	got := cachedLoad(t, c, "new")
	if err := storetest.SameRecord(got, storetest.Record(exp, "x", "1")); err != nil {
		t.Fatal(err)
	}
	cachedWantStats(t, c, before, 1, 0)
}
