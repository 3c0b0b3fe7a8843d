package memcachestore

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessionkit/sessionkit/core/record"
)

// testTimeout is the client timeout in tests: generous, for -race on a
// busy machine.
const testTimeout = 3 * time.Second

// env returns the environment variable name, failing t when it is unset:
// these tests need a real memcached and must not pass by skipping.
func env(t testing.TB, name, what string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: it must hold %s; run scripts/test.sh, which starts memcached and sets it", name, what)
	}
	return v
}

func memcacheAddr(t testing.TB) string {
	return env(t, "SESSIONKIT_MEMCACHE_ADDR", "the host:port of a memcached the tests may use")
}

func memcachedBin(t testing.TB) string {
	return env(t, "SESSIONKIT_MEMCACHED_BIN", "the path of the memcached binary")
}

func randomPrefix(t testing.TB) string {
	b := make([]byte, 8)
	rand.Read(b)
	return "t" + hex.EncodeToString(b) + ":"
}

// newClient returns a client of the servers, closed when t ends.
func newClient(t testing.TB, servers ...string) *memcache.Client {
	t.Helper()
	c := memcache.New(servers...)
	c.Timeout = testTimeout
	t.Cleanup(func() { c.Close() })
	return c
}

// newTestStore returns a store on the shared test server under a prefix of
// its own, and its client.
func newTestStore(t testing.TB, opts ...Option) (*Store, *memcache.Client) {
	t.Helper()
	c := newClient(t, memcacheAddr(t))
	s, err := New(c, append([]Option{WithPrefix(randomPrefix(t))}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

func entry(k, v string) record.Entry {
	return record.Entry{Key: k, Value: record.EncodeEntry(nil, time.Time{}, []byte(v))}
}

// serverTTL asks the server at addr for the seconds item ik has left, with
// the meta command "mg <key> t" (memcached 1.6); -1 means no expiry.
// found is false when the server does not hold the item.
func serverTTL(t testing.TB, addr, ik string) (secs int, found bool) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(testTimeout))
	if _, err := fmt.Fprintf(nc, "mg %s t\r\n", ik); err != nil {
		t.Fatalf("mg: %v", err)
	}
	line, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil {
		t.Fatalf("mg: %v", err)
	}
	f := strings.Fields(line)
	switch {
	case len(f) == 1 && f[0] == "EN":
		return 0, false
	case len(f) == 2 && f[0] == "HD" && strings.HasPrefix(f[1], "t"):
		n, err := strconv.Atoi(f[1][1:])
		if err != nil {
			t.Fatalf("mg: bad reply %q", line)
		}
		return n, true
	}
	t.Fatalf("mg: unexpected reply %q", line)
	return 0, false
}

// serverStats returns the counters of memcached's "stats" command.
func serverStats(t testing.TB, addr string) map[string]int64 {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(testTimeout))
	if _, err := fmt.Fprintf(nc, "stats\r\n"); err != nil {
		t.Fatalf("stats: %v", err)
	}
	m := make(map[string]int64)
	r := bufio.NewReader(nc)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stats: %v", err)
		}
		f := strings.Fields(line)
		if len(f) == 1 && f[0] == "END" {
			return m
		}
		if len(f) == 3 && f[0] == "STAT" {
			if n, err := strconv.ParseInt(f[2], 10, 64); err == nil {
				m[f[1]] = n
			}
		}
	}
}

// memcachedProc is a memcached started by a test.
type memcachedProc struct {
	addr string
	port int
	stop func() // kills the server and waits for it; idempotent
}

// startMemcached starts a memcached of the test's own on 127.0.0.1:port
// (a free port when port is 0) and stops it when t ends.
func startMemcached(t testing.TB, port int) *memcachedProc {
	t.Helper()
	bin := memcachedBin(t)
	for try := 0; ; try++ {
		p := port
		if p == 0 {
			p = freePort(t)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		cmd := exec.Command(bin, "-l", "127.0.0.1", "-p", strconv.Itoa(p), "-U", "0", "-m", "64", "-u", "root")
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if waitListening(addr, exited) {
			m := &memcachedProc{addr: addr, port: p, stop: sync.OnceFunc(func() {
				cmd.Process.Kill()
				<-exited
			})}
			t.Cleanup(m.stop)
			return m
		}
		cmd.Process.Kill()
		<-exited
		if try >= 5 {
			t.Fatalf("memcached did not come up on %s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitListening waits until something accepts connections on addr, or the
// process exits (the port was taken meanwhile).
func waitListening(addr string, exited <-chan error) bool {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if nc, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			nc.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
