package faults_test

import (
	"errors"
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
// counter back at 1) and no error once the server is back: the store
// retries the calls that meet a connection the client pooled before the
// restart.
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
	if s.failed[back] != 0 {
		t.Errorf("%d requests failed after memcached was back (%d idle connections were stale); want none", s.failed[back], client.MaxIdleConns)
		for _, err := range a.storeErrors() {
			t.Logf("store error: %v", err)
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
	pauseAndResume(t, a, users, srv, "memcached")
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
