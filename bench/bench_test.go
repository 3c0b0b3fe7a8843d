package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	"github.com/sessionkit/sessionkit/core/memstore"
)

// Variants of the scenario: one steady user, or requests spread over many
// existing sessions (BENCH_SESSIONS, default 10,000), cycled in order.
// A run with -benchtime 1x, the smoke run of scripts/test.sh, seeds only
// 100 unless BENCH_SESSIONS says otherwise: it only proves that every
// benchmark runs.
var variants = []struct {
	name     string
	sessions func() int
}{
	{"steady", func() int { return 1 }},
	{"spread10k", spreadSessions},
}

func spreadSessions() int {
	if v := os.Getenv("BENCH_SESSIONS"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	if f := flag.Lookup("test.benchtime"); f != nil && f.Value.String() == "1x" {
		return 100
	}
	return 10000
}

// fixture is one started app and its seeded cookies, shared by every
// -count round of the benchmarks in this process.
type fixture struct {
	in      *Instance
	cookies map[int][]string
}

var (
	fixturesMu sync.Mutex
	fixtures   = map[string]*fixture{}
	benchDir   string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sessionkit-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	benchDir = dir
	code := m.Run()
	for _, f := range fixtures {
		f.in.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// cookiesFor returns app's instance and n seeded cookies, starting and
// seeding it on first use.
func cookiesFor(b *testing.B, a App, n int) (*Instance, []string) {
	b.Helper()
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	f := fixtures[a.Name]
	if f == nil {
		in, err := a.Start(EnvFromOS(benchDir))
		if err != nil {
			b.Fatal(err)
		}
		if err := in.Check(); err != nil {
			in.Close()
			b.Fatal(err)
		}
		f = &fixture{in: in, cookies: map[int][]string{}}
		fixtures[a.Name] = f
	}
	if f.cookies[n] == nil {
		cookies, err := f.in.Seed(n)
		if err != nil {
			b.Fatal(err)
		}
		f.cookies[n] = cookies
	}
	return f.in, f.cookies[n]
}

// BenchmarkApps serves the scenario's request in-process through every app:
// BenchmarkApps/<variant>/<app>. Compare each app with its framework's bare
// app (see bench/run.sh, which reports the differences).
func BenchmarkApps(b *testing.B) {
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			for _, a := range Apps() {
				b.Run(a.Name, func(b *testing.B) {
					in, cookies := cookiesFor(b, a, v.sessions())
					d := in.Driver(cookies)
					b.ReportAllocs()
					i := 0
					cpu := cpuTime()
					for b.Loop() {
						d.Serve(i)
						i++
					}
					reportCPU(b, cpu, i)
					if d.Failures() > 0 {
						b.Fatalf("%d of %d requests failed", d.Failures(), i)
					}
				})
			}
		})
	}
}

// BenchmarkStoreLoad compares a memory-store load with a cached-store hit
// (cachedstore.Store over SQLite) of the scenario's record.
func BenchmarkStoreLoad(b *testing.B) {
	ctx := context.Background()
	b.Run("memory", func(b *testing.B) {
		store := memstore.New()
		defer store.Close()
		key := seedRecord(b, store)
		b.ReportAllocs()
		i, cpu := 0, cpuTime()
		for b.Loop() {
			if _, ok, err := store.Load(ctx, key); !ok || err != nil {
				b.Fatal(ok, err)
			}
			i++
		}
		reportCPU(b, cpu, i)
	})
	b.Run("cached-hit", func(b *testing.B) {
		in := &Instance{}
		defer in.Close()
		backing, err := sqliteStore(Env{Dir: b.TempDir()}, in, "load")
		if err != nil {
			b.Fatal(err)
		}
		// A long staleness bound so that every load of the loop is a hit.
		store := cachedstore.New(backing, cachedstore.WithCloseBacking(false), cachedstore.WithMaxStale(time.Hour))
		defer store.Close()
		key := seedRecord(b, store)
		if _, ok, err := store.Load(ctx, key); !ok || err != nil {
			b.Fatal(ok, err)
		}
		before := store.Stats()
		b.ReportAllocs()
		i, cpu := 0, cpuTime()
		for b.Loop() {
			if _, ok, err := store.Load(ctx, key); !ok || err != nil {
				b.Fatal(ok, err)
			}
			i++
		}
		reportCPU(b, cpu, i)
		if after := store.Stats(); after.Misses != before.Misses {
			b.Fatalf("%d loads of the loop missed the cache", after.Misses-before.Misses)
		}
	})
}

// cpuUsage is the CPU time the process has used, in user mode and in all.
type cpuUsage struct{ user, total time.Duration }

// cpuTime returns the CPU time the process has used so far.
func cpuTime() cpuUsage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cpuUsage{}
	}
	return cpuUsage{user: time.Duration(ru.Utime.Nano()), total: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
}

// reportCPU reports the process's CPU time per operation since start:
// cpu-ns/op in all and user-ns/op in user mode. Wall time per operation
// also counts waits (for a busy core, for a network round trip); CPU time
// does not, but includes the garbage collector's work on other cores.
// User-mode time leaves out the kernel's side of system calls, which for
// a networked store is mostly the round trips' reads and writes.
func reportCPU(b *testing.B, start cpuUsage, n int) {
	if n > 0 && start.total > 0 {
		now := cpuTime()
		b.ReportMetric(float64(now.total-start.total)/float64(n), "cpu-ns/op")
		b.ReportMetric(float64(now.user-start.user)/float64(n), "user-ns/op")
	}
}

// seedRecord commits the scenario's session (a counter) into store through
// a manager and returns its store key.
func seedRecord(b *testing.B, store core.Store) string {
	b.Helper()
	m := core.NewManager(store)
	s, err := m.Load(context.Background(), "")
	if err != nil {
		b.Fatal(err)
	}
	s.Set("n", 1)
	res, err := m.Commit(context.Background(), s)
	if err != nil {
		b.Fatal(err)
	}
	return core.StoreKey(res.Token)
}
