// Command calibrate serves a bare net/http or Fiber app that, on every
// request, busy-waits a fixed time and allocates a fixed number of bytes
// before it answers with a counter, like the bare benchmark apps. Loaded
// by wrk beside its zero-cost twin, it shows what a given per-request cost
// does to requests per second over loopback on this machine: the yardstick
// for a session layer's loopback ratio (see "Why the memory store misses
// 0.85× over loopback" in bench/RESULTS.md).
//
// Usage:
//
//	calibrate [-framework nethttp|fiber] [-addr 127.0.0.1:0] [-spin 900ns] [-alloc 650]
//
// It prints "listening <host:port>" once it accepts connections, as
// cmd/server does, so the same wrk script drives both, and serves until
// SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
)

// sink keeps each request's allocation from being optimised away.
var sink atomic.Pointer[[]byte]

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "calibrate:", err)
		os.Exit(1)
	}
}

func run() error {
	framework := flag.String("framework", "nethttp", `"nethttp" or "fiber"`)
	addr := flag.String("addr", "127.0.0.1:0", "the address to listen on")
	spin := flag.Duration("spin", 0, "CPU time to burn per request, busy-waiting on the monotonic clock")
	alloc := flag.Int("alloc", 0, "bytes to allocate per request, in one object")
	flag.Parse()

	srv, err := newServer(*framework, *spin, *alloc)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Println("listening", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.serve(ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-errc:
		return err
	case <-sig:
		return srv.stop(errc)
	}
}

// server is one calibration app.
type server struct {
	serve    func(net.Listener) error
	shutdown func() error
}

// stop shuts s down and waits for its serve call, whose error errc
// carries.
func (s server) stop(errc <-chan error) error {
	if err := s.shutdown(); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newServer returns the app of framework ("nethttp" or "fiber") that
// busy-waits spin and allocates alloc bytes on every request before it
// answers with the request's number.
func newServer(framework string, spin time.Duration, alloc int) (server, error) {
	if spin < 0 || alloc < 0 {
		return server{}, errors.New("-spin and -alloc must not be negative")
	}
	var n atomic.Int64
	work := func() []byte {
		if spin > 0 {
			for start := time.Now(); time.Since(start) < spin; {
			}
		}
		if alloc > 0 {
			b := make([]byte, alloc)
			sink.Store(&b)
		}
		return strconv.AppendInt(nil, n.Add(1), 10)
	}
	switch framework {
	case "nethttp":
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body := work()
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write(body)
		})}
		return server{serve: srv.Serve, shutdown: func() error { return srv.Shutdown(context.Background()) }}, nil
	case "fiber":
		app := fiber.New(fiber.Config{DisableStartupMessage: true})
		app.Get("/", func(c *fiber.Ctx) error { return c.Send(work()) })
		return server{serve: app.Listener, shutdown: app.Shutdown}, nil
	}
	return server{}, fmt.Errorf("-framework %q: want nethttp or fiber", framework)
}
