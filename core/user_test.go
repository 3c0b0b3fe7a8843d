package core_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	"github.com/sessionkit/sessionkit/core/memstore"
)

// iterOnly is a store without a user index that can iterate: the
// three-method store plus Iterate. The manager's user functions fall back
// to a scan on it.
type iterOnly struct{ *plainStore }

func (p iterOnly) Iterate(ctx context.Context, fn func(string, []byte) bool) error {
	p.mu.Lock()
	live := make(map[string][]byte)
	now := time.Now()
	for k, r := range p.m {
		if r.expiry.After(now) {
			live[k] = r.data
		}
	}
	p.mu.Unlock()
	for k, d := range live {
		if !fn(k, d) {
			return nil
		}
	}
	return ctx.Err()
}

// userStores are the stores the user tests run on.
func userStores(t *testing.T) map[string]core.Store {
	return map[string]core.Store{
		"memory":        newTestMemoryStore(t),
		"file":          newTestFileStore(t, t.TempDir()),
		"cached memory": cachedstore.New(newTestMemoryStore(t)),
		"iterate only":  iterOnly{newPlainStore()},
	}
}

// device is one client of a user: its token and handle.
type device struct{ token, handle string }

// login commits a new session bound to user, with Renew as a login does
// it, and returns the device.
func login(t *testing.T, m *core.Manager, user string) device {
	t.Helper()
	s, err := m.Load(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	s.Set("user", user)
	s.SetUser(user)
	s.Renew()
	h := s.Handle()
	if h == "" || s.User() != user {
		t.Fatalf("after SetUser(%q): User %q, Handle %q", user, s.User(), h)
	}
	res, err := m.Commit(t.Context(), s)
	if err != nil || res.Token == "" {
		t.Fatalf("Commit of a login: token %q, %v", res.Token, err)
	}
	return device{res.Token, h}
}

// request loads the device's session, runs fn on it and commits it; it
// returns the device's token after the commit ("" when it lost its
// session).
func request(t *testing.T, m *core.Manager, d device, fn func(s *core.Session)) (*core.Session, device, error) {
	t.Helper()
	s, err := m.Load(t.Context(), d.token)
	if err != nil {
		t.Fatal(err)
	}
	if fn != nil {
		fn(s)
	}
	res, err := m.Commit(t.Context(), s)
	if res.Token != "" {
		d.token = res.Token
	} else if res.Cookie != nil && res.Cookie.MaxAge < 0 {
		d.token = ""
	}
	return s, d, err
}

// loggedIn reports whether d's token loads a session bound to user.
func loggedIn(t *testing.T, m *core.Manager, d device, user string) bool {
	t.Helper()
	s, err := m.Load(t.Context(), d.token)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := s.Get("user")
	if s.User() != user && s.User() != "" {
		t.Errorf("token of %s loads a session bound to %q", user, s.User())
	}
	return s.ID() != "" && s.User() == user && v == user
}

func handlesOf(t *testing.T, m *core.Manager, user string) []string {
	t.Helper()
	infos, err := m.UserSessions(t.Context(), user)
	if err != nil {
		t.Fatalf("UserSessions(%s): %v", user, err)
	}
	var hs []string
	for _, in := range infos {
		if in.User != user || in.Created.IsZero() || !in.Expires.After(in.Created) {
			t.Errorf("UserSessions(%s) lists %+v", user, in)
		}
		hs = append(hs, in.Handle)
	}
	slices.Sort(hs)
	return hs
}

func sorted(hs ...string) []string { return slices.Sorted(slices.Values(hs)) }

func TestLogOutEverywhere(t *testing.T) {
	for name, st := range userStores(t) {
		t.Run(name, func(t *testing.T) {
			m := core.NewManager(st, quiet())
			ctx := t.Context()
			a := []device{login(t, m, "alice"), login(t, m, "alice"), login(t, m, "alice")}
			bob := login(t, m, "bob")
			if got, want := handlesOf(t, m, "alice"), sorted(a[0].handle, a[1].handle, a[2].handle); !slices.Equal(got, want) {
				t.Fatalf("alice's devices: %q, want %q", got, want)
			}

			// A device renewed after binding keeps its handle and is still found.
			var err error
			_, a[2], err = request(t, m, a[2], func(s *core.Session) { s.Renew() })
			if err != nil {
				t.Fatal(err)
			}
			if got, want := handlesOf(t, m, "alice"), sorted(a[0].handle, a[1].handle, a[2].handle); !slices.Equal(got, want) {
				t.Fatalf("after a Renew, alice's devices: %q, want %q", got, want)
			}

			// Log out the other devices, from a[1].
			n, err := m.DestroyUserSessions(ctx, "alice", a[1].handle)
			if err != nil || n != 2 {
				t.Fatalf("DestroyUserSessions(alice, except current) = %d, %v; want 2", n, err)
			}
			for i, d := range a {
				if got := loggedIn(t, m, d, "alice"); got != (i == 1) {
					t.Errorf("device %d of alice logged in: %v", i, got)
				}
			}
			if !loggedIn(t, m, bob, "bob") {
				t.Errorf("bob was logged out by alice's log out everywhere")
			}
			if got := handlesOf(t, m, "alice"); !slices.Equal(got, []string{a[1].handle}) {
				t.Errorf("after log out others: %q", got)
			}

			// Another user's handle revokes nothing; the user's own revokes it.
			if err := m.DestroySession(ctx, "alice", bob.handle); !errors.Is(err, core.ErrSessionGone) {
				t.Errorf("DestroySession(alice, bob's handle) = %v, want ErrSessionGone", err)
			}
			if !loggedIn(t, m, bob, "bob") {
				t.Fatalf("alice revoked bob's device")
			}
			if err := m.DestroySession(ctx, "bob", bob.handle); err != nil {
				t.Fatalf("DestroySession(bob): %v", err)
			}
			if loggedIn(t, m, bob, "bob") {
				t.Errorf("bob's revoked device is still logged in")
			}
			if err := m.DestroySession(ctx, "bob", bob.handle); !errors.Is(err, core.ErrSessionGone) {
				t.Errorf("revoking twice: %v, want ErrSessionGone", err)
			}
			if n, err := m.DestroyUserSessions(ctx, "alice"); n != 1 || err != nil {
				t.Errorf("DestroyUserSessions(alice) = %d, %v; want 1", n, err)
			}
			if hs := handlesOf(t, m, "alice"); len(hs) != 0 {
				t.Errorf("alice still has %q", hs)
			}
			if _, err := m.UserSessions(ctx, ""); !errors.Is(err, core.ErrNoUser) {
				t.Errorf("UserSessions(\"\") = %v", err)
			}
		})
	}
}

// TestBindingLifecycle checks what keeps and what drops a binding.
func TestBindingLifecycle(t *testing.T) {
	m := core.NewManager(newTestMemoryStore(t), quiet())
	d := login(t, m, "alice")

	// Clear keeps the binding.
	s, d, err := request(t, m, d, func(s *core.Session) { s.Clear(); s.Set("user", "alice") })
	if err != nil || s.User() != "alice" {
		t.Fatalf("Clear: %v, user %q", err, s.User())
	}
	s, _, _ = request(t, m, d, nil)
	if s.User() != "alice" || s.Handle() != d.handle {
		t.Errorf("after Clear: user %q handle %q, want alice %q", s.User(), s.Handle(), d.handle)
	}
	if got := handlesOf(t, m, "alice"); !slices.Equal(got, []string{d.handle}) {
		t.Errorf("after Clear: listed %q", got)
	}

	// Binding to the same user changes nothing; another user gets a new
	// handle, and the first user loses the device.
	s, _, _ = request(t, m, d, func(s *core.Session) { s.SetUser("alice") })
	if s.Modified() {
		t.Errorf("SetUser of the bound user modified the session")
	}
	s, _, _ = request(t, m, d, func(s *core.Session) { s.SetUser("bob") })
	if s.User() != "bob" || s.Handle() == d.handle || s.Handle() == "" {
		t.Errorf("rebinding: user %q handle %q (old %q)", s.User(), s.Handle(), d.handle)
	}
	bobHandle := s.Handle()
	if got := handlesOf(t, m, "alice"); len(got) != 0 {
		t.Errorf("alice still lists %q", got)
	}
	if got := handlesOf(t, m, "bob"); !slices.Equal(got, []string{bobHandle}) {
		t.Errorf("bob lists %q", got)
	}

	// Unbinding: no handle, listed nowhere, the session and its data stay.
	s, _, _ = request(t, m, d, func(s *core.Session) { s.SetUser("") })
	if s.User() != "" || s.Handle() != "" {
		t.Errorf("unbound: user %q handle %q", s.User(), s.Handle())
	}
	s, _, _ = request(t, m, d, nil)
	if v, _ := s.Get("user"); v != "alice" || s.User() != "" || s.ID() == "" {
		t.Errorf("after unbinding: ID %q user %q value %v", s.ID(), s.User(), v)
	}
	if got := handlesOf(t, m, "bob"); len(got) != 0 {
		t.Errorf("bob still lists %q", got)
	}

	// Destroy drops the binding, also of a new session started after it.
	d = login(t, m, "carol")
	s, _, err = request(t, m, d, func(s *core.Session) {
		s.Destroy()
		s.AddFlash("bye")
		if s.User() != "" || s.Handle() != "" {
			t.Errorf("after Destroy: user %q handle %q", s.User(), s.Handle())
		}
	})
	if err != nil || s.User() != "" {
		t.Errorf("Destroy: %v, user %q", err, s.User())
	}
	if got := handlesOf(t, m, "carol"); len(got) != 0 {
		t.Errorf("carol still lists %q after Destroy", got)
	}
}

// TestDestroyedInFlight checks that a request in flight when its user's
// sessions are destroyed cannot bring its session back: not by a save,
// not by a Renew.
func TestDestroyedInFlight(t *testing.T) {
	for name, st := range userStores(t) {
		t.Run(name, func(t *testing.T) {
			m := core.NewManager(st, quiet())
			for _, renew := range []bool{false, true} {
				d := login(t, m, "alice")
				s, err := m.Load(t.Context(), d.token)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := m.DestroyUserSessions(t.Context(), "alice"); err != nil {
					t.Fatal(err)
				}
				s.Set("late", 1)
				if renew {
					s.Renew()
				}
				res, err := m.Commit(t.Context(), s)
				if renew && !errors.Is(err, core.ErrSessionGone) {
					t.Errorf("Renew in flight: %v, want ErrSessionGone", err)
				}
				if res.Token != "" {
					if s2, _ := m.Load(t.Context(), res.Token); s2.User() != "" {
						t.Errorf("renew=%v: the destroyed session came back under a token", renew)
					}
				}
				if loggedIn(t, m, d, "alice") {
					t.Errorf("renew=%v: the destroyed session came back", renew)
				}
				if hs := handlesOf(t, m, "alice"); len(hs) != 0 {
					t.Errorf("renew=%v: alice lists %q", renew, hs)
				}
			}
		})
	}
}

// TestEvents checks every event the manager raises and that a handler may
// use the session it is told about.
func TestEvents(t *testing.T) {
	var mu sync.Mutex
	var got []core.Event
	m := core.NewManager(newTestMemoryStore(t), quiet(), core.WithEvents(func(ctx context.Context, e core.Event) {
		if core.FromContext(ctx) != nil && ctx.Value(ctxMarker{}) == nil {
			t.Errorf("event %v delivered with a foreign context", e.Kind)
		}
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	}))
	take := func() []core.Event {
		mu.Lock()
		defer mu.Unlock()
		e := got
		got = nil
		return e
	}
	kinds := func(es []core.Event) []string {
		var ks []string
		for _, e := range es {
			k := e.Kind.String()
			if e.Kind == core.EventDestroyed {
				k += "/" + e.Cause.String()
			}
			ks = append(ks, k)
		}
		return ks
	}
	want := func(what string, es []core.Event, ks ...string) {
		t.Helper()
		if !slices.Equal(kinds(es), ks) {
			t.Errorf("%s: events %q, want %q", what, kinds(es), ks)
		}
		for _, e := range es {
			if e.Time.IsZero() {
				t.Errorf("%s: event %v without a time", what, e.Kind)
			}
		}
	}

	// A plain new session, then a login: created; renewed and bound.
	s, _ := m.Load(t.Context(), "")
	s.Set("a", 1)
	res, _ := m.Commit(t.Context(), s)
	es := take()
	want("new session", es, "created")
	if len(es) == 1 && (es[0].Key != core.StoreKey(res.Token) || es[0].User != "") {
		t.Errorf("created: %+v", es[0])
	}
	s, _ = m.Load(t.Context(), res.Token)
	s.SetUser("alice")
	s.Renew()
	res, err := m.Commit(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	es = take()
	want("login", es, "renewed", "bound")
	for _, e := range es {
		if e.User != "alice" || e.Handle != s.Handle() || e.Key != core.StoreKey(res.Token) {
			t.Errorf("login event %+v", e)
		}
	}
	if len(es) > 0 && es[0].PrevKey == "" {
		t.Errorf("renewed without PrevKey")
	}

	// Nothing for a request that changes nothing, nor for a failed write.
	s, _ = m.Load(t.Context(), res.Token)
	m.Commit(t.Context(), s)
	want("read-only request", take())

	// A second device, then log out others and revoke.
	other := login(t, m, "alice")
	want("second login", take(), "created", "bound")
	s, _ = m.Load(t.Context(), res.Token)
	if n, err := m.DestroyUserSessions(t.Context(), "alice", s.Handle()); n != 1 || err != nil {
		t.Fatalf("DestroyUserSessions = %d, %v", n, err)
	}
	es = take()
	want("log out others", es, "destroyed/user")
	if len(es) == 1 && es[0].Handle != other.handle {
		t.Errorf("destroyed the handle %q, want %q", es[0].Handle, other.handle)
	}
	third := login(t, m, "alice")
	take()
	if err := m.DestroySession(t.Context(), "alice", third.handle); err != nil {
		t.Fatal(err)
	}
	want("revoke", take(), "destroyed/revoke")

	// Logout: destroyed by the session, with its binding; the handler may
	// use the session (its lock is not held).
	s, _ = m.Load(t.Context(), res.Token)
	s.Destroy()
	m.Commit(t.Context(), s)
	es = take()
	want("logout", es, "destroyed/session")
	if len(es) == 1 && (es[0].User != "alice" || es[0].Handle == "") {
		t.Errorf("logout event %+v", es[0])
	}
}

type ctxMarker struct{}

// TestEventsExpired checks the best-effort expired event: a session whose
// lifetime ran out while its record was still there.
func TestEventsExpired(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	var got []core.Event
	st := newTestMemoryStore(t, memstore.WithClock(func() time.Time { return now.Add(-time.Hour) }))
	m := core.NewManager(st, quiet(), core.WithClock(clock), core.WithLifetime(time.Minute), core.WithIdleTimeout(time.Minute),
		core.WithEvents(func(_ context.Context, e core.Event) { got = append(got, e) }))
	d := login(t, m, "alice")
	got = nil
	now = now.Add(2 * time.Minute)
	s, err := m.Load(t.Context(), d.token)
	if err != nil || s.ID() != "" {
		t.Fatalf("Load after the lifetime: ID %q, %v", s.ID(), err)
	}
	if len(got) != 1 || got[0].Kind != core.EventExpired || got[0].User != "alice" {
		t.Errorf("events %+v, want one expired event of alice", got)
	}
}

// TestCachedDestroyNeverServed checks that a cached store never serves
// from its cache a session DestroyUserSessions destroyed through it, and
// that another instance's cache serves it no longer than its staleness
// bound.
func TestCachedDestroyNeverServed(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	backing := newTestMemoryStore(t)
	a := cachedstore.New(backing, cachedstore.WithClock(clock), cachedstore.WithMaxStale(time.Minute), cachedstore.WithCloseBacking(false))
	b := cachedstore.New(backing, cachedstore.WithClock(clock), cachedstore.WithMaxStale(time.Minute), cachedstore.WithCloseBacking(false))
	ma, mb := core.NewManager(a, quiet()), core.NewManager(b, quiet())
	d := login(t, ma, "alice")
	if !loggedIn(t, ma, d, "alice") || !loggedIn(t, mb, d, "alice") {
		t.Fatal("not logged in through both caches")
	}
	if n, err := ma.DestroyUserSessions(t.Context(), "alice"); n != 1 || err != nil {
		t.Fatalf("DestroyUserSessions = %d, %v", n, err)
	}
	if loggedIn(t, ma, d, "alice") {
		t.Errorf("the destroying instance served the destroyed session from its cache")
	}
	if !loggedIn(t, mb, d, "alice") {
		t.Logf("the other instance dropped its copy early (allowed)")
	}
	now = now.Add(time.Minute + time.Second)
	if loggedIn(t, mb, d, "alice") {
		t.Errorf("the other instance served the destroyed session past its staleness bound")
	}
}
