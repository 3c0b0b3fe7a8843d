package redisstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// TestRoundTrips counts what goes on the wire: in steady state (the
// scripts known to the server) Load, SaveDelta, Take, Touch, TTL, Save
// and Delete are one round trip each. Not parallel, so that TestNoScript's
// SCRIPT FLUSH cannot land in between.
func TestRoundTrips(t *testing.T) {
	clients := map[string]func(rt *roundTrips) redis.UniversalClient{
		"single":  func(rt *roundTrips) redis.UniversalClient { return singleClient(t, rt) },
		"cluster": func(rt *roundTrips) redis.UniversalClient { return clusterClient(t, rt) },
	}
	for name, newClient := range clients {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			rt := &roundTrips{}
			s := newTestStore(t, newClient(rt))
			exp := time.Now().Add(time.Hour)
			// Warm up connections, cluster slots and the script cache of
			// every server the keys below live on.
			create := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: storetest.Entries("a", "1")}
			for _, k := range []string{"k", "k2", "k3"} {
				if err := s.SaveDelta(ctx, k, create); err != nil {
					t.Fatal(err)
				}
				if err := s.Touch(ctx, k, exp); err != nil {
					t.Fatal(err)
				}
				if k != "k" {
					if err := s.Delete(ctx, k); err != nil {
						t.Fatal(err)
					}
					if _, _, err := s.Take(ctx, k); err != nil {
						t.Fatal(err)
					}
				}
			}
			ops := []struct {
				name string
				fn   func() error
			}{
				{"Load", func() error { _, _, err := s.Load(ctx, "k"); return err }},
				{"SaveDelta", func() error {
					return s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("b", "2"), Delete: []string{"a"}})
				}},
				{"SaveDelta create", func() error {
					return s.SaveDelta(ctx, "k2", create)
				}},
				{"Take", func() error {
					if _, found, err := s.Take(ctx, "k2"); err != nil || !found {
						return fmt.Errorf("found=%v, err=%v; want the record", found, err)
					}
					return nil
				}},
				{"Take missing", func() error {
					if _, found, err := s.Take(ctx, "k2"); err != nil || found {
						return fmt.Errorf("found=%v, err=%v; want not found", found, err)
					}
					return nil
				}},
				{"Touch", func() error { return s.Touch(ctx, "k", exp.Add(time.Minute)) }},
				{"TTL", func() error { _, _, err := s.TTL(ctx, "k"); return err }},
				{"Save", func() error { return s.Save(ctx, "k3", storetest.Record(exp, "a", "1"), exp) }},
				{"Delete", func() error { return s.Delete(ctx, "k3") }},
			}
			for _, op := range ops {
				before := rt.n.Load()
				if err := op.fn(); err != nil {
					t.Fatalf("%s: %v", op.name, err)
				}
				if n := rt.n.Load() - before; n != 1 {
					t.Errorf("%s: %d round trips, want 1", op.name, n)
				}
			}
		})
	}
}

// TestUserRoundTrips counts the round trips of the user index: a write
// that changes a binding costs one or two more, listing and destroying
// cost one pipeline (one per master holding the records, on a cluster)
// per step; a delta, a Load and a Touch of a bound session that leave the
// binding alone stay at one. Not parallel, for the reason TestRoundTrips
// gives.
func TestUserRoundTrips(t *testing.T) {
	clients := map[string]func(rt *roundTrips) redis.UniversalClient{
		"single":  func(rt *roundTrips) redis.UniversalClient { return singleClient(t, rt) },
		"cluster": func(rt *roundTrips) redis.UniversalClient { return clusterClient(t, rt) },
	}
	for name, newClient := range clients {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			rt := &roundTrips{}
			s := newTestStore(t, newClient(rt))
			warm(t, s)
			exp := time.Now().Add(time.Hour)
			bindTo := func(user, handle string, gen uint64) []record.Entry {
				return []record.Entry{storetest.BindingEntry(user, handle, gen)}
			}
			create := func(user, handle string, gen uint64) *record.Delta {
				return &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
					Set: append(storetest.Entries("a", "1"), bindTo(user, handle, gen)...)}
			}
			// nodes is how many pipelines one pipeline over keys becomes.
			nodes := func(keys ...string) int64 {
				cc, ok := s.client.(*redis.ClusterClient)
				if !ok {
					return 1
				}
				seen := map[string]bool{}
				for _, k := range keys {
					n, err := cc.MasterForKey(ctx, s.prefix+k)
					if err != nil {
						t.Fatal(err)
					}
					seen[n.Options().Addr] = true
				}
				return int64(len(seen))
			}
			// Warm up connections (a pipeline may dial one more), and
			// cluster slots for every key below.
			for _, k := range []string{"b1", "b2", "b3", "b4", "e", "r1", "r2", "r3", "p"} {
				if err := s.Delete(ctx, k); err != nil {
					t.Fatal(err)
				}
			}
			for _, u := range []string{"alice", "bob", "carol"} {
				if _, err := s.UserSessions(ctx, record.UserKey(u)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.forEachNode(ctx, func(ctx context.Context, c redis.Cmdable) error {
				_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error { p.Ping(ctx); p.Ping(ctx); return nil })
				return err
			}); err != nil {
				t.Fatal(err)
			}
			var gen uint64
			ops := []struct {
				name string
				want int64
				fn   func() error
			}{
				{"SaveDelta create with a new binding", 2, func() error { return s.SaveDelta(ctx, "b1", create("alice", "h1", 0)) }},
				{"Load bound", 1, func() error {
					data, _, err := s.Load(ctx, "b1")
					b, _, _ := record.FindBinding(data)
					gen = b.Gen
					return err
				}},
				{"SaveDelta bound", 1, func() error {
					return s.SaveDelta(ctx, "b1", &record.Delta{Expiry: exp, Set: storetest.Entries("b", "2")})
				}},
				{"Touch bound", 1, func() error { return s.Touch(ctx, "b1", exp.Add(time.Minute)) }},
				{"SaveDelta create unbound", 1, func() error {
					return s.SaveDelta(ctx, "e", &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: storetest.Entries("a", "1")})
				}},
				{"SaveDelta bind existing", 2, func() error {
					return s.SaveDelta(ctx, "e", &record.Delta{Expiry: exp, Set: bindTo("alice", "h2", 0)})
				}},
				{"SaveDelta clear bound", 1, func() error {
					return s.SaveDelta(ctx, "b1", &record.Delta{Expiry: exp, Clear: true, Set: storetest.Entries("c", "3")})
				}},
				{"SaveDelta writing a stamped binding again", 2, func() error {
					return s.SaveDelta(ctx, "b1", &record.Delta{Expiry: exp, Set: bindTo("alice", "h1", gen)})
				}},
				{"SaveDelta rebind to another user", 3, func() error {
					return s.SaveDelta(ctx, "e", &record.Delta{Expiry: exp, Set: bindTo("bob", "hb", 0)})
				}},
				{"SaveDelta unbind", 2, func() error {
					return s.SaveDelta(ctx, "e", &record.Delta{Expiry: exp, Delete: []string{record.BindingKey}})
				}},
				{"Save bound", 3, func() error { return s.Save(ctx, "p", storetest.BoundRecord(exp, "carol", "hp", 0, "a", "1"), exp) }},
				{"Take bound", 1, func() error { _, _, err := s.Take(ctx, "b1"); return err }},
				{"SaveDelta carried renew", 2, func() error { return s.SaveDelta(ctx, "b2", create("alice", "h1", gen)) }},
				{"SaveDelta carried renew refused", 3, func() error {
					err := s.SaveDelta(ctx, "b3", create("alice", "gone", gen))
					if !errors.Is(err, core.ErrSessionGone) {
						return fmt.Errorf("got %v, want ErrSessionGone", err)
					}
					return nil
				}},
				{"SaveDelta create b4", 2, func() error { return s.SaveDelta(ctx, "b4", create("alice", "h4", 0)) }},
				{"UserSessions", 1 + nodes("b2", "b4"), func() error {
					recs, err := s.UserSessions(ctx, record.UserKey("alice"))
					if err == nil && len(recs) != 2 {
						err = fmt.Errorf("%d records, want 2", len(recs))
					}
					return err
				}},
				{"Delete bound", 1, func() error { return s.Delete(ctx, "b4") }},
				{"UserSessions pruning", 2 + nodes("b2", "b4"), func() error {
					recs, err := s.UserSessions(ctx, record.UserKey("alice"))
					if err == nil && len(recs) != 1 {
						err = fmt.Errorf("%d records, want 1", len(recs))
					}
					return err
				}},
				{"SaveDelta create r1", 2, func() error { return s.SaveDelta(ctx, "r1", create("alice", "r1", 0)) }},
				{"SaveDelta create r2", 2, func() error { return s.SaveDelta(ctx, "r2", create("alice", "r2", 0)) }},
				{"DeleteUserSessions", 2 + 2*nodes("b2", "r1", "r2"), func() error {
					hs, err := s.DeleteUserSessions(ctx, record.UserKey("alice"), func(string) bool { return true })
					if err == nil && len(hs) != 3 {
						err = fmt.Errorf("deleted %q, want 3", hs)
					}
					return err
				}},
				{"DeleteUserSessions of no one", 1, func() error {
					_, err := s.DeleteUserSessions(ctx, record.UserKey("alice"), func(string) bool { return true })
					return err
				}},
			}
			for _, op := range ops {
				before := rt.n.Load()
				if err := op.fn(); err != nil {
					t.Fatalf("%s: %v", op.name, err)
				}
				n := rt.n.Load() - before
				if n != op.want {
					t.Errorf("%s: %d round trips, want %d", op.name, n, op.want)
				}
				t.Logf("%s: %d", op.name, n)
			}
		})
	}
}
