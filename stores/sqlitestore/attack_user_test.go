package sqlitestore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// TestAttackClearDropsEntryOfConcurrentLogin: Clear runs two statements,
// outside one transaction: DELETE FROM the session table, then DELETE FROM
// the user index. A login (a create binding its new session, record and
// entry in one transaction) that commits between them keeps its record and
// loses its entry: a live bound session outside its user's index, which
// DeleteUserSessions then misses. (The Redis store documents exactly this
// case in its Clear and avoids it.)
func TestAttackClearDropsEntryOfConcurrentLogin(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "s.db"))
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	uk := record.UserKey("ann")
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			_ = s.Clear(ctx) // busy errors are fine
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			d := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
				Set: append(storetest.Entries("a", "1"), bindEntry(t, "ann", fmt.Sprintf("h%07d", i)))}
			_ = s.SaveDelta(ctx, fmt.Sprintf("k%07d", i), d)
		}
	}()
	var orphans []string
	for round := 0; round < 40 && len(orphans) == 0; round++ {
		time.Sleep(100 * time.Millisecond)
		stop.Store(true)
		wg.Wait()
		listed := map[string]bool{}
		recs, err := s.UserSessions(ctx, uk)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			listed[r.Key] = true
		}
		if err := s.Iterate(ctx, func(key string, data []byte) bool {
			if _, bound, _ := record.FindBinding(data); bound && !listed[key] {
				orphans = append(orphans, key)
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if len(orphans) > 0 {
			break
		}
		stop.Store(false)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				_ = s.Clear(ctx)
			}
		}()
		go func(base int) {
			defer wg.Done()
			for i := base; !stop.Load(); i++ {
				d := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
					Set: append(storetest.Entries("a", "1"), bindEntry(t, "ann", fmt.Sprintf("h%07d", i)))}
				_ = s.SaveDelta(ctx, fmt.Sprintf("k%07d", i), d)
			}
		}((round + 1) * 1000000)
	}
	if len(orphans) == 0 {
		t.Skip("the race did not show within the time budget")
	}
	t.Logf("round found %d live bound sessions outside the index: %q", len(orphans), orphans)
	hs, err := s.DeleteUserSessions(ctx, uk, func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range orphans {
		if _, found, _ := s.Load(ctx, k); found {
			t.Errorf("session %s, bound to ann and created while Clear ran, survives DeleteUserSessions (handles deleted: %q): Clear dropped its index entry and kept its record", k, hs)
		}
	}
}

func bindEntry(t *testing.T, user, handle string) record.Entry {
	t.Helper()
	v, err := record.EncodeBinding(nil, record.Binding{User: user, Handle: handle})
	if err != nil {
		t.Fatal(err)
	}
	return record.Entry{Key: record.BindingKey, Value: v}
}
