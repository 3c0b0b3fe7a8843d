package cachedstore_test

// Security review of "log out everywhere" (issue 25): the cached store
// must never serve, on the instance that destroyed them, sessions that
// DestroyUserSessions or DestroySession destroyed, whatever was in flight.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// attackGate is a memory store (with its user index) that, once armed,
// parks the next call of one method after the backing store did it.
type attackGate struct {
	*memstore.Store
	mu      sync.Mutex
	op      string
	parked  chan struct{}
	release chan struct{}
}

func (g *attackGate) arm(op string) {
	g.mu.Lock()
	g.op, g.parked, g.release = op, make(chan struct{}), make(chan struct{})
	g.mu.Unlock()
}

func (g *attackGate) park(op string) {
	g.mu.Lock()
	hit := g.op == op
	if hit {
		g.op = ""
	}
	parked, release := g.parked, g.release
	g.mu.Unlock()
	if hit {
		close(parked)
		<-release
	}
}

func (g *attackGate) Load(ctx context.Context, key string) ([]byte, bool, error) {
	data, found, err := g.Store.Load(ctx, key)
	g.park("load")
	return data, found, err
}

func (g *attackGate) SaveDelta(ctx context.Context, key string, d *record.Delta) error {
	err := g.Store.SaveDelta(ctx, key, d)
	g.park("delta")
	return err
}

func (g *attackGate) Touch(ctx context.Context, key string, exp time.Time) error {
	err := g.Store.Touch(ctx, key, exp)
	g.park("touch")
	return err
}

func attackBinding(user, handle string, gen uint64) record.Entry {
	v, err := record.EncodeBinding(nil, record.Binding{User: user, Handle: handle, Gen: gen})
	if err != nil {
		panic(err)
	}
	return record.Entry{Key: record.BindingKey, Value: v}
}

// TestAttackCachedDestroyRacesInFlight (held up): a Load, a delta or a
// touch that read or wrote the backing store before DestroyUserSessions
// (or DestroySession) ran through this instance, and finishes after it,
// does not leave the destroyed session in this instance's cache.
func TestAttackCachedDestroyRacesInFlight(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	uk := record.UserKey("alice")
	for _, op := range []string{"load", "delta", "touch"} {
		for _, revoke := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/revoke=%v", op, revoke), func(t *testing.T) {
				gate := &attackGate{Store: memstore.New(memstore.WithCleanupInterval(0))}
				t.Cleanup(func() { gate.Store.Close() })
				c := newTestCachedStore(t, gate, cachedstore.WithMaxStale(time.Hour))
				ctx := t.Context()
				key := "k"
				d := &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp,
					Set: append(storetest.Entries("secret", "alice"), attackBinding("alice", "h1", 0))}
				if err := c.SaveDelta(ctx, key, d); err != nil {
					t.Fatal(err)
				}
				if op != "load" {
					cachedLoad(t, c, key) // cached now (a bind is not patched in)
				}
				gate.arm(op)
				done := make(chan error, 1)
				go func() {
					var err error
					switch op {
					case "load":
						_, _, err = c.Load(ctx, key) // a miss: reads through
					case "delta":
						err = c.SaveDelta(ctx, key, &record.Delta{Expiry: exp, Set: storetest.Entries("n", "1")})
					case "touch":
						err = c.Touch(ctx, key, exp.Add(time.Minute))
					}
					done <- err
				}()
				<-gate.parked
				match := func(string) bool { return true }
				if revoke {
					match = func(h string) bool { return h == "h1" }
				}
				hs, err := c.DeleteUserSessions(ctx, uk, match)
				if err != nil || len(hs) != 1 {
					t.Fatalf("DeleteUserSessions = %q, %v", hs, err)
				}
				close(gate.release)
				<-done
				if data, found, err := c.Load(ctx, key); err != nil || found {
					t.Errorf("after DeleteUserSessions returned and the %s in flight ended, this instance serves the destroyed session: %q, %v",
						op, storetest.Values(t, data), err)
				}
				if _, found, _ := gate.Store.Load(ctx, key); found {
					t.Errorf("the %s in flight brought the session back in the backing store", op)
				}
			})
		}
	}
}

// TestAttackCachedRenewedDeviceDestroyed (held up): a device renewed
// through the cache (its new key cached by a later Load) is found and
// dropped from the cache by DestroyUserSessions; the old key stays gone.
func TestAttackCachedRenewedDeviceDestroyed(t *testing.T) {
	backing := memstore.New(memstore.WithCleanupInterval(0))
	t.Cleanup(func() { backing.Close() })
	c := newTestCachedStore(t, backing, cachedstore.WithMaxStale(time.Hour))
	m := core.NewManager(c)
	ctx := t.Context()
	s, _ := m.Load(ctx, "")
	s.Set("secret", "alice")
	s.SetUser("alice")
	res, err := m.Commit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	old := res.Token
	s, _ = m.Load(ctx, old)
	s.Renew()
	if res, err = m.Commit(ctx, s); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if s, _ := m.Load(ctx, res.Token); s.User() != "alice" {
			t.Fatal("renewed session not bound")
		}
	}
	if n, err := m.DestroyUserSessions(ctx, "alice"); n != 1 || err != nil {
		t.Fatalf("DestroyUserSessions = %d, %v", n, err)
	}
	for _, tok := range []string{old, res.Token} {
		if s, _ := m.Load(ctx, tok); s.ID() != "" || s.User() != "" {
			t.Errorf("token loads a destroyed session")
		}
	}
}
