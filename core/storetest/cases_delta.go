package storetest

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

func testSaveDelta(t *testing.T, s core.Store) {
	ctx := t.Context()
	for _, p := range deltaPaths(s) {
		k := p.name
		apply := func(step string, d *record.Delta) {
			t.Helper()
			if err := p.fn(ctx, k, d); err != nil {
				t.Fatalf("%s: SaveDelta (%s): %v", p.name, step, err)
			}
		}

		e1 := at(time.Hour)
		h1 := Header(false, e1)
		apply("create", &record.Delta{Create: true, Header: h1, Expiry: e1, Set: Entries("a", "1", "b", "2")})
		wantRecord(t, s, k, record.Append(nil, h1, Entries("a", "1", "b", "2")))

		apply("set and delete, earlier expiry, no header", &record.Delta{
			Expiry: e1.Add(-10 * time.Minute),
			Set:    Entries("c", "3", "b", "22"),
			Delete: []string{"a", "never-set"},
		})
		wantRecord(t, s, k, record.Append(nil, h1, Entries("b", "22", "c", "3")))

		e2 := e1.Add(time.Hour)
		apply("later expiry, no header", &record.Delta{Expiry: e2})
		wantRecord(t, s, k, record.Append(nil, Header(false, e2), Entries("b", "22", "c", "3")))

		e3 := at(30 * time.Minute)
		h3 := record.NewHeader(true, created.Add(time.Hour), e3)
		apply("new header, earlier expiry", &record.Delta{Header: h3, Expiry: e3, Set: Entries("d", "4")})
		wantRecord(t, s, k, record.Append(nil, h3, Entries("b", "22", "c", "3", "d", "4")))

		apply("clear", &record.Delta{Clear: true, Expiry: e3, Set: Entries("e", "5")})
		wantRecord(t, s, k, record.Append(nil, h3, Entries("e", "5")))

		timed := ExpiringEntry("timed", "6", at(time.Hour))
		apply("same key twice, per-key deadline", &record.Delta{
			Expiry: e3,
			Set:    append(Entries("f", "first"), timed, Entries("f", "second")[0]),
		})
		wantRecord(t, s, k, record.Append(nil, h3, append(Entries("e", "5", "f", "second"), timed)))

		apply("delete everything", &record.Delta{Expiry: e3, Delete: []string{"e", "f", "timed"}})
		wantRecord(t, s, k, record.Append(nil, h3, nil))
	}
}

func testConcurrentDelta(t *testing.T, s core.Store) {
	ds, ok := s.(core.DeltaStore)
	if !ok {
		t.Skip("store does not implement core.DeltaStore")
	}
	ctx := t.Context()
	exp := at(time.Hour)
	err := ds.SaveDelta(ctx, "k", &record.Delta{Create: true, Header: Header(false, exp), Expiry: exp, Set: Entries("base", "0")})
	if notSupported(t, "SaveDelta", err) {
		return
	}
	if err != nil {
		t.Fatalf("SaveDelta (create): %v", err)
	}

	const n = 20
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = ds.SaveDelta(ctx, "k", &record.Delta{
				Expiry: exp,
				Set:    Entries(fmt.Sprintf("g%02d", i), strconv.Itoa(i)),
			})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: SaveDelta: %v", i, err)
		}
	}
	got := Values(t, load(t, s, "k"))
	if got["base"] != "0" {
		t.Errorf("entry base = %q, want %q", got["base"], "0")
	}
	for i := range n {
		k := fmt.Sprintf("g%02d", i)
		if got[k] != strconv.Itoa(i) {
			t.Errorf("entry %s = %q, want %q (lost update)", k, got[k], strconv.Itoa(i))
		}
	}
	if len(got) != n+1 {
		t.Errorf("%d entries, want %d", len(got), n+1)
	}

	// Concurrent creates of one key: exactly one wins.
	const m = 10
	errs = make([]error, m)
	start = make(chan struct{})
	for i := range m {
		wg.Go(func() {
			<-start
			errs[i] = ds.SaveDelta(ctx, "new", &record.Delta{
				Create: true, Header: Header(false, exp), Expiry: exp,
				Set: Entries("winner", strconv.Itoa(i)),
			})
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("goroutines %d and %d both created the session", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, core.ErrSessionExists):
			t.Errorf("goroutine %d: concurrent create: %v, want nil or ErrSessionExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no concurrent create succeeded")
	}
	wantRecord(t, s, "new", Record(exp, "winner", strconv.Itoa(winner)))
}

func testCreateIfAbsent(t *testing.T, s core.Store) {
	ctx := t.Context()
	paths := deltaPaths(s)
	lapse := at(300 * time.Millisecond)
	for _, p := range paths {
		save(t, s, p.name+"-lapsed", Record(lapse, "old", "1"), lapse)
	}
	exp := at(time.Hour)
	h := Header(true, exp)
	create := func() *record.Delta {
		return &record.Delta{Create: true, Header: h, Expiry: exp, Set: Entries("new", "2")}
	}
	want := record.Append(nil, h, Entries("new", "2"))

	for _, p := range paths {
		k := p.name
		live := at(2 * time.Hour)
		r := Record(live, "old", "1")
		save(t, s, k, r, live)
		if err := p.fn(ctx, k, create()); !errors.Is(err, core.ErrSessionExists) {
			t.Errorf("%s: create over a live record: %v, want ErrSessionExists", p.name, err)
		}
		wantRecord(t, s, k, r)

		past := at(-time.Second)
		if err := s.Save(ctx, k+"-expired", Record(past, "old", "1"), past); err != nil {
			t.Fatalf("Save of an expired record: %v", err)
		}
		if err := p.fn(ctx, k+"-expired", create()); err != nil {
			t.Errorf("%s: create over an expired record: %v, want nil", p.name, err)
		}
		wantRecord(t, s, k+"-expired", want)

		if err := p.fn(ctx, k+"-missing", create()); err != nil {
			t.Errorf("%s: create of a missing key: %v, want nil", p.name, err)
		}
		wantRecord(t, s, k+"-missing", want)
	}

	time.Sleep(time.Until(lapse) + 50*time.Millisecond)
	for _, p := range paths {
		k := p.name + "-lapsed"
		if err := p.fn(ctx, k, create()); err != nil {
			t.Errorf("%s: create over a record that lapsed: %v, want nil", p.name, err)
		}
		wantRecord(t, s, k, want)
	}
}

func testNoResurrection(t *testing.T, s core.Store) {
	ctx := t.Context()
	paths := deltaPaths(s)
	lapse := at(300 * time.Millisecond)
	for _, p := range paths {
		save(t, s, p.name+"-lapsed", Record(lapse, "a", "1"), lapse)
	}
	exp := at(time.Hour)
	updates := map[string]func() *record.Delta{
		"no header": func() *record.Delta { return &record.Delta{Expiry: exp, Set: Entries("b", "2")} },
		"header": func() *record.Delta {
			return &record.Delta{Header: Header(false, exp), Expiry: exp, Set: Entries("b", "2")}
		},
		"clear": func() *record.Delta { return &record.Delta{Clear: true, Header: Header(false, exp), Expiry: exp} },
	}
	wantGone := func(p deltaPath, k, why string) {
		t.Helper()
		for name, d := range updates {
			if err := p.fn(ctx, k, d()); !errors.Is(err, core.ErrSessionGone) {
				t.Errorf("%s: update (%s) of a %s record: %v, want ErrSessionGone", p.name, name, why, err)
			}
		}
		wantMissing(t, s, k)
	}

	for _, p := range paths {
		k := p.name
		save(t, s, k, Record(exp, "a", "1"), exp)
		if err := s.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
		wantGone(p, k, "deleted")
		wantGone(p, k+"-never", "never saved")

		past := at(-time.Second)
		if err := s.Save(ctx, k+"-expired", Record(past, "a", "1"), past); err != nil {
			t.Fatalf("Save of an expired record: %v", err)
		}
		wantGone(p, k+"-expired", "expired")
	}

	time.Sleep(time.Until(lapse) + 50*time.Millisecond)
	for _, p := range paths {
		wantGone(p, p.name+"-lapsed", "lapsed")
	}
}
