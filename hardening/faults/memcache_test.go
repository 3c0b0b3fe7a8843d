package faults_test

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/sessionkit/hardening/internal/servers"
	"github.com/sessionkit/sessionkit/stores/memcachestore"
)

// memcacheStore returns a store over a gomemcache client with the given
// timeout (gomemcache takes no context: its Timeout bounds each call).
func memcacheStore(t *testing.T, addr string, timeout time.Duration) (*memcachestore.Store, *memcache.Client) {
	t.Helper()
	client := memcache.New(addr)
	client.Timeout = timeout
	t.Cleanup(func() { client.Close() })
	store, err := memcachestore.New(client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store, client
}

// TestMemcacheRestart restarts memcached between two load runs: its
// sessions are gone, so each user gets one fresh session (new cookie,
// counter back at 1) and no error once the server is back, except for the
// calls that meet a connection the client pooled before the restart,
// which gomemcache does not retry: at most one failed request per idle
// connection it keeps (MaxIdleConns). The test measures them.
func TestMemcacheRestart(t *testing.T) {
	t.Parallel()
	bin := servers.Env(t, servers.MemcachedBinEnv)
	srv := servers.StartMemcached(t, bin)
	store, client := memcacheStore(t, srv.Addr, requestDeadline)
	a := newApp(t, store, requestDeadline)
	users := a.newUsers(12)

	const (
		before = iota
		back
		recovered
	)
	l := a.startLoad(users, before)
	time.Sleep(300 * time.Millisecond)
	l.stop()

	// The users are idle while memcached restarts, as in a quiet moment:
	// the client's idle connections are then all stale.
	srv.Kill()
	srv.Restart()

	l = a.startLoad(users, back)
	took := l.waitAllOK(t, back, 5*time.Second)
	t.Logf("every user was served again %v after memcached was back", took.Round(time.Millisecond))
	l.setPhase(recovered)
	time.Sleep(300 * time.Millisecond)
	l.stop()

	s := check(t, users, answerBound, back)
	logSummary(t, []string{"before", "back", "recovered"}, s)
	idle := client.MaxIdleConns
	if idle <= 0 {
		idle = memcache.DefaultMaxIdleConns
	}
	t.Logf("requests that failed on a connection pooled before the restart: %d (the client keeps up to %d idle connections)", s.failed[back], idle)
	if s.failed[back] > idle {
		t.Errorf("%d requests failed after memcached was back, more than the %d stale idle connections explain", s.failed[back], idle)
	}
	for _, err := range a.storeErrors() {
		t.Logf("stale connection error: %v", err)
		if !staleConnErr(err) {
			t.Errorf("store error after the restart is not a stale connection's: %v", err)
		}
	}
	if s.failed[recovered] != 0 || s.ok[recovered] == 0 {
		t.Errorf("after recovery: %d failed, %d succeeded; want none failed", s.failed[recovered], s.ok[recovered])
	}
	if n := a.panics.Load(); n != 0 {
		t.Errorf("%d panics", n)
	}
	a.checkFinal(users)
}

// staleConnErr reports whether err is what a write or read on a connection
// the server closed gives: EOF, a reset or a broken pipe.
func staleConnErr(err error) bool {
	var op *net.OpError
	return errors.Is(err, io.EOF) || errors.As(err, &op) && !op.Timeout()
}

// TestMemcachePause stops memcached with SIGSTOP and checks that every
// request is answered within the bound (the client's Timeout per call),
// as a 500, and that service resumes after SIGCONT with the sessions
// intact.
func TestMemcachePause(t *testing.T) {
	t.Parallel()
	bin := servers.Env(t, servers.MemcachedBinEnv)
	srv := servers.StartMemcached(t, bin)
	store, _ := memcacheStore(t, srv.Addr, requestDeadline)
	a := newApp(t, store, requestDeadline)
	users := a.newUsers(12)

	const (
		before = iota
		paused
		resumed
		recovered
	)
	l := a.startLoad(users, before)
	time.Sleep(300 * time.Millisecond)
	l.setPhase(paused)
	srv.Pause()
	time.Sleep(1500 * time.Millisecond)
	l.setPhase(resumed)
	srv.Resume()
	took := l.waitAllOK(t, resumed, 5*time.Second)
	t.Logf("every user was served again %v after SIGCONT", took.Round(time.Millisecond))
	l.setPhase(recovered)
	time.Sleep(300 * time.Millisecond)
	l.stop()

	s := check(t, users, answerBound, 0)
	logSummary(t, []string{"before", "paused", "resumed", "recovered"}, s)
	if s.failed[paused] == 0 {
		t.Error("no request failed while memcached was paused")
	}
	if s.failed[recovered] != 0 || s.ok[recovered] == 0 {
		t.Errorf("after recovery: %d failed, %d succeeded; want none failed", s.failed[recovered], s.ok[recovered])
	}
	if n := a.panics.Load(); n != 0 {
		t.Errorf("%d panics", n)
	}
	timeouts := 0
	for _, err := range a.storeErrors() {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			timeouts++
		}
	}
	if timeouts == 0 {
		t.Errorf("no store error is a timeout; errors: %v", a.storeErrors())
	}
	a.checkFinal(users)
}
