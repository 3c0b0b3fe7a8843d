package core_test

import (
	"context"
	"fmt"
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
