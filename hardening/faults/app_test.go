package faults_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/hardening/internal/webclient"
)

// app is the application under fault: core's net/http Handler over a real
// store, each request bounded by a context deadline, with a recoverer
// outside everything that counts panics and an error handler that records
// the store errors and answers 500.
type app struct {
	t        *testing.T
	m        *core.Manager
	url      string
	deadline time.Duration
	hc       *http.Client

	panics atomic.Int64

	mu   sync.Mutex
	errs []error
}

// newApp serves store behind core's Handler; every request gets a context
// with the given deadline.
func newApp(t *testing.T, store core.Store, deadline time.Duration) *app {
	t.Helper()
	a := &app{t: t, deadline: deadline}
	a.m = core.NewManager(store,
		core.WithLogger(slog.New(slog.DiscardHandler)),
		core.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			a.mu.Lock()
			a.errs = append(a.errs, err)
			a.mu.Unlock()
			http.Error(w, "session store unavailable", http.StatusInternalServerError)
		}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /incr", func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		n, _ := core.GetAs[int](s, "n")
		n++
		s.Set("n", n)
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
		n, _ := core.GetAs[int](core.FromContext(r.Context()), "n")
		fmt.Fprint(w, n)
	})
	h := a.m.Handler(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				a.panics.Add(1)
				a.t.Errorf("panic serving %s: %v", r.URL.Path, p)
				w.WriteHeader(599)
			}
		}()
		ctx, cancel := context.WithTimeout(r.Context(), deadline)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	}))
	t.Cleanup(srv.Close)
	a.url = srv.URL
	// The client's own timeout is far above every bound the tests assert,
	// so a request the server never answers shows up as a latency, not
	// as a client-side cut.
	a.hc = webclient.NewHTTPClient(64, 20*time.Second)
	t.Cleanup(a.hc.CloseIdleConnections)
	return a
}

// storeErrors returns the errors the error handler saw so far.
func (a *app) storeErrors() []error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]error(nil), a.errs...)
}

// maxPhases bounds the phases a test tags its outcomes with.
const maxPhases = 8

// outcome is one /incr request of a user.
type outcome struct {
	phase int
	res   webclient.Result
	n     int // the counter the response reported (200 only)
}

// user is one browser incrementing its session's counter, one request at
// a time.
type user struct {
	webclient.User
	first    string    // the cookie of the session created at the start
	outcomes []outcome // written by the load goroutine only
	ok       [maxPhases]atomic.Int64
}

// newUsers creates n sessions, each with its counter at 1 after one /incr.
// A creation that fails (a loaded machine may miss the deadline) creates
// no session and is tried again.
func (a *app) newUsers(n int) []*user {
	a.t.Helper()
	us := make([]*user, n)
	for i := range us {
		u := &user{User: webclient.User{HC: a.hc, Base: a.url, CookieName: a.m.CookieName()}}
		r := u.Get("/incr")
		for try := 0; try < 5 && r.Status == http.StatusInternalServerError && !r.NewCookie; try++ {
			r = u.Get("/incr")
		}
		if r.Err != nil || r.Status != http.StatusOK || r.Body != "1" || !r.NewCookie {
			a.t.Fatalf("creating session %d: status %d body %q new cookie %v err %v", i, r.Status, r.Body, r.NewCookie, r.Err)
		}
		u.first = u.Cookie
		us[i] = u
	}
	return us
}

// load runs every user's /incr loop (one request at a time per user)
// until stop is called; each outcome is tagged with the phase the test
// was in when the request started, starting with phase.
type load struct {
	users []*user
	phase atomic.Int32
	stop  func()
}

func (a *app) startLoad(users []*user, phase int) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{users: users}
	l.setPhase(phase)
	var wg sync.WaitGroup
	for _, u := range users {
		// A user moves to the app of this load (a test may serve the same
		// sessions through apps with different deadlines).
		u.HC, u.Base = a.hc, a.url
		wg.Go(func() {
			for ctx.Err() == nil {
				ph := int(l.phase.Load())
				r := u.Get("/incr")
				o := outcome{phase: ph, res: r}
				if r.Status == http.StatusOK {
					o.n, _ = strconv.Atoi(r.Body)
					u.ok[ph].Add(1)
				} else {
					time.Sleep(5 * time.Millisecond) // do not spin on a dead store
				}
				u.outcomes = append(u.outcomes, o)
			}
		})
	}
	l.stop = func() {
		cancel()
		wg.Wait()
	}
	return l
}

// setPhase tags the requests started from now on with ph.
func (l *load) setPhase(ph int) { l.phase.Store(int32(ph)) }

// waitAllOK waits until every user has had a 200 in phase ph, failing the
// test after limit.
func (l *load) waitAllOK(t *testing.T, ph int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		all := true
		for _, u := range l.users {
			if u.ok[ph].Load() == 0 {
				all = false
				break
			}
		}
		if all {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			l.stop()
			t.Fatalf("not every user had a successful request %v into phase %d", limit, ph)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lastAck returns the counter of the user's last 200 response.
// inDoubt counts the requests that failed after the last acknowledged one.
func (u *user) inDoubt() int {
	n := 0
	for i := len(u.outcomes) - 1; i >= 0 && u.outcomes[i].res.Status != http.StatusOK; i-- {
		n++
	}
	return n
}

func (u *user) lastAck() int {
	for i := len(u.outcomes) - 1; i >= 0; i-- {
		if u.outcomes[i].res.Status == http.StatusOK {
			return u.outcomes[i].n
		}
	}
	return 1
}

// summary counts a load's outcomes per phase.
type summary struct {
	ok, failed [maxPhases]int
	maxLatency [maxPhases]time.Duration
}

// check checks the outcomes of every user after the load stopped:
//   - each request was answered 200 or 500 (the error handler's), never a
//     transport error or another status, within bound;
//   - no response set a cookie, i.e. no fresh session was handed out,
//     except, when freshAt > 0, exactly one at the first 200 of a phase
//     >= freshAt (a memcached that came back empty), with a new ID and
//     the counter starting over at 1;
//   - each 200's counter is above the last acknowledged one, and at most
//     one above it per failed request since (a failed request may still
//     have been applied: the store acknowledged it after the deadline).
func check(t *testing.T, users []*user, bound time.Duration, freshAt int) summary {
	t.Helper()
	var sum summary
	for ui, u := range users {
		prev, doubt := 1, 0
		fresh := false
		for i, o := range u.outcomes {
			r := o.res
			sum.maxLatency[o.phase] = max(sum.maxLatency[o.phase], r.Latency)
			if r.Latency > bound {
				t.Errorf("user %d request %d (phase %d): answered after %v, bound %v", ui, i, o.phase, r.Latency, bound)
			}
			switch {
			case r.Err != nil:
				t.Errorf("user %d request %d (phase %d): transport error %v", ui, i, o.phase, r.Err)
				continue
			case r.Status == http.StatusInternalServerError:
				sum.failed[o.phase]++
				doubt++
				if r.NewCookie {
					t.Errorf("user %d request %d (phase %d): a 500 set the session cookie", ui, i, o.phase)
				}
				continue
			case r.Status != http.StatusOK:
				t.Errorf("user %d request %d (phase %d): status %d body %q", ui, i, o.phase, r.Status, r.Body)
				continue
			}
			sum.ok[o.phase]++
			if freshAt > 0 && o.phase >= freshAt && !fresh {
				fresh = true
				if !r.NewCookie || r.SetCookie == u.first || o.n != 1 {
					t.Errorf("user %d request %d (phase %d): first success after the store lost its data: new cookie %v (same as before: %v), counter %d; want a fresh session at 1",
						ui, i, o.phase, r.NewCookie, r.SetCookie == u.first, o.n)
				}
				prev, doubt = o.n, 0
				continue
			}
			if r.NewCookie {
				t.Errorf("user %d request %d (phase %d): fresh session handed out (Set-Cookie, counter %d after %d)", ui, i, o.phase, o.n, prev)
			}
			if o.n <= prev || o.n > prev+1+doubt {
				t.Errorf("user %d request %d (phase %d): counter %d after acknowledged %d with %d requests in doubt", ui, i, o.phase, o.n, prev, doubt)
			}
			prev, doubt = o.n, 0
		}
	}
	return sum
}

// checkFinal reads every user's counter (no load running) and checks it
// equals the last acknowledged value, plus at most the requests that failed
// after it (a request that timed out may still have been applied).
func (a *app) checkFinal(users []*user) {
	a.t.Helper()
	for i, u := range users {
		u.HC, u.Base = a.hc, a.url
		want, doubt := u.lastAck(), u.inDoubt()
		r := u.Get("/read")
		n, err := strconv.Atoi(r.Body)
		if r.Err != nil || r.Status != http.StatusOK || r.NewCookie || err != nil || n < want || n > want+doubt {
			a.t.Errorf("user %d final read: status %d body %q new cookie %v err %v; want %d (+%d in doubt)", i, r.Status, r.Body, r.NewCookie, r.Err, want, doubt)
		}
	}
}

// logSummary reports a run per phase.
func logSummary(t *testing.T, names []string, s summary) {
	t.Helper()
	for ph, name := range names {
		t.Logf("phase %d %-10s ok=%-5d failed=%-5d max latency %v", ph, name, s.ok[ph], s.failed[ph], s.maxLatency[ph].Round(time.Millisecond))
	}
}

// pauseAndResume loads the app with users, stops the server with SIGSTOP
// for two and a half request deadlines, resumes it, and checks that
// requests failed during the pause, that every user is served again after
// SIGCONT, that nothing failed once recovered, and that nothing panicked.
// name is the server's, for the messages.
func pauseAndResume(t *testing.T, a *app, users []*user, srv interface {
	Pause()
	Resume()
}, name string) {
	t.Helper()
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
	// Longer than two request deadlines: a user whose request was in
	// flight at the pause (counted before) fails at the deadline, and the
	// request it sends next fails inside the pause too.
	time.Sleep(2*requestDeadline + 500*time.Millisecond)
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
		t.Errorf("no request failed while %s was paused", name)
	}
	if s.failed[recovered] != 0 || s.ok[recovered] == 0 {
		t.Errorf("after recovery: %d failed, %d succeeded; want none failed", s.failed[recovered], s.ok[recovered])
	}
	if n := a.panics.Load(); n != 0 {
		t.Errorf("%d panics", n)
	}
}
