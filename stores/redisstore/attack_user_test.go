package redisstore

import (
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// TestAttackSaveCarriedBindingAfterDestroy: the core.UserStore contract
// says a create whose binding has a non-zero Gen (a binding carried from
// a record already written) is written only while the index still holds
// the entry of that user and handle, else fails with ErrSessionGone and
// leaves no record. filestore and sqlstore honour that in Save; redisstore
// writes the record (and re-adds the entry with HSETNX): a Save in flight
// with a destroyed session's record brings it back after
// DeleteUserSessions returned.
func TestAttackSaveCarriedBindingAfterDestroy(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		st := newTestStore(t, c)
		exp := time.Now().Add(time.Hour)
		if err := st.Save(ctx, "k", storetest.BoundRecord(exp, "zoe", "h1", 0, "a", "1"), exp); err != nil {
			t.Fatal(err)
		}
		data, found, err := st.Load(ctx, "k")
		if err != nil || !found {
			t.Fatalf("Load: %v %v", found, err)
		}
		snapshot := append([]byte(nil), data...) // what a request in flight holds (Gen stamped)
		hs, err := st.DeleteUserSessions(ctx, record.UserKey("zoe"), func(string) bool { return true })
		if err != nil || len(hs) != 1 {
			t.Fatalf("DeleteUserSessions = %q, %v", hs, err)
		}
		// The request in flight writes the whole record back (Save), to the
		// same key or, as a Renew without deltas would, to a new one.
		for _, key := range []string{"k", "k2"} {
			err := st.Save(ctx, key, snapshot, exp)
			if _, found, _ := st.Load(ctx, key); found {
				t.Errorf("Save(%q) of the destroyed session's record (binding Gen != 0) = %v; Load finds it live: resurrected after DeleteUserSessions", key, err)
			} else if !errors.Is(err, core.ErrSessionGone) {
				t.Errorf("Save(%q) = %v, want ErrSessionGone", key, err)
			}
		}
	})
}

// TestAttackSaveNewBindingPrunedMidway: Save of a new bound record (Gen 0)
// to a key that holds none writes the index entry first, then the record.
// A listing (UserSessions) running in between finds the entry's record
// missing, with no taken mark, and prunes the entry. The record is then
// written, live and bound, with no entry: DeleteUserSessions misses it
// and it stays loadable.
func TestAttackSaveNewBindingPrunedMidway(t *testing.T) {
	userTargets(t, func(t *testing.T, newClient func(hooks ...redis.Hook) redis.UniversalClient) {
		ctx := t.Context()
		hook := &beforeHook{match: func(c []redis.Cmder) bool { return sends(c, "evalsha", saveScript) || sends(c, "eval", nil) }}
		hs := newTestStore(t, newClient(hook))
		ps := &Store{client: newClient(), prefix: hs.prefix, maxSize: hs.maxSize}
		uk := record.UserKey("max")
		hook.fn = func() {
			if _, err := ps.UserSessions(ctx, uk); err != nil {
				t.Errorf("UserSessions: %v", err)
			}
		}
		exp := time.Now().Add(time.Hour)
		if err := hs.Save(ctx, "k", storetest.BoundRecord(exp, "max", "h1", 0, "a", "1"), exp); err != nil {
			t.Fatal(err)
		}
		if got := indexOf(t, ps, "max"); got["h1"] != "k" {
			t.Errorf("index after Save of a bound record: %q, want h1 naming k (entry pruned while the Save was in flight)", got)
		}
		if _, err := ps.DeleteUserSessions(ctx, uk, func(string) bool { return true }); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := ps.Load(ctx, "k"); found {
			t.Errorf("a live session bound to max survives DeleteUserSessions: its index entry was pruned between the entry write and the record write")
		}
	})
}
