package core_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	"github.com/sessionkit/sessionkit/core/filestore"
)

// basicStore exposes only the three methods of [core.Store], hiding every
// optional capability of the store it wraps.
type basicStore struct{ s core.Store }

func (b basicStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	return b.s.Load(ctx, key)
}

func (b basicStore) Save(ctx context.Context, key string, data []byte, exp time.Time) error {
	return b.s.Save(ctx, key, data, exp)
}

func (b basicStore) Delete(ctx context.Context, key string) error { return b.s.Delete(ctx, key) }

// TestRememberDoesNotLeak commits sessions with and without remember-me
// in turn and checks that each one loads back with its own flag, deadline
// and kind of cookie: a remember-me commit must not leave its flag in a
// reused header for the next session.
func TestRememberDoesNotLeak(t *testing.T) {
	stores := map[string]func(t *testing.T) core.Store{
		"memory": func(t *testing.T) core.Store { return newMemory(t) },
		"file": func(t *testing.T) core.Store {
			s, err := filestore.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"cached": func(t *testing.T) core.Store {
			s := cachedstore.New(newMemory(t))
			t.Cleanup(func() { s.Close() })
			return s
		},
		"basic": func(t *testing.T) core.Store { return basicStore{newMemory(t)} },
	}
	const idle, remember = time.Hour, 30 * 24 * time.Hour
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			m := core.NewManager(open(t), quiet(), core.WithIdleTimeout(idle), core.WithRememberTimeout(remember))
			for i := range 12 {
				want := i%2 == 0
				s, err := m.Load(ctx, "")
				if err != nil {
					t.Fatal(err)
				}
				s.Set("n", i)
				if want {
					s.SetRemember(true)
				}
				before := time.Now()
				res, err := m.Commit(ctx, s)
				if err != nil {
					t.Fatal(err)
				}
				timeout := idle
				if want {
					timeout = remember
				}
				checkExpiry := func(what string, exp time.Time) {
					t.Helper()
					if exp.Before(before.Add(timeout)) || exp.After(time.Now().Add(timeout)) {
						t.Errorf("session %d (remember %v): %s %v, want about now+%v", i, want, what, exp, timeout)
					}
				}
				checkExpiry("commit expiry", res.Expiry)
				if res.Cookie == nil {
					t.Fatalf("session %d: no cookie for a new session", i)
				}
				if persistent := res.Cookie.MaxAge > 0 || !res.Cookie.Expires.IsZero(); persistent != want {
					t.Errorf("session %d (remember %v): persistent cookie %v (%s)", i, want, persistent, res.Cookie)
				}

				got, err := m.Load(ctx, res.Token)
				if err != nil {
					t.Fatal(err)
				}
				if n, _ := got.Get("n"); fmt.Sprint(n) != fmt.Sprint(i) {
					t.Fatalf("session %d: loaded n = %v", i, n)
				}
				if got.Remember() != want {
					t.Errorf("session %d: loaded Remember() = %v, want %v", i, got.Remember(), want)
				}
				checkExpiry("loaded expiry", got.Expiry())
				// A change to the loaded session keeps its kind of deadline
				// and, when one is sent, its kind of cookie.
				// The absolute lifetime counts from the first commit, so before
				// stays that commit's start.
				got.Set("m", i)
				res, err = m.Commit(ctx, got)
				if err != nil {
					t.Fatal(err)
				}
				checkExpiry("second commit expiry", res.Expiry)
				if res.Cookie != nil {
					if persistent := res.Cookie.MaxAge > 0 || !res.Cookie.Expires.IsZero(); persistent != want {
						t.Errorf("session %d (remember %v): second commit's cookie persistent %v", i, want, persistent)
					}
				}
			}
		})
	}
}

// TestCommitsOfOtherSessionsDoNotLeak interleaves the commits of sessions:
// B is created without remember-me, A is committed with it, then B is
// updated (a delta without a header) and rewritten (Clear: a full record)
// and must still load as a plain session with a plain deadline. Then many
// goroutines do the same at once. Whatever room a commit's delta uses,
// nothing of A's header may reach B's record.
func TestCommitsOfOtherSessionsDoNotLeak(t *testing.T) {
	const idle, remember = time.Hour, 30 * 24 * time.Hour
	for name, open := range map[string]func(t *testing.T) core.Store{
		"memory": func(t *testing.T) core.Store { return newMemory(t) },
		"basic":  func(t *testing.T) core.Store { return basicStore{newMemory(t)} },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			m := core.NewManager(open(t), quiet(), core.WithIdleTimeout(idle), core.WithRememberTimeout(remember))
			commit := func(s *core.Session) core.CommitResult {
				t.Helper()
				res, err := m.Commit(ctx, s)
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			load := func(token string) *core.Session {
				t.Helper()
				s, err := m.Load(ctx, token)
				if err != nil || s.ID() != token {
					t.Fatalf("Load(%q) = ID %q, %v", token, s.ID(), err)
				}
				return s
			}
			check := func(what, token string) {
				t.Helper()
				s := load(token)
				if s.Remember() {
					t.Errorf("%s: B loads with remember-me", what)
				}
				if left := time.Until(s.Expiry()); left > idle+time.Minute {
					t.Errorf("%s: B's deadline is %v away, want at most the idle timeout %v", what, left, idle)
				}
			}
			newSession := func(rememberMe bool) string {
				t.Helper()
				s := load0(t, m)
				s.Set("n", 1)
				s.SetRemember(rememberMe)
				return commit(s).Token
			}
			b := newSession(false)
			for i := range 4 {
				a := load(newSession(true))
				a.Set("n", i) // a delta with A's remember-me header in the room
				a.SetRemember(false)
				a.SetRemember(true)
				commit(a)

				s := load(b)
				s.Set("n", i)
				if res := commit(s); res.Cookie != nil && (res.Cookie.MaxAge > 0 || !res.Cookie.Expires.IsZero()) {
					t.Errorf("round %d: B's update sent a persistent cookie %s", i, res.Cookie)
				}
				check(fmt.Sprintf("round %d, after an update", i), b)

				s = load(b)
				s.Clear()
				s.Set("n", i)
				commit(s)
				check(fmt.Sprintf("round %d, after a rewrite", i), b)
			}

			// The same at once, under -race: plain sessions updated while
			// remember-me sessions are created and updated beside them.
			plain := make([]string, 8)
			for i := range plain {
				plain[i] = newSession(false)
			}
			var wg sync.WaitGroup
			for i, token := range plain {
				wg.Add(2)
				go func() {
					defer wg.Done()
					for j := range 20 {
						s, err := m.Load(ctx, token)
						if err != nil {
							t.Error(err)
							return
						}
						s.Set(fmt.Sprint("k", i), j)
						if _, err := m.Commit(ctx, s); err != nil {
							t.Error(err)
							return
						}
					}
				}()
				go func() {
					defer wg.Done()
					for j := range 20 {
						s, err := m.Load(ctx, "")
						if err != nil {
							t.Error(err)
							return
						}
						s.Set("n", j)
						s.SetRemember(true)
						if _, err := m.Commit(ctx, s); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			for i, token := range plain {
				check(fmt.Sprint("concurrent plain session ", i), token)
			}
		})
	}
}

// load0 loads a new, empty session through m.
func load0(t *testing.T, m *core.Manager) *core.Session {
	t.Helper()
	s, err := m.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSetRememberUnchangedWritesNothing checks that SetRemember(false) on
// a new session, whose flag is already off, is not a change: no record is
// written and no cookie is sent.
func TestSetRememberUnchangedWritesNothing(t *testing.T) {
	store := newMemory(t)
	m := core.NewManager(store, quiet())
	s := load0(t, m)
	s.SetRemember(false)
	res, err := m.Commit(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if res.Cookie != nil || res.Token != "" {
		t.Errorf("Commit = token %q, cookie %v; want neither", res.Token, res.Cookie)
	}
	if n, err := store.Count(context.Background()); err != nil || n != 0 {
		t.Errorf("store holds %d records, %v; want none", n, err)
	}
}
