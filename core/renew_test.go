package core_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/record"
)

// renewStores are the stores the Renew tests run on: every local store,
// and the three-method store, which gets the best effort only.
func renewStores(t *testing.T) map[string]core.Store {
	return map[string]core.Store{
		"memory":        newTestMemoryStore(t),
		"file":          newTestFileStore(t, t.TempDir()),
		"cached memory": cachedstore.New(newTestMemoryStore(t)),
		"three methods": newPlainStore(),
	}
}

// newRenewSession commits a new session holding user=alice and returns its
// ID.
func newRenewSession(t *testing.T, m *core.Manager) string {
	t.Helper()
	s, err := m.Load(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	s.Set("user", "alice")
	res, err := m.Commit(t.Context(), s)
	if err != nil || res.Token == "" {
		t.Fatalf("Commit of a new session: token %q, %v", res.Token, err)
	}
	return res.Token
}

// wantNoSession fails t if token loads a session that holds data.
func wantNoSession(t *testing.T, m *core.Manager, token, why string) {
	t.Helper()
	if token == "" {
		return
	}
	s, err := m.Load(t.Context(), token)
	if err != nil {
		t.Fatalf("Load(%s): %v", why, err)
	}
	if v, ok := s.Get("user"); ok || s.ID() != "" {
		t.Errorf("%s loads a live session (ID %q, user %v): resurrected", why, s.ID(), v)
	}
}

// wantAnonymous fails t unless s is a new, empty session and res expires
// the client's cookie.
func wantAnonymous(t *testing.T, s *core.Session, res core.CommitResult) {
	t.Helper()
	if v, ok := s.Get("user"); ok || s.ID() != "" {
		t.Errorf("after the failed Renew the session has ID %q and user %v, want a new empty session", s.ID(), v)
	}
	if res.Token != "" {
		t.Errorf("CommitResult.Token = %q, want none", res.Token)
	}
	if res.Cookie == nil || res.Cookie.MaxAge >= 0 {
		t.Errorf("CommitResult.Cookie = %v, want the session cookie expired", res.Cookie)
	}
}

// TestRenewAfterDestroy: a request that loaded its session before a logout
// elsewhere and renews it afterwards must not bring the session back
// under a new ID (issue 22, item 2).
func TestRenewAfterDestroy(t *testing.T) {
	t.Parallel()
	for name, store := range renewStores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			m := core.NewManager(store)
			id := newRenewSession(t, m)

			a, err := m.Load(ctx, id) // request A, before the logout
			if err != nil {
				t.Fatal(err)
			}
			b, err := m.Load(ctx, id) // request B: logout
			if err != nil {
				t.Fatal(err)
			}
			b.Destroy()
			if _, err := m.Commit(ctx, b); err != nil {
				t.Fatal(err)
			}

			a.Renew()
			res, err := m.Commit(ctx, a)
			if !errors.Is(err, core.ErrSessionGone) {
				t.Errorf("Commit of a Renew after Destroy: %v, want ErrSessionGone", err)
			}
			wantNoSession(t, m, res.Token, "the renewed ID")
			wantNoSession(t, m, a.ID(), "the session's ID after the Renew")
			wantNoSession(t, m, id, "the destroyed ID")
			wantAnonymous(t, a, res)
			if n, err := m.Count(ctx); err == nil && n != 0 {
				t.Errorf("the store holds %d records after logout, want 0", n)
			}
		})
	}
}

// TestConcurrentRenews: of concurrent Renews of one session exactly one
// wins and the others get ErrSessionGone, so that the session is never
// forked into two live IDs.
func TestConcurrentRenews(t *testing.T) {
	t.Parallel()
	for name, store := range renewStores(t) {
		if name == "three methods" {
			continue // best effort only: load, delete, insert
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			m := core.NewManager(store)
			for round := range 10 {
				id := newRenewSession(t, m)
				const n = 6
				sessions := make([]*core.Session, n)
				for i := range sessions {
					s, err := m.Load(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					s.Renew()
					sessions[i] = s
				}
				tokens := make([]string, n)
				errs := make([]error, n)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i, s := range sessions {
					wg.Go(func() {
						<-start
						res, err := m.Commit(ctx, s)
						tokens[i], errs[i] = res.Token, err
					})
				}
				close(start)
				wg.Wait()

				live := 0
				for i, tok := range tokens {
					switch {
					case errs[i] == nil:
						live++
						s, err := m.Load(ctx, tok)
						if err != nil {
							t.Fatal(err)
						}
						if v, _ := s.Get("user"); v != "alice" || s.ID() != tok {
							t.Errorf("round %d: the winning Renew's ID %q loads user %v", round, tok, v)
						}
					case errors.Is(errs[i], core.ErrSessionGone):
						wantNoSession(t, m, tok, fmt.Sprintf("round %d: a losing Renew's token", round))
						if v, ok := sessions[i].Get("user"); ok {
							t.Errorf("round %d: a losing Renew kept user %v, want a new empty session", round, v)
						}
					default:
						t.Errorf("round %d: Commit: %v", round, errs[i])
					}
				}
				if live != 1 {
					t.Errorf("round %d: %d of %d concurrent Renews succeeded, want exactly 1 live ID", round, live, n)
				}
				wantNoSession(t, m, id, "the renewed session's old ID")
			}
		})
	}
}

// failCreateStore is a memory store whose inserts fail once armed: a
// failure between Renew's take and its insert.
type failCreateStore struct {
	*memstore.Store
	armed atomic.Bool
}

var errInsert = errors.New("insert failed")

func (f *failCreateStore) SaveDelta(ctx context.Context, key string, d *record.Delta) error {
	if d.Create && f.armed.Load() {
		return errInsert
	}
	return f.Store.SaveDelta(ctx, key, d)
}

// TestRenewInsertFails: when the new record cannot be written after the
// old one was taken, the user is logged out with an error; there is never
// a second live session.
func TestRenewInsertFails(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store := &failCreateStore{Store: newTestMemoryStore(t)}
	m := core.NewManager(store)
	id := newRenewSession(t, m)
	s, err := m.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	s.Renew()
	store.armed.Store(true)
	res, err := m.Commit(ctx, s)
	if !errors.Is(err, errInsert) {
		t.Errorf("Commit: %v, want the insert's error", err)
	}
	wantAnonymous(t, s, res)
	wantNoSession(t, m, id, "the old ID")
	if n, err := m.Count(ctx); err != nil || n != 0 {
		t.Errorf("Count = %d, %v; want 0", n, err)
	}
}
