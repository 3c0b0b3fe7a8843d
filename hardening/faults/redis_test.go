package faults_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/hardening/internal/servers"
	"github.com/sessionkit/sessionkit/stores/redisstore"
)

// requestDeadline is the context deadline of every request of the fault
// tests, and answerBound the time within which every request must be
// answered whatever the store does. Both leave room for a loaded CI
// machine running the race detector.
const (
	requestDeadline = time.Second
	answerBound     = 3 * time.Second
)

// sessionKeyRE matches the hashed-key prefix core puts in its errors.
var sessionKeyRE = regexp.MustCompile(`session [0-9a-f]{16}`)

// redisRecovery is how long after a restarted Redis answers again the
// app may still fail: go-redis's dial circuit breaker probes once a
// second, plus a request deadline for the requests already waiting.
const redisRecovery = time.Second + requestDeadline + 300*time.Millisecond

func redisStore(t *testing.T, addr string) *redisstore.Store {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { client.Close() })
	store, err := redisstore.New(client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// TestRedisKillRestart kills a Redis running with an fsync-always AOF in
// the middle of a load run, restarts it on the same port and directory,
// and checks that every acknowledged write survived, that requests during
// the outage were 500s (never a fresh session), and that the app recovers
// without a restart of its own (go-redis reconnects, the store reloads its
// script).
func TestRedisKillRestart(t *testing.T) {
	t.Parallel()
	bin := servers.Env(t, servers.RedisServerBinEnv)
	srv := servers.StartRedis(t, bin, t.TempDir(), "--appendonly", "yes", "--appendfsync", "always")
	a := newApp(t, redisStore(t, srv.Addr), requestDeadline)

	users := a.newUsers(12)
	// Quiet sessions are written before the fault and not touched during it.
	quiet := a.newUsers(4)
	for _, u := range quiet {
		for range 2 {
			if r := u.Get("/incr"); r.Status != http.StatusOK {
				t.Fatalf("quiet session: status %d", r.Status)
			}
		}
	}

	const (
		before = iota
		outage
		restarted
		recovered
	)
	l := a.startLoad(users, before)
	time.Sleep(400 * time.Millisecond)
	l.setPhase(outage)
	srv.Kill()
	time.Sleep(time.Second)
	l.setPhase(restarted)
	srv.Restart()
	restartedAt := time.Now()
	took := l.waitAllOK(t, restarted, 5*time.Second)
	t.Logf("every user was served again %v after Redis was back", took.Round(time.Millisecond))
	// go-redis trips a dial circuit breaker after PoolSize failed dials:
	// until its background probe, once a second, reaches the server again,
	// new connections fail at once with the last dial error. Recovery is
	// therefore complete within about a second of the server's return.
	time.Sleep(time.Until(restartedAt.Add(redisRecovery)))
	l.setPhase(recovered)
	time.Sleep(500 * time.Millisecond)
	l.stop()
	var lastFail time.Duration
	for _, u := range users {
		for _, o := range u.outcomes {
			if o.phase >= restarted && o.res.Status != http.StatusOK {
				lastFail = max(lastFail, o.res.Start.Add(o.res.Latency).Sub(restartedAt))
			}
		}
	}
	t.Logf("last failed request ended %v after Redis was back", lastFail.Round(time.Millisecond))

	s := check(t, users, answerBound, 0)
	logSummary(t, []string{"before", "outage", "restarted", "recovered"}, s)
	if s.ok[before] == 0 {
		t.Error("no request succeeded before the kill")
	}
	if s.failed[outage] == 0 {
		t.Error("no request failed while Redis was down: the fault was not exercised")
	}
	if s.failed[recovered] != 0 || s.ok[recovered] == 0 {
		t.Errorf("%v after Redis was back: %d failed, %d succeeded; want none failed", redisRecovery, s.failed[recovered], s.ok[recovered])
	}
	if n := a.panics.Load(); n != 0 {
		t.Errorf("%d panics", n)
	}
	a.checkFinal(users)
	for i, u := range quiet {
		if r := u.Get("/read"); r.Status != http.StatusOK || r.Body != "3" || r.NewCookie {
			t.Errorf("quiet session %d after the restart: status %d body %q new cookie %v; want 3", i, r.Status, r.Body, r.NewCookie)
		}
	}
	errs := a.storeErrors()
	if len(errs) == 0 {
		t.Error("the error handler saw no store error")
	}
	seen := map[string]int{}
	for _, err := range errs {
		seen[sessionKeyRE.ReplaceAllString(err.Error(), "session …")]++
	}
	for msg, n := range seen {
		t.Logf("%4d × %s", n, msg)
	}
}

// TestRedisPause stops Redis with SIGSTOP (connections are accepted, nothing
// is answered) and checks that every request is answered within the bound
// (the request's deadline reaches go-redis through ContextTimeoutEnabled),
// as a 500, and that service resumes after SIGCONT.
func TestRedisPause(t *testing.T) {
	t.Parallel()
	bin := servers.Env(t, servers.RedisServerBinEnv)
	srv := servers.StartRedis(t, bin, t.TempDir())
	a := newApp(t, redisStore(t, srv.Addr), requestDeadline)
	users := a.newUsers(12)
	pauseAndResume(t, a, users, srv, "Redis")
	deadlineErrs := 0
	for _, err := range a.storeErrors() {
		if errors.Is(err, context.DeadlineExceeded) {
			deadlineErrs++
		}
	}
	if deadlineErrs == 0 {
		t.Errorf("no store error wraps context.DeadlineExceeded; errors: %v", a.storeErrors())
	}
	a.checkFinal(users)
}
