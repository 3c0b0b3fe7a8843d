package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// takePath is one way of taking a record: as the manager does it, or
// through the store's own method.
type takePath struct {
	name string
	fn   func(t *testing.T, key string) ([]byte, bool, error)
}

// takePaths returns the ways of taking a record of s: always as the
// manager does it (the store's capability, else load, then delete), and
// directly when s implements [core.TakeStore].
func takePaths(s core.Store) []takePath {
	paths := []takePath{{"helper", func(t *testing.T, key string) ([]byte, bool, error) {
		return take(t.Context(), s, key, time.Now())
	}}}
	if ts, ok := s.(core.TakeStore); ok {
		paths = append(paths, takePath{"direct", func(t *testing.T, key string) ([]byte, bool, error) {
			return ts.Take(t.Context(), key)
		}})
	}
	return paths
}

// testTake checks that Take returns a live record and deletes it, and
// that it finds nothing (and resurrects nothing) for a record that is
// missing, deleted, expired or lapsed.
func testTake(t *testing.T, s core.Store) {
	ctx := t.Context()
	paths := takePaths(s)
	lapse := at(300 * time.Millisecond)
	for _, p := range paths {
		save(t, s, p.name+"-lapsed", Record(lapse, "a", "1"), lapse)
	}
	exp := at(time.Hour)
	wantNone := func(p takePath, k, why string) {
		t.Helper()
		data, found, err := p.fn(t, k)
		if err != nil || found {
			t.Errorf("%s: Take of a %s record: found=%v (%d bytes), err=%v; want not found", p.name, why, found, len(data), err)
		}
		wantMissing(t, s, k)
	}

	for _, p := range paths {
		k := p.name
		r := Record(exp, "a", "1", "b", "2")
		save(t, s, k, r, exp)
		other := Record(exp, "c", "3")
		save(t, s, k+"-other", other, exp)
		data, found, err := p.fn(t, k)
		if err != nil || !found {
			t.Fatalf("%s: Take of a live record: found=%v, err=%v", p.name, found, err)
		}
		if err := SameRecord(data, r); err != nil {
			t.Errorf("%s: Take returned %v", p.name, err)
		}
		wantMissing(t, s, k)
		wantNone(p, k, "taken")
		wantRecord(t, s, k+"-other", other)

		save(t, s, k+"-deleted", r, exp)
		if err := s.Delete(ctx, k+"-deleted"); err != nil {
			t.Fatal(err)
		}
		wantNone(p, k+"-deleted", "deleted")
		wantNone(p, k+"-never", "never saved")

		past := at(-time.Second)
		if err := s.Save(ctx, k+"-expired", Record(past, "a", "1"), past); err != nil {
			t.Fatalf("Save of an expired record: %v", err)
		}
		wantNone(p, k+"-expired", "expired")
	}

	time.Sleep(time.Until(lapse) + 50*time.Millisecond)
	for _, p := range paths {
		wantNone(p, p.name+"-lapsed", "lapsed")
	}
}

// testConcurrentTake checks that of concurrent Takes of one record
// exactly one gets it: what keeps two Renews of one session from forking
// it into two. Stores without [core.TakeStore] only have the best-effort
// fallback and skip it.
func testConcurrentTake(t *testing.T, s core.Store) {
	ts, ok := s.(core.TakeStore)
	if !ok {
		t.Skipf("%T has no Take: best effort only", s)
	}
	const records, takers = 10, 6
	exp := at(time.Hour)
	for i := range records {
		k := fmt.Sprintf("take-%d", i)
		r := Record(exp, "a", "1")
		save(t, s, k, r, exp)
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range takers {
			wg.Go(func() {
				<-start
				data, found, err := ts.Take(t.Context(), k)
				if err != nil {
					if notSupported(t, "Take", err) {
						return
					}
					t.Errorf("Take(%q): %v", k, err)
					return
				}
				if found {
					wins.Add(1)
					if err := SameRecord(data, r); err != nil {
						t.Errorf("Take(%q) returned %v", k, err)
					}
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n > 1 {
			t.Errorf("%d of %d concurrent Takes of %q found the record, want 1", n, takers, k)
		} else if n == 0 && !t.Failed() {
			t.Errorf("no concurrent Take of %q found the record", k)
		}
		wantMissing(t, s, k)
	}
}

// testTakeRacesDeltas races one Take against concurrent delta saves of
// the same record, as a Renew races the other requests of its session:
// every save that succeeded is in what the Take got, every other one
// failed with [core.ErrSessionGone], and nothing is left under the key.
func testTakeRacesDeltas(t *testing.T, s core.Store) {
	ts, ok := s.(core.TakeStore)
	if !ok {
		t.Skipf("%T has no Take: best effort only", s)
	}
	ds, ok := s.(core.DeltaStore)
	if !ok {
		t.Skipf("%T has no SaveDelta: best effort only", s)
	}
	const rounds, writers = 8, 6
	exp := at(time.Hour)
	for i := range rounds {
		k := fmt.Sprintf("race-%d", i)
		save(t, s, k, Record(exp), exp)
		errs := make([]error, writers)
		var taken []byte
		var found bool
		var takeErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				<-start
				errs[w] = ds.SaveDelta(t.Context(), k, &record.Delta{Expiry: exp, Set: Entries(fmt.Sprint(w), "x")})
			})
		}
		wg.Go(func() {
			<-start
			taken, found, takeErr = ts.Take(t.Context(), k)
		})
		close(start)
		wg.Wait()
		if takeErr != nil {
			if notSupported(t, "Take", takeErr) {
				return
			}
			t.Fatalf("round %d: Take: %v", i, takeErr)
		}
		if !found {
			t.Fatalf("round %d: Take found nothing; want the record", i)
		}
		got := Values(t, taken)
		for w, err := range errs {
			_, in := got[fmt.Sprint(w)]
			switch {
			case err != nil && notSupported(t, "SaveDelta", err):
				return
			case err == nil && !in:
				t.Errorf("round %d: delta %d succeeded but the Take missed its entry", i, w)
			case err != nil && !errors.Is(err, core.ErrSessionGone):
				t.Errorf("round %d: delta %d: %v, want nil or ErrSessionGone", i, w, err)
			case err != nil && in:
				t.Errorf("round %d: delta %d failed (%v) but the Take got its entry", i, w, err)
			}
		}
		wantMissing(t, s, k)
	}
}
