package sessiontest

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/core"
)

// commit commits s and fails t on error.
func commit(t *testing.T, m *core.Manager, s *core.Session) core.CommitResult {
	t.Helper()
	res, err := m.Commit(context.Background(), s)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	return res
}

func load(t *testing.T, m *core.Manager, token string) *core.Session {
	t.Helper()
	s, err := m.Load(context.Background(), token)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return s
}

// CheckNoRawID checks that store keeps no raw session ID at rest. It
// creates sessions through a manager over store (plain, remembered,
// renewed, with flashes and per-key TTLs, one destroyed), then calls dump,
// which must return every byte string the backend holds for this store:
// its keys and its values, read straight from the backend (files, rows,
// server keys), not through the store. No string may contain an ID that
// was issued, in text or as its 32 raw bytes, and every live session's
// hashed key must appear (so that the dump is known to see the records).
// Finally each hashed key, sent back as a token whole or cut to the length
// of an ID, must load no session.
func CheckNoRawID(t *testing.T, store core.Store, dump func(t *testing.T) []string) {
	t.Helper()
	m := core.NewManager(store, quietLogger())
	var issued, live []string
	for i := range 6 {
		s := load(t, m, "")
		s.Set("n", i)
		s.Set("name", "user"+strconv.Itoa(i))
		switch i {
		case 1:
			s.SetRemember(true)
		case 2:
			s.AddFlash("hello")
		case 3:
			s.SetWithTTL("otp", "123456", 60e9)
		}
		tok := commit(t, m, s).Token
		issued = append(issued, tok)
		switch i {
		case 4: // renewed: the old ID is gone, the new one lives
			s = load(t, m, tok)
			s.Renew()
			tok = commit(t, m, s).Token
			issued = append(issued, tok)
		case 5: // destroyed
			s = load(t, m, tok)
			s.Destroy()
			commit(t, m, s)
			continue
		}
		s = load(t, m, tok)
		s.Set("later", true)
		commit(t, m, s)
		live = append(live, tok)
	}

	blobs := dump(t)
	all := strings.Join(blobs, "\x00")
	for _, id := range issued {
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil {
			t.Fatalf("issued ID %q is not base64url: %v", id, err)
		}
		if strings.Contains(all, id) || strings.Contains(all, string(raw)) {
			t.Errorf("the store's backend holds a raw session ID (%s…)", core.StoreKey(id)[:12])
		}
	}
	for _, id := range live {
		if !strings.Contains(all, core.StoreKey(id)) {
			t.Errorf("the dump (%d strings) lacks the hashed key %s of a live session: it does not see the records", len(blobs), core.StoreKey(id))
		}
	}
	for _, id := range live {
		key := core.StoreKey(id)
		for _, tok := range []string{key, key[:43]} {
			if s := load(t, m, tok); s.ID() != "" || len(s.Keys()) != 0 {
				t.Errorf("the stored key %q sent as a token loaded a session", tok)
			}
		}
	}
}

// CheckTooLarge checks, through a manager over store, that a session
// whose record exceeds the store's limit (limit bytes) fails its commit
// with an error matching core.ErrTooLarge that names the limit, and that
// nothing is half-written: the session keeps its previous data, and a new
// session that is too large is not created. opts configure the manager
// (raise its own WithMaxSize above limit to reach the store's check).
func CheckTooLarge(t *testing.T, store core.Store, limit int, opts ...core.Option) {
	t.Helper()
	m := core.NewManager(store, append([]core.Option{quietLogger()}, opts...)...)
	s := load(t, m, "")
	s.Set("n", 1)
	tok := commit(t, m, s).Token

	s = load(t, m, tok)
	s.Set("n", 2)
	s.Set("big", strings.Repeat("b", limit+1))
	_, err := m.Commit(context.Background(), s)
	if !errors.Is(err, core.ErrTooLarge) || !strings.Contains(err.Error(), strconv.Itoa(limit)) {
		t.Fatalf("commit of a session over %d bytes: %v, want an error matching core.ErrTooLarge naming %d", limit, err, limit)
	}
	s = load(t, m, tok)
	if n, _ := core.GetAs[int](s, "n"); n != 1 || s.ID() != tok {
		t.Fatalf("after the failed save: ID %v, n = %d; want the session with its previous data", s.ID() == tok, n)
	}
	if _, ok := s.Get("big"); ok {
		t.Fatal("after the failed save the big value is stored")
	}

	s = load(t, m, "")
	s.Set("big", strings.Repeat("b", limit+1))
	res, err := m.Commit(context.Background(), s)
	if !errors.Is(err, core.ErrTooLarge) || res.Token != "" || res.Cookie != nil {
		t.Fatalf("a new session over the limit: token %q, cookie %v, %v; want no session and ErrTooLarge", res.Token, res.Cookie, err)
	}
	if n, err := m.Count(context.Background()); err == nil && n != 1 {
		t.Fatalf("%d records after a new session failed, want 1", n)
	}
}
