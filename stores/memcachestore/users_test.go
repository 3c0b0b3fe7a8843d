package memcachestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// tripConn counts round trips: a write that follows a read (or opens the
// connection) starts one, since gomemcache sends a command, flushes, and
// reads the reply before the next.
type tripConn struct {
	net.Conn
	trips   *atomic.Int64
	reading atomic.Bool
}

func (c *tripConn) Write(p []byte) (int, error) {
	if c.reading.Swap(false) {
		c.trips.Add(1)
	}
	return c.Conn.Write(p)
}

func (c *tripConn) Read(p []byte) (int, error) {
	c.reading.Store(true)
	return c.Conn.Read(p)
}

// newCountingStore returns a store on the shared test server whose client
// counts its round trips in the returned counter.
func newCountingStore(t *testing.T) (*Store, *memcache.Client, *atomic.Int64) {
	t.Helper()
	trips := new(atomic.Int64)
	c := newClient(t, memcacheAddr(t))
	c.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := &tripConn{Conn: nc, trips: trips}
		tc.reading.Store(true)
		return tc, nil
	}
	s, err := New(c, WithPrefix(randomPrefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c, trips
}

// bindNew creates the record key bound to user under handle, as the
// manager's first commit after SetUser does it.
func bindNew(t testing.TB, s *Store, key, user, handle string, exp time.Time) {
	t.Helper()
	d := &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp,
		Set: []record.Entry{entry("v", key), storetest.BindingEntry(user, handle, 0)}}
	if err := s.SaveDelta(t.Context(), key, d); err != nil {
		t.Fatalf("bind %s to %s: %v", key, user, err)
	}
}

// rawUserItem returns the decoded item of user as memcached holds it.
func rawUserItem(t testing.TB, s *Store, c *memcache.Client, user string) (*userItem, bool) {
	t.Helper()
	it, err := c.Get(s.userItemKey(record.UserKey(user)))
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	u, err := decodeUserItem(it.Value)
	if err != nil {
		t.Fatalf("the item of %s is malformed: %v", user, err)
	}
	return u, true
}

// evict deletes the item of user with the raw client, as memcached's LRU
// would.
func evict(t testing.TB, s *Store, c *memcache.Client, user string) {
	t.Helper()
	if err := c.Delete(s.userItemKey(record.UserKey(user))); err != nil {
		t.Fatalf("delete the item of %s: %v", user, err)
	}
}

// TestUserRoundTrips counts the round trips of each operation: unbound
// sessions cost what they cost without the index.
func TestUserRoundTrips(t *testing.T) {
	t.Parallel()
	s, c, trips := newCountingStore(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	check := func(name string, want int64, fn func() error) {
		t.Helper()
		trips.Store(0)
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := trips.Load(); got != want {
			t.Errorf("%s: %d round trips, want %d", name, got, want)
		}
	}
	load := func(key string, want bool) func() error {
		return func() error {
			_, found, err := s.Load(ctx, key)
			if err == nil && found != want {
				err = fmt.Errorf("Load(%s) found %v, want %v", key, found, want)
			}
			return err
		}
	}
	update := func(key string) func() error {
		return func() error {
			return s.SaveDelta(ctx, key, &record.Delta{Expiry: exp, Set: []record.Entry{entry("w", "1")}})
		}
	}

	// Unbound sessions: what they cost without a user index.
	check("Save, unbound", 1, func() error { return s.Save(ctx, "plain", storetest.Record(exp, "a", "1"), exp) })
	check("Load, unbound", 1, load("plain", true))
	check("Load, missing", 1, load("nothing", false))
	check("SaveDelta, unbound", 2, update("plain"))
	check("SaveDelta create, unbound", 2, func() error {
		return s.SaveDelta(ctx, "plain2", &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp, Set: []record.Entry{entry("a", "1")}})
	})
	check("Touch, unbound", 2, func() error { return s.Touch(ctx, "plain", exp) })
	check("TTL, unbound", 1, func() error { _, _, err := s.TTL(ctx, "plain"); return err })
	check("Take, unbound", 2, func() error { _, _, err := s.Take(ctx, "plain2"); return err })

	// Bound sessions.
	check("SaveDelta create, new binding", 4, func() error {
		return s.SaveDelta(ctx, "b1", &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp,
			Set: []record.Entry{entry("a", "1"), storetest.BindingEntry("alice", "h1", 0)}})
	})
	check("Load, bound", 2, load("b1", true))
	check("SaveDelta, bound, binding unchanged", 2, update("b1"))
	check("Touch, bound", 2, func() error { return s.Touch(ctx, "b1", exp) })
	var taken []byte
	check("Take, bound", 3, func() error {
		data, found, err := s.Take(ctx, "b1")
		if err == nil && !found {
			err = errors.New("not found")
		}
		taken = data
		return err
	})
	b, _, err := record.FindBinding(taken)
	if err != nil {
		t.Fatal(err)
	}
	check("SaveDelta create carrying the binding (Renew)", 4, func() error {
		return s.SaveDelta(ctx, "b2", &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp,
			Set: []record.Entry{entry("a", "1"), storetest.BindingEntry(b.User, b.Handle, b.Gen)}})
	})
	check("SaveDelta binding an existing record", 4, func() error {
		return s.SaveDelta(ctx, "plain", &record.Delta{Expiry: exp, Set: []record.Entry{storetest.BindingEntry("alice", "h2", 0)}})
	})
	check("SaveDelta rebinding to another user", 7, func() error {
		return s.SaveDelta(ctx, "plain", &record.Delta{Expiry: exp, Set: []record.Entry{storetest.BindingEntry("dave", "h4", 0)}})
	})
	check("SaveDelta unbinding", 5, func() error {
		return s.SaveDelta(ctx, "plain", &record.Delta{Expiry: exp, Delete: []string{record.BindingKey}})
	})
	check("Save, new binding", 3, func() error {
		return s.Save(ctx, "saved", record.Append(nil, record.NewHeader(false, time.Now(), exp), []record.Entry{storetest.BindingEntry("erin", "h5", 0)}), exp)
	})
	check("Load, bound by Save", 2, load("saved", true))
	check("UserSessions", 2, func() error {
		recs, err := s.UserSessions(ctx, record.UserKey("alice"))
		if err == nil && len(recs) != 1 {
			err = fmt.Errorf("%d sessions, want 1", len(recs))
		}
		return err
	})
	check("DeleteUserSessions of one session", 4, func() error {
		hs, err := s.DeleteUserSessions(ctx, record.UserKey("alice"), func(string) bool { return true })
		if err == nil && !slices.Equal(hs, []string{"h1"}) {
			err = fmt.Errorf("deleted %q, want [h1]", hs)
		}
		return err
	})
	check("Load, deleted by DeleteUserSessions", 1, load("b2", false))
	check("SaveDelta create, another new binding", 4, func() error {
		return s.SaveDelta(ctx, "b3", &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp,
			Set: []record.Entry{entry("a", "1"), storetest.BindingEntry("carol", "h3", 0)}})
	})
	if err := c.Delete(s.userItemKey(record.UserKey("carol"))); err != nil {
		t.Fatal(err)
	}
	check("Load, bound, item evicted", 2, load("b3", false))
	check("UserSessions of a user never bound", 1, func() error { _, err := s.UserSessions(ctx, record.UserKey("nobody")); return err })
}

// device is one client of a user: its token and handle.
type device struct{ token, handle string }

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
	res, err := m.Commit(t.Context(), s)
	if err != nil || res.Token == "" || h == "" {
		t.Fatalf("login of %s: token %q, handle %q, %v", user, res.Token, h, err)
	}
	return device{res.Token, h}
}

// request loads d's session, runs fn on it and commits it, and returns d
// with its token after the commit.
func request(t *testing.T, m *core.Manager, d device, fn func(s *core.Session)) (device, error) {
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
	}
	return d, err
}

// loggedIn reports whether d's token loads a session of user, with its
// data.
func loggedIn(t *testing.T, m *core.Manager, d device, user string) bool {
	t.Helper()
	s, err := m.Load(t.Context(), d.token)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := s.Get("user")
	if s.User() != "" && s.User() != user {
		t.Errorf("a token of %s loads a session of %q", user, s.User())
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
		if in.User != user {
			t.Errorf("UserSessions(%s) lists %+v", user, in)
		}
		hs = append(hs, in.Handle)
	}
	slices.Sort(hs)
	return hs
}

func sorted(hs ...string) []string { return slices.Sorted(slices.Values(hs)) }

func newManager(t *testing.T, s core.Store) *core.Manager {
	t.Helper()
	return core.NewManager(s, core.WithLogger(slog.New(slog.DiscardHandler)))
}

// TestUserManager goes end to end through the manager: three devices, log
// out the others, another user untouched, a device renewed after binding
// still found and destroyed, single-device revoke.
func TestUserManager(t *testing.T) {
	t.Parallel()
	s, c := newTestStore(t)
	m := newManager(t, s)
	ctx := t.Context()
	a := []device{login(t, m, "alice"), login(t, m, "alice"), login(t, m, "alice")}
	bob := login(t, m, "bob")
	if got, want := handlesOf(t, m, "alice"), sorted(a[0].handle, a[1].handle, a[2].handle); !slices.Equal(got, want) {
		t.Fatalf("alice's devices: %q, want %q", got, want)
	}

	// A device renewed after binding keeps its handle and is still found.
	old := a[2]
	var err error
	if a[2], err = request(t, m, a[2], func(s *core.Session) { s.Set("n", 1); s.Renew() }); err != nil {
		t.Fatal(err)
	}
	if a[2].token == old.token {
		t.Fatal("Renew kept the token")
	}
	if loggedIn(t, m, old, "alice") {
		t.Error("the token before the Renew still loads")
	}
	if got, want := handlesOf(t, m, "alice"), sorted(a[0].handle, a[1].handle, a[2].handle); !slices.Equal(got, want) {
		t.Fatalf("after a Renew, alice's devices: %q, want %q", got, want)
	}
	if !loggedIn(t, m, a[2], "alice") {
		t.Fatal("the renewed device is logged out")
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
		t.Error("bob was logged out by alice's log out everywhere")
	}
	if got := handlesOf(t, m, "alice"); !slices.Equal(got, []string{a[1].handle}) {
		t.Errorf("after log out others: %q", got)
	}
	if got := handlesOf(t, m, "bob"); !slices.Equal(got, []string{bob.handle}) {
		t.Errorf("bob's devices: %q", got)
	}

	// Another user's handle revokes nothing; the user's own does.
	if err := m.DestroySession(ctx, "alice", bob.handle); !errors.Is(err, core.ErrSessionGone) {
		t.Errorf("DestroySession(alice, bob's handle) = %v, want ErrSessionGone", err)
	}
	if !loggedIn(t, m, bob, "bob") {
		t.Fatal("alice revoked bob's device")
	}
	if err := m.DestroySession(ctx, "bob", bob.handle); err != nil {
		t.Fatalf("DestroySession(bob): %v", err)
	}
	if loggedIn(t, m, bob, "bob") {
		t.Error("bob's revoked device is still logged in")
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
	// The records are gone, not only invalid.
	for i, d := range a {
		if _, err := c.Get(s.itemKey(keyOf(d))); !errors.Is(err, memcache.ErrCacheMiss) {
			t.Errorf("device %d: memcached still holds the destroyed record (%v)", i, err)
		}
	}
	if n, err := m.DestroyUserSessions(ctx, "alice"); n != 0 || err != nil {
		t.Errorf("a second DestroyUserSessions(alice) = %d, %v; want 0", n, err)
	}
}

// keyOf returns the store key of d's session (core hashes the token).
func keyOf(d device) string { return core.StoreKey(d.token) }

// TestUserIndexEvicted deletes a user's item by hand, as memcached's LRU
// may: every bound session of that user is logged out at once, whatever
// it does next, while another user's stay; a new login afterwards works
// and the old sessions stay dead.
func TestUserIndexEvicted(t *testing.T) {
	t.Parallel()
	s, c := newTestStore(t)
	m := newManager(t, s)
	ctx := t.Context()
	a := []device{login(t, m, "alice"), login(t, m, "alice"), login(t, m, "alice")}
	bob := login(t, m, "bob")
	// Requests in flight, loaded before the eviction.
	inflight := make([]*core.Session, 4)
	for i := range inflight {
		var err error
		if inflight[i], err = m.Load(ctx, a[i%3].token); err != nil || inflight[i].User() != "alice" {
			t.Fatalf("load: user %q, %v", inflight[i].User(), err)
		}
	}
	oldGen := func() uint64 {
		u, ok := rawUserItem(t, s, c, "alice")
		if !ok {
			t.Fatal("alice has no item")
		}
		return u.gen
	}()

	evict(t, s, c, "alice")

	for i, d := range a {
		if loggedIn(t, m, d, "alice") {
			t.Errorf("device %d of alice is logged in after the eviction", i)
		}
		if _, found, err := s.Load(ctx, keyOf(d)); err != nil || found {
			t.Errorf("device %d: Load = found %v, err %v; want not found", i, found, err)
		}
		if _, found, err := s.TTL(ctx, keyOf(d)); err != nil || found {
			t.Errorf("device %d: TTL = found %v, err %v; want not found", i, found, err)
		}
	}
	if !loggedIn(t, m, bob, "bob") {
		t.Error("bob was logged out by alice's eviction")
	}
	if hs := handlesOf(t, m, "alice"); len(hs) != 0 {
		t.Errorf("alice lists %q after the eviction", hs)
	}
	if n, err := m.DestroyUserSessions(ctx, "alice"); n != 0 || err != nil {
		t.Errorf("DestroyUserSessions(alice) after the eviction = %d, %v; want 0, nil", n, err)
	}
	if err := m.DestroySession(ctx, "alice", a[0].handle); !errors.Is(err, core.ErrSessionGone) {
		t.Errorf("DestroySession after the eviction = %v, want ErrSessionGone", err)
	}

	// A new login makes a new item, with a new generation.
	fresh := login(t, m, "alice")
	if !loggedIn(t, m, fresh, "alice") {
		t.Fatal("a login after the eviction is not logged in")
	}
	if hs := handlesOf(t, m, "alice"); !slices.Equal(hs, []string{fresh.handle}) {
		t.Errorf("alice lists %q, want only the new login %q", hs, fresh.handle)
	}
	if u, _ := rawUserItem(t, s, c, "alice"); u.gen == oldGen {
		t.Errorf("the new item has the evicted one's generation %d", u.gen)
	}

	// The requests in flight cannot bring theirs back: not by a Renew,
	// not by unbinding, not by rebinding, not by a save.
	inflight[0].Renew()
	if _, err := m.Commit(ctx, inflight[0]); !errors.Is(err, core.ErrSessionGone) {
		t.Errorf("Renew in flight after the eviction: %v, want ErrSessionGone", err)
	}
	// The manager drops the changes of a delta that finds its session
	// gone (core.ErrSessionGone) and reports no error: what counts is
	// that the session does not come back.
	inflight[1].SetUser("")
	inflight[2].SetUser("mallory")
	inflight[3].Set("late", 1) // written: the record stays invalid
	for i, sess := range inflight[1:] {
		res, err := m.Commit(ctx, sess)
		if err != nil {
			t.Errorf("commit %d in flight after the eviction: %v", i+1, err)
		}
		if i < 2 && res.Token != "" {
			t.Errorf("commit %d in flight after the eviction rebound or unbound the session (token %q)", i+1, res.Token)
		}
	}
	for i, d := range a {
		if loggedIn(t, m, d, "alice") || loggedIn(t, m, d, "mallory") {
			t.Errorf("device %d of alice came back", i)
		}
		sess, err := m.Load(ctx, d.token)
		if err != nil {
			t.Fatal(err)
		}
		if sess.ID() != "" {
			t.Errorf("device %d loads a session (user %q)", i, sess.User())
		}
	}
	if hs := handlesOf(t, m, "mallory"); len(hs) != 0 {
		t.Errorf("mallory lists %q", hs)
	}
	if hs := handlesOf(t, m, "alice"); !slices.Equal(hs, []string{fresh.handle}) {
		t.Errorf("alice lists %q, want only %q", hs, fresh.handle)
	}
	if n, err := m.DestroyUserSessions(ctx, "alice"); n != 1 || err != nil {
		t.Errorf("DestroyUserSessions(alice) = %d, %v; want 1", n, err)
	}
	if loggedIn(t, m, fresh, "alice") {
		t.Error("the new login survived DestroyUserSessions")
	}
}

// TestUserRenewRacesDestroy races a device's Renew against
// DestroyUserSessions through the manager: once both returned, neither
// the old token nor the new one loads a session of the user.
func TestUserRenewRacesDestroy(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	m := newManager(t, s)
	ctx := t.Context()
	gone := 0
	for i := range 30 {
		user := fmt.Sprintf("racer-%d", i)
		d := login(t, m, user)
		other := login(t, m, user)
		sess, err := m.Load(ctx, d.token)
		if err != nil || sess.User() != user {
			t.Fatalf("load: %q, %v", sess.User(), err)
		}
		var wg sync.WaitGroup
		var res core.CommitResult
		var renewErr error
		wg.Go(func() {
			sess.Renew()
			res, renewErr = m.Commit(ctx, sess)
		})
		wg.Go(func() {
			if _, err := m.DestroyUserSessions(ctx, user); err != nil {
				t.Errorf("DestroyUserSessions: %v", err)
			}
		})
		wg.Wait()
		if renewErr != nil {
			if !errors.Is(renewErr, core.ErrSessionGone) {
				t.Errorf("round %d: Renew failed with %v, want ErrSessionGone", i, renewErr)
			}
			gone++
		}
		for _, tok := range []string{d.token, res.Token, other.token} {
			if tok != "" && loggedIn(t, m, device{token: tok}, user) {
				t.Fatalf("round %d: a session of %s is live after the race (Renew: %v)", i, user, renewErr)
			}
		}
		if hs := handlesOf(t, m, user); len(hs) != 0 {
			t.Errorf("round %d: %s lists %q", i, user, hs)
		}
	}
	t.Logf("%d of 30 Renews lost the race", gone)
}

// TestUserStoreRenewRacesDestroy is the conformance kit's race at the
// store level, with the destroy landing between the Renew's repoint and
// its record write as often as chance allows, over more rounds.
func TestUserStoreRenewRacesDestroy(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	for i := range 50 {
		from, to, user := fmt.Sprintf("f%d", i), fmt.Sprintf("t%d", i), fmt.Sprintf("u%d", i)
		bindNew(t, s, from, user, "h", exp)
		data, found, err := s.Take(ctx, from)
		if err != nil || !found {
			t.Fatalf("Take: %v %v", found, err)
		}
		b, _, _ := record.FindBinding(data)
		var wg sync.WaitGroup
		wg.Go(func() {
			d := &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp,
				Set: []record.Entry{entry("v", "x"), storetest.BindingEntry(b.User, b.Handle, b.Gen)}}
			if err := s.SaveDelta(ctx, to, d); err != nil && !errors.Is(err, core.ErrSessionGone) {
				t.Errorf("Renew: %v", err)
			}
		})
		wg.Go(func() {
			if _, err := s.DeleteUserSessions(ctx, record.UserKey(user), func(string) bool { return true }); err != nil {
				t.Errorf("DeleteUserSessions: %v", err)
			}
		})
		wg.Wait()
		if _, found, err := s.Load(ctx, to); err != nil || found {
			t.Fatalf("round %d: the renewed record is live (err %v)", i, err)
		}
		if _, found, err := s.Take(ctx, to); err != nil || found {
			t.Fatalf("round %d: the renewed record can be taken (err %v)", i, err)
		}
	}
}

// TestUserItemMalformed writes hostile bytes into a user's item: the
// user's sessions are invalid (never an error loop, never a panic), the
// listing is empty, and the next login replaces the item.
func TestUserItemMalformed(t *testing.T) {
	t.Parallel()
	s, c := newTestStore(t)
	m := newManager(t, s)
	ctx := t.Context()
	d := login(t, m, "alice")
	ik := s.userItemKey(record.UserKey("alice"))
	for _, v := range [][]byte{nil, {1}, {2, 0, 0, 0, 0, 0, 0, 0, 1}, bytes.Repeat([]byte{0xff}, 300)} {
		if err := c.Set(&memcache.Item{Key: ik, Value: v}); err != nil {
			t.Fatal(err)
		}
		if loggedIn(t, m, d, "alice") {
			t.Errorf("item %x: alice is logged in", v)
		}
		if hs := handlesOf(t, m, "alice"); len(hs) != 0 {
			t.Errorf("item %x: alice lists %q", v, hs)
		}
		if n, err := m.DestroyUserSessions(ctx, "alice"); n != 0 || err != nil {
			t.Errorf("item %x: DestroyUserSessions = %d, %v", v, n, err)
		}
	}
	fresh := login(t, m, "alice")
	if !loggedIn(t, m, fresh, "alice") || loggedIn(t, m, d, "alice") {
		t.Error("after a login over a malformed item: the new login must be in, the old one out")
	}
	if hs := handlesOf(t, m, "alice"); !slices.Equal(hs, []string{fresh.handle}) {
		t.Errorf("alice lists %q", hs)
	}
}

func TestDecodeUserItem(t *testing.T) {
	t.Parallel()
	u := &userItem{gen: 42, entries: []userEntry{{"h1", "k1", 7}, {"h2", "key-2", 8}}}
	b, err := u.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeUserItem(b)
	if err != nil || got.gen != 42 || !slices.Equal(got.entries, u.entries) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if got, err := decodeUserItem(b[:userItemHeader]); err != nil || len(got.entries) != 0 {
		t.Errorf("no entries: %+v, %v", got, err)
	}
	// Every truncation but at an entry's end is an error, never a panic.
	ends := []int{userItemHeader, userItemHeader + 1 + 2 + 2 + 2 + 8}
	for n := range len(b) {
		if slices.Contains(ends, n) {
			continue
		}
		if _, err := decodeUserItem(b[:n]); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
	dup, _ := (&userItem{gen: 1, entries: []userEntry{{"h", "a", 0}, {"h", "b", 0}}}).encode()
	if listsEntry(dup, 1, "h", "a") {
		t.Error("listsEntry accepts a handle listed twice")
	}
	zeroGen := slices.Clone(b)
	binary.BigEndian.PutUint64(zeroGen[1:], 0)
	for name, v := range map[string][]byte{
		"duplicate handle": dup,
		"zero generation":  zeroGen,
		"version 2":        append([]byte{2}, b[1:]...),
		"empty handle":     append(b[:userItemHeader:userItemHeader], 0, 0, 1, 'k', 0, 0, 0, 0, 0, 0, 0, 0),
		"empty key":        append(b[:userItemHeader:userItemHeader], 1, 'h', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
		"long key length":  append(b[:userItemHeader:userItemHeader], 1, 'h', 0xff, 0xff, 'k'),
	} {
		if _, err := decodeUserItem(v); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := (&userItem{gen: 1, entries: []userEntry{{"", "k", 0}}}).encode(); err == nil {
		t.Error("encode accepted an empty handle")
	}
}

func FuzzDecodeUserItem(f *testing.F) {
	b, _ := (&userItem{gen: 9, entries: []userEntry{{"h", "k", 1}}}).encode()
	f.Add(b)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		listsEntry(b, 9, "h", "k") // never panics
		u, err := decodeUserItem(b)
		if err != nil {
			return
		}
		again, err := u.encode()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("a decoded item does not encode back: %x, %v", again, err)
		}
		for _, e := range u.entries {
			if !listsEntry(b, u.gen, e.handle, e.key) {
				t.Fatalf("listsEntry misses the entry %+v", e)
			}
			if listsEntry(b, u.gen+1, e.handle, e.key) || listsEntry(b, u.gen, e.handle, e.key+"x") {
				t.Fatalf("listsEntry accepts another generation or key for %+v", e)
			}
		}
	})
}

// TestUserPrune checks which entries a listing prunes: those older than
// the grace whose record is missing or bound otherwise, never one whose
// record is live and unbound (a bind in flight), never a young one.
func TestUserPrune(t *testing.T) {
	t.Parallel()
	s, c := newTestStore(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	for _, k := range []string{"live", "deleted", "rebound", "unbound"} {
		bindNew(t, s, k, "alice", "h-"+k, exp)
	}
	if err := s.Delete(ctx, "deleted"); err != nil {
		t.Fatal(err)
	}
	// Rewritten behind the index's back, as a crash between a record
	// write and the removal of the old entry would leave it.
	if err := c.Set(&memcache.Item{Key: s.itemKey("unbound"), Value: storetest.Record(exp, "a", "1")}); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(&memcache.Item{Key: s.itemKey("rebound"), Value: record.Append(nil, record.NewHeader(false, time.Now(), exp), []record.Entry{storetest.BindingEntry("bob", "hb", 1)})}); err != nil {
		t.Fatal(err)
	}
	entries := func() []string {
		u, _ := rawUserItem(t, s, c, "alice")
		var hs []string
		for _, e := range u.entries {
			hs = append(hs, e.handle)
		}
		return sorted(hs...)
	}
	list := func() []string {
		recs, err := s.UserSessions(ctx, record.UserKey("alice"))
		if err != nil {
			t.Fatal(err)
		}
		var hs []string
		for _, r := range recs {
			b, _, _ := record.FindBinding(r.Data)
			hs = append(hs, b.Handle)
		}
		return hs
	}
	all := sorted("h-live", "h-deleted", "h-rebound", "h-unbound")
	if got := list(); !slices.Equal(got, []string{"h-live"}) {
		t.Errorf("listing = %q, want [h-live]", got)
	}
	if got := entries(); !slices.Equal(got, all) {
		t.Errorf("young entries pruned: %q left, want %q", got, all)
	}
	s.pruneGrace = 0
	if got := list(); !slices.Equal(got, []string{"h-live"}) {
		t.Errorf("listing = %q, want [h-live]", got)
	}
	if got, want := entries(), sorted("h-live", "h-unbound"); !slices.Equal(got, want) {
		t.Errorf("after pruning: %q left, want %q", got, want)
	}
}

// TestUserUnbindInvalid checks that a record logged out by an eviction
// cannot come back by being unbound or rebound, at the store level.
func TestUserUnbindInvalid(t *testing.T) {
	t.Parallel()
	s, c := newTestStore(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	bindNew(t, s, "k", "alice", "h", exp)
	evict(t, s, c, "alice")
	for name, d := range map[string]*record.Delta{
		"unbind":      {Expiry: exp, Delete: []string{record.BindingKey}},
		"rebind":      {Expiry: exp, Set: []record.Entry{storetest.BindingEntry("bob", "hb", 0)}},
		"clear":       {Expiry: exp, Clear: true},
		"same handle": {Expiry: exp, Set: []record.Entry{storetest.BindingEntry("alice", "h", 0)}},
	} {
		err := s.SaveDelta(ctx, "k", d)
		// Clear keeps the binding (see record.Delta) and writing the same
		// handle again keeps the old generation: both may succeed, and
		// the record stays invalid.
		if name != "same handle" && name != "clear" && !errors.Is(err, core.ErrSessionGone) {
			t.Errorf("%s of an invalid record: %v, want ErrSessionGone", name, err)
		}
		if _, found, err := s.Load(ctx, "k"); err != nil || found {
			t.Errorf("after %s: Load = found %v, %v", name, found, err)
		}
	}
	if _, ok := rawUserItem(t, s, c, "bob"); ok {
		t.Error("the refused rebind left an item for bob")
	}
}

// TestUserItemKey checks that user items never share a key with a
// session, whatever the session key.
func TestUserItemKey(t *testing.T) {
	t.Parallel()
	s, err := New(memcache.New("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	uk := record.UserKey("alice")
	ik := s.userItemKey(uk)
	if ik != DefaultPrefix+"!"+uk {
		t.Errorf("userItemKey = %q", ik)
	}
	for _, k := range []string{"!" + uk, uk, "u:" + uk, "#" + uk} {
		if s.itemKey(k) == ik {
			t.Errorf("session key %q shares the user item's key", k)
		}
	}
	if k := s.userItemKey("not hex"); len(k) != len(ik) || k == ik {
		t.Errorf("userItemKey(not hex) = %q", k)
	}
	long, _ := New(memcache.New("127.0.0.1:1"), WithPrefix(string(bytes.Repeat([]byte("p"), maxPrefixLen))))
	if k := long.userItemKey(uk); len(k) > maxKeyLen {
		t.Errorf("user item key of %d bytes under the longest prefix", len(k))
	}
}

// TestUserPruneOnBind checks that logins followed by logouts (Delete,
// which leaves the entry) do not grow a user's item without bound: a new
// binding prunes the item once it holds pruneAt entries, and keeps the
// live ones.
func TestUserPruneOnBind(t *testing.T) {
	t.Parallel()
	s, c, trips := newCountingStore(t)
	s.pruneGrace = 0
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	for i := range 3 * pruneAt {
		key := fmt.Sprintf("k%d", i)
		bindNew(t, s, key, "alice", fmt.Sprintf("h%d", i), exp)
		if i%4 != 0 {
			if err := s.Delete(ctx, key); err != nil { // a logout
				t.Fatal(err)
			}
		}
	}
	u, _ := rawUserItem(t, s, c, "alice")
	if len(u.entries) > pruneAt+1 {
		t.Errorf("after %d logins and logouts the item holds %d entries", 3*pruneAt, len(u.entries))
	}
	recs, err := s.UserSessions(ctx, record.UserKey("alice"))
	if err != nil || len(recs) != 3*pruneAt/4 {
		t.Errorf("UserSessions: %d sessions, %v; want %d", len(recs), err, 3*pruneAt/4)
	}
	// With pruneAt live sessions, a login reads their records first.
	for i := range pruneAt {
		bindNew(t, s, fmt.Sprintf("bob%d", i), "bob", fmt.Sprintf("h%d", i), exp)
	}
	trips.Store(0)
	bindNew(t, s, "bob-last", "bob", "hl", exp)
	if got := trips.Load(); got != 5 {
		t.Errorf("a new binding over %d entries: %d round trips, want 5", pruneAt, got)
	}
	if u, _ := rawUserItem(t, s, c, "bob"); len(u.entries) != pruneAt+1 {
		t.Errorf("bob's item holds %d entries, want %d", len(u.entries), pruneAt+1)
	}
}

// startLocalMemcached starts a memcached of the test's own on a free port
// of 23200-23299.
func startLocalMemcached(t *testing.T) *memcachedProc {
	t.Helper()
	for p := 23250; p < 23300; p++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		return startMemcached(t, p)
	}
	t.Fatal("no free port in 23250-23299")
	return nil
}

// TestUserTwoServers spreads users' items and records over two servers:
// listing and destroying read across both, and while the server holding
// a user's item is down, that user's bound sessions fail loudly rather
// than log out, and come back logged out when it restarts empty.
func TestUserTwoServers(t *testing.T) {
	a, b := startLocalMemcached(t), startLocalMemcached(t)
	ss := new(memcache.ServerList)
	if err := ss.SetServers(a.addr, b.addr); err != nil {
		t.Fatal(err)
	}
	c := memcache.NewFromSelector(ss)
	c.Timeout = testTimeout
	t.Cleanup(func() { c.Close() })
	s, err := New(c, WithPrefix(randomPrefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, s)
	ctx := t.Context()
	server := func(ik string) string {
		addr, err := ss.PickServer(ik)
		if err != nil {
			t.Fatal(err)
		}
		return addr.String()
	}
	// A user whose item is on b, with devices on both servers.
	var user string
	var devs []device
	for i := 0; user == ""; i++ {
		u := fmt.Sprintf("user-%d", i)
		if server(s.userItemKey(record.UserKey(u))) == b.addr {
			user = u
		}
	}
	spread := map[string]bool{}
	for len(devs) < 4 || len(spread) < 2 {
		d := login(t, m, user)
		devs = append(devs, d)
		spread[server(s.itemKey(keyOf(d)))] = true
	}
	var hs []string
	for _, d := range devs {
		hs = append(hs, d.handle)
	}
	if got := handlesOf(t, m, user); !slices.Equal(got, sorted(hs...)) {
		t.Fatalf("devices over two servers: %q, want %q", got, sorted(hs...))
	}
	if n, err := m.DestroyUserSessions(ctx, user, devs[0].handle); n != len(devs)-1 || err != nil {
		t.Fatalf("DestroyUserSessions = %d, %v; want %d", n, err, len(devs)-1)
	}
	for i, d := range devs {
		if got := loggedIn(t, m, d, user); got != (i == 0) {
			t.Errorf("device %d logged in: %v", i, got)
		}
	}

	b.stop()
	if _, found, err := s.Load(ctx, keyOf(devs[0])); err == nil || found {
		t.Errorf("Load of a bound session while its user's item's server is down = found %v, err %v; want an error", found, err)
	}
	if _, err := m.UserSessions(ctx, user); err == nil {
		t.Error("UserSessions while the item's server is down: no error")
	}
	startMemcached(t, b.port) // empty, same address
	if loggedIn(t, m, devs[0], user) {
		t.Error("the device survived its user's item's server restarting empty")
	}
	if _, err := c.Get(s.itemKey(keyOf(devs[0]))); err != nil && server(s.itemKey(keyOf(devs[0]))) == a.addr {
		t.Errorf("the device's record on the live server: %v", err)
	}
	d := login(t, m, user)
	if !loggedIn(t, m, d, user) {
		t.Error("a login after the restart is not logged in")
	}
}
