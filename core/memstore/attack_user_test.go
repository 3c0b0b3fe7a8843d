package memstore_test

// Security review of "log out everywhere" (issue 25): attacks on the
// memory store's user index.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

func attackKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func attackBinding(user, handle string, gen uint64) record.Entry {
	v, err := record.EncodeBinding(nil, record.Binding{User: user, Handle: handle, Gen: gen})
	if err != nil {
		panic(err)
	}
	return record.Entry{Key: record.BindingKey, Value: v}
}

// TestAttackClearRacesLogin: the whole-store Clear empties the shards one
// by one and only then swaps the user index for an empty one. A login
// (a bound create) that lands in a shard Clear has already emptied, while
// it is still emptying the others, keeps its record but loses its index
// entry: a live bound session the client holds is missing from the index,
// so DestroyUserSessions neither lists nor destroys it.
func TestAttackClearRacesLogin(t *testing.T) {
	s := newTestMemoryStore(t, memstore.WithShards(1<<16), memstore.WithCleanupInterval(0))
	ctx := t.Context()
	var escaped []string
	for round := 0; round < 20 && len(escaped) == 0; round++ {
		var (
			mu    sync.Mutex
			keys  []string
			stop  atomic.Bool
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; !stop.Load(); i++ {
				k := attackKey()
				exp := time.Now().Add(time.Hour)
				d := &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp,
					Set: append(storetest.Entries("secret", "alice"), attackBinding("alice", fmt.Sprintf("h%d-%d", round, i), 0))}
				if err := s.SaveDelta(ctx, k, d); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				keys = append(keys, k)
				mu.Unlock()
			}
		}()
		close(start)
		time.Sleep(time.Millisecond)
		if err := s.Clear(ctx); err != nil {
			t.Fatal(err)
		}
		stop.Store(true)
		wg.Wait()

		us := core.UserStore(s)
		if _, err := us.DeleteUserSessions(ctx, record.UserKey("alice"), func(string) bool { return true }); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			data, found, err := s.Load(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if !found {
				continue
			}
			if b, bound, _ := record.FindBinding(data); bound && b.User == "alice" {
				escaped = append(escaped, k)
			}
		}
	}
	if len(escaped) > 0 {
		t.Errorf("%d live sessions bound to alice survived DeleteUserSessions(alice): logged in during Clear, their index entries were wiped", len(escaped))
	}
}

// TestAttackWritersInFlightCannotResurrect (held up): sessions of alice
// under constant writes (deltas, Clear re-sending the binding, touches,
// Renews carrying the binding to a new key) while DeleteUserSessions
// runs: once it has returned, no write brings any of them back, under
// any key.
func TestAttackWritersInFlightCannotResurrect(t *testing.T) {
	s := newTestMemoryStore(t, memstore.WithCleanupInterval(0))
	ctx := t.Context()
	uk := record.UserKey("alice")
	const n = 16
	var (
		mu      sync.Mutex
		all     []string
		wg      sync.WaitGroup
		stop    atomic.Bool
		deleted atomic.Bool
		after   atomic.Int64 // successful writes that started after the delete returned
	)
	for i := 0; i < n; i++ {
		k := attackKey()
		h := fmt.Sprintf("h%d", i)
		exp := time.Now().Add(time.Hour)
		d := &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp,
			Set: append(storetest.Entries("secret", "alice"), attackBinding("alice", h, 0))}
		if err := s.SaveDelta(ctx, k, d); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		all = append(all, k)
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := k
			for j := 0; !stop.Load(); j++ {
				was := deleted.Load()
				exp := time.Now().Add(time.Hour)
				var err error
				switch j % 4 {
				case 0:
					err = s.SaveDelta(ctx, key, &record.Delta{Expiry: exp, Set: storetest.Entries("n", fmt.Sprint(j))})
				case 1:
					err = s.SaveDelta(ctx, key, &record.Delta{Expiry: exp, Clear: true,
						Set: append(storetest.Entries("c", "1"), attackBinding("alice", h, 1))})
				case 2:
					err = s.Touch(ctx, key, exp)
					if err == nil {
						if _, found, _ := s.Load(ctx, key); !found {
							err = core.ErrSessionGone
						}
					}
				case 3:
					data, found, terr := s.Take(ctx, key)
					if terr != nil || !found {
						err = core.ErrSessionGone
						break
					}
					b, _, _ := record.FindBinding(data)
					nk := attackKey()
					err = s.SaveDelta(ctx, nk, &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp,
						Set: append(storetest.Entries("secret", "alice"), attackBinding("alice", h, b.Gen))})
					if err == nil {
						mu.Lock()
						all = append(all, nk)
						mu.Unlock()
						key = nk
					}
				}
				if err == nil && was {
					after.Add(1)
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	us := core.UserStore(s)
	if _, err := us.DeleteUserSessions(ctx, uk, func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	deleted.Store(true)
	for _, k := range snapshot(&mu, &all) {
		if data, found, _ := s.Load(ctx, k); found {
			t.Errorf("right after DeleteUserSessions, %s loads: %q", k, storetest.Values(t, data))
		}
	}
	time.Sleep(20 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	for _, k := range snapshot(&mu, &all) {
		if data, found, _ := s.Load(ctx, k); found {
			t.Errorf("a write in flight brought back %s: %q", k, storetest.Values(t, data))
		}
	}
	if recs, _ := us.UserSessions(ctx, uk); len(recs) != 0 {
		t.Errorf("alice lists %d sessions", len(recs))
	}
	if after.Load() != 0 {
		t.Errorf("%d writes succeeded on destroyed sessions", after.Load())
	}
}

func snapshot(mu *sync.Mutex, s *[]string) []string {
	mu.Lock()
	defer mu.Unlock()
	return append([]string(nil), *s...)
}
