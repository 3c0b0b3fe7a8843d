// Command server serves one of the benchmark apps (see package bench) on a
// loopback address, for load generators such as wrk.
//
// Usage:
//
//	server -list
//	server -app gin/sessionkit-memory [-addr 127.0.0.1:0] [-sessions N] [-cookies FILE]
//	server -app gin/sessionkit-memory -requests N [-sessions N]
//
// It starts the app, seeds N sessions through it in-process (default 1),
// writes their cookies to FILE, one "name=value" Cookie header a line,
// prints "cookie <first cookie>" and then "listening <host:port>" once it
// accepts connections, and serves until SIGINT or SIGTERM. Apps that use
// Redis read its address from SESSIONKIT_REDIS_ADDR.
//
// With -requests N it serves N requests in-process instead (through
// [bench.Instance.Driver], cycling through the seeded cookies), and exits:
// the workload bench/icount.sh counts instructions of.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/sessionkit/sessionkit/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run() error {
	list := flag.Bool("list", false, "print the app names, one a line (with \" redis\" after those that need Redis), and exit")
	name := flag.String("app", "", "the app to serve (see -list)")
	addr := flag.String("addr", "127.0.0.1:0", "the address to listen on")
	sessions := flag.Int("sessions", 1, "how many sessions to seed")
	cookieFile := flag.String("cookies", "", "write the seeded sessions' cookies to this file")
	requests := flag.Int("requests", 0, "serve this many requests in-process, then exit, instead of listening")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the serving (after seeding) to this file")
	flag.Parse()

	if *list {
		for _, a := range bench.Apps() {
			if a.Redis {
				fmt.Println(a.Name, "redis")
			} else {
				fmt.Println(a.Name)
			}
		}
		return nil
	}
	app, ok := bench.Lookup(*name)
	if !ok {
		return fmt.Errorf("unknown app %q (see -list)", *name)
	}
	if *sessions < 1 {
		return fmt.Errorf("-sessions %d: need at least 1", *sessions)
	}

	dir, err := os.MkdirTemp("", "sessionkit-bench-server-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	in, err := app.Start(bench.EnvFromOS(dir))
	if err != nil {
		return err
	}
	defer in.Close()
	if err := in.Check(); err != nil {
		return err
	}
	cookies, err := in.Seed(*sessions)
	if err != nil {
		return err
	}
	if *cookieFile != "" {
		if err := os.WriteFile(*cookieFile, []byte(strings.Join(cookies, "\n")+"\n"), 0o600); err != nil {
			return err
		}
	}
	fmt.Println("cookie", cookies[0])
	if *requests > 0 {
		return serveInProcess(in.Driver(cookies), *requests)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	shutdown, done := in.Serve(ln)
	fmt.Println("listening", ln.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
		if err := shutdown(); err != nil {
			return err
		}
		err = <-done
	case err = <-done:
	}
	if st, ok := in.RedisPoolStats(); ok {
		// How often a request had to wait for one of the pool's
		// connections: with wrk's 50 connections and go-redis's default
		// pool of 10 per CPU, Redis's latency can bound req/s.
		gets := uint64(st.Hits) + uint64(st.Misses)
		fmt.Fprintf(os.Stderr, "redis pool: %d connections, %d gets, %d waited (%.0f%%), %.1f ms waiting per 1000 gets\n",
			st.TotalConns, gets, st.WaitCount, 100*float64(st.WaitCount)/float64(max(gets, 1)),
			float64(st.WaitDurationNs)/1e6/float64(max(gets, 1))*1000)
	}
	return err
}

// serveInProcess serves n requests through d and fails if any of them
// answered other than 200.
func serveInProcess(d *bench.Driver, n int) error {
	for i := range n {
		d.Serve(i)
	}
	if f := d.Failures(); f > 0 {
		return fmt.Errorf("%d of %d requests failed", f, n)
	}
	return nil
}
