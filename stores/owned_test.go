package stores

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// TestConformance runs the store conformance suite on the stores Open
// wraps with the client it made (Redis, memcached). The suite expects
// SaveDelta and Touch to work, so the wrapper around a store without them
// is checked by TestOwnedStoreUnsupported instead.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"redis", func(t *testing.T) string { return "redis://" + redisAddr(t) + "?prefix=" + uniquePrefix() }},
		{"redis cluster", func(t *testing.T) string { return "redis://" + redisClusterAddrs(t) + "?prefix=" + uniquePrefix() }},
		{"memcache", func(t *testing.T) string { return "memcache://" + memcacheAddr(t) + "?prefix=" + uniquePrefix() }},
		{"postgres", func(t *testing.T) string { return postgresURL(t) + "&table=" + uniqueTable() }},
		{"mysql", func(t *testing.T) string { return mysqlURL(t) + "?table=" + uniqueTable() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T) core.Store {
				s, err := OpenURL(t.Context(), tt.url(t))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if cs, ok := s.(core.ClearStore); ok {
						cs.Clear(context.Background())
					}
					s.(*ownedStore).Close()
				})
				return s
			})
		})
	}
}

// basicStore hides every optional capability of the store inside it.
type basicStore struct{ s core.Store }

func (b basicStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	return b.s.Load(ctx, key)
}

func (b basicStore) Save(ctx context.Context, key string, data []byte, expiry time.Time) error {
	return b.s.Save(ctx, key, data, expiry)
}

func (b basicStore) Delete(ctx context.Context, key string) error { return b.s.Delete(ctx, key) }

// TestOwnedStoreUnsupported checks that the wrapper reports a capability
// its inner store lacks as core.ErrNotSupported (and not as success), that
// a done context and a closed store take precedence, and that Close
// releases the client once.
func TestOwnedStoreUnsupported(t *testing.T) {
	t.Parallel()
	mem := memstore.New()
	var released atomic.Int32
	s := &ownedStore{inner: basicStore{mem}, release: func() error {
		released.Add(1)
		return mem.Close()
	}}
	calls := map[string]func(ctx context.Context) error{
		"SaveDelta": func(ctx context.Context) error {
			return s.SaveDelta(ctx, "k", &record.Delta{Create: true, Header: storetest.Header(false, time.Now().Add(time.Minute))})
		},
		"Take":    func(ctx context.Context) error { _, _, err := s.Take(ctx, "k"); return err },
		"Touch":   func(ctx context.Context) error { return s.Touch(ctx, "k", time.Now().Add(time.Minute)) },
		"TTL":     func(ctx context.Context) error { _, _, err := s.TTL(ctx, "k"); return err },
		"Iterate": func(ctx context.Context) error { return s.Iterate(ctx, func(string, []byte) bool { return true }) },
		"Count":   func(ctx context.Context) error { _, err := s.Count(ctx); return err },
		"Clear":   func(ctx context.Context) error { return s.Clear(ctx) },
		"Cleanup": func(ctx context.Context) error { _, err := s.Cleanup(ctx); return err },
		"UserSessions": func(ctx context.Context) error {
			_, err := s.UserSessions(ctx, "u")
			return err
		},
		"DeleteUserSessions": func(ctx context.Context) error {
			_, err := s.DeleteUserSessions(ctx, "u", func(string) bool { return true })
			return err
		},
	}
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	for name, call := range calls {
		if err := call(t.Context()); !errors.Is(err, core.ErrNotSupported) {
			t.Errorf("%s: got %v, want core.ErrNotSupported", name, err)
		}
		if err := call(canceled); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: got %v, want context.Canceled", name, err)
		}
	}
	// A manager falls back to the basic methods when a capability is not
	// supported: the delta becomes load, apply, save, the TTL comes from
	// the record's header, and Renew takes the old record by load, delete.
	ctx := t.Context()
	m := core.NewManager(s)
	sess, err := m.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	sess.Set("a", "1")
	if _, err := m.Commit(ctx, sess); err != nil {
		t.Fatalf("Commit without SaveDelta: %v", err)
	}
	token := sess.ID()
	if ttl, found, err := m.RemainingTTL(ctx, token); err != nil || !found || ttl <= 0 {
		t.Errorf("RemainingTTL = %v, %v, %v; want the record's TTL", ttl, found, err)
	}
	sess, err = m.Load(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := sess.Get("a"); !ok || v != "1" {
		t.Fatalf("Get(a) = %v, %v after a Commit without SaveDelta; want 1", v, ok)
	}
	sess.Renew()
	if _, err := m.Commit(ctx, sess); err != nil {
		t.Fatalf("Commit of a Renew without Take: %v", err)
	}
	if sess.ID() == token {
		t.Fatal("Renew kept the ID")
	}
	if _, found, _ := s.Load(ctx, core.StoreKey(token)); found {
		t.Error("Renew without Take left the old record")
	}
	if _, found, _ := s.Load(ctx, core.StoreKey(sess.ID())); !found {
		t.Error("Renew without Take saved no record under the new ID")
	}
	for i := 0; i < 2; i++ {
		if err := s.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if n := released.Load(); n != 1 {
		t.Errorf("release called %d times, want 1", n)
	}
	for name, call := range calls {
		if err := call(t.Context()); !errors.Is(err, core.ErrClosed) {
			t.Errorf("%s after Close: got %v, want core.ErrClosed", name, err)
		}
	}
}
