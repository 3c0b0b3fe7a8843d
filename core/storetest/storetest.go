package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// Run runs the conformance suite against the stores newStore makes.
//
// newStore must return a fresh, empty store that shares no records with
// any other store it returned (a separate directory, database or key
// prefix), and register whatever cleanup the store needs with t.Cleanup,
// including Close when the store implements [io.Closer]: Run calls it once
// per subtest, from the subtest, and the subtests run in parallel. The
// "Close" subtest closes its store itself, so a second Close from the
// cleanup must be harmless.
//
// Optional capabilities are used when the store has them. A capability
// method that returns an error matching [core.ErrNotSupported] is logged
// and that part of the subtest is skipped.
func Run(t *testing.T, newStore func(t *testing.T) core.Store) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			c.fn(t, s)
		})
	}
}

var cases = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"RoundTrip", testRoundTrip},
	{"Expiry", testExpiry},
	{"ExpiryFollowsUpdates", testExpiryFollowsUpdates},
	{"SaveDelta", testSaveDelta},
	{"ConcurrentDelta", testConcurrentDelta},
	{"CreateIfAbsent", testCreateIfAbsent},
	{"NoResurrection", testNoResurrection},
	{"Take", testTake},
	{"ConcurrentTake", testConcurrentTake},
	{"TakeRacesDeltas", testTakeRacesDeltas},
	{"Touch", testTouch},
	{"TTL", testTTL},
	{"IterateCountClear", testIterateCountClear},
	{"Close", testClose},
	{"OddKeys", testOddKeys},
	{"DoneContext", testDoneContext},
	{"NoAliasing", testNoAliasing},
	{"LoadedDataStable", testLoadedDataStable},
	{"Large", testLarge},
	{"SaveRefusesNonRecords", testSaveRefusesNonRecords},
	{"UserIndex", testUserIndex},
	{"UserBindExisting", testUserBindExisting},
	{"UserRenew", testUserRenew},
	{"UserRenewRacesDestroy", testUserRenewRacesDestroy},
}

// wantRecord fails t unless s holds a live record under key equal to want
// (see [SameRecord]).
func wantRecord(t *testing.T, s core.Store, key string, want []byte) {
	t.Helper()
	got, found, err := s.Load(t.Context(), key)
	if err != nil {
		t.Errorf("Load(%q): %v", key, err)
		return
	}
	if !found {
		t.Errorf("Load(%q): not found, want a record", key)
		return
	}
	if err := SameRecord(got, want); err != nil {
		t.Errorf("Load(%q): %v", key, err)
	}
}

// wantMissing fails t unless Load of key reports found == false with a
// nil error.
func wantMissing(t *testing.T, s core.Store, key string) {
	t.Helper()
	data, found, err := s.Load(t.Context(), key)
	if err != nil {
		t.Errorf("Load(%q): %v, want not found and nil error", key, err)
		return
	}
	if found {
		exp, _ := record.Expiry(data)
		t.Errorf("Load(%q): found a record (expiry %v, now %v), want none", key, exp, time.Now())
	}
}

// load returns the record under key, failing t when it is absent.
func load(t *testing.T, s core.Store, key string) []byte {
	t.Helper()
	data, found, err := s.Load(t.Context(), key)
	if err != nil || !found {
		t.Fatalf("Load(%q) = found %v, err %v; want a record", key, found, err)
	}
	return data
}

func save(t *testing.T, s core.Store, key string, data []byte, expiry time.Time) {
	t.Helper()
	if err := s.Save(t.Context(), key, data, expiry); err != nil {
		t.Fatalf("Save(%q): %v", key, err)
	}
}

// notSupported reports whether err says the capability is missing, and
// logs it.
func notSupported(t *testing.T, op string, err error) bool {
	t.Helper()
	if errors.Is(err, core.ErrNotSupported) {
		t.Logf("%s not supported, skipped: %v", op, err)
		return true
	}
	return false
}

// deltaPath is one way of applying a delta: as the manager does it, or
// through the store's own method.
type deltaPath struct {
	name string
	fn   func(ctx context.Context, key string, d *record.Delta) error
}

// deltaPaths returns the ways of applying a delta to s: always as the
// manager does it (the store's capability, else load, [record.Apply],
// save), and directly when s implements [core.DeltaStore].
func deltaPaths(s core.Store) []deltaPath {
	paths := []deltaPath{{"helper", func(ctx context.Context, key string, d *record.Delta) error {
		return saveDelta(ctx, s, key, d, time.Now())
	}}}
	if ds, ok := s.(core.DeltaStore); ok {
		paths = append(paths, deltaPath{"direct", ds.SaveDelta})
	}
	return paths
}

// touchPath is one way of moving a deadline.
type touchPath struct {
	name string
	fn   func(ctx context.Context, key string, expiry time.Time) error
}

// touchPaths returns the ways of touching a record of s: always as the
// manager does it (the store's capability, else load, patch the expiry,
// save), and directly when s implements [core.TouchStore].
func touchPaths(s core.Store) []touchPath {
	paths := []touchPath{{"helper", func(ctx context.Context, key string, expiry time.Time) error {
		return touch(ctx, s, key, expiry)
	}}}
	if ts, ok := s.(core.TouchStore); ok {
		paths = append(paths, touchPath{"direct", ts.Touch})
	}
	return paths
}
