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
//	calibrate [-framework nethttp|fiber] [-addr 127.0.0.1:0] [-spin 900ns] [-alloc 650] [-floor [-redis host:port]]
//	calibrate -requests N [-spin 900ns] [-alloc 650] [-floor]
//
// With -floor the app also does the least work any server-side session
// with hashed IDs at rest can do on such a request, and nothing else: it
// reads the "session" cookie, hashes it with SHA-256, looks the digest up
// in a sharded map under a read lock, checks the record's expiry against
// one clock reading, writes a new 16-byte record (the counter and a fresh
// expiry) under the write lock unless another request replaced the record
// first (then it starts over, so no update is lost), and adds
// "Vary: Cookie". No ID check, codec, per-key timeouts or size limits:
// the floor under a session layer's loopback ratio on this machine.
//
// With -floor -redis host:port (net/http only) the records live in that
// Redis server instead, through a go-redis client configured as the
// benchmark apps' clients are: one GET and one SET with a TTL per request,
// under "floor:" and the hex SHA-256 of the token. That is the least two
// round trips can cost, below any store that merges changes atomically
// (it loses updates that race): the ceiling for the Redis rows' loopback
// req/s on this machine.
//
// It prints "listening <host:port>" once it accepts connections, as
// cmd/server does, so the same wrk script drives both, and serves until
// SIGINT or SIGTERM. With -requests N (net/http only) it serves N requests
// of one steady user in-process instead, as cmd/server -requests does, and
// exits: the floor's work as bench/icount.sh counts it.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/sessionkit/sessionkit/bench"
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
	floor := flag.Bool("floor", false, "also load and save a session record the cheapest way (see the package doc)")
	redisAddr := flag.String("redis", "", "with -floor and nethttp: keep the records in the Redis server at this host:port, in two round trips (see the package doc)")
	requests := flag.Int("requests", 0, "with nethttp: serve this many requests of one user in-process, then exit, instead of listening")
	flag.Parse()

	srv, err := newServer(*framework, *spin, *alloc, *floor, *redisAddr)
	if err != nil {
		return err
	}
	if *requests > 0 {
		if srv.handler == nil {
			return errors.New("-requests needs -framework nethttp and no -redis")
		}
		d := bench.HandlerDriver(srv.handler, []string{bench.CookieName + "=" + strings.Repeat("k", 43)})
		for i := range *requests {
			d.Serve(i)
		}
		if f := d.Failures(); f > 0 {
			return fmt.Errorf("%d of %d requests failed", f, *requests)
		}
		return nil
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
	handler  http.Handler // the net/http app's handler; nil for the others
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
// answers with the request's number, or with floor the session's counter
// (see the package doc).
func newServer(framework string, spin time.Duration, alloc int, floor bool, redisAddr string) (server, error) {
	if spin < 0 || alloc < 0 {
		return server{}, errors.New("-spin and -alloc must not be negative")
	}
	if redisAddr != "" {
		if !floor || framework != "nethttp" {
			return server{}, errors.New("-redis needs -floor and -framework nethttp")
		}
		return newRedisFloor(redisAddr), nil
	}
	var n atomic.Int64
	var store *floorStore
	if floor {
		store = newFloorStore()
	}
	work := func(key [sha256.Size]byte) []byte {
		if spin > 0 {
			for start := time.Now(); time.Since(start) < spin; {
			}
		}
		if alloc > 0 {
			b := make([]byte, alloc)
			sink.Store(&b)
		}
		if store != nil {
			return strconv.AppendUint(nil, store.increment(key), 10)
		}
		return strconv.AppendInt(nil, n.Add(1), 10)
	}
	switch framework {
	case "nethttp":
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var key [sha256.Size]byte
			if store != nil {
				key = hashToken(sessionCookie(r.Header["Cookie"]))
				w.Header()["Vary"] = vary
			}
			body := work(key)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write(body)
		})}
		return server{serve: srv.Serve, shutdown: func() error { return srv.Shutdown(context.Background()) }, handler: srv.Handler}, nil
	case "fiber":
		app := fiber.New(fiber.Config{DisableStartupMessage: true})
		app.Get("/", func(c *fiber.Ctx) error {
			var key [sha256.Size]byte
			if store != nil {
				key = sha256.Sum256(c.Request().Header.Cookie("session"))
				c.Response().Header.Add("Vary", "Cookie")
			}
			return c.Send(work(key))
		})
		return server{serve: app.Listener, shutdown: app.Shutdown}, nil
	}
	return server{}, fmt.Errorf("-framework %q: want nethttp or fiber", framework)
}

// vary is the floor's Vary header, shared by every response.
var vary = []string{"Cookie"}

// sessionCookie returns the value of the first "session" cookie in the
// Cookie header lines, without net/http's parse of every cookie.
func sessionCookie(lines []string) string {
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "session="); ok {
				return v
			}
		}
	}
	return ""
}

// hashToken returns the SHA-256 of token, hashing a stack copy of a token
// of up to 64 bytes rather than a heap one.
func hashToken(token string) [sha256.Size]byte {
	var in [64]byte
	if len(token) <= len(in) {
		return sha256.Sum256(in[:copy(in[:], token)])
	}
	return sha256.Sum256([]byte(token))
}

// floorStore is the cheapest session store with hashed IDs that loses no
// update: records of a counter and an expiry, keyed by the SHA-256 of the
// token, in 64 maps behind a lock each, replaced whole on every write.
type floorStore struct {
	shards [64]struct {
		mu sync.RWMutex
		m  map[[sha256.Size]byte][]byte
	}
}

// floorTTL is every record's idle timeout.
const floorTTL = 30 * time.Minute

func newFloorStore() *floorStore {
	s := &floorStore{}
	for i := range s.shards {
		s.shards[i].m = make(map[[sha256.Size]byte][]byte)
	}
	return s
}

// increment adds one to the counter of the record under key (a token's
// SHA-256), starting a record when there is none or it has expired, and
// returns the new count.
func (s *floorStore) increment(key [sha256.Size]byte) uint64 {
	sh := &s.shards[key[0]%uint8(len(s.shards))]
	for {
		now := time.Now().UnixNano()
		sh.mu.RLock()
		old := sh.m[key]
		sh.mu.RUnlock()
		var count uint64
		if len(old) == 16 && int64(binary.LittleEndian.Uint64(old[8:])) > now {
			count = binary.LittleEndian.Uint64(old)
		}
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint64(rec, count+1)
		binary.LittleEndian.PutUint64(rec[8:], uint64(now+int64(floorTTL)))
		sh.mu.Lock()
		cur := sh.m[key]
		if len(cur) != len(old) || (len(cur) > 0 && &cur[0] != &old[0]) {
			sh.mu.Unlock()
			continue // another request wrote first: count on its record
		}
		sh.m[key] = rec
		sh.mu.Unlock()
		return count + 1
	}
}
