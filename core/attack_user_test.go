package core_test

// Security review of "log out everywhere" (issue 25): attacks on the
// user binding, its index and its events, through the manager.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	"github.com/sessionkit/sessionkit/core/record"
)

// attackStores are the in-scope stores: the memory store, the cached
// store in front of it, and a store without an index (the scan fallback).
// The file store is left out: it is being edited elsewhere.
func attackStores(t *testing.T) map[string]core.Store {
	return map[string]core.Store{
		"memory":        newTestMemoryStore(t),
		"cached memory": cachedstore.New(newTestMemoryStore(t)),
		"iterate only":  iterOnly{newPlainStore()},
	}
}

// TestAttackStaleClearRestoresBinding: a request that loaded the session
// while it was bound to alice and calls Clear commits after the session
// was unbound (logout by SetUser("")) or bound to another user, and after
// alice logged out everywhere. Clear re-sends the binding core holds in
// memory, a stale one, and the store takes it as written: the session is
// bound to alice again, listed among her devices, after her
// DestroyUserSessions returned.
func TestAttackStaleClearRestoresBinding(t *testing.T) {
	for name, st := range attackStores(t) {
		if name == "iterate only" {
			continue // a 3-method store: best effort, documented
		}
		t.Run(name, func(t *testing.T) {
			m := core.NewManager(st, quiet())
			for _, then := range []string{"", "bob"} {
				d := login(t, m, "alice")
				stale, err := m.Load(t.Context(), d.token) // a slow request, loaded while bound to alice
				if err != nil {
					t.Fatal(err)
				}
				// Logout (unbind) or an account switch, on another request.
				_, d, err = request(t, m, d, func(s *core.Session) { s.SetUser(then); s.Set("user", then) })
				if err != nil {
					t.Fatal(err)
				}
				// Alice logs out everywhere: this session is not hers any more.
				if _, err := m.DestroyUserSessions(t.Context(), "alice"); err != nil {
					t.Fatal(err)
				}
				// The slow request now clears the session ("reset the cart").
				stale.Clear()
				stale.Set("cart", "empty")
				if _, err := m.Commit(t.Context(), stale); err != nil {
					t.Fatal(err)
				}
				s, err := m.Load(t.Context(), d.token)
				if err != nil {
					t.Fatal(err)
				}
				if s.User() == "alice" {
					t.Errorf("then %q: after alice's logout and DestroyUserSessions(alice), a stale Clear bound the session to alice again (User() = %q, listed: %q)",
						then, s.User(), handlesOf(t, m, "alice"))
				}
				m.DestroyUserSessions(t.Context(), "alice")
				if then != "" {
					m.DestroyUserSessions(t.Context(), then)
				}
			}
		})
	}
}

// eventLog collects events.
type eventLog struct {
	mu sync.Mutex
	es []core.Event
}

func (l *eventLog) add(_ context.Context, e core.Event) {
	l.mu.Lock()
	l.es = append(l.es, e)
	l.mu.Unlock()
}

func (l *eventLog) destroyed(handle string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var causes []string
	for _, e := range l.es {
		if e.Kind == core.EventDestroyed && e.Handle == handle {
			causes = append(causes, e.Cause.String())
		}
	}
	return causes
}

// hookStore is a memory store that runs hook before the create that
// carries a binding to a new key (the second step of a bound Renew).
type hookStore struct {
	core.Store
	hook func()
}

func (h *hookStore) SaveDelta(ctx context.Context, key string, d *record.Delta) error {
	if b, bound, changed, _ := record.DeltaBinding(d); d.Create && changed && bound && b.Gen != 0 && h.hook != nil {
		hook := h.hook
		h.hook = nil
		hook()
	}
	return h.Store.(core.DeltaStore).SaveDelta(ctx, key, d)
}

func (h *hookStore) Take(ctx context.Context, key string) ([]byte, bool, error) {
	return h.Store.(core.TakeStore).Take(ctx, key)
}

func (h *hookStore) UserSessions(ctx context.Context, uk string) ([]core.UserRecord, error) {
	return h.Store.(core.UserStore).UserSessions(ctx, uk)
}

func (h *hookStore) DeleteUserSessions(ctx context.Context, uk string, match func(string) bool) ([]string, error) {
	return h.Store.(core.UserStore).DeleteUserSessions(ctx, uk, match)
}

// TestAttackRenewRacesDestroyUncounted: DestroyUserSessions that runs
// between a bound Renew's take and its insert logs the device out (the
// Renew fails with ErrSessionGone), but neither counts it nor raises an
// EventDestroyed for it, on any path: the device vanishes from the
// "destroyed" audit trail.
func TestAttackRenewRacesDestroyUncounted(t *testing.T) {
	var log eventLog
	hs := &hookStore{Store: newTestMemoryStore(t)}
	m := core.NewManager(hs, quiet(), core.WithEvents(log.add))
	d := login(t, m, "alice")
	var n int
	hs.hook = func() {
		var err error
		if n, err = m.DestroyUserSessions(t.Context(), "alice"); err != nil {
			t.Error(err)
		}
	}
	_, _, err := request(t, m, d, func(s *core.Session) { s.Renew() })
	if !errors.Is(err, core.ErrSessionGone) {
		t.Fatalf("Renew racing DestroyUserSessions: %v, want ErrSessionGone", err)
	}
	if loggedIn(t, m, d, "alice") {
		t.Fatal("the device survived")
	}
	if n != 1 && len(log.destroyed(d.handle)) == 0 {
		t.Errorf("the renewing device was logged out by DestroyUserSessions, which returned %d, and no EventDestroyed names it (events: %q)", n, log.destroyed(d.handle))
	}
}

// TestAttackRevokeOtherUsersDevice (held up): a handle of alice's session
// posted by bob revokes nothing, is not listed for bob, and bob's log out
// everywhere leaves alice alone.
func TestAttackRevokeOtherUsersDevice(t *testing.T) {
	for name, st := range attackStores(t) {
		t.Run(name, func(t *testing.T) {
			m := core.NewManager(st, quiet())
			a := login(t, m, "alice")
			b := login(t, m, "bob")
			if err := m.DestroySession(t.Context(), "bob", a.handle); !errors.Is(err, core.ErrSessionGone) {
				t.Errorf("bob revoking alice's handle: %v, want ErrSessionGone", err)
			}
			// A user ID that is a prefix or a hash-looking string of
			// another's does not reach it either.
			for _, u := range []string{"alic", "alice\x00", record.UserKey("alice"), a.handle} {
				if err := m.DestroySession(t.Context(), u, a.handle); !errors.Is(err, core.ErrSessionGone) {
					t.Errorf("user %q revoking alice's handle: %v", u, err)
				}
				if hs := handlesOf(t, m, u); len(hs) != 0 {
					t.Errorf("user %q lists %q", u, hs)
				}
			}
			if hs := handlesOf(t, m, "bob"); len(hs) != 1 || hs[0] != b.handle {
				t.Errorf("bob lists %q, want his own %q", hs, b.handle)
			}
			if n, err := m.DestroyUserSessions(t.Context(), "bob"); n != 1 || err != nil {
				t.Errorf("DestroyUserSessions(bob) = %d, %v", n, err)
			}
			if !loggedIn(t, m, a, "alice") {
				t.Errorf("alice was logged out by bob's actions")
			}
			// A handle is no token.
			if s, _ := m.Load(t.Context(), a.handle); s.ID() != "" || s.User() != "" {
				t.Errorf("a handle loaded a session")
			}
			m.DestroyUserSessions(t.Context(), "alice")
		})
	}
}

// TestAttackHostileBindingBytes (held up): records with broken or extreme
// bindings neither panic nor count as anyone's session, through Load,
// UserSessions, DestroyUserSessions and DestroySession.
func TestAttackHostileBindingBytes(t *testing.T) {
	now := time.Now()
	exp := now.Add(time.Hour)
	hdr := record.NewHeader(false, now, exp)
	good, _ := record.EncodeBinding(nil, record.Binding{User: "alice", Handle: "h", Gen: 1})
	huge, _ := record.EncodeBinding(nil, record.Binding{User: strings.Repeat("u", 1<<20), Handle: strings.Repeat("h", 255), Gen: ^uint64(0)})
	bad := map[string][]byte{
		"empty":           {},
		"short":           good[:9],
		"no user":         good[:len(good)-5],
		"zero handle":     append(append([]byte{}, good[:17]...), 0, 'a', 'l'),
		"version 2":       append(append(append([]byte{}, good[:8]...), 2), good[9:]...),
		"handle past end": append(append(append([]byte{}, good[:17]...), 255), "alice"...),
		"huge":            huge,
	}
	st := iterOnly{newPlainStore()}
	m := core.NewManager(st, quiet(), core.WithMaxSize(4<<20))
	i := 0
	for name, v := range bad {
		i++
		token := strings.Repeat(string(rune('A'+i)), 43)
		data := record.Append(nil, hdr, []record.Entry{{Key: record.BindingKey, Value: v}})
		if err := st.Save(t.Context(), core.StoreKey(token), data, exp); err != nil {
			continue // refused as corrupt: fine
		}
		s, err := m.Load(t.Context(), token)
		if err != nil {
			t.Fatalf("%s: Load: %v", name, err)
		}
		if name != "huge" && (s.ID() != "" || s.User() != "") {
			t.Errorf("%s: the record loads as session %q of %q", name, s.ID(), s.User())
		}
	}
	if hs := handlesOf(t, m, "alice"); len(hs) != 0 {
		t.Errorf("alice lists %q", hs)
	}
	if n, err := m.DestroyUserSessions(t.Context(), "alice"); n != 0 || err != nil {
		t.Errorf("DestroyUserSessions(alice) = %d, %v", n, err)
	}
	if err := m.DestroySession(t.Context(), "alice", "h"); !errors.Is(err, core.ErrSessionGone) {
		t.Errorf("DestroySession(alice, h) = %v", err)
	}
}

// TestAttackEventHandlerReenters (held up): a handler that, on a login's
// bound event, logs out the user's other devices and reads the session
// runs without deadlock (no session or store lock held) and after the
// write: the new device is listed and kept, the old one destroyed.
func TestAttackEventHandlerReenters(t *testing.T) {
	for name, st := range attackStores(t) {
		t.Run(name, func(t *testing.T) {
			var m *core.Manager
			var destroyed []int
			m = core.NewManager(st, quiet(), core.WithEvents(func(ctx context.Context, e core.Event) {
				if e.Kind != core.EventBound || e.User == "" {
					return
				}
				if s := core.FromContext(ctx); s != nil && s.Handle() != e.Handle {
					t.Errorf("handler sees handle %q, event %q", s.Handle(), e.Handle)
				}
				if hs := handlesOf(t, m, e.User); len(hs) == 0 {
					t.Errorf("bound event delivered before the binding is listed")
				}
				n, err := m.DestroyUserSessions(ctx, e.User, e.Handle)
				if err != nil {
					t.Error(err)
				}
				destroyed = append(destroyed, n)
			}))
			done := make(chan struct{})
			go func() {
				defer close(done)
				a := login(t, m, "alice")
				b := login(t, m, "alice")
				if loggedIn(t, m, a, "alice") || !loggedIn(t, m, b, "alice") {
					t.Errorf("second login: first device kept %v, second %v", loggedIn(t, m, a, "alice"), loggedIn(t, m, b, "alice"))
				}
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("deadlock: the event handler could not re-enter the manager")
			}
			if len(destroyed) != 2 || destroyed[0] != 0 || destroyed[1] != 1 {
				t.Errorf("handler destroyed %v, want [0 1]", destroyed)
			}
		})
	}
}
