package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// iterateAll collects what core.Iterate visits, failing t on a key visited
// twice. ok is false when the store cannot iterate.
func iterateAll(t *testing.T, s core.Store) (seen map[string][]byte, ok bool) {
	t.Helper()
	seen = map[string][]byte{}
	err := iterate(t.Context(), s, func(k string, data []byte) bool {
		if _, dup := seen[k]; dup {
			t.Errorf("Iterate visited %q twice", k)
		}
		seen[k] = bytes.Clone(data)
		return true
	})
	if notSupported(t, "Iterate", err) {
		return nil, false
	}
	if err != nil {
		t.Errorf("Iterate: %v", err)
		return nil, false
	}
	return seen, true
}

// wantVisited fails t unless Iterate visits exactly the records of want.
func wantVisited(t *testing.T, s core.Store, want map[string][]byte) {
	t.Helper()
	seen, ok := iterateAll(t, s)
	if !ok {
		return
	}
	for k, data := range seen {
		w, ok := want[k]
		if !ok {
			t.Errorf("Iterate visited %q, which holds no live record", k)
			continue
		}
		if err := SameRecord(data, w); err != nil {
			t.Errorf("Iterate visited %q: %v", k, err)
		}
	}
	for k := range want {
		if _, ok := seen[k]; !ok {
			t.Errorf("Iterate did not visit %q", k)
		}
	}
}

// wantCount fails t unless Count (when supported) reports n.
func wantCount(t *testing.T, s core.Store, n int, when string) {
	t.Helper()
	got, err := count(t.Context(), s)
	if notSupported(t, "Count", err) {
		return
	}
	if err != nil || got != n {
		t.Errorf("Count %s = %d, %v; want %d", when, got, err, n)
	}
}

func testIterateCountClear(t *testing.T, s core.Store) {
	ctx := t.Context()
	exp := at(time.Hour)
	live := map[string][]byte{}
	for _, k := range []string{"a", "b", "c"} {
		live[k] = Record(exp, "name", k)
		save(t, s, k, live[k], exp)
	}
	past := at(-time.Second)
	if err := s.Save(ctx, "expired", Record(past, "a", "1"), past); err != nil {
		t.Fatalf("Save of an expired record: %v", err)
	}
	soon := at(300 * time.Millisecond)
	save(t, s, "lapsed", Record(soon, "a", "1"), soon)
	time.Sleep(time.Until(soon) + 50*time.Millisecond)

	wantVisited(t, s, live)
	calls := 0
	err := iterate(ctx, s, func(string, []byte) bool { calls++; return false })
	if !errors.Is(err, core.ErrNotSupported) {
		if err != nil || calls != 1 {
			t.Errorf("Iterate with fn returning false: %d calls, err %v; want 1 call, nil", calls, err)
		}
	}
	wantCount(t, s, 3, "with 3 live and 2 expired records")

	removed, err := cleanup(ctx, s)
	if !notSupported(t, "Cleanup", err) {
		if err != nil {
			t.Errorf("Cleanup: %v", err)
		}
		if removed < -1 || removed > 2 {
			t.Errorf("Cleanup removed %d records, want -1 or 0..2 (only the expired ones)", removed)
		}
	}
	for k, r := range live {
		wantRecord(t, s, k, r)
	}
	wantCount(t, s, 3, "after Cleanup")
	wantVisited(t, s, live)

	err = clearAll(ctx, s)
	if notSupported(t, "Clear", err) {
		return
	}
	if err != nil {
		t.Fatalf("Clear: %v", err)
	}
	for k := range live {
		wantMissing(t, s, k)
	}
	wantCount(t, s, 0, "after Clear")
	wantVisited(t, s, nil)

	save(t, s, "a", live["a"], exp)
	wantRecord(t, s, "a", live["a"])
	wantCount(t, s, 1, "after Clear and one Save")
}

func testClose(t *testing.T, s core.Store) {
	c, ok := s.(io.Closer)
	if !ok {
		t.Skip("store does not implement io.Closer")
	}
	ctx := t.Context()
	exp := at(time.Hour)
	save(t, s, "k", Record(exp, "a", "1"), exp)
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, core.ErrClosed) {
			t.Errorf("%s after Close: %v, want an error matching ErrClosed", op, err)
		}
	}
	// A capability the store lacks may say so instead.
	checkCap := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, core.ErrNotSupported) {
			check(op, err)
		}
	}
	_, _, err := s.Load(ctx, "k")
	check("Load", err)
	check("Save", s.Save(ctx, "k2", Record(exp), exp))
	check("Delete", s.Delete(ctx, "k"))
	check("SaveDelta", saveDelta(ctx, s, "k", &record.Delta{Expiry: exp}, time.Now()))
	check("Touch", touch(ctx, s, "k", exp))
	_, _, err = storeTTL(ctx, s, "k", time.Now())
	check("TTL", err)
	if ds, ok := s.(core.DeltaStore); ok {
		checkCap("SaveDelta", ds.SaveDelta(ctx, "k", &record.Delta{Expiry: exp}))
	}
	if ts, ok := s.(core.TouchStore); ok {
		checkCap("Touch", ts.Touch(ctx, "k", exp))
	}
	if ts, ok := s.(core.TTLStore); ok {
		_, _, err := ts.TTL(ctx, "k")
		checkCap("TTL", err)
	}
	if is, ok := s.(core.IterStore); ok {
		called := false
		checkCap("Iterate", is.Iterate(ctx, func(string, []byte) bool { called = true; return true }))
		if called {
			t.Error("Iterate after Close called fn")
		}
	}
	if cs, ok := s.(core.CountStore); ok {
		_, err := cs.Count(ctx)
		checkCap("Count", err)
	}
	if cs, ok := s.(core.ClearStore); ok {
		checkCap("Clear", cs.Clear(ctx))
	}
	if cs, ok := s.(core.CleanupStore); ok {
		_, err := cs.Cleanup(ctx)
		checkCap("Cleanup", err)
	}

	func() {
		defer func() {
			if v := recover(); v != nil {
				t.Errorf("second Close panicked: %v", v)
			}
		}()
		if err := c.Close(); err != nil {
			t.Logf("second Close: %v", err)
		}
	}()
}

// OddKeys lists the keys the suite uses to check that a store keeps keys
// apart and inside its namespace whatever their bytes. Other kits may reuse
// them.
func OddKeys() []string {
	long := strings.Repeat("x", 999)
	return []string{
		"", " ", "a b", "a/b", "a\\b", ".", "..", "../../etc/passwd",
		"\x00nul", "a\nb", "\xff\xfe", "ünïcode", "a:b{c}", "*", "Key", "key",
		strings.Repeat("k", 250), long + "1", long + "2",
	}
}

func testOddKeys(t *testing.T, s core.Store) {
	ctx := t.Context()
	exp := at(time.Hour)
	keys := OddKeys()
	recs := make(map[string][]byte, len(keys))
	for i, k := range keys {
		recs[k] = Record(exp, "i", strconv.Itoa(i))
		if err := s.Save(ctx, k, recs[k], exp); err != nil {
			t.Errorf("Save(%q): %v", k, err)
		}
	}
	for _, k := range keys {
		wantRecord(t, s, k, recs[k])
	}
	wantVisited(t, s, recs)
	wantCount(t, s, len(keys), "of the odd keys")
	for i, k := range keys {
		if err := s.Delete(ctx, k); err != nil {
			t.Errorf("Delete(%q): %v", k, err)
		}
		wantMissing(t, s, k)
		for _, rest := range keys[i+1:] {
			wantRecord(t, s, rest, recs[rest])
		}
	}
}

func testDoneContext(t *testing.T, s core.Store) {
	exp := at(time.Hour)
	r := Record(exp, "a", "1")
	save(t, s, "live", r, exp)

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel2()

	for _, ctx := range []context.Context{cancelled, expired} {
		want := ctx.Err()
		check := func(op string, err error) {
			t.Helper()
			if !errors.Is(err, want) {
				t.Errorf("%s with a done context: %v, want an error matching %v", op, err, want)
			}
		}
		checkCap := func(op string, err error) bool {
			t.Helper()
			if errors.Is(err, core.ErrNotSupported) {
				return false
			}
			check(op, err)
			return true
		}
		later := exp.Add(time.Hour)

		_, _, err := s.Load(ctx, "live")
		check("Load", err)
		check("Save", s.Save(ctx, "new", Record(exp, "b", "2"), exp))
		wantMissing(t, s, "new")
		check("Save over a record", s.Save(ctx, "live", Record(later, "b", "2"), later))
		check("Delete", s.Delete(ctx, "live"))
		create := &record.Delta{Create: true, Header: Header(false, exp), Expiry: exp, Set: Entries("b", "2")}
		check("SaveDelta (create)", saveDelta(ctx, s, "new", create, time.Now()))
		wantMissing(t, s, "new")
		check("SaveDelta", saveDelta(ctx, s, "live", &record.Delta{Expiry: later, Set: Entries("b", "2")}, time.Now()))
		check("Touch", touch(ctx, s, "live", later))
		_, _, err = storeTTL(ctx, s, "live", time.Now())
		check("TTL", err)
		if ds, ok := s.(core.DeltaStore); ok {
			checkCap("SaveDelta", ds.SaveDelta(ctx, "new", create))
			wantMissing(t, s, "new")
		}
		if ts, ok := s.(core.TouchStore); ok {
			checkCap("Touch", ts.Touch(ctx, "live", later))
		}
		if ts, ok := s.(core.TTLStore); ok {
			_, _, err := ts.TTL(ctx, "live")
			checkCap("TTL", err)
		}
		called := false
		checkCap("Iterate", iterate(ctx, s, func(string, []byte) bool { called = true; return true }))
		if called {
			t.Error("Iterate with a done context called fn")
		}
		_, err = count(ctx, s)
		checkCap("Count", err)
		checkCap("Clear", clearAll(ctx, s))
		_, err = cleanup(ctx, s)
		checkCap("Cleanup", err)

		wantRecord(t, s, "live", r)
	}
}

func testNoAliasing(t *testing.T, s core.Store) {
	ctx := t.Context()
	exp := at(time.Hour)
	buf := Record(exp, "a", "value-1")
	want := bytes.Clone(buf)
	save(t, s, "save", buf, exp)
	for i := range buf {
		buf[i] = 0xAA
	}
	wantRecord(t, s, "save", want)

	for _, p := range deltaPaths(s) {
		hdr := Header(false, exp)
		val := record.EncodeEntry(nil, time.Time{}, []byte("value-2"))
		err := p.fn(ctx, p.name, &record.Delta{Create: true, Header: hdr, Expiry: exp, Set: []record.Entry{{Key: "a", Value: val}}})
		if err != nil {
			t.Fatalf("%s: SaveDelta (create): %v", p.name, err)
		}
		hdr[0], hdr[1] = 0xAA, 0xAA
		for i := range val {
			val[i] = 0xAA
		}
		wantRecord(t, s, p.name, Record(exp, "a", "value-2"))

		val = record.EncodeEntry(nil, time.Time{}, []byte("value-3"))
		if err := p.fn(ctx, p.name, &record.Delta{Expiry: exp, Set: []record.Entry{{Key: "b", Value: val}}}); err != nil {
			t.Fatalf("%s: SaveDelta: %v", p.name, err)
		}
		for i := range val {
			val[i] = 0xAA
		}
		wantRecord(t, s, p.name, Record(exp, "a", "value-2", "b", "value-3"))
	}
}

// testLoadedDataStable checks that data handed out by Load does not change
// under the caller when the record is written again (a store that returns
// its own slice must never mutate it).
func testLoadedDataStable(t *testing.T, s core.Store) {
	ctx := t.Context()
	exp := at(time.Hour)
	save(t, s, "k", Record(exp, "a", "1"), exp)
	ops := []struct {
		name string
		fn   func() error
	}{
		{"Touch", func() error { return touch(ctx, s, "k", exp.Add(time.Minute)) }},
		{"SaveDelta", func() error {
			return saveDelta(ctx, s, "k", &record.Delta{Expiry: exp, Set: Entries("a", "2", "b", "3")}, time.Now())
		}},
		{"SaveDelta (clear)", func() error {
			return saveDelta(ctx, s, "k", &record.Delta{Clear: true, Expiry: exp.Add(time.Hour)}, time.Now())
		}},
		{"Save", func() error { return s.Save(ctx, "k", Record(exp, "c", "4"), exp) }},
		{"Delete", func() error { return s.Delete(ctx, "k") }},
	}
	for _, op := range ops {
		got := load(t, s, "k")
		keep := bytes.Clone(got)
		if err := op.fn(); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		if !bytes.Equal(got, keep) {
			t.Errorf("data returned by Load changed after %s", op.name)
		}
	}
}
