package load_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/hardening/internal/harness"
	"github.com/sessionkit/sessionkit/hardening/internal/webclient"
)

// Knobs of the load run; scripts/load.sh sets them for the long run.
const (
	secondsEnv = "SESSIONKIT_LOAD_SECONDS"
	connsEnv   = "SESSIONKIT_LOAD_CONNS"

	defaultDuration = time.Second
	defaultConns    = 40
	// clientsPerSession: one sequential counter client and the rest
	// concurrent key setters.
	clientsPerSession = 5
)

func knobs(t *testing.T) (time.Duration, int) {
	t.Helper()
	d, conns := defaultDuration, defaultConns
	if v := os.Getenv(secondsEnv); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 600 {
			t.Fatalf("%s=%q: want a number of seconds in (0, 600]", secondsEnv, v)
		}
		d = time.Duration(f * float64(time.Second))
	}
	if v := os.Getenv(connsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < clientsPerSession || n > 1000 {
			t.Fatalf("%s=%q: want a number of connections in [%d, 1000]", connsEnv, v, clientsPerSession)
		}
		conns = n
	}
	return d, conns
}

// TestLoad runs a bounded loopback load through every middleware (net/http,
// Gin, Echo v4 and v5, Fiber v2 and v3) and store (memory, SQLite, Redis).
// Each session has one client incrementing its counter in sequence and
// several concurrent clients each setting a key unique to the request; at the
// end every counter equals its client's requests and every key is present: no
// update is lost. It logs one "LOAD" line per case with the requests per
// second and the p99 latency.
func TestLoad(t *testing.T) {
	d, conns := knobs(t)
	harnesses := []sessiontest.Harness{
		sessiontest.NetHTTP(),
		harness.Gin(),
		harness.Echo(),
		harness.Echo5(),
		harness.Fiber(),
		harness.Fiber3(),
	}
	for _, h := range harnesses {
		for _, sc := range harness.Stores() {
			t.Run(h.Name+"/"+sc.Name, func(t *testing.T) {
				runLoad(t, h, sc.Open(t), d, conns, t.Errorf)
			})
		}
	}
}

// TestLoadSQL runs the load with 50 connections through net/http on the
// PostgreSQL and MySQL stores, whose row locks serialize the writers of
// one session: no update may be lost.
func TestLoadSQL(t *testing.T) {
	d, _ := knobs(t)
	for _, sc := range harness.Stores() {
		if sc.Name != "postgres" && sc.Name != "mysql" {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			runLoad(t, sessiontest.NetHTTP(), sc.Open(t), d, 50, t.Errorf)
		})
	}
}

// stats collects the latencies of a run.
type stats struct {
	mu        sync.Mutex
	latencies []time.Duration
	failures  atomic.Int64
}

func (s *stats) add(ds []time.Duration) {
	s.mu.Lock()
	s.latencies = append(s.latencies, ds...)
	s.mu.Unlock()
}

// TestLoadDetectsLostUpdates runs the same load against a store with only
// the three methods of core.Store, which core merges best-effort (load,
// merge, save): concurrent setters then overwrite each other's keys, and
// the check of TestLoad must notice.
func TestLoadDetectsLostUpdates(t *testing.T) {
	var lost atomic.Int64
	inner := memstore.New()
	t.Cleanup(func() { inner.Close() })
	runLoad(t, sessiontest.NetHTTP(), plainStore{inner}, 500*time.Millisecond, 2*clientsPerSession,
		func(format string, args ...any) { lost.Add(1) })
	if lost.Load() == 0 {
		t.Fatal("no lost update was reported for a store without atomic delta saves")
	}
}

// plainStore hides every optional capability of the store it wraps.
type plainStore struct{ s core.Store }

func (p plainStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	return p.s.Load(ctx, key)
}

func (p plainStore) Save(ctx context.Context, key string, data []byte, expiry time.Time) error {
	return p.s.Save(ctx, key, data, expiry)
}

func (p plainStore) Delete(ctx context.Context, key string) error { return p.s.Delete(ctx, key) }

// runLoad runs the load through h over store for d with conns clients,
// and reports through lostf each failed request (a wrong counter among
// them) and each counter or key found missing at the end.
func runLoad(t *testing.T, h sessiontest.Harness, store core.Store, d time.Duration, conns int, lostf func(format string, args ...any)) {
	m := core.NewManager(store, core.WithLogger(slog.New(slog.DiscardHandler)))
	base := h.Serve(t, m, sessiontest.Routes())
	hc := webclient.NewHTTPClient(conns, 30*time.Second)
	t.Cleanup(hc.CloseIdleConnections)
	name := m.CookieName()

	nSessions := max(conns/clientsPerSession, 1)
	cookies := make([]string, nSessions)
	for i := range cookies {
		r := webclient.Get(hc, base+"/set?key=init&val=1", name, "")
		if r.Err != nil || r.Status != http.StatusOK || !r.NewCookie {
			t.Fatalf("creating session %d: status %d err %v new cookie %v", i, r.Status, r.Err, r.NewCookie)
		}
		cookies[i] = r.SetCookie
	}

	var st stats
	// fail reports a request that went wrong, a few of them in full.
	fail := func(format string, args ...any) {
		if st.failures.Add(1) <= 5 {
			lostf(format, args...)
		}
	}
	counts := make([]int, nSessions)
	keys := make([][][]string, nSessions) // [session][setter] keys set
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for s := range nSessions {
		keys[s] = make([][]string, clientsPerSession-1)
		wg.Go(func() {
			var lat []time.Duration
			for n := 1; time.Now().Before(end); n++ {
				r := webclient.Get(hc, base+"/incr", name, cookies[s])
				lat = append(lat, r.Latency)
				if r.Err != nil || r.Status != http.StatusOK || r.Body != strconv.Itoa(n) || r.NewCookie {
					fail("session %d counter request %d: status %d body %q (want %d) new cookie %v err %v",
						s, n, r.Status, r.Body, n, r.NewCookie, r.Err)
					break
				}
				counts[s] = n
			}
			st.add(lat)
		})
		for w := range clientsPerSession - 1 {
			wg.Go(func() {
				var lat []time.Duration
				for seq := 0; time.Now().Before(end); seq++ {
					key := fmt.Sprintf("w%d-%d", w, seq)
					r := webclient.Get(hc, base+"/set?key="+key+"&val="+strconv.Itoa(seq), name, cookies[s])
					lat = append(lat, r.Latency)
					if r.Err != nil || r.Status != http.StatusOK || r.NewCookie {
						fail("session %d setter %d key %s: status %d body %q new cookie %v err %v",
							s, w, key, r.Status, r.Body, r.NewCookie, r.Err)
						break
					}
					keys[s][w] = append(keys[s][w], key)
				}
				st.add(lat)
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)

	total := len(st.latencies)
	p50 := webclient.Percentile(st.latencies, 50)
	p99 := webclient.Percentile(st.latencies, 99)
	rps := float64(total) / elapsed.Seconds()
	t.Logf("LOAD %-8s %-6s conns=%d sessions=%d seconds=%.1f requests=%d req/s=%.0f p50=%v p99=%v failures=%d",
		h.Name, storeName(t), conns, nSessions, elapsed.Seconds(), total, rps,
		p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), st.failures.Load())
	if n := st.failures.Load(); n > 0 {
		lostf("%d requests failed", n)
		return
	}

	// Nothing was lost: each counter equals its client's requests, and
	// each key set is present.
	for s := range nSessions {
		r := webclient.Get(hc, base+"/read", name, cookies[s])
		if r.Status != http.StatusOK || r.Body != strconv.Itoa(counts[s]) {
			lostf("session %d: counter %q after %d increments (status %d)", s, r.Body, counts[s], r.Status)
		}
		r = webclient.Get(hc, base+"/keys", name, cookies[s])
		if r.Status != http.StatusOK {
			t.Fatalf("session %d: /keys status %d", s, r.Status)
		}
		have := map[string]bool{}
		for k := range strings.SplitSeq(r.Body, ",") {
			have[k] = true
		}
		want := 2 // "init" and "n"
		for w, ks := range keys[s] {
			want += len(ks)
			missing := 0
			for _, k := range ks {
				if !have[k] {
					missing++
				}
			}
			if missing > 0 {
				lostf("session %d setter %d: %d of its %d keys are missing", s, w, missing, len(ks))
			}
		}
		if len(have) != want || !have["init"] || !have["n"] {
			lostf("session %d holds %d keys, want %d (init, n and the setters')", s, len(have), want)
		}
	}
}

// storeName is the last element of the test's name.
func storeName(t *testing.T) string {
	name := t.Name()
	return name[strings.LastIndex(name, "/")+1:]
}
