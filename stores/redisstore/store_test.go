package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// backends runs fn once against the single server and once against the
// cluster.
func backends(t *testing.T, fn func(t *testing.T, c redis.UniversalClient)) {
	t.Run("single", func(t *testing.T) {
		t.Parallel()
		fn(t, singleClient(t))
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		fn(t, clusterClient(t))
	})
}

func entry(v string) []byte { return record.EncodeEntry(nil, time.Time{}, []byte(v)) }

func hour() time.Time { return time.Now().Add(time.Hour).Truncate(time.Millisecond) }

func TestNew(t *testing.T) {
	t.Parallel()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	t.Cleanup(func() { c.Close() })
	if _, err := New(nil); err == nil {
		t.Error("New(nil): no error")
	}
	if _, err := New(c, WithPrefix("")); err == nil {
		t.Error("New with an empty prefix: no error")
	}
	if _, err := New(c, WithMaxSize(0)); err == nil {
		t.Error("New with a zero size limit: no error")
	}
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if s.prefix != DefaultPrefix || s.maxSize != DefaultMaxSize {
		t.Errorf("defaults: prefix %q, max %d; want %q, %d", s.prefix, s.maxSize, DefaultPrefix, DefaultMaxSize)
	}
}

// TestLayout checks what lands in Redis: one hash per session with the
// header, the size and one prefixed field per entry, and a server TTL that
// is the header's expiry rounded up to the millisecond.
func TestLayout(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		s := newTestStore(t, c)
		exp := time.Now().Add(time.Hour).Truncate(time.Millisecond).Add(1) // 1 ns past a millisecond
		h := storetest.Header(true, exp)
		d := &record.Delta{Create: true, Header: h, Expiry: exp, Set: []record.Entry{{Key: "h", Value: entry("x")}, {Key: "n", Value: entry("y")}}}
		if err := s.SaveDelta(ctx, "k", d); err != nil {
			t.Fatal(err)
		}
		fields, err := c.HGetAll(ctx, s.prefix+"k").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(fields) != 4 || fields["h"] != string(h) || fields["k:h"] != string(entry("x")) || fields["k:n"] != string(entry("y")) {
			t.Errorf("hash fields = %q", fields)
		}
		data, found, err := s.Load(ctx, "k")
		if err != nil || !found {
			t.Fatalf("Load: %v, %v", found, err)
		}
		if fields["n"] != fmt.Sprint(len(data)) {
			t.Errorf("size field %q, record of %d bytes", fields["n"], len(data))
		}
		if got, _ := record.Expiry(data); !got.Equal(exp) {
			t.Errorf("header expiry %v, want exactly %v", got, exp)
		}
		pexp, err := c.PExpireTime(ctx, s.prefix+"k").Result()
		if err != nil {
			t.Fatal(err)
		}
		if want := exp.Truncate(time.Millisecond).Add(time.Millisecond).UnixMilli(); pexp.Milliseconds() != want {
			t.Errorf("PEXPIRETIME %d, want %d (the expiry rounded up)", pexp.Milliseconds(), want)
		}
	})
}

// TestMatchesRecordApply runs sequences of deltas through the store and
// through record.Apply and wants the same errors and records.
func TestMatchesRecordApply(t *testing.T) {
	exp := hour()
	later := exp.Add(time.Minute)
	past := time.Now().Add(-time.Second)
	e := func(kv ...string) []record.Entry { return storetest.Entries(kv...) }
	gone := record.Entry{Key: "a", Value: record.EncodeEntry(nil, past, []byte("old"))}
	short := record.Entry{Key: "b", Value: []byte("bad")}
	create := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: e("a", "1", "b", "2", "c", "3")}
	// Bindings with a generation already, so that the store stamps none.
	bind := func(user, handle string) record.Entry {
		v, err := record.EncodeBinding(nil, record.Binding{User: user, Handle: handle, Gen: 5})
		if err != nil {
			t.Fatal(err)
		}
		return record.Entry{Key: record.BindingKey, Value: v}
	}
	bound := &record.Delta{Expiry: exp, Set: []record.Entry{bind("alice", "ha")}}
	sequences := map[string][]*record.Delta{
		"clear keeps the binding": {create, bound, {Clear: true, Expiry: exp, Set: e("n", "1")}},
		"clear and unbind":        {create, bound, {Clear: true, Expiry: exp, Set: e("n", "1"), Delete: []string{record.BindingKey}}},
		"clear and rebind":        {create, bound, {Clear: true, Expiry: exp, Set: append(e("n", "1"), bind("bob", "hb"))}},
		"create twice":            {create, create},
		"update missing":          {{Expiry: exp, Set: e("a", "1")}},
		"create without header":   {{Create: true, Expiry: exp}},
		"set and delete":          {create, {Expiry: exp, Set: e("a", "9", "d", "4"), Delete: []string{"b", "zz"}}},
		"set beats delete":        {create, {Expiry: exp, Set: e("b", "new"), Delete: []string{"b", "b"}}},
		"last set wins":           {create, {Expiry: exp, Set: e("a", "x", "a", "y", "a", "z")}},
		"clear":                   {create, {Clear: true, Expiry: exp, Set: e("n", "1")}},
		"clear then gone":         {create, {Clear: true, Expiry: exp}, {Expiry: exp, Set: e("q", "1")}},
		"expired set drops":       {create, {Expiry: exp, Set: []record.Entry{gone, short}}},
		"keep longer expiry":      {create, {Expiry: exp.Add(-time.Minute), Set: e("a", "2")}},
		"extend expiry":           {create, {Expiry: later, Set: e("a", "2")}},
		"header shortens":         {create, {Header: storetest.Header(true, exp), Expiry: exp.Add(-time.Minute)}},
		"header replaced":         {create, {Header: storetest.Header(true, later), Expiry: later, Delete: []string{"c"}}},
		"dead result":             {create, {Header: storetest.Header(false, past), Expiry: past}, {Expiry: exp}},
		"recreate after dead":     {create, {Header: storetest.Header(false, past), Expiry: past}, create},
		"empty key and value":     {{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: e("", "")}, {Expiry: exp, Set: e("", "v")}},
	}
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		for name, seq := range sequences {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				s := newTestStore(t, c)
				var model []byte
				for i, d := range seq {
					gotErr := s.SaveDelta(ctx, "k", d)
					out, _, wantErr := record.Apply(model, model != nil, d, time.Now())
					if wantErr == nil {
						model = out
						if !record.Live(model, time.Now()) {
							model = nil
						}
					}
					if (gotErr == nil) != (wantErr == nil) ||
						errors.Is(wantErr, core.ErrSessionExists) != errors.Is(gotErr, core.ErrSessionExists) ||
						errors.Is(wantErr, core.ErrSessionGone) != errors.Is(gotErr, core.ErrSessionGone) {
						t.Fatalf("delta %d: error %v, record.Apply says %v", i, gotErr, wantErr)
					}
					got, found, err := s.Load(ctx, "k")
					if err != nil {
						t.Fatal(err)
					}
					if found != (model != nil) {
						t.Fatalf("delta %d: found = %v, want %v", i, found, model != nil)
					}
					if found {
						if err := storetest.SameRecord(got, model); err != nil {
							t.Fatalf("delta %d: %v", i, err)
						}
						if exp, _ := record.Expiry(model); !mustExpiry(t, got).Equal(exp) {
							t.Fatalf("delta %d: expiry %v, want exactly %v", i, mustExpiry(t, got), exp)
						}
					}
				}
			})
		}
	})
}

func mustExpiry(t *testing.T, data []byte) time.Time {
	t.Helper()
	exp, err := record.Expiry(data)
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

func TestExpiredEntriesSkipped(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		s := newTestStore(t, c)
		exp := hour()
		soon := storetest.ExpiringEntry("soon", "v", time.Now().Add(50*time.Millisecond))
		d := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: append(storetest.Entries("keep", "k"), soon)}
		if err := s.SaveDelta(ctx, "k", d); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		data, found, err := s.Load(ctx, "k")
		if err != nil || !found {
			t.Fatalf("Load: %v, %v", found, err)
		}
		if vals := storetest.Values(t, data); len(vals) != 1 || vals["keep"] != "k" {
			t.Errorf("entries %q, want only keep", vals)
		}
	})
}

// TestSizeLimit checks that the size the script keeps tracks every change
// and that a save over the limit changes nothing.
func TestSizeLimit(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		s := newTestStore(t, c, WithMaxSize(120))
		exp := hour()
		v30 := strings.Repeat("x", 30)
		d := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: storetest.Entries("a", v30, "b", v30)}
		if err := s.SaveDelta(ctx, "k", d); err != nil {
			t.Fatal(err)
		}
		before, _, _ := s.Load(ctx, "k")
		err := s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("c", v30)})
		if !errors.Is(err, core.ErrTooLarge) || !strings.Contains(err.Error(), "120") {
			t.Fatalf("growing past the limit: %v, want ErrTooLarge naming 120", err)
		}
		wantRecord(t, s, "k", before)
		// Replacing and deleting frees room: the tracked size must follow.
		if err := s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("a", "short"), Delete: []string{"b", "missing"}}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("c", v30, "d", v30)}); err != nil {
			t.Fatalf("growing back within the limit: %v", err)
		}
		data, _, _ := s.Load(ctx, "k")
		if n, _ := c.HGet(ctx, s.prefix+"k", fieldSize).Int(); n != len(data) {
			t.Errorf("tracked size %d, record of %d bytes", n, len(data))
		}
		big := storetest.Record(exp, "a", strings.Repeat("y", 200))
		if err := s.Save(ctx, "big", big, exp); !errors.Is(err, core.ErrTooLarge) || !strings.Contains(err.Error(), "120") {
			t.Errorf("Save over the limit: %v", err)
		}
	})
}

func wantRecord(t *testing.T, s *Store, key string, want []byte) {
	t.Helper()
	got, found, err := s.Load(t.Context(), key)
	if err != nil || !found {
		t.Fatalf("Load(%q): %v, %v", key, found, err)
	}
	if err := storetest.SameRecord(got, want); err != nil {
		t.Fatalf("Load(%q): %v", key, err)
	}
}

func TestManyChanges(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		s := newTestStore(t, c)
		exp := hour()
		var set []record.Entry
		var del []string
		for i := range 2500 {
			k := fmt.Sprint(i)
			set = append(set, record.Entry{Key: k, Value: entry(k)})
			if i%2 == 0 {
				del = append(del, k)
			}
		}
		if err := s.SaveDelta(ctx, "k", &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: set}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Delete: del}); err != nil {
			t.Fatal(err)
		}
		data, _, err := s.Load(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if vals := storetest.Values(t, data); len(vals) != 1250 || vals["1"] != "1" || vals["2"] != "" {
			t.Errorf("%d entries left, want 1250 odd ones", len(vals))
		}
		// An update of more live keys than the script reads in its first
		// call (998): every set key's old length must still count, or the
		// size field drifts from the record.
		set = set[:0]
		for i := range 2500 {
			k := fmt.Sprint(i)
			set = append(set, record.Entry{Key: k, Value: entry(k + "-longer")})
		}
		if err := s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: set}); err != nil {
			t.Fatal(err)
		}
		if data, _, err = s.Load(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if vals := storetest.Values(t, data); len(vals) != 2500 || vals["2"] != "2-longer" {
			t.Errorf("%d entries after the update, want 2500", len(vals))
		}
		if n, _ := c.HGet(ctx, s.prefix+"k", fieldSize).Int(); n != len(data) {
			t.Errorf("size field %d, record of %d bytes", n, len(data))
		}
	})
}

func TestTouch(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		s := newTestStore(t, c)
		exp := hour()
		if err := s.Touch(ctx, "missing", exp); err != nil {
			t.Fatal(err)
		}
		if n, _ := c.Exists(ctx, s.prefix+"missing").Result(); n != 0 {
			t.Error("Touch of a missing key created it")
		}
		if err := s.Save(ctx, "k", storetest.Record(exp, "a", "1"), exp); err != nil {
			t.Fatal(err)
		}
		next := exp.Add(-30 * time.Minute).Add(123456) // shorter, and not on a millisecond
		if err := s.Touch(ctx, "k", next); err != nil {
			t.Fatal(err)
		}
		data, _, _ := s.Load(ctx, "k")
		if got := mustExpiry(t, data); !got.Equal(next) {
			t.Errorf("expiry after Touch %v, want %v", got, next)
		}
		if vals := storetest.Values(t, data); vals["a"] != "1" {
			t.Errorf("Touch changed the entries: %q", vals)
		}
		pexp, _ := c.PExpireTime(ctx, s.prefix+"k").Result()
		if want := next.Truncate(time.Millisecond).Add(time.Millisecond).UnixMilli(); pexp.Milliseconds() != want {
			t.Errorf("PEXPIRETIME %d, want %d", pexp.Milliseconds(), want)
		}
		ttl, found, err := s.TTL(ctx, "k")
		if err != nil || !found || ttl > 30*time.Minute || ttl < 29*time.Minute {
			t.Errorf("TTL = %v, %v, %v; want about 30m", ttl, found, err)
		}
		if err := s.Touch(ctx, "k", time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if n, _ := c.Exists(ctx, s.prefix+"k").Result(); n != 0 {
			t.Error("Touch into the past left the key")
		}
	})
}

// TestPrefixIsolation uses prefixes full of glob characters: Clear, Count
// and Iterate must see only their own keys.
func TestPrefixIsolation(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		base := uniquePrefix()
		a := newTestStore(t, c, WithPrefix(base+`a*[b]?\:`))
		b := newTestStore(t, c, WithPrefix(base+`aX[b]?\:`))
		other := newTestStore(t, c, WithPrefix(base+`ab]z\:`))
		exp := hour()
		for _, s := range []*Store{a, b, other} {
			for i := range 20 {
				if err := s.Save(ctx, fmt.Sprint(i), storetest.Record(exp, "a", "1"), exp); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := c.Set(ctx, a.prefix+"string", "not a session", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if n, err := a.Count(ctx); n != 20 || err != nil {
			t.Errorf("Count = %d, %v; want 20", n, err)
		}
		seen := 0
		if err := a.Iterate(ctx, func(key string, data []byte) bool { seen++; return true }); err != nil || seen != 20 {
			t.Errorf("Iterate saw %d records (%v), want 20", seen, err)
		}
		if err := a.Clear(ctx); err != nil {
			t.Fatal(err)
		}
		if n, _ := c.Exists(ctx, a.prefix+"string").Result(); n != 0 {
			t.Error("Clear left a key under its prefix")
		}
		for _, s := range []*Store{b, other} {
			if n, err := s.Count(ctx); n != 20 || err != nil {
				t.Errorf("prefix %q after another store's Clear: Count = %d, %v; want 20", s.prefix, n, err)
			}
		}
	})
}

// TestClusterKeys saves keys that carry hash tags and spread over every
// master, then reads them back one by one and through Iterate.
func TestClusterKeys(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := clusterClient(t)
	s := newTestStore(t, c)
	exp := hour()
	keys := []string{"{", "}", "{}", "{a}b", "a{b}c", "{{x}}", "}{", "\x00{\x00}", "ключ{}", strings.Repeat("{z}", 100)}
	for i := range 30 {
		keys = append(keys, fmt.Sprintf("spread-%d", i))
	}
	for _, k := range keys {
		if err := s.SaveDelta(ctx, k, &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: storetest.Entries("key", k)}); err != nil {
			t.Fatalf("SaveDelta(%q): %v", k, err)
		}
		if err := s.SaveDelta(ctx, k, &record.Delta{Expiry: exp, Set: storetest.Entries("more", k)}); err != nil {
			t.Fatalf("second SaveDelta(%q): %v", k, err)
		}
		if err := s.Touch(ctx, k, exp.Add(time.Minute)); err != nil {
			t.Fatalf("Touch(%q): %v", k, err)
		}
	}
	masters := map[string]bool{}
	for _, k := range keys {
		wantRecord(t, s, k, storetest.Record(exp.Add(time.Minute), "key", k, "more", k))
		m, err := c.MasterForKey(ctx, s.prefix+k)
		if err != nil {
			t.Fatal(err)
		}
		masters[m.Options().Addr] = true
	}
	if len(masters) < 3 {
		t.Errorf("keys reached only %d of 3 masters", len(masters))
	}
	got := map[string]bool{}
	err := s.Iterate(ctx, func(key string, data []byte) bool {
		if got[key] {
			t.Errorf("Iterate visited %q twice", key)
		}
		got[key] = storetest.Values(t, data)["key"] == key
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !got[k] {
			t.Errorf("Iterate did not return %q with its data", k)
		}
	}
	calls := 0
	if err := s.Iterate(ctx, func(string, []byte) bool { calls++; return false }); err != nil || calls != 1 {
		t.Errorf("Iterate stopping at once: %d calls, %v", calls, err)
	}
	if n, err := s.Count(ctx); n != len(keys) || err != nil {
		t.Errorf("Count = %d, %v; want %d", n, err, len(keys))
	}
}

func TestCloseKeepsClient(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := singleClient(t)
	s := newTestStore(t, c)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := s.Load(ctx, "k"); !errors.Is(err, core.ErrClosed) {
		t.Errorf("Load after Close: %v", err)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Errorf("client after the store's Close: %v", err)
	}
}

// TestNoScript checks the fallback to EVAL when the server lost its
// script cache (a restart, a failover, SCRIPT FLUSH). Not parallel: it
// flushes the cache other tests count on.
func TestNoScript(t *testing.T) {
	ctx := t.Context()
	c := singleClient(t)
	s := newTestStore(t, c)
	exp := hour()
	for i := range 2 {
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		d := &record.Delta{Create: i == 0, Header: storetest.Header(false, exp), Expiry: exp, Set: storetest.Entries("i", fmt.Sprint(i))}
		if err := s.SaveDelta(ctx, "k", d); err != nil {
			t.Fatalf("SaveDelta after SCRIPT FLUSH: %v", err)
		}
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.Touch(ctx, "k", exp); err != nil {
			t.Fatalf("Touch after SCRIPT FLUSH: %v", err)
		}
	}
	wantRecord(t, s, "k", storetest.Record(exp, "i", "1"))
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	data, found, err := s.Take(ctx, "k")
	if err != nil || !found {
		t.Fatalf("Take after SCRIPT FLUSH: found=%v, err=%v", found, err)
	}
	if err := storetest.SameRecord(data, storetest.Record(exp, "i", "1")); err != nil {
		t.Errorf("Take after SCRIPT FLUSH returned %v", err)
	}
}

func take(_ []byte, _ bool, err error) error { return err }

func TestDoneContextSendsNothing(t *testing.T) {
	t.Parallel()
	rt := &roundTrips{}
	s := newTestStore(t, singleClient(t, rt))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	exp := hour()
	errs := []error{
		s.Save(ctx, "k", storetest.Record(exp), exp),
		s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp}),
		s.Touch(ctx, "k", exp),
		take(s.Take(ctx, "k")),
		s.Delete(ctx, "k"),
		s.Clear(ctx),
		s.Iterate(ctx, func(string, []byte) bool { return true }),
	}
	for i, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("call %d: %v, want context.Canceled", i, err)
		}
	}
	if n := rt.n.Load(); n != 0 {
		t.Errorf("%d commands sent with a done context", n)
	}
}

// TestExpiryRounding checks the script's nanosecond-to-millisecond
// conversion: the server TTL is the exact expiry rounded up.
func TestExpiryRounding(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		s := newTestStore(t, c)
		base := time.Now().Add(time.Hour).Truncate(time.Millisecond)
		for _, off := range []time.Duration{0, 1, 999_999, 1_000_000, 1_000_001} {
			exp := base.Add(off)
			if err := s.Save(ctx, "k", storetest.Record(exp), exp); err != nil {
				t.Fatal(err)
			}
			got, err := c.PExpireTime(ctx, s.prefix+"k").Result()
			if err != nil {
				t.Fatal(err)
			}
			want := exp.UnixMilli()
			if exp.UnixNano()%1e6 != 0 {
				want++
			}
			if got.Milliseconds() != want {
				t.Errorf("expiry %d ns: PEXPIRETIME %d ms, want %d", exp.UnixNano(), got.Milliseconds(), want)
			}
		}
	})
}

// TestConcurrentTake has 8 goroutines Take one record, over and over: on
// the single server and on the cluster exactly one gets it, and a later
// SaveDelta for it does not bring it back.
func TestConcurrentTake(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		s := newTestStore(t, c)
		exp := hour()
		const rounds, takers = 30, 8
		for i := range rounds {
			k := fmt.Sprintf("take-%d", i)
			r := storetest.Record(exp, "a", fmt.Sprint(i))
			if err := s.Save(ctx, k, r, exp); err != nil {
				t.Fatal(err)
			}
			var wins atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range takers {
				wg.Go(func() {
					<-start
					data, found, err := s.Take(ctx, k)
					if err != nil {
						t.Errorf("Take(%q): %v", k, err)
						return
					}
					if found {
						wins.Add(1)
						if err := storetest.SameRecord(data, r); err != nil {
							t.Errorf("Take(%q) returned %v", k, err)
						}
					}
				})
			}
			close(start)
			wg.Wait()
			if n := wins.Load(); n != 1 {
				t.Fatalf("round %d: %d of %d concurrent Takes found the record, want 1", i, n, takers)
			}
			err := s.SaveDelta(ctx, k, &record.Delta{Expiry: exp, Set: storetest.Entries("b", "2")})
			if !errors.Is(err, core.ErrSessionGone) {
				t.Fatalf("SaveDelta after Take: %v, want ErrSessionGone", err)
			}
			if n, _ := c.Exists(ctx, s.prefix+k).Result(); n != 0 {
				t.Fatalf("round %d: the key survived the Take", i)
			}
		}
	})
}

// TestTakeNotLive plants hashes that are not live records (a header past
// its expiry with the server TTL not yet run out, a short header, no
// header): Take reports them not found, without an error, and deletes
// them.
func TestTakeNotLive(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		s := newTestStore(t, c)
		hashes := map[string][]any{
			"expired":   {fieldHeader, string(storetest.Header(false, time.Now().Add(-time.Second))), fieldSize, "18"},
			"short":     {fieldHeader, "short", entryPrefix + "a", string(entry("1"))},
			"no header": {entryPrefix + "a", string(entry("1"))},
		}
		for name, fv := range hashes {
			k := s.prefix + name
			if err := c.HSet(ctx, k, fv...).Err(); err != nil {
				t.Fatal(err)
			}
			if err := c.Expire(ctx, k, time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
			data, found, err := s.Take(ctx, name)
			if err != nil || found {
				t.Errorf("%s: Take: found=%v (%d bytes), err=%v; want not found", name, found, len(data), err)
			}
			if n, _ := c.Exists(ctx, k).Result(); n != 0 {
				t.Errorf("%s: Take left the hash", name)
			}
		}
	})
}

// TestTakeRacesWriters runs a Take against concurrent SaveDeltas of one
// session: every SaveDelta that succeeded is in what the Take got, and
// every one that came after it failed with ErrSessionGone.
func TestTakeRacesWriters(t *testing.T) {
	backends(t, func(t *testing.T, c redis.UniversalClient) {
		ctx := t.Context()
		s := newTestStore(t, c)
		exp := hour()
		const rounds, writers = 10, 8
		for i := range rounds {
			k := fmt.Sprintf("race-%d", i)
			if err := s.SaveDelta(ctx, k, &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp}); err != nil {
				t.Fatal(err)
			}
			errs := make([]error, writers)
			var taken []byte
			var found bool
			var takeErr error
			var wg sync.WaitGroup
			start := make(chan struct{})
			for w := range writers {
				wg.Go(func() {
					<-start
					errs[w] = s.SaveDelta(ctx, k, &record.Delta{Expiry: exp, Set: storetest.Entries(fmt.Sprint(w), "x")})
				})
			}
			wg.Go(func() {
				<-start
				taken, found, takeErr = s.Take(ctx, k)
			})
			close(start)
			wg.Wait()
			if takeErr != nil || !found {
				t.Fatalf("round %d: Take = %v, %v; want the record", i, found, takeErr)
			}
			got := storetest.Values(t, taken)
			for w, err := range errs {
				_, in := got[fmt.Sprint(w)]
				switch {
				case err == nil && !in:
					t.Errorf("round %d: writer %d succeeded but the Take missed its entry", i, w)
				case err != nil && !errors.Is(err, core.ErrSessionGone):
					t.Errorf("round %d: writer %d: %v, want nil or ErrSessionGone", i, w, err)
				case err != nil && in:
					t.Errorf("round %d: writer %d failed (%v) but the Take got its entry", i, w, err)
				}
			}
			if n, _ := c.Exists(ctx, s.prefix+k).Result(); n != 0 {
				t.Errorf("round %d: the key survived the Take", i)
			}
		}
	})
}
