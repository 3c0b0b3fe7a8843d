package leaks_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/filestore"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/hardening/internal/servers"
	"github.com/sessionkit/sessionkit/stores/memcachestore"
	"github.com/sessionkit/sessionkit/stores/redisstore"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

// rounds is how many times each store is opened, used and closed.
const rounds = 8

// opener opens a store (and whatever client it needs) and returns it with
// the function that closes all of it.
type opener func(t *testing.T, i int) (core.Store, func())

// TestNoGoroutineLeak opens, uses and closes each store in a loop and
// checks that the number of goroutines comes back to where it was: Close
// stops everything a store (or its client, closed by its owner) started.
// The tests of this package do not run in parallel, so nothing else starts
// goroutines meanwhile.
func TestNoGoroutineLeak(t *testing.T) {
	cases := []struct {
		name string
		open opener
		// starts says whether an open store runs goroutines of its own, so
		// that the test can see its measure move.
		starts bool
	}{
		{"memory", func(t *testing.T, i int) (core.Store, func()) {
			s := memstore.New(memstore.WithCleanupInterval(time.Millisecond))
			return s, func() { closeOrFail(t, s) }
		}, true},
		{"file", func(t *testing.T, i int) (core.Store, func()) {
			s, err := filestore.New(filepath.Join(t.TempDir(), fmt.Sprint(i)), filestore.WithCleanupInterval(time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			return s, func() { closeOrFail(t, s) }
		}, true},
		{"sqlite", func(t *testing.T, i int) (core.Store, func()) {
			s, err := sqlitestore.Open(filepath.Join(t.TempDir(), fmt.Sprintf("s%d.db", i)), sqlitestore.WithCleanupInterval(time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			return s, func() { closeOrFail(t, s) }
		}, true},
		{"redis", func(t *testing.T, i int) (core.Store, func()) {
			client := redis.NewClient(&redis.Options{Addr: servers.Env(t, servers.RedisAddrEnv), ContextTimeoutEnabled: true})
			s, err := redisstore.New(client, redisstore.WithPrefix(fmt.Sprintf("hardening-leak-%d-%d:", time.Now().UnixNano(), i)))
			if err != nil {
				t.Fatal(err)
			}
			return s, func() {
				closeOrFail(t, s)
				if err := client.Close(); err != nil {
					t.Error(err)
				}
			}
		}, false},
		{"memcache", func(t *testing.T, i int) (core.Store, func()) {
			client := memcache.New(servers.Env(t, servers.MemcacheAddrEnv))
			s, err := memcachestore.New(client, memcachestore.WithPrefix(fmt.Sprintf("hardening-leak-%d-%d:", time.Now().UnixNano(), i)))
			if err != nil {
				t.Fatal(err)
			}
			return s, func() {
				closeOrFail(t, s)
				if err := client.Close(); err != nil {
					t.Error(err)
				}
			}
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := settle(t, -1)
			var open []func()
			for i := range rounds {
				s, closeAll := c.open(t, i)
				use(t, s)
				open = append(open, closeAll)
			}
			during := runtime.NumGoroutine()
			if c.starts && during <= base {
				t.Fatalf("%d goroutines with %d stores open, %d before: the measure does not see the stores' goroutines", during, rounds, base)
			}
			for _, closeAll := range open {
				closeAll()
			}
			// Once more, one at a time, so that a leak per cycle adds up.
			for i := range rounds {
				s, closeAll := c.open(t, rounds+i)
				use(t, s)
				closeAll()
			}
			after := settle(t, base)
			t.Logf("goroutines: %d before, %d with %d stores open, %d after closing them", base, during, rounds, after)
			if after > base {
				t.Errorf("%d goroutines left after closing every store, %d before:\n%s", after, base, stacks())
			}
		})
	}
}

// use saves, loads and deletes one record, so that clients open their
// connections and stores their statements.
func use(t *testing.T, s core.Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	exp := now.Add(time.Minute)
	d := &record.Delta{Create: true, Header: record.NewHeader(false, now, exp), Expiry: exp,
		Set: []record.Entry{{Key: "k", Value: record.EncodeEntry(nil, time.Time{}, []byte("v"))}}}
	ds, ok := s.(core.DeltaStore)
	if !ok {
		t.Fatalf("%T is not a core.DeltaStore", s)
	}
	if err := ds.SaveDelta(ctx, "leak-check", d); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.Load(ctx, "leak-check"); err != nil || !found {
		t.Fatalf("load: found %v, %v", found, err)
	}
	if err := s.Delete(ctx, "leak-check"); err != nil {
		t.Fatal(err)
	}
}

func closeOrFail(t *testing.T, s io.Closer) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

// settle waits until the number of goroutines is at most target (or,
// with target < 0, stops changing) and returns it; it gives up after two
// seconds and returns the last count.
func settle(t *testing.T, target int) int {
	t.Helper()
	n := runtime.NumGoroutine()
	stable := 0
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if target >= 0 && m <= target {
			return m
		}
		if target < 0 {
			if m == n {
				stable++
				if stable == 5 {
					return m
				}
			} else {
				stable = 0
			}
		}
		n = m
	}
	return n
}

// stacks returns the stacks of every goroutine, without this one's.
func stacks() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	parts := strings.Split(string(buf), "\n\n")
	if len(parts) > 1 {
		parts = parts[1:]
	}
	return strings.Join(parts, "\n\n")
}
