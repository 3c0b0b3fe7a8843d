package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

func newTestMemoryStore(t *testing.T, opts ...memstore.Option) *memstore.Store {
	s := memstore.New(opts...)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) core.Store {
		return newTestMemoryStore(t, memstore.WithCleanupInterval(50*time.Millisecond))
	})
}

func TestMemoryStoreConformanceBounded(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) core.Store {
		return newTestMemoryStore(t, memstore.WithShards(1), memstore.WithMaxEntries(1000),
			memstore.WithMaxRecordSize(1<<20), memstore.WithCleanupInterval(0))
	})
}

// memSweepers counts the goroutines running a memory store's sweeper.
func memSweepers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "memstore.(*Store).sweep(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

func TestMemoryStoreCloseStopsSweeper(t *testing.T) {
	// Not parallel: it counts sweeper goroutines of the whole process.
	before := memSweepers()
	s := memstore.New(memstore.WithCleanupInterval(time.Millisecond))
	// waitFor polls the count of sweepers until ok accepts it.
	waitFor := func(ok func(n int) bool) int {
		n := memSweepers()
		for deadline := time.Now().Add(2 * time.Second); !ok(n) && time.Now().Before(deadline); n = memSweepers() {
			time.Sleep(10 * time.Millisecond)
		}
		return n
	}
	if got := waitFor(func(n int) bool { return n > before }); got <= before {
		t.Fatalf("%d sweeper goroutines after New, want %d", got, before+1)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := waitFor(func(n int) bool { return n <= before }); got > before {
		t.Errorf("%d sweeper goroutines after Close, want %d", got, before)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	before = memSweepers()
	s = memstore.New(memstore.WithCleanupInterval(0))
	if got := memSweepers(); got != before {
		t.Errorf("WithCleanupInterval(0) started a sweeper")
	}
	s.Close()
}

func TestMemoryStoreSweeperRemovesExpired(t *testing.T) {
	t.Parallel()
	s := newTestMemoryStore(t, memstore.WithCleanupInterval(20*time.Millisecond))
	ctx := t.Context()
	soon := time.Now().Add(100 * time.Millisecond)
	if err := s.Save(ctx, "k", storetest.Record(soon, "a", "1"), soon); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(soon) + 200*time.Millisecond)
	// Nothing is left for Cleanup to remove: the sweeper did it.
	if n, err := s.Cleanup(ctx); err != nil || n != 0 {
		t.Errorf("Cleanup after the sweeper ran = %d, %v; want 0, nil", n, err)
	}
}

func TestMemoryStoreEviction(t *testing.T) {
	t.Parallel()
	const bound = 10
	s := newTestMemoryStore(t, memstore.WithMaxEntries(bound), memstore.WithCleanupInterval(0))
	ctx := t.Context()
	base := time.Now().Add(time.Hour)
	save := func(key string, exp time.Time) {
		t.Helper()
		if err := s.Save(ctx, key, storetest.Record(exp, "k", key), exp); err != nil {
			t.Fatal(err)
		}
	}
	// k0 expires first, k9 last.
	for i := range bound {
		save(fmt.Sprintf("k%d", i), base.Add(time.Duration(i)*time.Minute))
	}
	if n, _ := s.Count(ctx); n != bound {
		t.Fatalf("Count = %d, want %d", n, bound)
	}
	// Overwriting an existing key evicts nothing.
	save("k5", base.Add(5*time.Minute))
	if n, _ := s.Count(ctx); n != bound {
		t.Fatalf("Count after overwrite = %d, want %d", n, bound)
	}

	save("new", base.Add(time.Hour))
	if n, _ := s.Count(ctx); n != bound {
		t.Errorf("Count after saving past the bound = %d, want %d", n, bound)
	}
	if _, found, _ := s.Load(ctx, "k0"); found {
		t.Error("k0, the record closest to expiry, was not evicted")
	}
	for _, k := range []string{"k1", "k9", "new"} {
		if _, found, _ := s.Load(ctx, k); !found {
			t.Errorf("%s was evicted, want only k0 gone", k)
		}
	}

	// A touched record moves back in the queue: k1 now expires last.
	if err := s.Touch(ctx, "k1", base.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// An expired record goes before any live one.
	exp := time.Now().Add(50 * time.Millisecond)
	if err := s.Save(ctx, "k3", storetest.Record(exp, "k", "k3"), exp); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(exp) + 10*time.Millisecond)
	save("new2", base.Add(time.Hour))
	save("new3", base.Add(time.Hour))
	for _, k := range []string{"k1", "k4", "new", "new2", "new3"} {
		if _, found, _ := s.Load(ctx, k); !found {
			t.Errorf("%s was evicted", k)
		}
	}
	if _, found, _ := s.Load(ctx, "k2"); found {
		t.Error("k2, the live record closest to expiry, was not evicted")
	}
	if n, _ := s.Count(ctx); n != bound {
		t.Errorf("Count = %d, want %d", n, bound)
	}

	// SaveDelta creating a session counts too.
	err := s.SaveDelta(ctx, "delta", &record.Delta{Create: true, Header: storetest.Header(false, base), Expiry: base.Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx); n != bound {
		t.Errorf("Count after SaveDelta create = %d, want %d", n, bound)
	}
}

func TestMemoryStoreMaxRecordSize(t *testing.T) {
	t.Parallel()
	s := newTestMemoryStore(t, memstore.WithMaxRecordSize(100))
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	err := s.Save(ctx, "k", storetest.Record(exp, "v", strings.Repeat("x", 100)), exp)
	if !errors.Is(err, core.ErrTooLarge) || !strings.Contains(err.Error(), "100 bytes") {
		t.Errorf("Save of a large record: %v, want ErrTooLarge naming the limit", err)
	}
	if err := s.Save(ctx, "k", storetest.Record(exp, "v", "small"), exp); err != nil {
		t.Fatalf("Save of a small record: %v", err)
	}
	err = s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("big", strings.Repeat("x", 100))})
	if !errors.Is(err, core.ErrTooLarge) {
		t.Errorf("SaveDelta growing past the limit: %v, want ErrTooLarge", err)
	}
	data, _, _ := s.Load(ctx, "k")
	if v := storetest.Values(t, data); len(v) != 1 || v["v"] != "small" {
		t.Errorf("record after a refused SaveDelta = %q, want unchanged", v)
	}
}

// TestMemoryStoreOptionsPanic checks that New panics on a bad option
// value, with a message naming the option and the value.
func TestMemoryStoreOptionsPanic(t *testing.T) {
	t.Parallel()
	for want, opt := range map[string]memstore.Option{
		"memstore: WithMaxEntries(-1): ":              memstore.WithMaxEntries(-1),
		"memstore: WithMaxRecordSize(-1): ":           memstore.WithMaxRecordSize(-1),
		"memstore: WithShards(0): ":                   memstore.WithShards(0),
		"memstore: WithClock(nil)":                    memstore.WithClock(nil),
		"memstore: WithMaxRecordSize(0): ":            memstore.WithMaxRecordSize(0),
		"memstore: WithShards(65537): ":               memstore.WithShards(1<<16 + 1),
		"memstore: WithShards(4611686018427387905): ": memstore.WithShards(1<<62 + 1),
		"memstore: WithCleanupInterval(-1s): ":        memstore.WithCleanupInterval(-time.Second),
		"memstore: New: nil Option":                   nil,
	} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, want) {
					t.Errorf("New with a bad option: panic %q, want one starting %q", msg, want)
				}
			}()
			s := memstore.New(memstore.WithCleanupInterval(0), opt)
			s.Close()
		}()
	}
}

func TestMemoryStoreLoadDoesNotAllocate(t *testing.T) {
	s := newTestMemoryStore(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	key := strings.Repeat("ab", 32)
	if err := s.Save(ctx, key, storetest.Record(exp, "a", "1"), exp); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, found, err := s.Load(ctx, key); !found || err != nil {
			t.Fatal("Load failed")
		}
	})
	if allocs != 0 {
		t.Errorf("Load allocates %v times, want 0", allocs)
	}
}

func benchStore(b *testing.B) (*memstore.Store, string, time.Time) {
	s := memstore.New()
	b.Cleanup(func() { s.Close() })
	exp := time.Now().Add(time.Hour)
	key := strings.Repeat("ab", 32)
	rec := storetest.Record(exp, "user_id", "42", "name", "gopher", "cart", strings.Repeat("x", 200))
	if err := s.Save(b.Context(), key, rec, exp); err != nil {
		b.Fatal(err)
	}
	return s, key, exp
}

func BenchmarkMemoryStoreLoad(b *testing.B) {
	s, key, _ := benchStore(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, found, err := s.Load(ctx, key); !found || err != nil {
			b.Fatal("Load failed")
		}
	}
}

func BenchmarkMemoryStoreSave(b *testing.B) {
	s, key, exp := benchStore(b)
	ctx := b.Context()
	rec, _, _ := s.Load(ctx, key)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Save(ctx, key, rec, exp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryStoreSaveDelta(b *testing.B) {
	s, key, exp := benchStore(b)
	ctx := b.Context()
	d := &record.Delta{Expiry: exp, Set: storetest.Entries("user_id", "43")}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.SaveDelta(ctx, key, d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryStoreTouch(b *testing.B) {
	s, key, exp := benchStore(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Touch(ctx, key, exp); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleStore_Count() {
	s := memstore.New(memstore.WithMaxEntries(100_000), memstore.WithCleanupInterval(time.Minute))
	defer s.Close()

	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	_ = s.Save(ctx, "key", record.NewHeader(false, time.Now(), exp), exp)
	n, _ := s.Count(ctx)
	fmt.Println(n)
	// Output: 1
}

// Loading an existing session from the memory store allocates no more
// than loading an ID the store does not hold (the session and its store
// key): the store hands out its record without copying it, and the
// session's values (here a one-byte key and a small int) cost nothing more.
func TestManagerLoadOnMemoryStoreAllocatesOnlyTheSession(t *testing.T) {
	m := core.NewManager(newTestMemoryStore(t))
	ctx := t.Context()
	s, err := m.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Set("n", 7)
	res, err := m.Commit(ctx, s)
	if err != nil || res.Token == "" {
		t.Fatalf("Commit: %v, token %q", err, res.Token)
	}
	unknown := strings.Repeat("A", 43)
	base := testing.AllocsPerRun(100, func() {
		s, err := m.Load(ctx, unknown)
		if err != nil || s.ID() != "" {
			t.Fatalf("Load of an unknown ID: %v, ID %q", err, s.ID())
		}
	})
	allocs := testing.AllocsPerRun(100, func() {
		s, err := m.Load(ctx, res.Token)
		if err != nil || s.ID() != res.Token {
			t.Fatalf("Load: %v, ID %q", err, s.ID())
		}
		if n, _ := core.GetAs[int](s, "n"); n != 7 {
			t.Fatalf("Load: n = %d, want 7", n)
		}
	})
	if allocs > base {
		t.Errorf("Load of a stored session allocates %v times, of an unknown ID %v: want no more", allocs, base)
	}
}
