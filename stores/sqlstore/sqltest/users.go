package sqltest

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
	"github.com/sessionkit/sessionkit/stores/sqlstore"
)

// login starts a new session on m bound to user, as a login request does,
// and returns its token and handle.
func login(t *testing.T, m *core.Manager, user string) (token, handle string) {
	t.Helper()
	s, err := m.Load(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	s.Set("name", user)
	s.SetUser(user)
	res, err := m.Commit(t.Context(), s)
	if err != nil {
		t.Fatalf("login of %s: %v", user, err)
	}
	if res.Token == "" || s.Handle() == "" {
		t.Fatalf("login of %s: token %q, handle %q", user, res.Token, s.Handle())
	}
	return res.Token, s.Handle()
}

// request runs fn on the session of token in a request of its own and
// returns the token after the commit and the commit's error.
func request(t *testing.T, m *core.Manager, token string, fn func(s *core.Session)) (string, error) {
	t.Helper()
	s, err := m.Load(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	fn(s)
	res, err := m.Commit(t.Context(), s)
	return res.Token, err
}

// userOf returns the user the session of token is bound to: "" when the
// token names no live session (Load hands out a new one).
func userOf(t *testing.T, m *core.Manager, token string) string {
	t.Helper()
	s, err := m.Load(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID() != token {
		return ""
	}
	return s.User()
}

func wantHandles(t *testing.T, m *core.Manager, user string, want ...string) {
	t.Helper()
	infos, err := m.UserSessions(t.Context(), user)
	if err != nil {
		t.Fatalf("UserSessions(%s): %v", user, err)
	}
	var got []string
	for _, in := range infos {
		if in.User != user {
			t.Errorf("UserSessions(%s) lists a session of %q", user, in.User)
		}
		got = append(got, in.Handle)
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("UserSessions(%s) = %q, want %q", user, got, want)
	}
}

// wantStoreHandles is wantHandles through the store, for records written
// with the kit's fixed creation time, which the manager counts as past
// their lifetime.
func wantStoreHandles(t *testing.T, s Store, user string, want ...string) {
	t.Helper()
	recs, err := s.UserSessions(t.Context(), record.UserKey(user))
	if err != nil {
		t.Fatalf("UserSessions(%s): %v", user, err)
	}
	var got []string
	for _, r := range recs {
		b, found, err := record.FindBinding(r.Data)
		if err != nil || !found || b.User != user {
			t.Errorf("UserSessions(%s) returned a record bound to %+v", user, b)
		}
		got = append(got, b.Handle)
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("UserSessions(%s) = %q, want %q", user, got, want)
	}
}

// manager returns a manager on s that logs nothing.
func manager(s core.Store) *core.Manager {
	return core.NewManager(s, core.WithLogger(slog.New(slog.DiscardHandler)))
}

// indexRows returns the number of rows in the user index of table tb.
func indexRows(t *testing.T, h Harness, tb string) int64 {
	t.Helper()
	n, err := h.Int(t, `SELECT count(*) FROM `+h.Quote(tb+"_users"))
	if err != nil {
		t.Fatalf("counting the user index rows: %v", err)
	}
	return n
}

// testUserDevices drives the user index through the manager: three
// devices of one user (one bound after it was created, one renewed after
// it was bound), another user's, log out the other devices, revoke one.
func testUserDevices(t *testing.T, h Harness) {
	tb := h.Table(t)
	s := open(t, h, sqlstore.WithTable(tb))
	m := manager(s)
	ctx := t.Context()

	cur, hCur := login(t, m, "alice")
	// A device that was anonymous first and logs in later: the binding
	// of an existing record.
	anon, err := request(t, m, "", func(s *core.Session) { s.Set("cart", "3 items") })
	if err != nil {
		t.Fatal(err)
	}
	late, err := request(t, m, anon, func(s *core.Session) { s.SetUser("alice") })
	if err != nil || late != anon {
		t.Fatalf("binding an existing session: token %q (was %q), %v", late, anon, err)
	}
	var hLate string
	request(t, m, late, func(s *core.Session) { hLate = s.Handle() })
	// A device renewed after it was bound: a new token, the same handle.
	old, hRen := login(t, m, "alice")
	renewed, err := request(t, m, old, func(s *core.Session) { s.Renew() })
	if err != nil || renewed == old || renewed == "" {
		t.Fatalf("Renew: token %q (was %q), %v", renewed, old, err)
	}
	if u := userOf(t, m, old); u != "" {
		t.Errorf("the token before the Renew still loads a session of %q", u)
	}
	bob, hBob := login(t, m, "bob")
	wantHandles(t, m, "alice", hCur, hLate, hRen)
	wantHandles(t, m, "bob", hBob)
	if n := indexRows(t, h, tb); n != 4 {
		t.Errorf("%d user index rows, want 4", n)
	}
	// A steady request of a bound device: the index stays.
	if _, err := request(t, m, renewed, func(s *core.Session) { s.Set("seen", "yes") }); err != nil {
		t.Fatal(err)
	}
	wantHandles(t, m, "alice", hCur, hLate, hRen)

	// Log out the other devices.
	n, err := m.DestroyUserSessions(ctx, "alice", hCur)
	if err != nil || n != 2 {
		t.Fatalf("DestroyUserSessions(alice, except the current device) = %d, %v; want 2", n, err)
	}
	for _, tok := range []string{late, renewed} {
		if u := userOf(t, m, tok); u != "" {
			t.Errorf("a device logged out still loads a session of %q", u)
		}
	}
	if u := userOf(t, m, cur); u != "alice" {
		t.Errorf("the current device is bound to %q after logging out the others, want alice", u)
	}
	if u := userOf(t, m, bob); u != "bob" {
		t.Errorf("another user's device is bound to %q, want bob", u)
	}
	wantHandles(t, m, "alice", hCur)
	wantHandles(t, m, "bob", hBob)
	if n := indexRows(t, h, tb); n != 2 {
		t.Errorf("%d user index rows after logging out two devices, want 2", n)
	}

	// A handle of another user revokes nothing.
	if err := m.DestroySession(ctx, "bob", hCur); !errors.Is(err, core.ErrSessionGone) {
		t.Errorf("DestroySession(bob, alice's handle): %v, want ErrSessionGone", err)
	}
	if u := userOf(t, m, cur); u != "alice" {
		t.Errorf("alice's device after bob's revoke of its handle: bound to %q", u)
	}
	if err := m.DestroySession(ctx, "alice", hCur); err != nil {
		t.Fatalf("DestroySession(alice, current): %v", err)
	}
	if err := m.DestroySession(ctx, "alice", hCur); !errors.Is(err, core.ErrSessionGone) {
		t.Errorf("a second DestroySession of the device: %v, want ErrSessionGone", err)
	}
	if u := userOf(t, m, cur); u != "" {
		t.Errorf("the revoked device still loads a session of %q", u)
	}
	wantHandles(t, m, "alice")
	wantHandles(t, m, "bob", hBob)

	// Unbinding and rebinding go through the index too.
	if _, err := request(t, m, bob, func(s *core.Session) { s.SetUser("carol") }); err != nil {
		t.Fatal(err)
	}
	wantHandles(t, m, "bob")
	var hCarol string
	request(t, m, bob, func(s *core.Session) { hCarol = s.Handle() })
	wantHandles(t, m, "carol", hCarol)
	if _, err := request(t, m, bob, func(s *core.Session) { s.SetUser("") }); err != nil {
		t.Fatal(err)
	}
	wantHandles(t, m, "carol")
	if n := indexRows(t, h, tb); n != 0 {
		t.Errorf("%d user index rows after the last binding went, want 0", n)
	}
	if n, err := m.DestroyUserSessions(ctx, "carol"); err != nil || n != 0 {
		t.Errorf("DestroyUserSessions(carol) of an unbound session = %d, %v", n, err)
	}
	if _, err := request(t, m, bob, func(*core.Session) {}); err != nil || userOf(t, m, bob) != "" {
		t.Errorf("the unbound session: %v", err)
	}
}

// testUserRenewRacesDestroy races a request's Renew of a bound session
// against DestroyUserSessions of its user: once both returned, no session
// of the user is live, whichever came first, and the index is empty.
func testUserRenewRacesDestroy(t *testing.T, h Harness) {
	tb := h.Table(t)
	s := open(t, h, sqlstore.WithTable(tb))
	m := manager(s)
	for round := range 20 {
		user := fmt.Sprint("racer", round)
		tok, _ := login(t, m, user)
		var (
			wg       sync.WaitGroup
			renewed  string
			renewErr error
			n        int
			dErr     error
		)
		wg.Go(func() {
			renewed, renewErr = request(t, m, tok, func(s *core.Session) { s.Renew(); s.Set("r", "1") })
		})
		wg.Go(func() { n, dErr = m.DestroyUserSessions(t.Context(), user) })
		wg.Wait()
		if dErr != nil {
			t.Fatalf("round %d: DestroyUserSessions: %v", round, dErr)
		}
		if renewErr != nil && !errors.Is(renewErr, core.ErrSessionGone) {
			t.Errorf("round %d: Renew: %v, want nil or ErrSessionGone", round, renewErr)
		}
		if n != 1 && renewErr == nil {
			t.Errorf("round %d: the Renew succeeded and DestroyUserSessions destroyed %d sessions, want 1", round, n)
		}
		for _, k := range []string{tok, renewed} {
			if k != "" && userOf(t, m, k) != "" {
				t.Errorf("round %d: a session of the user is live after DestroyUserSessions (Renew: %v, destroyed %d)", round, renewErr, n)
			}
		}
		wantHandles(t, m, user)
	}
	if n := indexRows(t, h, tb); n != 0 {
		t.Errorf("%d user index rows left, want 0", n)
	}
}

// testUserTwoStores checks that two stores on one table, as two
// processes, see each other's index, and that a store's one-statement
// delta of a row it remembers neither keeps a destroyed session nor
// skips the index when the delta changes the binding.
func testUserTwoStores(t *testing.T, h Harness) {
	tb := h.Table(t)
	a := open(t, h, sqlstore.WithTable(tb))
	b := open(t, h, sqlstore.WithTable(tb))
	ma, mb := manager(a), manager(b)
	ctx := t.Context()

	t1, h1 := login(t, ma, "dora")
	t2, h2 := login(t, mb, "dora")
	wantHandles(t, ma, "dora", h1, h2)
	wantHandles(t, mb, "dora", h1, h2)

	// a loads both sessions (and remembers their rows); b destroys dora's
	// sessions; a's saves of what it loaded must not bring them back: the
	// store refuses the delta, the manager drops the changes.
	recs, err := a.UserSessions(ctx, record.UserKey("dora"))
	if err != nil || len(recs) != 2 {
		t.Fatalf("UserSessions(dora): %d, %v", len(recs), err)
	}
	k0 := recs[0].Key
	if _, found, err := a.Load(ctx, k0); err != nil || !found {
		t.Fatalf("Load: %v %v", found, err)
	}
	sa, err := ma.Load(ctx, t1)
	if err != nil || sa.User() != "dora" {
		t.Fatalf("Load: %v, user %q", err, sa.User())
	}
	if n, err := mb.DestroyUserSessions(ctx, "dora"); err != nil || n != 2 {
		t.Fatalf("DestroyUserSessions through the other store = %d, %v; want 2", n, err)
	}
	exp := time.Now().Add(time.Hour)
	if err := a.SaveDelta(ctx, k0, &record.Delta{Expiry: exp, Set: storetest.Entries("late", "1")}); !errors.Is(err, core.ErrSessionGone) {
		t.Errorf("a delta through the other store after DestroyUserSessions: %v, want ErrSessionGone", err)
	}
	sa.Set("late", "1")
	if _, err := ma.Commit(ctx, sa); err != nil {
		t.Errorf("a save through the other store after DestroyUserSessions: %v, want the changes dropped", err)
	}
	for _, tok := range []string{t1, t2} {
		if u := userOf(t, ma, tok); u != "" {
			t.Errorf("a destroyed session is back, bound to %q", u)
		}
	}
	wantHandles(t, ma, "dora")

	// A rebinding delta of a row a remembers (its last write) takes the
	// row transaction: the index follows.
	t3, h3 := login(t, ma, "erik")
	sa, err = ma.Load(ctx, t3)
	if err != nil {
		t.Fatal(err)
	}
	sa.SetUser("fay")
	if _, err := ma.Commit(ctx, sa); err != nil {
		t.Fatal(err)
	}
	wantHandles(t, mb, "erik")
	wantHandles(t, mb, "fay", sa.Handle())
	if sa.Handle() == h3 {
		t.Error("rebinding kept the handle")
	}
	if n, err := mb.DestroyUserSessions(ctx, "fay"); err != nil || n != 1 {
		t.Errorf("DestroyUserSessions(fay) = %d, %v; want 1", n, err)
	}
	if u := userOf(t, ma, t3); u != "" {
		t.Errorf("the rebound session survived its user's destroy, bound to %q", u)
	}

	// A Renew through a, racing nothing, after b destroyed the user
	// between a's Take and a's create: the store-level version of the
	// race, deterministic.
	login(t, ma, "gus")
	data, found, err := a.Take(ctx, keyOf(t, a, "gus"))
	if err != nil || !found {
		t.Fatalf("Take: %v %v", found, err)
	}
	if n, err := mb.DestroyUserSessions(ctx, "gus"); err != nil || n != 0 {
		t.Errorf("DestroyUserSessions(gus) with the record taken = %d, %v; want 0", n, err)
	}
	bd, _, _ := record.FindBinding(data)
	d := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
		Set: append(storetest.Entries("k", "v"), storetest.BindingEntry(bd.User, bd.Handle, bd.Gen))}
	if err := a.SaveDelta(ctx, "gus-new", d); !errors.Is(err, core.ErrSessionGone) {
		t.Errorf("a carried Renew after the other store destroyed the user: %v, want ErrSessionGone", err)
	}
	if _, found, _ := b.Load(ctx, "gus-new"); found {
		t.Error("the refused Renew left a record")
	}
	if n := indexRows(t, h, tb); n != 0 {
		t.Errorf("%d user index rows left, want 0", n)
	}
}

// keyOf returns the store key of the only live session bound to user.
func keyOf(t *testing.T, s Store, user string) string {
	t.Helper()
	recs, err := s.UserSessions(t.Context(), record.UserKey(user))
	if err != nil || len(recs) != 1 {
		t.Fatalf("UserSessions(%s): %d records, %v; want 1", user, len(recs), err)
	}
	return recs[0].Key
}

// testUserMigration turns a table into the previous schema version (no
// user index, version 1) and checks that opening it migrates it in place,
// several stores at once, keeping its sessions.
func testUserMigration(t *testing.T, h Harness) {
	tb := h.Table(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	s0, err := h.Open(t, sqlstore.WithTable(tb))
	if err != nil {
		t.Fatal(err)
	}
	if err := s0.Save(ctx, "old", storetest.Record(exp, "a", "1"), exp); err != nil {
		t.Fatal(err)
	}
	s0.Close()
	if err := h.Exec(t, `DROP TABLE `+h.Quote(tb+"_users")); err != nil {
		t.Fatal(err)
	}
	if err := h.Exec(t, `UPDATE `+h.Quote(tb+"_meta")+` SET value = 1 WHERE name = 'schema_version'`); err != nil {
		t.Fatal(err)
	}
	stores := make([]Store, 4)
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = h.Open(t, sqlstore.WithTable(tb)) })
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Fatalf("opening a version 1 table: %v", errs[i])
		}
		t.Cleanup(func() { s.Close() })
	}
	v, err := h.Int(t, `SELECT value FROM `+h.Quote(tb+"_meta")+` WHERE name = 'schema_version'`)
	if err != nil || v != sqlstore.SchemaVersion {
		t.Fatalf("schema version after the migration: %d, %v; want %d", v, err, sqlstore.SchemaVersion)
	}
	if n := indexRows(t, h, tb); n != 0 {
		t.Errorf("%d rows in the new user index, want 0", n)
	}
	s := stores[0]
	data, found, err := s.Load(ctx, "old")
	if err != nil || !found || storetest.Values(t, data)["a"] != "1" {
		t.Fatalf("the version 1 session after the migration: %v %v", found, err)
	}
	m := manager(s)
	tok, hd := login(t, m, "hal")
	wantHandles(t, manager(stores[1]), "hal", hd)
	if n, err := manager(stores[2]).DestroyUserSessions(ctx, "hal"); err != nil || n != 1 {
		t.Errorf("DestroyUserSessions on the migrated table = %d, %v; want 1", n, err)
	}
	if u := userOf(t, m, tok); u != "" {
		t.Errorf("the destroyed session is bound to %q", u)
	}
}

// testUserCleanup checks what the cleanup does to the user index: an
// entry whose record is gone (deleted, expired, taken by a Renew that
// never came) is marked, kept for [sqlstore.StaleGrace] so that a Renew
// in flight can still repoint it, then deleted; live entries stay.
func testUserCleanup(t *testing.T, h Harness) {
	tb := h.Table(t)
	s := open(t, h, sqlstore.WithTable(tb), sqlstore.WithCleanupInterval(0))
	m := manager(s)
	ctx := t.Context()
	live, hLive := login(t, m, "ivy")
	gone, _ := login(t, m, "ivy")
	if _, err := request(t, m, gone, func(s *core.Session) { s.Destroy() }); err != nil {
		t.Fatal(err)
	}
	_, hTaken := login(t, m, "ivy")
	key := ""
	recs, err := s.UserSessions(ctx, record.UserKey("ivy"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if b, _, _ := record.FindBinding(r.Data); b.Handle == hTaken {
			key = r.Key
		}
	}
	data, found, err := s.Take(ctx, key)
	if err != nil || !found {
		t.Fatalf("Take: %v %v", found, err)
	}
	soon := time.Now().Add(100 * time.Millisecond)
	d := &record.Delta{Create: true, Header: storetest.Header(false, soon), Expiry: soon,
		Set: append(storetest.Entries("k", "v"), storetest.BindingEntry("ivy", "lapsing", 0))}
	if err := s.SaveDelta(ctx, "lapsing", d); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(soon) + 20*time.Millisecond)
	wantHandles(t, m, "ivy", hLive)

	if _, err := s.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	// Within the grace every entry stays, and the taken record's Renew
	// still goes through.
	if n := indexRows(t, h, tb); n < 3 {
		t.Errorf("%d user index rows right after the cleanup, want at least 3 (the live one, the taken one, the expired one)", n)
	}
	b, _, _ := record.FindBinding(data)
	exp := time.Now().Add(time.Hour)
	d = &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
		Set: append(storetest.Entries("k", "v"), storetest.BindingEntry(b.User, b.Handle, b.Gen))}
	if err := s.SaveDelta(ctx, "renewed", d); err != nil {
		t.Fatalf("a Renew after a cleanup within the grace: %v", err)
	}
	wantStoreHandles(t, s, "ivy", hLive, hTaken)

	// Past the grace, the stale entries go and the live ones stay.
	past := time.Now().Add(-2 * sqlstore.StaleGrace).UnixNano()
	if err := h.Exec(t, `UPDATE `+h.Quote(tb+"_users")+` SET stale = $1 WHERE stale <> 0`, past); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if n := indexRows(t, h, tb); n != 2 {
		t.Errorf("%d user index rows after the cleanup past the grace, want 2 (the live ones)", n)
	}
	wantStoreHandles(t, s, "ivy", hLive, hTaken)
	if n, err := m.DestroyUserSessions(ctx, "ivy"); err != nil || n != 2 {
		t.Errorf("DestroyUserSessions(ivy) = %d, %v; want 2", n, err)
	}
	if u := userOf(t, m, live); u != "" {
		t.Errorf("a destroyed session is bound to %q", u)
	}
}

// testUserSaveBound checks Save of whole bound records: a new binding is
// stamped and indexed, a record saved over with another binding moves its
// entry, and a carried binding whose entry is gone is refused.
func testUserSaveBound(t *testing.T, h Harness) {
	tb := h.Table(t)
	s := open(t, h, sqlstore.WithTable(tb))
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	rec := func(user, handle string, gen uint64) []byte {
		return record.Append(nil, storetest.Header(false, exp), append(storetest.Entries("a", "1"), storetest.BindingEntry(user, handle, gen)))
	}
	in := rec("jo", "hj", 0)
	if err := s.Save(ctx, "k", in, exp); err != nil {
		t.Fatal(err)
	}
	if b, _, _ := record.FindBinding(in); b.Gen != 0 {
		t.Error("Save stamped the caller's bytes")
	}
	data, _, err := s.Load(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	b, found, err := record.FindBinding(data)
	if err != nil || !found || b.Gen == 0 {
		t.Fatalf("saved binding %+v, %v, %v: want a stamped generation", b, found, err)
	}
	if got := keyOf(t, s, "jo"); got != "k" {
		t.Errorf("UserSessions(jo) lists %q", got)
	}
	// Saved again as it is, then bound to another user.
	if err := s.Save(ctx, "k", data, exp); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "k", rec("kim", "hk", 0), exp); err != nil {
		t.Fatal(err)
	}
	if recs, err := s.UserSessions(ctx, record.UserKey("jo")); err != nil || len(recs) != 0 {
		t.Errorf("UserSessions(jo) after the rebinding Save: %d, %v", len(recs), err)
	}
	keyOf(t, s, "kim")
	if n := indexRows(t, h, tb); n != 1 {
		t.Errorf("%d user index rows, want 1", n)
	}
	// A carried binding (Gen not 0) over no record, its entry gone.
	if _, err := s.DeleteUserSessions(ctx, record.UserKey("kim"), func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "k2", rec("kim", "hk", 1), exp); !errors.Is(err, core.ErrSessionGone) {
		t.Errorf("Save carrying a destroyed binding: %v, want ErrSessionGone", err)
	}
	if _, found, _ := s.Load(ctx, "k2"); found {
		t.Error("the refused Save left a record")
	}
}

// testUserDestroyRacesWrites runs DeleteUserSessions of a user while
// requests save, rebind, log out and renew that user's sessions, through
// two stores on one table: the lock orders of the writes and of the
// destroy differ, so deadlocks may happen, and must be retried, not
// reported. Once the destroy returned, no session bound to the user
// before it began is live (those rebound to another user meanwhile
// excepted), and every write returned nil or an error matching
// [core.ErrSessionGone].
func testUserDestroyRacesWrites(t *testing.T, h Harness) {
	tb := h.Table(t)
	a := open(t, h, sqlstore.WithTable(tb))
	b := open(t, h, sqlstore.WithTable(tb))
	ma, mb := manager(a), manager(b)
	for round := range 5 {
		user := fmt.Sprint("busy", round)
		const n = 6
		toks := make([]string, n)
		for i := range toks {
			toks[i], _ = login(t, ma, user)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4*n)
		for i, tok := range toks {
			m := ma
			if i%2 == 1 {
				m = mb
			}
			wg.Go(func() {
				for j := range 3 {
					_, err := request(t, m, tok, func(s *core.Session) {
						switch {
						case i == 0 && j == 1:
							s.Destroy()
						case i == 1 && j == 1:
							s.Renew()
						default:
							s.Set(fmt.Sprint("k", j), "v")
						}
					})
					if err != nil && !errors.Is(err, core.ErrSessionGone) {
						errs <- fmt.Errorf("device %d, request %d: %w", i, j, err)
					}
				}
			})
		}
		var destroyed int
		wg.Go(func() {
			var err error
			if destroyed, err = mb.DestroyUserSessions(t.Context(), user); err != nil {
				errs <- fmt.Errorf("DestroyUserSessions: %w", err)
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if destroyed > n {
			t.Errorf("round %d: %d sessions destroyed of %d", round, destroyed, n)
		}
		// A Renew that finished before the destroy began leaves a new
		// token the destroy covered; one racing it leaves none: either
		// way the user has nothing live.
		wantHandles(t, ma, user)
		for _, tok := range toks {
			if u := userOf(t, ma, tok); u != "" {
				t.Errorf("round %d: a device of %s survived DestroyUserSessions, bound to %q", round, user, u)
			}
		}
	}
}
