package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// userTargets is backends for tests that need clients with hooks: fn
// gets a function that returns a new client of the server under test.
func userTargets(t *testing.T, fn func(t *testing.T, newClient func(hooks ...redis.Hook) redis.UniversalClient)) {
	t.Run("single", func(t *testing.T) {
		t.Parallel()
		fn(t, func(hooks ...redis.Hook) redis.UniversalClient { return singleClient(t, hooks...) })
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		fn(t, func(hooks ...redis.Hook) redis.UniversalClient { return clusterClient(t, hooks...) })
	})
}

// device is one client of a user: its token and its session's handle.
type device struct{ token, handle string }

func newUserManager(s *Store) *core.Manager {
	return core.NewManager(s, core.WithLogger(slog.New(slog.DiscardHandler)))
}

// login commits a new session bound to user, as a login does it.
func login(t *testing.T, m *core.Manager, user string) device {
	t.Helper()
	s, err := m.Load(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	s.Set("user", user)
	s.SetUser(user)
	s.Renew()
	res, err := m.Commit(t.Context(), s)
	if err != nil || res.Token == "" {
		t.Fatalf("login of %s: token %q, %v", user, res.Token, err)
	}
	return device{res.Token, s.Handle()}
}

// request loads d's session, runs fn on it and commits it, and returns d
// with the token after the commit.
func request(t *testing.T, m *core.Manager, d device, fn func(s *core.Session)) (device, error) {
	t.Helper()
	s, err := m.Load(t.Context(), d.token)
	if err != nil {
		return d, err
	}
	fn(s)
	res, err := m.Commit(t.Context(), s)
	if res.Token != "" {
		d.token = res.Token
	}
	d.handle = s.Handle()
	return d, err
}

// loggedIn reports whether d's token loads a session bound to user.
func loggedIn(t *testing.T, m *core.Manager, d device, user string) bool {
	t.Helper()
	s, err := m.Load(t.Context(), d.token)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := s.Get("user")
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
		hs = append(hs, in.Handle)
	}
	slices.Sort(hs)
	return hs
}

// storeKey is the store key core files the session with this token
// under: the hex SHA-256 of the ID.
func storeKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func sorted(hs ...string) []string { return slices.Sorted(slices.Values(hs)) }

// indexOf returns the user's index hash as Redis holds it.
func indexOf(t *testing.T, s *Store, user string) map[string]string {
	t.Helper()
	m, err := s.client.HGetAll(t.Context(), s.userHash(record.UserKey(user))).Result()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestUserDevices goes through the manager: three devices of one user, a
// device bound after it was created, a device renewed after binding, log
// out the other devices, revoke one, another user untouched.
func TestUserDevices(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		st := newTestStore(t, c)
		m := newUserManager(st)
		a := []device{login(t, m, "alice"), login(t, m, "alice"), login(t, m, "alice")}
		bob := login(t, m, "bob")

		// A session that exists before it is bound: the non-create path.
		anon, err := request(t, m, device{}, func(s *core.Session) { s.Set("cart", 1) })
		if err != nil || anon.token == "" {
			t.Fatalf("anonymous session: %q, %v", anon.token, err)
		}
		late, err := request(t, m, anon, func(s *core.Session) { s.Set("user", "alice"); s.SetUser("alice") })
		if err != nil {
			t.Fatalf("binding an existing session: %v", err)
		}
		a = append(a, late)
		if got, want := handlesOf(t, m, "alice"), sorted(a[0].handle, a[1].handle, a[2].handle, a[3].handle); !slices.Equal(got, want) {
			t.Fatalf("alice's devices: %q, want %q", got, want)
		}
		if got := handlesOf(t, m, "bob"); !slices.Equal(got, []string{bob.handle}) {
			t.Fatalf("bob's devices: %q, want [%s]", got, bob.handle)
		}

		// A device renewed after binding keeps its handle, is still found
		// and its old token is dead.
		renewed, err := request(t, m, a[1], func(s *core.Session) { s.Renew() })
		if err != nil || renewed.token == a[1].token || renewed.handle != a[1].handle {
			t.Fatalf("Renew: token %q (was %q), handle %q (was %q), %v", renewed.token, a[1].token, renewed.handle, a[1].handle, err)
		}
		if loggedIn(t, m, a[1], "alice") {
			t.Errorf("the token before Renew still loads")
		}
		a[1] = renewed
		if got, want := handlesOf(t, m, "alice"), sorted(a[0].handle, a[1].handle, a[2].handle, a[3].handle); !slices.Equal(got, want) {
			t.Fatalf("alice's devices after a Renew: %q, want %q", got, want)
		}
		if k, want := indexOf(t, st, "alice")[a[1].handle], storeKey(a[1].token); k != want {
			t.Fatalf("the renewed device's index entry names %q, want %q", k, want)
		}

		// Log out the other devices: the renewed one is the current one.
		n, err := m.DestroyUserSessions(ctx, "alice", a[1].handle)
		if err != nil || n != 3 {
			t.Fatalf("DestroyUserSessions(alice, except current) = %d, %v; want 3", n, err)
		}
		for i, d := range a {
			if got := loggedIn(t, m, d, "alice"); got != (i == 1) {
				t.Errorf("device %d logged in: %v", i, got)
			}
		}
		if !loggedIn(t, m, bob, "bob") {
			t.Errorf("bob was logged out")
		}
		if got := handlesOf(t, m, "alice"); !slices.Equal(got, []string{a[1].handle}) {
			t.Errorf("alice's devices after logging out the others: %q", got)
		}
		if got := indexOf(t, st, "alice"); len(got) != 1 {
			t.Errorf("alice's index after logging out the others: %d entries, want 1", len(got))
		}

		// Revoking a handle of another user destroys nothing.
		if err := m.DestroySession(ctx, "alice", bob.handle); !errors.Is(err, core.ErrSessionGone) {
			t.Errorf("DestroySession(alice, bob's handle) = %v, want ErrSessionGone", err)
		}
		if !loggedIn(t, m, bob, "bob") {
			t.Errorf("bob was logged out by alice's revoke")
		}
		if err := m.DestroySession(ctx, "alice", a[1].handle); err != nil {
			t.Errorf("DestroySession(alice, current): %v", err)
		}
		if loggedIn(t, m, a[1], "alice") {
			t.Errorf("the revoked device is still logged in")
		}
		if got := indexOf(t, st, "alice"); len(got) != 0 {
			t.Errorf("alice's index after the last revoke: %q", got)
		}
		if got := handlesOf(t, m, "bob"); !slices.Equal(got, []string{bob.handle}) {
			t.Errorf("bob's devices: %q, want [%s]", got, bob.handle)
		}

		// The index hashes are not sessions.
		if n, err := st.Count(ctx); err != nil || n != 1 {
			t.Errorf("Count = %d, %v; want 1 (bob's session)", n, err)
		}
		if err := st.Iterate(ctx, func(key string, data []byte) bool {
			if st.isUserHash(st.prefix + key) {
				t.Errorf("Iterate visited the index hash %q", key)
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestUserRebindUnbind checks that an entry goes after its record leaves
// the binding: rebound to another user, unbound.
func TestUserRebindUnbind(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		st := newTestStore(t, c)
		m := newUserManager(st)
		d := login(t, m, "alice")
		if len(indexOf(t, st, "alice")) != 1 {
			t.Fatalf("no index entry after login")
		}
		d, err := request(t, m, d, func(s *core.Session) { s.Set("user", "bob"); s.SetUser("bob") })
		if err != nil {
			t.Fatal(err)
		}
		if got := indexOf(t, st, "alice"); len(got) != 0 {
			t.Errorf("alice's index after the session was rebound to bob: %q", got)
		}
		if got := handlesOf(t, m, "bob"); !slices.Equal(got, []string{d.handle}) {
			t.Errorf("bob's devices: %q, want [%s]", got, d.handle)
		}
		// Clear keeps the binding, and its entry.
		d, err = request(t, m, d, func(s *core.Session) { s.Clear(); s.Set("user", "bob") })
		if err != nil {
			t.Fatal(err)
		}
		if got := handlesOf(t, m, "bob"); !slices.Equal(got, []string{d.handle}) {
			t.Errorf("bob's devices after Clear: %q, want [%s]", got, d.handle)
		}
		if _, err := request(t, m, d, func(s *core.Session) { s.SetUser("") }); err != nil {
			t.Fatal(err)
		}
		if got := indexOf(t, st, "bob"); len(got) != 0 {
			t.Errorf("bob's index after unbinding: %q", got)
		}
		if s, err := m.Load(t.Context(), d.token); err != nil || s.ID() == "" || s.User() != "" {
			t.Errorf("the unbound session: id set %v, user %q, %v", s.ID() != "", s.User(), err)
		}
	})
}

// TestUserStalePruned leaves entries whose records are gone (deleted,
// expired) and one whose record a Renew has just taken: listing prunes
// the first two and keeps the third for the Renew.
func TestUserStalePruned(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		st := newTestStore(t, c)
		exp := time.Now().Add(time.Hour)
		lapse := time.Now().Add(200 * time.Millisecond)
		bind := func(key, handle string, exp time.Time) {
			t.Helper()
			d := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
				Set: append(storetest.Entries("k", key), storetest.BindingEntry("carol", handle, 0))}
			if err := st.SaveDelta(ctx, key, d); err != nil {
				t.Fatal(err)
			}
		}
		bind("live", "hl", exp)
		bind("deleted", "hd", exp)
		bind("lapsed", "hx", lapse)
		bind("taken", "ht", exp)
		if err := st.Delete(ctx, "deleted"); err != nil {
			t.Fatal(err)
		}
		if _, found, err := st.Take(ctx, "taken"); err != nil || !found {
			t.Fatalf("Take: %v, %v", found, err)
		}
		if got := indexOf(t, st, "carol"); len(got) != 4 {
			t.Fatalf("index before listing: %q, want 4 entries", got)
		}
		time.Sleep(time.Until(lapse) + 20*time.Millisecond)
		recs, err := st.UserSessions(ctx, record.UserKey("carol"))
		if err != nil || len(recs) != 1 || recs[0].Key != "live" {
			t.Fatalf("UserSessions = %v, %v; want the live record", recs, err)
		}
		got := indexOf(t, st, "carol")
		if _, ok := got["hl"]; !ok || len(got) != 2 || got["ht"] != "taken" {
			t.Errorf("index after listing: %q, want hl and the taken ht", got)
		}
		// Once the taken mark is gone (its TTL ran out, or here deleted),
		// the entry is stale too.
		if err := st.client.Del(ctx, st.prefix+"taken").Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UserSessions(ctx, record.UserKey("carol")); err != nil {
			t.Fatal(err)
		}
		if got := indexOf(t, st, "carol"); len(got) != 1 {
			t.Errorf("index after the taken mark went: %q, want hl alone", got)
		}
		// The taken mark expires by itself.
		bind("taken2", "ht2", exp)
		if _, _, err := st.Take(ctx, "taken2"); err != nil {
			t.Fatal(err)
		}
		ttl, err := st.client.PTTL(ctx, st.prefix+"taken2").Result()
		if err != nil || ttl <= 0 || ttl > takenGrace {
			t.Errorf("taken mark TTL %v, %v; want at most %v", ttl, err, takenGrace)
		}
		// A record that is live but not (yet) bound to the entry's user
		// keeps its entry: a bind may be in flight.
		if err := st.client.HSet(ctx, st.userHash(record.UserKey("carol")), "hb", "unbound").Err(); err != nil {
			t.Fatal(err)
		}
		if err := st.Save(ctx, "unbound", storetest.Record(exp, "a", "1"), exp); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UserSessions(ctx, record.UserKey("carol")); err != nil {
			t.Fatal(err)
		}
		if got := indexOf(t, st, "carol")["hb"]; got != "unbound" {
			t.Errorf("the entry of a live unbound record was pruned")
		}
		// hl is live; ht2 is taken (a Renew in flight, logged out).
		if hs, err := st.DeleteUserSessions(ctx, record.UserKey("carol"), func(string) bool { return true }); err != nil || !slices.Equal(hs, []string{"hl", "ht2"}) {
			t.Errorf("DeleteUserSessions = %q, %v; want [hl ht2]", hs, err)
		}
		if _, found, _ := st.Load(ctx, "unbound"); !found {
			t.Errorf("DeleteUserSessions deleted a record not bound to the user")
		}
	})
}

// TestUserDestroyRecordGone destroys a user whose index names records that
// are gone already: nothing is reported, the entries go.
func TestUserDestroyRecordGone(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		st := newTestStore(t, c)
		m := newUserManager(st)
		d1, d2 := login(t, m, "dave"), login(t, m, "dave")
		for _, k := range indexOf(t, st, "dave") {
			if err := st.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		n, err := m.DestroyUserSessions(ctx, "dave")
		if err != nil || n != 0 {
			t.Errorf("DestroyUserSessions of deleted sessions = %d, %v; want 0", n, err)
		}
		if got := indexOf(t, st, "dave"); len(got) != 0 {
			t.Errorf("index after destroy: %q", got)
		}
		if loggedIn(t, m, d1, "dave") || loggedIn(t, m, d2, "dave") {
			t.Errorf("a deleted session loads")
		}
	})
}

// TestUserStampsCallerDelta checks that the generation stamped into a new
// binding goes into the store's copy, not the caller's delta.
func TestUserStampsCallerDelta(t *testing.T) {
	ctx := t.Context()
	st := newTestStore(t, singleClient(t))
	exp := time.Now().Add(time.Hour)
	be := storetest.BindingEntry("erin", "h", 0)
	d := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: []record.Entry{be}}
	if err := st.SaveDelta(ctx, "k", d); err != nil {
		t.Fatal(err)
	}
	if b, _ := record.DecodeBinding(d.Set[0].Value); b.Gen != 0 {
		t.Errorf("the caller's delta was stamped with generation %d", b.Gen)
	}
	data, _, _ := st.Load(ctx, "k")
	if b, found, err := record.FindBinding(data); err != nil || !found || b.Gen == 0 {
		t.Errorf("stored binding %+v, found %v, %v; want a generation", b, found, err)
	}
}

// TestUserRenewRacesDestroy races a device's Renew against a log out
// everywhere, through the manager: whatever the order, the device is
// logged out once both returned and nothing of the user is left live.
func TestUserRenewRacesDestroy(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		st := newTestStore(t, c)
		m := newUserManager(st)
		refused := 0
		for i := range 30 {
			user := fmt.Sprintf("racer-%d", i)
			d := login(t, m, user)
			other := login(t, m, user)
			var wg sync.WaitGroup
			var renewed device
			var renewErr error
			wg.Go(func() {
				renewed, renewErr = request(t, m, d, func(s *core.Session) { s.Set("n", i); s.Renew() })
			})
			wg.Go(func() {
				if _, err := m.DestroyUserSessions(ctx, user); err != nil {
					t.Errorf("DestroyUserSessions: %v", err)
				}
			})
			wg.Wait()
			if renewErr != nil {
				refused++
			}
			if loggedIn(t, m, renewed, user) || loggedIn(t, m, d, user) || loggedIn(t, m, other, user) {
				t.Fatalf("round %d: a session of %s is live after DestroyUserSessions (Renew: %v)", i, user, renewErr)
			}
			if hs := handlesOf(t, m, user); len(hs) != 0 {
				t.Fatalf("round %d: %s still has devices %q", i, user, hs)
			}
		}
		// A request whose session was destroyed before it loaded it may
		// commit a new anonymous session; nothing bound may be left.
		if err := st.Iterate(ctx, func(key string, data []byte) bool {
			if b, found, err := record.FindBinding(data); found || err != nil {
				t.Errorf("a bound session survived: %s bound to %+v (%v)", key, b, err)
			}
			if _, ok := storetest.Values(t, data)["user"]; ok {
				t.Errorf("a session with the user's data survived: %s", key)
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d of 30 racing Renews failed", refused)
	})
}

// TestUserCarriedRenewRefused takes a bound record as Renew does, destroys
// the user, then tries to write the new record: refused, nothing left.
func TestUserCarriedRenewRefused(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		st := newTestStore(t, c)
		exp := time.Now().Add(time.Hour)
		d := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
			Set: []record.Entry{storetest.BindingEntry("frank", "h", 0)}}
		if err := st.SaveDelta(ctx, "old", d); err != nil {
			t.Fatal(err)
		}
		data, found, err := st.Take(ctx, "old")
		if err != nil || !found {
			t.Fatalf("Take: %v, %v", found, err)
		}
		b, _, _ := record.FindBinding(data)
		// The taken mark is no session.
		if n, err := st.Count(ctx); err != nil || n != 0 {
			t.Errorf("Count after the Take = %d, %v; want 0", n, err)
		}
		if err := st.Iterate(ctx, func(key string, _ []byte) bool { t.Errorf("Iterate after the Take visited %q", key); return true }); err != nil {
			t.Fatal(err)
		}
		if hs, err := st.DeleteUserSessions(ctx, record.UserKey("frank"), func(string) bool { return true }); err != nil || !slices.Equal(hs, []string{"h"}) {
			t.Fatalf("DeleteUserSessions = %q, %v; want [h], the device caught mid-Renew", hs, err)
		}
		nd := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
			Set: []record.Entry{storetest.BindingEntry(b.User, b.Handle, b.Gen)}}
		if err := st.SaveDelta(ctx, "new", nd); !errors.Is(err, core.ErrSessionGone) {
			t.Fatalf("carried Renew after the destroy: %v, want ErrSessionGone", err)
		}
		if n, _ := st.client.Exists(ctx, st.prefix+"new").Result(); n != 0 {
			t.Errorf("the refused record was left in Redis")
		}
		if got := indexOf(t, st, "frank"); len(got) != 0 {
			t.Errorf("index after the refused Renew: %q", got)
		}
	})
}

// beforeHook runs fn once, before the first command or pipeline that
// match accepts goes out.
type beforeHook struct {
	match func(cmds []redis.Cmder) bool
	fn    func()
	once  sync.Once
}

func (h *beforeHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *beforeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.match([]redis.Cmder{cmd}) {
			h.once.Do(h.fn)
		}
		return next(ctx, cmd)
	}
}

func (h *beforeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.match(cmds) {
			h.once.Do(h.fn)
		}
		return next(ctx, cmds)
	}
}

// sends reports whether cmds holds a command name (lower case), or an
// EVALSHA of script.
func sends(cmds []redis.Cmder, name string, script *redis.Script) bool {
	for _, c := range cmds {
		args := c.Args()
		if c.Name() == name && (script == nil || len(args) > 1 && args[1] == script.Hash()) {
			return true
		}
	}
	return false
}

// TestUserRenewInterleavings runs a Renew carrying a binding at each
// point of DeleteUserSessions where it matters, and DeleteUserSessions
// between the Renew's write and its index update: the session never
// survives.
func TestUserRenewInterleavings(t *testing.T) {
	type step struct {
		name string
		// when picks the command of the side under test before which the
		// other side runs.
		when func(cmds []redis.Cmder) bool
		// destroyFirst: the hooked side is the Renew, DeleteUserSessions
		// runs inside it.
		destroyFirst bool
	}
	steps := []step{
		{"renew before the reads", func(c []redis.Cmder) bool { return sends(c, "hmget", nil) }, false},
		{"renew before the deletes", func(c []redis.Cmder) bool { return sends(c, "evalsha", delBoundScript) }, false},
		{"destroy between the take and the write", func(c []redis.Cmder) bool { return sends(c, "evalsha", saveScript) }, true},
		{"destroy before the repoint", func(c []redis.Cmder) bool { return sends(c, "evalsha", repointScript) }, true},
	}
	for _, sp := range steps {
		t.Run(sp.name, func(t *testing.T) {
			userTargets(t, func(t *testing.T, newClient func(hooks ...redis.Hook) redis.UniversalClient) {
				ctx := t.Context()
				hook := &beforeHook{match: sp.when}
				hooked, plain := newClient(hook), newClient()
				hs := newTestStore(t, hooked)
				ps := &Store{client: plain, prefix: hs.prefix, maxSize: hs.maxSize}
				// Warm the scripts up on every node, so that the hooks see
				// EVALSHA.
				warm(t, ps)
				exp := time.Now().Add(time.Hour)
				d := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
					Set: append(storetest.Entries("a", "1"), storetest.BindingEntry("gina", "h", 0))}
				if err := ps.SaveDelta(ctx, "old", d); err != nil {
					t.Fatal(err)
				}
				renew := func(s *Store) error {
					data, found, err := s.Take(ctx, "old")
					if err != nil || !found {
						t.Errorf("Take: %v, %v", found, err)
						return err
					}
					b, _, _ := record.FindBinding(data)
					nd := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
						Set: append(storetest.Entries("a", "1"), storetest.BindingEntry(b.User, b.Handle, b.Gen))}
					return s.SaveDelta(ctx, "new", nd)
				}
				destroy := func(s *Store) ([]string, error) {
					return s.DeleteUserSessions(ctx, record.UserKey("gina"), func(string) bool { return true })
				}
				var renewErr, destroyErr error
				var deleted []string
				if sp.destroyFirst {
					hook.fn = func() { deleted, destroyErr = destroy(ps) }
					renewErr = renew(hs)
				} else {
					hook.fn = func() { renewErr = renew(ps) }
					deleted, destroyErr = destroy(hs)
				}
				if destroyErr != nil {
					t.Fatalf("DeleteUserSessions: %v", destroyErr)
				}
				if sp.destroyFirst {
					if !errors.Is(renewErr, core.ErrSessionGone) || !slices.Equal(deleted, []string{"h"}) {
						t.Errorf("Renew = %v, deleted %q; want ErrSessionGone and [h], the device caught mid-Renew", renewErr, deleted)
					}
				} else if renewErr != nil || !slices.Equal(deleted, []string{"h"}) {
					t.Errorf("Renew = %v, deleted %q; want nil and [h]", renewErr, deleted)
				}
				for _, k := range []string{"old", "new"} {
					if _, found, err := ps.Load(ctx, k); err != nil || found {
						t.Errorf("%s is live after DeleteUserSessions (%v)", k, err)
					}
				}
				if got := indexOf(t, ps, "gina"); len(got) != 0 {
					t.Errorf("index left: %q", got)
				}
			})
		})
	}
}

// warm runs every script of the user index once on every node of s.
func warm(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	for _, sc := range []*redis.Script{saveScript, takeScript, delBoundScript, unindexScript, repointScript} {
		err := s.forEachNode(ctx, func(ctx context.Context, c redis.Cmdable) error {
			return sc.Load(ctx, c).Err()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestUserRewriteRacesRenew writes a stamped binding again (a delta may
// set the binding it loaded) while a Renew of the same session takes it
// and repoints the entry: the entry must keep naming the new record,
// which the user's destroy then finds.
func TestUserRewriteRacesRenew(t *testing.T) {
	userTargets(t, func(t *testing.T, newClient func(hooks ...redis.Hook) redis.UniversalClient) {
		ctx := t.Context()
		hook := &beforeHook{match: func(c []redis.Cmder) bool { return sends(c, "hsetnx", nil) || sends(c, "hset", nil) }}
		hs := newTestStore(t, newClient(hook))
		ps := &Store{client: newClient(), prefix: hs.prefix, maxSize: hs.maxSize}
		exp := time.Now().Add(time.Hour)
		d := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
			Set: append(storetest.Entries("a", "1"), storetest.BindingEntry("hank", "h", 0))}
		if err := ps.SaveDelta(ctx, "old", d); err != nil {
			t.Fatal(err)
		}
		data, _, _ := ps.Load(ctx, "old")
		b, _, _ := record.FindBinding(data)
		hook.fn = func() {
			if _, found, err := ps.Take(ctx, "old"); err != nil || !found {
				t.Errorf("Take: %v, %v", found, err)
			}
			nd := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
				Set: append(storetest.Entries("a", "1"), storetest.BindingEntry(b.User, b.Handle, b.Gen))}
			if err := ps.SaveDelta(ctx, "new", nd); err != nil {
				t.Errorf("Renew: %v", err)
			}
		}
		rewrite := &record.Delta{Expiry: exp, Set: append(storetest.Entries("c", "3"), storetest.BindingEntry(b.User, b.Handle, b.Gen))}
		if err := hs.SaveDelta(ctx, "old", rewrite); !errors.Is(err, core.ErrSessionGone) {
			t.Fatalf("rewriting the binding of the taken record: %v, want ErrSessionGone", err)
		}
		if got := indexOf(t, ps, "hank"); got["h"] != "new" {
			t.Fatalf("index after the racing rewrite: %q, want h naming new", got)
		}
		if got, err := ps.DeleteUserSessions(ctx, record.UserKey("hank"), func(string) bool { return true }); err != nil || !slices.Equal(got, []string{"h"}) {
			t.Errorf("DeleteUserSessions = %q, %v; want [h]", got, err)
		}
		if _, found, _ := ps.Load(ctx, "new"); found {
			t.Errorf("the renewed record survived the destroy")
		}
	})
}

// TestUserSave binds, rebinds and unbinds through Save, which writes
// whole records.
func TestUserSave(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		st := newTestStore(t, c)
		exp := time.Now().Add(time.Hour)
		bound := storetest.BoundRecord(exp, "ivy", "h1", 0, "a", "1")
		orig := string(bound)
		if err := st.Save(ctx, "k", bound, exp); err != nil {
			t.Fatal(err)
		}
		if string(bound) != orig {
			t.Errorf("Save stamped the caller's record")
		}
		if got := indexOf(t, st, "ivy"); got["h1"] != "k" {
			t.Errorf("index after Save: %q", got)
		}
		data, _, _ := st.Load(ctx, "k")
		if b, _, _ := record.FindBinding(data); b.Gen == 0 {
			t.Errorf("Save kept generation 0")
		}
		if err := st.Save(ctx, "k", storetest.BoundRecord(exp, "jay", "h2", 0, "a", "1"), exp); err != nil {
			t.Fatal(err)
		}
		if got := indexOf(t, st, "ivy"); len(got) != 0 {
			t.Errorf("ivy's index after the record was saved bound to jay: %q", got)
		}
		if got := indexOf(t, st, "jay"); got["h2"] != "k" {
			t.Errorf("jay's index: %q", got)
		}
		if err := st.Save(ctx, "k", storetest.Record(exp, "a", "1"), exp); err != nil {
			t.Fatal(err)
		}
		if got := indexOf(t, st, "jay"); len(got) != 0 {
			t.Errorf("jay's index after an unbound Save: %q", got)
		}
	})
}

// TestUserNoScript runs the user index with the servers' script caches
// flushed before each step: the pipelined scripts fall back to EVAL. Not
// parallel, like TestNoScript.
func TestUserNoScript(t *testing.T) {
	for name, c := range map[string]redis.UniversalClient{"single": singleClient(t), "cluster": clusterClient(t)} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			st := newTestStore(t, c)
			flush := func() {
				t.Helper()
				if err := st.forEachNode(ctx, func(ctx context.Context, c redis.Cmdable) error { return c.ScriptFlush(ctx).Err() }); err != nil {
					t.Fatal(err)
				}
			}
			exp := time.Now().Add(time.Hour)
			var keys []string
			for i := range 6 {
				k := fmt.Sprintf("k%d", i)
				keys = append(keys, k)
				flush()
				d := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
					Set: []record.Entry{storetest.BindingEntry("kim", fmt.Sprintf("h%d", i), 0)}}
				if err := st.SaveDelta(ctx, k, d); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.Delete(ctx, keys[0]); err != nil {
				t.Fatal(err)
			}
			flush()
			if recs, err := st.UserSessions(ctx, record.UserKey("kim")); err != nil || len(recs) != 5 {
				t.Fatalf("UserSessions = %d records, %v; want 5", len(recs), err)
			}
			if got := indexOf(t, st, "kim"); len(got) != 5 {
				t.Errorf("the stale entry was not pruned: %q", got)
			}
			flush()
			hs, err := st.DeleteUserSessions(ctx, record.UserKey("kim"), func(string) bool { return true })
			if err != nil || len(hs) != 5 {
				t.Fatalf("DeleteUserSessions = %q, %v; want 5 handles", hs, err)
			}
			if got := indexOf(t, st, "kim"); len(got) != 0 {
				t.Errorf("index after DeleteUserSessions: %q", got)
			}
		})
	}
}

// TestUserRewriteBetweenTakeAndRenew writes a stamped binding again
// between a Renew's Take and its write: the rewrite fails, and the Renew,
// whose entry is still there, goes through.
func TestUserRewriteBetweenTakeAndRenew(t *testing.T) {
	userTargets(t, func(t *testing.T, newClient func(hooks ...redis.Hook) redis.UniversalClient) {
		ctx := t.Context()
		hook := &beforeHook{match: func(c []redis.Cmder) bool { return sends(c, "evalsha", saveScript) }}
		hs := newTestStore(t, newClient(hook))
		ps := &Store{client: newClient(), prefix: hs.prefix, maxSize: hs.maxSize}
		warm(t, ps)
		exp := time.Now().Add(time.Hour)
		d := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
			Set: append(storetest.Entries("a", "1"), storetest.BindingEntry("lee", "h", 0))}
		if err := ps.SaveDelta(ctx, "old", d); err != nil {
			t.Fatal(err)
		}
		data, found, err := hs.Take(ctx, "old")
		if err != nil || !found {
			t.Fatalf("Take: %v, %v", found, err)
		}
		b, _, _ := record.FindBinding(data)
		hook.fn = func() {
			rewrite := &record.Delta{Expiry: exp, Set: []record.Entry{storetest.BindingEntry(b.User, b.Handle, b.Gen)}}
			if err := ps.SaveDelta(ctx, "old", rewrite); !errors.Is(err, core.ErrSessionGone) {
				t.Errorf("rewriting the binding of the taken record: %v, want ErrSessionGone", err)
			}
		}
		nd := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
			Set: append(storetest.Entries("a", "1"), storetest.BindingEntry(b.User, b.Handle, b.Gen))}
		if err := hs.SaveDelta(ctx, "new", nd); err != nil {
			t.Fatalf("the Renew after a failed Clear: %v", err)
		}
		if got := indexOf(t, ps, "lee"); got["h"] != "new" {
			t.Errorf("index: %q, want h naming new", got)
		}
	})
}

// TestUserClear empties the store, index hashes included, and checks a
// login that lands while Clear runs: if its session survives the Clear,
// its index entry does too, so that DeleteUserSessions finds it.
func TestUserClear(t *testing.T) {
	userTargets(t, func(t *testing.T, newClient func(hooks ...redis.Hook) redis.UniversalClient) {
		ctx := t.Context()
		hook := &beforeHook{match: func(c []redis.Cmder) bool { return sends(c, "unlink", nil) }}
		hs := newTestStore(t, newClient(hook))
		ps := &Store{client: newClient(), prefix: hs.prefix, maxSize: hs.maxSize}
		exp := time.Now().Add(time.Hour)
		bind := func(key, user, handle string) {
			t.Helper()
			d := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
				Set: []record.Entry{storetest.BindingEntry(user, handle, 0)}}
			if err := ps.SaveDelta(ctx, key, d); err != nil {
				t.Error(err)
			}
		}
		for i := range 20 {
			bind(fmt.Sprintf("a%d", i), "alice", fmt.Sprintf("h%d", i))
			bind(fmt.Sprintf("b%d", i), "bob", fmt.Sprintf("h%d", i))
		}
		hook.fn = func() { bind("late", "alice", "late") }
		if err := hs.Clear(ctx); err != nil {
			t.Fatal(err)
		}
		if got := indexOf(t, ps, "bob"); len(got) != 0 {
			t.Errorf("bob's index after Clear: %q", got)
		}
		_, lateLive, _ := ps.Load(ctx, "late")
		if got := indexOf(t, ps, "alice"); lateLive && (len(got) != 1 || got["late"] != "late") || !lateLive && len(got) != 0 {
			t.Errorf("alice's index after Clear: %q (the late login live: %v)", got, lateLive)
		}
		if _, err := ps.DeleteUserSessions(ctx, record.UserKey("alice"), func(string) bool { return true }); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := ps.Load(ctx, "late"); found {
			t.Errorf("a login during Clear survived DeleteUserSessions")
		}
		// Nothing is left under the prefix.
		if err := ps.Clear(ctx); err != nil {
			t.Fatal(err)
		}
		err := ps.forEachNode(ctx, func(ctx context.Context, c redis.Cmdable) error {
			keys, _, err := c.Scan(ctx, 0, escapeGlob(ps.prefix)+"*", 1<<20).Result()
			if len(keys) != 0 {
				t.Errorf("keys left after Clear: %q", keys)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestUserStaleClear: a request that loaded the session while it was
// bound to alice clears it after another request unbound it or bound it
// to bob and alice logged out everywhere. Clear keeps the stored binding:
// the session does not go back to alice.
func TestUserStaleClear(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		st := newTestStore(t, c)
		m := newUserManager(st)
		for _, then := range []string{"", "bob"} {
			d := login(t, m, "alice")
			stale, err := m.Load(ctx, d.token)
			if err != nil {
				t.Fatal(err)
			}
			if d, err = request(t, m, d, func(s *core.Session) { s.SetUser(then); s.Set("user", then) }); err != nil {
				t.Fatal(err)
			}
			if _, err := m.DestroyUserSessions(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
			stale.Clear()
			stale.Set("cart", "empty")
			if _, err := m.Commit(ctx, stale); err != nil {
				t.Fatal(err)
			}
			s, err := m.Load(ctx, d.token)
			if err != nil {
				t.Fatal(err)
			}
			if s.User() != then {
				t.Errorf("then %q: after the stale Clear the session is bound to %q", then, s.User())
			}
			if hs := handlesOf(t, m, "alice"); len(hs) != 0 {
				t.Errorf("then %q: alice lists %q", then, hs)
			}
			if then != "" {
				if hs := handlesOf(t, m, then); !slices.Equal(hs, []string{s.Handle()}) {
					t.Errorf("%s lists %q, want [%s]", then, hs, s.Handle())
				}
			}
		}
	})
}

// TestUserStaleEntryKeepsOtherHandle: a stale entry (a crash can leave
// one) naming the key of a session now bound to the same user under
// another handle does not make "log out other devices" log out the device
// it keeps.
func TestUserStaleEntryKeepsOtherHandle(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		st := newTestStore(t, c)
		m := newUserManager(st)
		d := login(t, m, "alice")
		key := storeKey(d.token)
		if err := st.client.HSet(ctx, st.userHash(record.UserKey("alice")), "old-handle", key).Err(); err != nil {
			t.Fatal(err)
		}
		if n, err := m.DestroyUserSessions(ctx, "alice", d.handle); err != nil || n != 0 {
			t.Errorf("DestroyUserSessions(alice, except current) = %d, %v; want 0", n, err)
		}
		if err := m.DestroySession(ctx, "alice", "old-handle"); !errors.Is(err, core.ErrSessionGone) {
			t.Errorf("DestroySession(alice, old-handle) = %v, want ErrSessionGone", err)
		}
		if !loggedIn(t, m, d, "alice") {
			t.Errorf("the kept device was logged out")
		}
		if got := handlesOf(t, m, "alice"); !slices.Equal(got, []string{d.handle}) {
			t.Errorf("alice lists %q, want [%s]", got, d.handle)
		}
	})
}
