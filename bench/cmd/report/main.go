// Command report turns the outputs of bench/run.sh into RESULTS.md: one
// markdown table of every app (in-process cost and overhead over its bare
// framework, loopback throughput and p99 latency and their ratio to the bare
// framework), followed by the checks of the project's performance targets.
//
// Usage:
//
//	report -benchstat stats.csv -wrk wrk.tsv -roundtrips PASS|FAIL [-count 6] [-wrk-seconds 10] [-wrk-rounds 3] [-rev REV]
//
// stats.csv is `benchstat -format csv` of the BenchmarkApps and
// BenchmarkStoreLoad runs; wrk.tsv has one line per loopback run:
// app, variant, requests/s, p99 in µs, requests, socket errors, non-2xx,
// and optionally the server's CPU seconds over the run. An app with
// several runs (rounds) gets the median of their requests/s, of their p99s
// and of their server CPU times per request; its request, socket-error and
// non-2xx counts are the sums over the rounds.
package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

var variants = []struct{ key, title string }{
	{"steady", "steady user"},
	{"spread10k", "10k sessions"},
}

// stat is one benchstat summary: the median and its confidence interval.
type stat struct {
	v  float64
	ci string
}

// wrkRun is an app's loopback result: one run, or the medians of its
// rounds.
type wrkRun struct {
	rps              float64
	p99              time.Duration
	errors, non2xx   int64
	requests         int64
	cpu              time.Duration // server CPU time per request; 0: not measured
	rounds           int           // valid runs the medians are taken over
	present, invalid bool
}

type data struct {
	// bench[unit][name]: name like "Apps/steady/gin/bare".
	bench      map[string]map[string]stat
	wrk        map[string]wrkRun // key: variant + " " + app
	roundTrips string
}

func run() error {
	statsFile := flag.String("benchstat", "", "benchstat -format csv output")
	wrkFile := flag.String("wrk", "", "loopback results (TSV)")
	roundTrips := flag.String("roundtrips", "", "result of TestRedisRoundTrips: PASS or FAIL")
	count := flag.Int("count", 6, "the -count of the benchmark run (for the header)")
	wrkSeconds := flag.Int("wrk-seconds", 10, "seconds per wrk run (for the header)")
	wrkRounds := flag.Int("wrk-rounds", 1, "wrk rounds per app (for the header)")
	rev := flag.String("rev", "", "the revision measured (for the header)")
	flag.Parse()

	d := data{bench: map[string]map[string]stat{}, wrk: map[string]wrkRun{}, roundTrips: *roundTrips}
	if *statsFile != "" {
		if err := readBenchstat(*statsFile, d.bench); err != nil {
			return err
		}
	}
	if *wrkFile != "" {
		if err := readWrk(*wrkFile, d.wrk); err != nil {
			return err
		}
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	writeHeader(w, *count, *wrkSeconds, *wrkRounds, *rev)
	writeTable(w, d)
	writeTargets(w, d)
	return nil
}

var suffix = regexp.MustCompile(`-\d+$`)

func readBenchstat(path string, out map[string]map[string]stat) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	unit := ""
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) < 2 {
			continue
		}
		if rec[0] == "" {
			if len(rec) >= 3 && rec[2] == "CI" {
				unit = rec[1]
			}
			continue
		}
		v, err := strconv.ParseFloat(rec[1], 64)
		if err != nil || unit == "" || rec[0] == "geomean" {
			continue
		}
		ci := ""
		if len(rec) >= 3 {
			ci = rec[2]
		}
		if out[unit] == nil {
			out[unit] = map[string]stat{}
		}
		out[unit][suffix.ReplaceAllString(rec[0], "")] = stat{v: v, ci: ci}
	}
}

func readWrk(path string, out map[string]wrkRun) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sums := map[string]wrkRun{}
	rpss := map[string][]float64{}
	p99s := map[string][]float64{}
	cpus := map[string][]float64{} // seconds per request, rounds that measured it
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		key := f[1] + " " + f[0]
		if len(f) < 7 {
			// A failed round; the app counts as failed if no round worked.
			if _, ok := sums[key]; !ok {
				sums[key] = wrkRun{present: true, invalid: true}
			}
			continue
		}
		rps, err1 := strconv.ParseFloat(f[2], 64)
		p99, err2 := strconv.ParseInt(f[3], 10, 64)
		reqs, err3 := strconv.ParseInt(f[4], 10, 64)
		errs, err4 := strconv.ParseInt(f[5], 10, 64)
		non2xx, err5 := strconv.ParseInt(f[6], 10, 64)
		if errors.Join(err1, err2, err3, err4, err5) != nil {
			if _, ok := sums[key]; !ok {
				sums[key] = wrkRun{present: true, invalid: true}
			}
			continue
		}
		if len(f) >= 8 && reqs > 0 {
			if cpu, err := strconv.ParseFloat(f[7], 64); err == nil && cpu >= 0 {
				cpus[key] = append(cpus[key], cpu/float64(reqs))
			}
		}
		sum := sums[key]
		sum.present, sum.invalid = true, false
		rpss[key] = append(rpss[key], rps)
		p99s[key] = append(p99s[key], float64(p99))
		sum.requests += reqs
		sum.errors += errs
		sum.non2xx += non2xx
		sum.rounds++
		sums[key] = sum
	}
	for key, sum := range sums {
		if sum.rounds > 0 {
			sum.rps = median(rpss[key])
			sum.p99 = time.Duration(median(p99s[key])) * time.Microsecond
		}
		if len(cpus[key]) > 0 {
			sum.cpu = time.Duration(median(cpus[key]) * float64(time.Second))
		}
		out[key] = sum
	}
	return nil
}

// median returns the median of vs, which is not empty (the mean of the
// middle two for an even count).
func median(vs []float64) float64 {
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

func writeHeader(w io.Writer, count, wrkSeconds, wrkRounds int, rev string) {
	fmt.Fprintf(w, "# sessionkit benchmarks\n\n")
	fmt.Fprintf(w, "Written by `bench/run.sh` on %s", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	if rev != "" {
		fmt.Fprintf(w, ", measuring %s", rev)
	}
	fmt.Fprintf(w, ".\n\n")
	fmt.Fprintf(w, "Machine: %d CPUs (nproc), %s, %s, %s/%s.\n\n", nproc(), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "Scenario: a returning user's request reads the session cookie, loads the session, increments an integer counter in it, saves it and answers with the counter; *steady* is one user, *10k* spreads the requests over 10,000 existing sessions (seeded through each app, cycled in order).\n\n")
	fmt.Fprintf(w, "- **In-process** (`go test -bench BenchmarkApps -benchmem`, %d rounds, medians by benchstat): the app's handler called directly (for net/http, Gin and Echo a fresh copy of an httptest request per call, with a header map and cookie value of its own as a server would make them; for Fiber `app.Handler()` on a reset `fasthttp.RequestCtx`). Each app runs in a test process of its own, so that no other app's sessions sit in its heap, and the rounds are interleaved (every app once, then every app again) so that a slow minute hits all apps alike. *+ns* and *+allocs* are the overhead over the same framework's bare app, in wall time per request: the measure of `go test -bench`, and the one the memory-store targets are checked on. *+cpu-ns* is the overhead in the process's CPU time per request; it adds the garbage collector's mark work on the otherwise idle second core, and, for Redis, what the Go runtime spends between round trips. The Redis in-process target compares user-mode CPU time (the benchmark's user-ns/op): both libraries make the same two round trips, whose waits fill the wall time and whose system calls most of the system time.\n", count)
	fmt.Fprintf(w, "- **Loopback** (wrk, 2 threads, 50 connections, %d s per app and round, `--latency`, %d round(s), interleaved like the in-process rounds; req/s and p99 are medians over the rounds): each app served alone on 127.0.0.1 by `bench/cmd/server`; *× bare* is the ratio to the bare framework measured in the same rounds. *server CPU/req* is the server process's user and system CPU time over the measured run (from /proc/PID/stat) divided by its requests, the median over the rounds, with its difference to the bare framework's in parentheses; it leaves out wrk's CPU time and, for Redis, redis-server's. wrk runs on the same two cores as the server and is not pinned to one of them.\n\n", wrkSeconds, wrkRounds)
}

func nproc() int {
	out, err := exec.Command("nproc").Output()
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil {
			return n
		}
	}
	return runtime.NumCPU()
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func (d data) get(unit, name string) (stat, bool) {
	s, ok := d.bench[unit][name]
	return s, ok
}

func benchName(variant string, a bench.App) string { return "Apps/" + variant + "/" + a.Name }

// bareOf returns the bare app of a's framework.
func bareOf(a bench.App) bench.App {
	for _, b := range bench.Apps() {
		if b.Framework == a.Framework && b.Bare() {
			return b
		}
	}
	return a
}

// overhead returns a's cost minus its bare framework's, in unit.
func (d data) overhead(unit, variant string, a bench.App) (float64, bool) {
	s, ok1 := d.get(unit, benchName(variant, a))
	b, ok2 := d.get(unit, benchName(variant, bareOf(a)))
	return s.v - b.v, ok1 && ok2
}

func (d data) loopback(variant string, a bench.App) (wrkRun, bool) {
	r, ok := d.wrk[variant+" "+a.Name]
	return r, ok && !r.invalid && r.rps > 0
}

func (d data) ratio(variant string, a, b bench.App) (float64, bool) {
	ra, ok1 := d.loopback(variant, a)
	rb, ok2 := d.loopback(variant, b)
	return ra.rps / rb.rps, ok1 && ok2
}

// serverCPU formats the server's CPU time per request of app a over
// loopback, with its difference to the bare framework's: "–" when it was
// not measured.
func (d data) serverCPU(variant string, a bench.App) string {
	r, ok := d.loopback(variant, a)
	if !ok || r.cpu <= 0 {
		return "–"
	}
	cell := ns(r.cpu.Seconds())
	if b, ok := d.loopback(variant, bareOf(a)); ok && !a.Bare() && b.cpu > 0 {
		diff := (r.cpu - b.cpu).Seconds()
		cell += " (" + signed(ns(diff), diff) + ")"
	}
	return cell
}

func ns(v float64) string {
	v *= 1e9
	switch {
	case math.Abs(v) >= 1e6:
		return fmt.Sprintf("%.2f ms", v/1e6)
	case math.Abs(v) >= 1e4:
		return fmt.Sprintf("%.1f µs", v/1e3)
	case math.Abs(v) >= 1e3:
		return fmt.Sprintf("%.2f µs", v/1e3)
	}
	return fmt.Sprintf("%.0f ns", v)
}

func signed(s string, v float64) string {
	if v >= 0 {
		return "+" + s
	}
	return s
}

func writeTable(w io.Writer, d data) {
	fmt.Fprintf(w, "| framework | library | store |")
	for _, v := range variants {
		fmt.Fprintf(w, " %s: ns/req | +ns | +cpu-ns | allocs (+) |", v.title)
	}
	for _, v := range variants {
		fmt.Fprintf(w, " %s: req/s (× bare) | p99 | server CPU/req (+) |", v.title)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "|---|---|---|")
	for range variants {
		fmt.Fprintf(w, "--:|--:|--:|--:|")
	}
	for range variants {
		fmt.Fprintf(w, "--:|--:|--:|")
	}
	fmt.Fprintln(w)
	for _, a := range bench.Apps() {
		store := a.Store
		if store == "" {
			store = "–"
		}
		lib := a.Library
		if a.Library == "sessionkit" {
			lib = "**sessionkit**"
		}
		fmt.Fprintf(w, "| %s | %s | %s |", a.Framework, lib, store)
		for _, v := range variants {
			t, ok := d.get("sec/op", benchName(v.key, a))
			if !ok {
				fmt.Fprintf(w, " – | – | – | – |")
				continue
			}
			al, _ := d.get("allocs/op", benchName(v.key, a))
			if a.Bare() {
				cpu := ""
				if c, ok := d.get("cpu-sec/op", benchName(v.key, a)); ok {
					cpu = "(" + ns(c.v) + ")"
				}
				fmt.Fprintf(w, " %s | | %s | %.0f |", ns(t.v), cpu, al.v)
				continue
			}
			o, _ := d.overhead("sec/op", v.key, a)
			oa, _ := d.overhead("allocs/op", v.key, a)
			cpu := "–"
			if oc, ok := d.overhead("cpu-sec/op", v.key, a); ok {
				cpu = signed(ns(oc), oc)
			}
			fmt.Fprintf(w, " %s | %s | %s | %.0f (%s) |", ns(t.v), signed(ns(o), o), cpu, al.v, signed(fmt.Sprintf("%.0f", oa), oa))
		}
		for _, v := range variants {
			r, ok := d.loopback(v.key, a)
			if !ok {
				if run, present := d.wrk[v.key+" "+a.Name]; present && run.invalid {
					fmt.Fprintf(w, " failed | | |")
				} else {
					fmt.Fprintf(w, " – | – | – |")
				}
				continue
			}
			cell := fmt.Sprintf("%.0f", r.rps)
			if !a.Bare() {
				if x, ok := d.ratio(v.key, a, bareOf(a)); ok {
					cell += fmt.Sprintf(" (%.2f×)", x)
				}
			}
			if r.errors > 0 || r.non2xx > 0 {
				cell += fmt.Sprintf(" ⚠ %d socket errors, %d non-2xx", r.errors, r.non2xx)
			}
			fmt.Fprintf(w, " %s | %s | %s |", cell, r.p99.Round(10*time.Microsecond), d.serverCPU(v.key, a))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

// check is one target's verdict.
type check struct {
	ok      bool
	missing bool
	text    string
}

func (c check) String() string {
	switch {
	case c.missing:
		return "➖ not measured: " + c.text
	case c.ok:
		return "✅ met: " + c.text
	}
	return "❌ missed: " + c.text
}

func app(name string) bench.App {
	a, ok := bench.Lookup(name)
	if !ok {
		panic("report: no app " + name)
	}
	return a
}

func writeTargets(w io.Writer, d data) {
	fmt.Fprintf(w, "## Targets (checked on this run)\n\n")
	var checks []check
	// Echo v5 has no peer row (no echo-contrib module for it is served),
	// so it has no target of its own; its rows stand beside Echo v4's.
	frameworks := []struct{ key, title string }{{"nethttp", "net/http"}, {"gin", "Gin"}, {"echo", "Echo"}, {"fiber", "Fiber"}, {"fiber3", "Fiber v3"}}

	// Memory store overhead against the fastest peer of the framework.
	for _, fw := range frameworks {
		sk := app(fw.key + "/sessionkit-memory")
		for _, v := range variants {
			// Wall time per request, go test's ns/op; the CPU time
			// (benchstat's cpu-sec/op) is quoted beside it.
			unit, scale, what := "sec/op", 1.0, "wall time"
			if oc, ok := d.overhead("cpu-sec/op", v.key, sk); ok {
				what += "; CPU time " + signed(ns(oc), oc)
			}
			o, ok := d.overhead(unit, v.key, sk)
			o *= scale
			oa, _ := d.overhead("allocs/op", v.key, sk)
			best, bestName := math.Inf(1), ""
			for _, p := range bench.Apps() {
				if p.Framework != sk.Framework || p.Bare() || p.Library == "sessionkit" {
					continue
				}
				if po, ok := d.overhead(unit, v.key, p); ok && po*scale < best {
					best, bestName = po*scale, p.Library+" "+p.Store
				}
			}
			if !ok || bestName == "" {
				checks = append(checks, check{missing: true, text: fmt.Sprintf("%s memory overhead (%s)", fw.title, v.title)})
				continue
			}
			checks = append(checks, check{ok: o <= best/10,
				text: fmt.Sprintf("%s, %s: sessionkit memory overhead %s (%s) ≤ one tenth of the fastest peer's (%s: %s, a tenth: %s)", fw.title, v.title, ns(o), what, bestName, ns(best), ns(best/10))})
			checks = append(checks, check{ok: o <= 2e-6,
				text: fmt.Sprintf("%s, %s: sessionkit memory overhead %s (%s) ≤ 2 µs", fw.title, v.title, ns(o), what)})
			checks = append(checks, check{ok: oa <= 25,
				text: fmt.Sprintf("%s, %s: sessionkit memory overhead %.0f allocs ≤ 25", fw.title, v.title, oa)})
		}
	}
	// Loopback throughput against the bare framework.
	for _, fw := range frameworks {
		sk := app(fw.key + "/sessionkit-memory")
		for _, v := range variants {
			x, ok := d.ratio(v.key, sk, bareOf(sk))
			if !ok {
				checks = append(checks, check{missing: true, text: fmt.Sprintf("%s loopback (%s)", fw.title, v.title)})
				continue
			}
			checks = append(checks, check{ok: x >= 0.85,
				text: fmt.Sprintf("%s, %s: sessionkit memory serves %.2f× the bare framework's req/s over loopback (≥ 0.85×)", fw.title, v.title, x)})
		}
	}
	// Redis.
	switch d.roundTrips {
	case "PASS":
		checks = append(checks, check{ok: true, text: "Redis store: exactly one round trip to load (HGETALL) and one to save (EVALSHA) per steady request, through the net/http and Gin middleware (TestRedisRoundTrips)"})
	case "":
		checks = append(checks, check{missing: true, text: "Redis round trips (TestRedisRoundTrips)"})
	default:
		checks = append(checks, check{text: "Redis store: TestRedisRoundTrips failed (see its output in run.sh's log)"})
	}
	skr, scsr := app("nethttp/sessionkit-redis"), app("nethttp/scs-redis")
	for _, v := range variants {
		// User-mode CPU time: the libraries' own work. Both make the same
		// two round trips, whose waits (wall time) and system calls
		// (system CPU time) they share; those are quoted beside it.
		o, ok1 := d.overhead("user-sec/op", v.key, skr)
		p, ok2 := d.overhead("user-sec/op", v.key, scsr)
		ow, _ := d.overhead("sec/op", v.key, skr)
		pw, _ := d.overhead("sec/op", v.key, scsr)
		oc, _ := d.overhead("cpu-sec/op", v.key, skr)
		pc, _ := d.overhead("cpu-sec/op", v.key, scsr)
		if !ok1 || !ok2 {
			checks = append(checks, check{missing: true, text: "Redis in-process overhead (" + v.title + ")"})
		} else {
			checks = append(checks, check{ok: o <= 0.85*p,
				text: fmt.Sprintf("net/http, %s: sessionkit Redis overhead in user CPU time %s ≤ 0.85× scs goredisstore's %s (%.2f×). With the system time of the round trips' system calls: %s and %s (%.2f×); in wall time, waiting for the two round trips: %s and %s (%.2f×)", v.title, ns(o), ns(p), o/p, ns(oc), ns(pc), oc/pc, ns(ow), ns(pw), ow/pw)})
		}
		x, ok := d.ratio(v.key, skr, scsr)
		if !ok {
			checks = append(checks, check{missing: true, text: "Redis loopback (" + v.title + ")"})
		} else {
			checks = append(checks, check{ok: x >= 1.3,
				text: fmt.Sprintf("net/http, %s: sessionkit Redis serves %.2f× scs goredisstore's req/s over loopback (≥ 1.3×)", v.title, x)})
		}
	}
	// Cached store.
	mem, ok1 := d.get("sec/op", "StoreLoad/memory")
	hit, ok2 := d.get("sec/op", "StoreLoad/cached-hit")
	if !ok1 || !ok2 {
		checks = append(checks, check{missing: true, text: "cached-store hit (BenchmarkStoreLoad)"})
	} else {
		checks = append(checks, check{ok: hit.v <= 2*mem.v,
			text: fmt.Sprintf("a cachedstore.Store hit (over SQLite) costs %s ≤ 2× a memstore.Store load's %s (%.2f×)", ns(hit.v), ns(mem.v), hit.v/mem.v)})
	}
	for _, c := range checks {
		fmt.Fprintf(w, "- %s\n", c)
	}
	fmt.Fprintln(w)
}
