package redisstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
