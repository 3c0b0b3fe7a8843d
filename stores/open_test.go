package stores

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// backend describes one way of opening a store for the table-driven tests.
type backend struct {
	name string
	// config returns the configuration to open, or "" with url set.
	config func(t *testing.T) Config
	url    func(t *testing.T) string
	// iterates is false for memcached, which cannot list its keys.
	iterates bool
	// network is true for the backends behind a client Open makes.
	network bool
}

func (b backend) open(t *testing.T) (core.Store, error) {
	if b.url != nil {
		return OpenURL(t.Context(), b.url(t))
	}
	return Open(t.Context(), b.config(t))
}

// backends lists every backend, by Config and by URL, with and without the
// cache.
func backends() []backend {
	bs := []backend{
		{name: "memory", iterates: true, config: func(t *testing.T) Config {
			return Config{Backend: "memory", Memory: MemoryConfig{MaxEntries: 1000}}
		}},
		{name: "memory url", iterates: true, url: func(t *testing.T) string { return "memory://?max_entries=1000" }},
		{name: "file", iterates: true, config: func(t *testing.T) Config {
			return Config{Backend: "file", File: FileConfig{Dir: filepath.Join(t.TempDir(), "new", "sessions")}}
		}},
		{name: "file url", iterates: true, url: func(t *testing.T) string { return "file://" + t.TempDir() }},
		{name: "database", iterates: true, config: func(t *testing.T) Config {
			return Config{Backend: "database", Database: DatabaseConfig{Path: filepath.Join(t.TempDir(), "new", "s.db"), Table: "sessions"}}
		}},
		{name: "sqlite url", iterates: true, url: func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "s.db") + "?table=t1" }},
		{name: "redis", iterates: true, network: true, config: func(t *testing.T) Config {
			h, p, _ := net.SplitHostPort(redisAddr(t))
			var port int
			fmt.Sscan(p, &port)
			return Config{Backend: "redis", Redis: RedisConfig{Host: h, Port: port, DB: 1, KeyPrefix: uniquePrefix()}}
		}},
		{name: "redis url", iterates: true, network: true, url: func(t *testing.T) string {
			return "redis://" + redisAddr(t) + "/0?prefix=" + uniquePrefix()
		}},
		{name: "redis cluster", iterates: true, network: true, config: func(t *testing.T) Config {
			return Config{Backend: "redis", Redis: RedisConfig{Addrs: strings.Split(redisClusterAddrs(t), ","), KeyPrefix: uniquePrefix()}}
		}},
		{name: "redis cluster url", iterates: true, network: true, url: func(t *testing.T) string {
			return "redis://" + redisClusterAddrs(t) + "?prefix=" + uniquePrefix()
		}},
		{name: "redis cluster seed url", iterates: true, network: true, url: func(t *testing.T) string {
			seed, _, _ := strings.Cut(redisClusterAddrs(t), ",")
			return "redis://" + seed + "?cluster=true&prefix=" + uniquePrefix()
		}},
		{name: "postgres", iterates: true, network: true, config: func(t *testing.T) Config {
			return Config{Backend: "postgres", Postgres: PostgresConfig{URL: postgresURL(t), Table: uniqueTable()}}
		}},
		{name: "postgres url", iterates: true, network: true, url: func(t *testing.T) string {
			return postgresURL(t) + "&table=" + uniqueTable()
		}},
		{name: "mysql", iterates: true, network: true, config: func(t *testing.T) Config {
			return Config{Backend: "mysql", MySQL: MySQLConfig{DSN: mysqlDSN(t), MaxConns: 5, Table: uniqueTable()}}
		}},
		{name: "mysql url", iterates: true, network: true, url: func(t *testing.T) string {
			return mysqlURL(t) + "?table=" + uniqueTable() + "&max_conns=4"
		}},
		{name: "memcache", network: true, config: func(t *testing.T) Config {
			return Config{Backend: "memcache", Memcache: MemcacheConfig{Servers: []string{memcacheAddr(t)}, KeyPrefix: uniquePrefix()}}
		}},
		{name: "memcache url", network: true, url: func(t *testing.T) string {
			return "memcache://" + memcacheAddr(t) + "?prefix=" + uniquePrefix()
		}},
	}
	for _, b := range bs[:len(bs):len(bs)] {
		c := b
		c.name += " cached"
		if b.url != nil {
			c.url = func(t *testing.T) string {
				u := b.url(t)
				if strings.Contains(u, "?") {
					return u + "&cached=true&cache_max_entries=10&cache_staleness=1"
				}
				return u + "?cached=true"
			}
		} else {
			c.config = func(t *testing.T) Config {
				cfg := b.config(t)
				cfg.Cached = CacheConfig{Enabled: true, MaxEntries: 10, Staleness: 1}
				return cfg
			}
		}
		bs = append(bs, c)
	}
	return bs
}

func TestOpen(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s, err := b.open(t)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer closeStore(t, s)
			checkCapabilities(t, s, b.iterates)
			roundTrip(t, s)
		})
	}
}

// checkCapabilities checks that s offers every optional capability and that
// the ones the backend lacks say so with core.ErrNotSupported.
func checkCapabilities(t *testing.T, s core.Store, iterates bool) {
	t.Helper()
	ctx := t.Context()
	_, delta := s.(core.DeltaStore)
	_, touch := s.(core.TouchStore)
	_, ttl := s.(core.TTLStore)
	_, cleanup := s.(core.CleanupStore)
	_, counts := s.(core.CountStore)
	_, closer := s.(io.Closer)
	if !delta || !touch || !ttl || !cleanup || !counts || !closer {
		t.Fatalf("%T: delta=%v touch=%v ttl=%v cleanup=%v count=%v closer=%v, want all", s, delta, touch, ttl, cleanup, counts, closer)
	}
	key := "caps-" + uniquePrefix()
	if err := s.Save(ctx, key, storetest.Record(time.Now().Add(time.Minute), "a", "1"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	defer s.Delete(ctx, key)
	n, err := s.(core.CountStore).Count(ctx)
	switch {
	case iterates && err != nil:
		t.Errorf("Count: %v", err)
	case iterates && n < 1:
		t.Errorf("Count = %d after a Save, want at least 1", n)
	case !iterates && !errors.Is(err, core.ErrNotSupported):
		t.Errorf("Count: got %v, want core.ErrNotSupported", err)
	}
	ttlLeft, found, err := s.(core.TTLStore).TTL(ctx, key)
	if err != nil || !found || ttlLeft <= 50*time.Second || ttlLeft > time.Minute {
		t.Errorf("TTL = %v, %v, %v; want about 1m", ttlLeft, found, err)
	}
}

// freePort returns a local port nothing listens on.
func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	down := freePort(t)
	tests := []struct {
		name string
		// config or url
		cfg       func(t *testing.T) Config
		url       func(t *testing.T) string
		configErr bool     // must match ErrConfig
		words     []string // the error must mention them
	}{
		{name: "no backend", cfg: func(*testing.T) Config { return Config{} }, configErr: true, words: []string{"backend"}},
		{name: "unknown backend", cfg: func(*testing.T) Config { return Config{Backend: "etcd"} }, configErr: true, words: []string{"etcd"}},
		{name: "negative timeout", cfg: func(*testing.T) Config { return Config{Backend: "memory", Memory: MemoryConfig{Timeout: -1}} }, configErr: true, words: []string{"memory.timeout"}},
		{name: "unknown scheme", url: func(*testing.T) string { return "mongodb://h/db" }, configErr: true, words: []string{"mongodb"}},
		{name: "postgres down", url: func(*testing.T) string { return "postgres://u:hunter2@" + down + "/db?sslmode=disable" }, words: []string{"postgres", "cannot reach", down}},
		{name: "mysql down", url: func(*testing.T) string { return "mysql://u:hunter2@" + down + "/db" }, words: []string{"mysql", "cannot reach", down}},
		{name: "postgres bad table", configErr: true, words: []string{"postgres.table"},
			cfg: func(*testing.T) Config {
				return Config{Backend: "postgres", Postgres: PostgresConfig{URL: "postgres://h/db", Table: "a b"}}
			}},
		{name: "postgres no url", configErr: true, words: []string{"postgres.url", "required"},
			cfg: func(*testing.T) Config { return Config{Backend: "postgresql"} }},
		{name: "mysql no dsn", configErr: true, words: []string{"mysql.dsn", "required"},
			cfg: func(*testing.T) Config { return Config{Backend: "mariadb"} }},
		{name: "malformed url", url: func(*testing.T) string { return "redis://h:x" }, configErr: true, words: []string{"url port"}},
		{name: "file dir is a file", configErr: true, words: []string{"file.dir", "not a directory"},
			cfg: func(*testing.T) Config { return Config{Backend: "file", File: FileConfig{Dir: regular}} }},
		{name: "file dir under a file", configErr: true, words: []string{"file.dir", "not a directory"},
			cfg: func(*testing.T) Config {
				return Config{Backend: "file", File: FileConfig{Dir: filepath.Join(regular, "a", "b")}}
			}},
		{name: "database parent is a file", configErr: true, words: []string{"database.path", "not a directory"},
			cfg: func(*testing.T) Config {
				return Config{Backend: "database", Database: DatabaseConfig{Path: filepath.Join(regular, "s.db")}}
			}},
		{name: "database ancestor is a file", configErr: true, words: []string{"database.path"},
			url: func(*testing.T) string { return "sqlite://" + filepath.Join(regular, "x", "s.db") }},
		{name: "database path is a directory", configErr: true, words: []string{"database.path", "is a directory"},
			cfg: func(*testing.T) Config { return Config{Backend: "sqlite", Database: DatabaseConfig{Path: dir}} }},
		{name: "redis down", words: []string{"redis", down},
			url: func(*testing.T) string { return "redis://" + down }},
		{name: "redis cluster down", words: []string{"redis", down},
			cfg: func(*testing.T) Config {
				return Config{Backend: "redis", Redis: RedisConfig{Addrs: []string{down, freePort(t)}}}
			}},
		{name: "redis unknown user", words: []string{"redis"},
			url: func(t *testing.T) string { return "redis://nobody:wrong@" + redisAddr(t) }},
		{name: "redis tls to a plain server", words: []string{"redis"},
			url: func(t *testing.T) string { return "rediss://" + redisAddr(t) }},
		{name: "redis cluster node without cluster flag", configErr: true, words: []string{"redis.cluster"},
			url: func(t *testing.T) string {
				seed, _, _ := strings.Cut(redisClusterAddrs(t), ",")
				return "redis://" + seed
			}},
		{name: "memcache down", words: []string{"memcache", down},
			url: func(*testing.T) string { return "memcache://" + down }},
		{name: "memcache one of two down", words: []string{"memcache", down},
			cfg: func(t *testing.T) Config {
				return Config{Backend: "memcache", Memcache: MemcacheConfig{Servers: []string{memcacheAddr(t), down}}}
			}},
		{name: "memcache empty servers", configErr: true, words: []string{"memcache.servers"},
			cfg: func(*testing.T) Config {
				return Config{Backend: "memcache", Memcache: MemcacheConfig{Servers: []string{}}}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				s   core.Store
				err error
			)
			if tt.url != nil {
				s, err = OpenURL(t.Context(), tt.url(t))
			} else {
				s, err = Open(t.Context(), tt.cfg(t))
			}
			if err == nil {
				s.(io.Closer).Close()
				t.Fatal("open succeeded, want an error")
			}
			if s != nil {
				t.Errorf("open returned a store (%T) with its error", s)
			}
			if got := errors.Is(err, ErrConfig); got != tt.configErr {
				t.Errorf("errors.Is(%v, ErrConfig) = %v, want %v", err, got, tt.configErr)
			}
			for _, w := range tt.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q reveals the password", err)
			}
		})
	}
}

func TestOpenCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, u := range []string{"memory://", "redis://" + redisAddr(t), "sqlite://" + filepath.Join(t.TempDir(), "x.db")} {
		s, err := OpenURL(ctx, u)
		if !errors.Is(err, context.Canceled) || s != nil {
			t.Errorf("OpenURL(%q) with a canceled context = %v, %v; want context.Canceled", u, s, err)
		}
	}
	if _, err := os.Stat(filepath.Join(t.TempDir(), "x.db")); err == nil {
		t.Error("a canceled open created the database")
	}
}

// TestOpenRelativeSQLite opens sqlite URLs with relative paths, which the
// package documentation resolves against the working directory.
func TestOpenRelativeSQLite(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, u := range []string{"sqlite://./data/a.db", "sqlite://data/b.db", "sqlite:data/c.db", "file://./data/files"} {
		s, err := OpenURL(t.Context(), u)
		if err != nil {
			t.Fatalf("OpenURL(%q): %v", u, err)
		}
		roundTrip(t, s)
		closeStore(t, s)
	}
	for _, name := range []string{"a.db", "b.db", "c.db", "files"} {
		if _, err := os.Stat(filepath.Join(dir, "data", name)); err != nil {
			t.Errorf("relative URL did not resolve under the working directory: %v", err)
		}
	}
}

// TestCloseReleasesConnections puts a counting TCP proxy in front of the
// Redis and memcached servers and checks that Close leaves no connection
// of the client Open made open.
func TestCloseReleasesConnections(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		url  func(proxy string) string
		addr func(tb testing.TB) string
	}{
		{"redis", func(p string) string { return "redis://" + p + "?prefix=" + uniquePrefix() }, redisAddr},
		{"redis cached", func(p string) string { return "redis://" + p + "?cached=true&prefix=" + uniquePrefix() }, redisAddr},
		{"memcache", func(p string) string { return "memcache://" + p + "?prefix=" + uniquePrefix() }, memcacheAddr},
		{"memcache cached", func(p string) string { return "memcache://" + p + "?cached=true" }, memcacheAddr},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startProxy(t, tt.addr(t))
			s, err := OpenURL(t.Context(), tt.url(p.addr))
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() { roundTrip(t, s) })
			}
			wg.Wait()
			if n := p.open(); n == 0 {
				t.Fatal("no connection open through the proxy before Close")
			}
			if err := s.(io.Closer).Close(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(2 * time.Second)
			for p.open() > 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := p.open(); n > 0 {
				t.Errorf("%d connections still open after Close", n)
			}
		})
	}
}

// proxy forwards TCP connections to a server and counts the open ones.
type proxy struct {
	addr string
	mu   sync.Mutex
	n    int
}

func (p *proxy) open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func startProxy(t *testing.T, target string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: l.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			p.mu.Lock()
			p.n++
			p.mu.Unlock()
			wg.Go(func() {
				done := make(chan struct{}, 2)
				go func() { io.Copy(s, c); s.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				go func() { io.Copy(c, s); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				// The client closing its side ends the first copy; the
				// server then closes its side and ends the second.
				<-done
				<-done
				c.Close()
				s.Close()
				p.mu.Lock()
				p.n--
				p.mu.Unlock()
			})
		}
	})
	return p
}
