package storetest

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

func testRoundTrip(t *testing.T, s core.Store) {
	ctx := t.Context()
	exp := at(time.Hour)

	wantMissing(t, s, "k")
	if err := s.Delete(ctx, "k"); err != nil {
		t.Errorf("Delete of a missing key: %v, want nil", err)
	}

	r1 := Record(exp, "a", "1")
	save(t, s, "k", r1, exp)
	wantRecord(t, s, "k", r1)

	r2 := record.Append(nil, Header(true, exp.Add(time.Minute)), Entries("b", "2", "c", "3"))
	save(t, s, "k", r2, exp.Add(time.Minute))
	wantRecord(t, s, "k", r2)

	r3 := Record(exp, "z", "26")
	save(t, s, "k2", r3, exp)
	empty := Record(exp)
	save(t, s, "empty", empty, exp)
	wantRecord(t, s, "k", r2)
	wantRecord(t, s, "k2", r3)
	wantRecord(t, s, "empty", empty)

	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantMissing(t, s, "k")
	wantRecord(t, s, "k2", r3)
	if err := s.Delete(ctx, "k"); err != nil {
		t.Errorf("second Delete: %v, want nil", err)
	}
	save(t, s, "k", r1, exp)
	wantRecord(t, s, "k", r1)
}

func testExpiry(t *testing.T, s core.Store) {
	ctx := t.Context()
	short := at(time.Second)
	rs := Record(short, "a", "1")
	save(t, s, "short", rs, short)

	past := at(-time.Second)
	if err := s.Save(ctx, "past", Record(past, "a", "1"), past); err != nil {
		t.Errorf("Save of an already expired record: %v, want nil", err)
	}
	now := time.Now()
	if err := s.Save(ctx, "now", Record(now, "a", "1"), now); err != nil {
		t.Errorf("Save of a record expiring now: %v, want nil", err)
	}
	long := at(time.Hour)
	save(t, s, "over", Record(long, "a", "1"), long)
	if err := s.Save(ctx, "over", Record(past, "a", "2"), past); err != nil {
		t.Errorf("Save of an expired record over a live one: %v, want nil", err)
	}
	wantMissing(t, s, "past")
	wantMissing(t, s, "now")
	wantMissing(t, s, "over")

	time.Sleep(time.Until(short.Add(-150 * time.Millisecond)))
	if time.Until(short) > 20*time.Millisecond {
		wantRecord(t, s, "short", rs)
	} else {
		t.Log("too slow to check the record just before its expiry")
	}
	time.Sleep(time.Until(short) + 20*time.Millisecond)
	wantMissing(t, s, "short")
	if _, found, err := storeTTL(ctx, s, "short", time.Now()); err != nil || found {
		t.Errorf("TTL of an expired record = found %v, err %v; want not found, nil", found, err)
	}
}

// testExpiryFollowsUpdates checks that a store's own expiry (a native TTL,
// a column) moves with SaveDelta, Touch and Save, both later and earlier.
func testExpiryFollowsUpdates(t *testing.T, s core.Store) {
	ctx := t.Context()
	first := at(time.Second)
	later := at(5 * time.Second)
	long := at(time.Hour)

	for _, k := range []string{"delta", "touch", "save"} {
		save(t, s, k, Record(first, "a", "1"), first)
	}
	save(t, s, "touch-back", Record(long, "a", "1"), long)
	save(t, s, "delta-back", Record(long, "a", "1"), long)

	if err := saveDelta(ctx, s, "delta", &record.Delta{Expiry: later, Set: Entries("b", "2")}, time.Now()); err != nil {
		t.Fatalf("SaveDelta extending the expiry: %v", err)
	}
	if err := touch(ctx, s, "touch", later); err != nil {
		t.Fatalf("Touch extending the expiry: %v", err)
	}
	save(t, s, "save", Record(later, "a", "1"), later)
	if err := touch(ctx, s, "touch-back", first); err != nil {
		t.Fatalf("Touch shortening the expiry: %v", err)
	}
	err := saveDelta(ctx, s, "delta-back", &record.Delta{Header: Header(false, first), Expiry: first}, time.Now())
	if err != nil {
		t.Fatalf("SaveDelta shortening the expiry: %v", err)
	}

	// A native TTL rounded up to whole seconds lapses within two seconds.
	time.Sleep(time.Until(first) + 1500*time.Millisecond)
	wantRecord(t, s, "delta", record.Append(nil, Header(false, later), Entries("a", "1", "b", "2")))
	wantRecord(t, s, "touch", Record(later, "a", "1"))
	wantRecord(t, s, "save", Record(later, "a", "1"))
	wantMissing(t, s, "touch-back")
	wantMissing(t, s, "delta-back")
}

func testTouch(t *testing.T, s core.Store) {
	ctx := t.Context()
	paths := touchPaths(s)
	lapse := at(300 * time.Millisecond)
	for _, p := range paths {
		save(t, s, p.name+"-lapsed", Record(lapse, "a", "1"), lapse)
	}
	for _, p := range paths {
		k := p.name
		exp := at(time.Hour)
		r := Record(exp, "a", "1", "b", "2")
		save(t, s, k, r, exp)

		for _, d := range []time.Duration{2 * time.Hour, 30 * time.Minute} {
			e := at(d)
			if err := p.fn(ctx, k, e); err != nil {
				t.Fatalf("%s: Touch(%v): %v", p.name, d, err)
			}
			want := bytes.Clone(r)
			if err := record.SetExpiry(want, e); err != nil {
				t.Fatal(err)
			}
			wantRecord(t, s, k, want)
			ttl, found, err := storeTTL(ctx, s, k, time.Now())
			if err != nil || !found || ttl > d+time.Second || ttl < d-10*time.Second {
				t.Errorf("%s: after Touch(+%v): TTL = %v, found %v, err %v", p.name, d, ttl, found, err)
			}
		}

		if err := p.fn(ctx, k+"-missing", exp); err != nil {
			t.Errorf("%s: Touch of a missing key: %v, want nil", p.name, err)
		}
		wantMissing(t, s, k+"-missing")

		if err := s.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
		if err := p.fn(ctx, k, exp); err != nil {
			t.Errorf("%s: Touch of a deleted key: %v, want nil", p.name, err)
		}
		wantMissing(t, s, k)
	}

	time.Sleep(time.Until(lapse) + 50*time.Millisecond)
	for _, p := range paths {
		k := p.name + "-lapsed"
		if err := p.fn(ctx, k, at(time.Hour)); err != nil {
			t.Errorf("%s: Touch of an expired record: %v, want nil", p.name, err)
		}
		wantMissing(t, s, k)
	}
}

func testTTL(t *testing.T, s core.Store) {
	ctx := t.Context()
	exp := at(time.Hour)
	save(t, s, "k", Record(exp, "a", "1"), exp)
	past := at(-time.Second)
	if err := s.Save(ctx, "expired", Record(past, "a", "1"), past); err != nil {
		t.Fatalf("Save of an expired record: %v", err)
	}

	type ttlFunc func(key string) (time.Duration, bool, error)
	fns := map[string]ttlFunc{"helper": func(key string) (time.Duration, bool, error) {
		return storeTTL(ctx, s, key, time.Now())
	}}
	if ts, ok := s.(core.TTLStore); ok {
		fns["direct"] = func(key string) (time.Duration, bool, error) { return ts.TTL(ctx, key) }
	}
	for name, fn := range fns {
		ttl, found, err := fn("k")
		if notSupported(t, name+" TTL", err) {
			continue
		}
		want := time.Until(exp)
		if err != nil || !found || ttl > want+time.Second || ttl < want-10*time.Second {
			t.Errorf("%s: TTL = %v, found %v, err %v; want about %v", name, ttl, found, err, want)
		}
		for _, k := range []string{"missing", "expired"} {
			if ttl, found, err := fn(k); err != nil || found {
				t.Errorf("%s: TTL of %s key = %v, found %v, err %v; want not found, nil", name, k, ttl, found, err)
			}
		}
	}
}

func testLarge(t *testing.T, s core.Store) {
	ctx := t.Context()
	exp := at(time.Hour)
	big := strings.Repeat("0123456789abcdef", 256<<10/16)
	r := Record(exp, "big", big)
	err := s.Save(ctx, "save", r, exp)
	switch {
	case errors.Is(err, core.ErrTooLarge):
		t.Logf("Save of %d bytes: %v", len(r), err)
		wantMissing(t, s, "save")
	case err != nil:
		t.Errorf("Save of %d bytes: %v, want nil or ErrTooLarge", len(r), err)
	default:
		wantRecord(t, s, "save", r)
	}

	for _, p := range deltaPaths(s) {
		d := &record.Delta{Create: true, Header: Header(false, exp), Expiry: exp, Set: Entries("big", big)}
		err := p.fn(ctx, p.name, d)
		switch {
		case errors.Is(err, core.ErrTooLarge):
			t.Logf("%s: SaveDelta of %d bytes: %v", p.name, len(big), err)
			wantMissing(t, s, p.name)
		case err != nil:
			t.Errorf("%s: SaveDelta of %d bytes: %v, want nil or ErrTooLarge", p.name, len(big), err)
		default:
			wantRecord(t, s, p.name, r)
		}
	}
}
