package memcachestore

// Security review of "log out everywhere" (issue 25): attacks on the
// memcache store's per-user item and generation.

import (
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// addStaleEntry puts back into the item of user the entry (h, key) with
// an old timestamp: what a crash (or a failed removeEntry) between an
// unbind's record write and its best-effort removeEntry leaves behind.
func addStaleEntry(t *testing.T, s *Store, user, h, key string) {
	t.Helper()
	err := s.updateUser(t.Context(), "test", record.UserKey(user), func(u *userItem) (*userItem, error) {
		u.entries = append(u.entries, userEntry{handle: h, key: key, added: time.Now().Add(-time.Hour).Unix()})
		return u, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAttackStaleEntryLogsOutKeptDevice: DeleteUserSessions deletes the
// record of every removed entry that is bound to the user, whatever its
// handle (dropRecord checks the user only). A stale entry, which the
// design allows (a crash leaves stale entries), naming the key of a
// session now bound to the same user under another handle makes "log out
// other devices" log out the current device it was told to keep, and
// makes DestroySession of an old handle report ErrSessionGone (nothing
// revoked) while it logged out the device now using that key.
func TestAttackStaleEntryLogsOutKeptDevice(t *testing.T) {
	for _, how := range []string{"log out others", "revoke old handle"} {
		t.Run(how, func(t *testing.T) {
			s, _ := newTestStore(t)
			m := newManager(t, s)
			d := login(t, m, "alice")
			oldHandle := d.handle
			// Log out by unbinding; the crash leaves the entry behind.
			d, err := request(t, m, d, func(s *core.Session) { s.SetUser(""); s.Delete("user") })
			if err != nil {
				t.Fatal(err)
			}
			addStaleEntry(t, s, "alice", oldHandle, keyOf(d))
			// Later, alice logs in again on the same session (no Renew).
			var cur string
			d, err = request(t, m, d, func(s *core.Session) { s.SetUser("alice"); s.Set("user", "alice"); cur = s.Handle() })
			if err != nil {
				t.Fatal(err)
			}
			d.handle = cur
			if !loggedIn(t, m, d, "alice") {
				t.Fatal("not logged in again")
			}
			switch how {
			case "log out others":
				n, err := m.DestroyUserSessions(t.Context(), "alice", cur)
				if err != nil {
					t.Fatal(err)
				}
				if !loggedIn(t, m, d, "alice") {
					t.Errorf("DestroyUserSessions(alice, except the current device) = %d, and logged out the current device", n)
				}
			case "revoke old handle":
				err := m.DestroySession(t.Context(), "alice", oldHandle)
				if !loggedIn(t, m, d, "alice") {
					t.Errorf("DestroySession(alice, old handle) = %v, and logged out the device now using that key under handle %s", err, cur)
				}
			}
		})
	}
}

// TestAttackSaveStaleEntryDeletesOtherHandle: the same through the
// store's own API. Save documents that it leaves the entry of the binding
// it replaces behind; DeleteUserSessions that matches only that old
// handle then deletes the record, bound under a handle it did not match,
// and reports no handle.
func TestAttackSaveStaleEntryDeletesOtherHandle(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	key := "k1"
	bindNew(t, s, key, "alice", "h1", exp)
	data := record.Append(nil, record.NewHeader(false, time.Now(), exp), []record.Entry{entry("v", "mine"), storetest.BindingEntry("alice", "h2", 0)})
	if err := s.Save(ctx, key, data, exp); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.Load(ctx, key); !found || err != nil {
		t.Fatalf("Load after Save: %v, %v", found, err)
	}
	hs, err := s.DeleteUserSessions(ctx, record.UserKey("alice"), func(h string) bool { return h == "h1" })
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.Load(ctx, key); !found || err != nil {
		t.Errorf("DeleteUserSessions matching only h1 returned %q and deleted the record bound under h2 (Load: %v, %v)", hs, found, err)
	}
}

// TestAttackLeftoverRecordStaysDead (held up): the records of a user
// logged out everywhere that memcached still holds (the best-effort
// delete failed) never come back: not by Load, nor by a delta, a Clear
// re-sending the binding, a touch or a Renew in flight, nor listed.
func TestAttackLeftoverRecordStaysDead(t *testing.T) {
	s, c := newTestStore(t)
	m := newManager(t, s)
	ctx := t.Context()
	for _, op := range []string{"set", "clear", "touch", "renew", "unbind", "rebind"} {
		d := login(t, m, "alice")
		inflight, err := m.Load(ctx, d.token)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := c.Get(s.itemKey(keyOf(d)))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := m.DestroyUserSessions(ctx, "alice"); n != 1 || err != nil {
			t.Fatalf("DestroyUserSessions = %d, %v", n, err)
		}
		// The delete of the record failed: put it back as it was.
		raw.Expiration = 3600
		if err := c.Set(raw); err != nil {
			t.Fatal(err)
		}
		if loggedIn(t, m, d, "alice") {
			t.Fatalf("%s: the leftover record loads", op)
		}
		switch op {
		case "set":
			inflight.Set("late", 1)
		case "clear":
			inflight.Clear()
			inflight.Set("user", "alice")
		case "touch":
			// rolling: nothing to do, the commit may touch
		case "renew":
			inflight.Renew()
		case "unbind":
			inflight.SetUser("")
		case "rebind":
			inflight.SetUser("bob")
		}
		res, _ := m.Commit(ctx, inflight)
		for _, tok := range []string{d.token, res.Token} {
			if tok == "" {
				continue
			}
			s2, err := m.Load(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := s2.Get("user"); v == "alice" {
				t.Errorf("%s in flight: a token loads the logged-out session's data (user %q)", op, s2.User())
			}
		}
		if hs := handlesOf(t, m, "alice"); len(hs) != 0 {
			t.Errorf("%s: alice lists %q", op, hs)
		}
		m.DestroyUserSessions(ctx, "bob")
	}
}

// TestAttackStaleClearFailsClosed (held up): a request that loaded the
// session while bound to alice and calls Clear after alice unbound it
// (logout) and logged out everywhere re-sends the stale binding; on this
// store the record it writes is not listed in alice's item, so it is
// invalid: the session is lost (fails closed), never bound to alice again.
func TestAttackStaleClearFailsClosed(t *testing.T) {
	s, _ := newTestStore(t)
	m := newManager(t, s)
	ctx := t.Context()
	d := login(t, m, "alice")
	stale, err := m.Load(ctx, d.token)
	if err != nil {
		t.Fatal(err)
	}
	if d, err = request(t, m, d, func(s *core.Session) { s.SetUser(""); s.Delete("user") }); err != nil {
		t.Fatal(err)
	}
	if _, err := m.DestroyUserSessions(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	stale.Clear()
	stale.Set("user", "alice")
	if _, err := m.Commit(ctx, stale); err != nil {
		t.Fatal(err)
	}
	if loggedIn(t, m, d, "alice") {
		t.Errorf("a stale Clear bound the logged-out session to alice again")
	}
	if hs := handlesOf(t, m, "alice"); len(hs) != 0 {
		t.Errorf("alice lists %q", hs)
	}
}

// TestAttackCachedMemcacheDestroy (held up): the cached store in front of
// memcache never serves, on the destroying instance, a session destroyed
// by DestroyUserSessions, even when the user's item was evicted first
// (the store then reports no handle) or the device renewed.
func TestAttackCachedMemcacheDestroy(t *testing.T) {
	s, c := newTestStore(t)
	cs := cachedstore.New(s, cachedstore.WithMaxStale(time.Hour), cachedstore.WithCloseBacking(false))
	m := newManager(t, cs)
	for _, evicted := range []bool{false, true} {
		d := login(t, m, "alice")
		d, err := request(t, m, d, func(s *core.Session) { s.Renew() })
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if !loggedIn(t, m, d, "alice") {
				t.Fatal("not logged in")
			}
		}
		if evicted {
			evict(t, s, c, "alice")
		}
		if _, err := m.DestroyUserSessions(t.Context(), "alice"); err != nil {
			t.Fatal(err)
		}
		if loggedIn(t, m, d, "alice") {
			t.Errorf("evicted=%v: the cache served the destroyed session", evicted)
		}
	}
}
