package memcachestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

func TestNewOptions(t *testing.T) {
	t.Parallel()
	c := memcache.New("127.0.0.1:1")
	if _, err := New(nil); err == nil {
		t.Error("New(nil): no error")
	}
	bad := map[string]Option{
		"space in prefix":   WithPrefix("a b"),
		"control in prefix": WithPrefix("a\x01"),
		"long prefix":       WithPrefix(strings.Repeat("p", maxPrefixLen+1)),
		"negative retries":  WithMaxCASRetries(-1),
		"zero item size":    WithMaxItemSize(0),
	}
	for name, o := range bad {
		if _, err := New(c, o); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	s, err := New(c, WithPrefix(strings.Repeat("p", maxPrefixLen)), WithMaxCASRetries(0), WithMaxItemSize(1))
	if err != nil {
		t.Fatalf("New with edge values: %v", err)
	}
	if k := s.itemKey(strings.Repeat("x", 300)); len(k) > maxKeyLen {
		t.Errorf("hashed key under the longest prefix is %d bytes", len(k))
	}
	s, err = New(c)
	if err != nil {
		t.Fatal(err)
	}
	if s.prefix != DefaultPrefix || s.maxRetries != DefaultMaxCASRetries || s.maxSize != DefaultMaxItemSize {
		t.Errorf("defaults: prefix %q, retries %d, size %d", s.prefix, s.maxRetries, s.maxSize)
	}
}

func TestItemKey(t *testing.T) {
	t.Parallel()
	s, err := New(memcache.New("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	hexKey := strings.Repeat("ab", 32)
	if got := s.itemKey(hexKey); got != "session:"+hexKey {
		t.Errorf("itemKey(hex) = %q, want the key after the prefix", got)
	}
	sum := sha256.Sum256([]byte("a b"))
	hashedAB := hex.EncodeToString(sum[:])
	odd := []string{
		"", "a", "a b", "a\x00b", "a\nb", "a\x7fb", "/", "..", "../x", "é", "日本",
		"#" + hashedAB, // looks like the hashed form of "a b"
		hashedAB,
		"session:x",
		strings.Repeat("k", maxKeyLen-len(DefaultPrefix)),   // longest plain key
		strings.Repeat("k", maxKeyLen-len(DefaultPrefix)+1), // one too long: hashed
		strings.Repeat("\x00", 1000),
		hexKey,
		"A", "a:b", "a-b_c.d",
	}
	seen := make(map[string]string)
	for _, k := range odd {
		ik := s.itemKey(k)
		if len(ik) > maxKeyLen {
			t.Errorf("itemKey(%q) is %d bytes", k, len(ik))
		}
		for i := 0; i < len(ik); i++ {
			if !legalKeyByte(ik[i]) {
				t.Errorf("itemKey(%q) = %q has illegal byte %#x", k, ik, ik[i])
				break
			}
		}
		if !strings.HasPrefix(ik, DefaultPrefix) {
			t.Errorf("itemKey(%q) = %q escapes the prefix", k, ik)
		}
		if other, dup := seen[ik]; dup {
			t.Errorf("keys %q and %q both map to %q", other, k, ik)
		}
		seen[ik] = k
	}
	if got := s.itemKey("a b"); got != "session:#"+hashedAB {
		t.Errorf("itemKey(%q) = %q, want the hashed form", "a b", got)
	}
}

func TestExpiration(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 250_000_000)
	tests := []struct {
		name   string
		expiry time.Time
		want   int32
	}{
		{"zero", time.Time{}, -1},
		{"past", now.Add(-time.Second), -1},
		{"now", now, -1},
		{"1ns", now.Add(1), 1 + expirySlack},
		{"1s", now.Add(time.Second), 1 + expirySlack},
		{"1.2s", now.Add(1200 * time.Millisecond), 2 + expirySlack},
		{"longest relative", now.Add((maxRelative - expirySlack) * time.Second), maxRelative},
		{"shortest absolute", now.Add((maxRelative-expirySlack)*time.Second + 1), int32(now.Unix() + maxRelative + 1)},
		{"40 days", now.Add(40 * 24 * time.Hour), int32(now.Unix() + 40*24*3600 + expirySlack + 1)},
		{"40 days whole", time.Unix(now.Unix()+40*24*3600, 0), int32(now.Unix() + 40*24*3600 + expirySlack)},
		{"year 2100", time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt32},
	}
	for _, tt := range tests {
		if got := expiration(tt.expiry, now); got != tt.want {
			t.Errorf("%s: expiration = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestLoadSaveDelete(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := t.Context()
	for _, key := range []string{strings.Repeat("0f", 32), "odd key\x00/..", strings.Repeat("é", 200)} {
		if _, found, err := s.Load(ctx, key); err != nil || found {
			t.Fatalf("Load(%q) before Save = found %v, err %v", key, found, err)
		}
		data := storetest.Record(time.Now().Add(time.Minute), "k", "v")
		if err := s.Save(ctx, key, data, time.Now().Add(time.Minute)); err != nil {
			t.Fatalf("Save(%q): %v", key, err)
		}
		got, found, err := s.Load(ctx, key)
		if err != nil || !found || string(got) != string(data) {
			t.Fatalf("Load(%q) = %x, %v, %v; want %x", key, got, found, err, data)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("Delete(%q): %v", key, err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("second Delete(%q): %v", key, err)
		}
		if _, found, err := s.Load(ctx, key); err != nil || found {
			t.Fatalf("Load(%q) after Delete = found %v, err %v", key, found, err)
		}
	}
}

// TestHeaderExpiry checks that Load goes by the exact deadline in the
// record header while memcached, which rounds up to the second, still
// holds the item.
func TestHeaderExpiry(t *testing.T) {
	t.Parallel()
	s, c := newTestStore(t)
	ctx := t.Context()
	exp := time.Now().Add(300 * time.Millisecond)
	if err := s.Save(ctx, "k", storetest.Record(exp), exp); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.Load(ctx, "k"); err != nil || !found {
		t.Fatalf("Load before expiry = found %v, err %v", found, err)
	}
	if ttl, found, err := s.TTL(ctx, "k"); err != nil || !found || ttl <= 0 || ttl > 300*time.Millisecond {
		t.Fatalf("TTL = %v, %v, %v; want (0, 300ms]", ttl, found, err)
	}
	time.Sleep(time.Until(exp) + 20*time.Millisecond)
	if _, err := c.Get(s.itemKey("k")); err != nil {
		t.Fatalf("memcached dropped the item before its rounded-up expiry: %v", err)
	}
	if _, found, err := s.Load(ctx, "k"); err != nil || found {
		t.Fatalf("Load after expiry = found %v, err %v; want not found", found, err)
	}
	if _, found, err := s.TTL(ctx, "k"); err != nil || found {
		t.Fatalf("TTL after expiry = found %v, err %v; want not found", found, err)
	}
}

// TestServerExpiration checks the exptime memcached received: relative
// seconds up to 30 days, an absolute time beyond, which memcached would
// otherwise read as a date in 1970 and drop at once.
func TestServerExpiration(t *testing.T) {
	t.Parallel()
	s, c := newTestStore(t)
	ctx := t.Context()
	addr := memcacheAddr(t)
	for _, d := range []time.Duration{10 * time.Minute, 29 * 24 * time.Hour, 40 * 24 * time.Hour, 365 * 24 * time.Hour} {
		key := fmt.Sprintf("k%d", d)
		exp := time.Now().Add(d)
		data := storetest.Record(exp, "a", "1")
		if err := s.Save(ctx, key, data, exp); err != nil {
			t.Fatalf("Save(%v): %v", d, err)
		}
		if _, err := c.Get(s.itemKey(key)); err != nil {
			t.Fatalf("expiry %v: raw Get of the item: %v", d, err)
		}
		got, found, err := s.Load(ctx, key)
		if err != nil || !found || string(got) != string(data) {
			t.Fatalf("expiry %v: Load = found %v, err %v", d, found, err)
		}
		secs, found := serverTTL(t, addr, s.itemKey(key))
		// An absolute exptime is rounded up to the second, and memcached's
		// clock, which turns it into seconds left, may lag by up to about
		// two seconds: one more second of slack above than for relative
		// times.
		above := 2
		if d > maxRelative*time.Second {
			above = 3
		}
		if want := int(d/time.Second) + expirySlack; !found || secs < want-5 || secs > want+above {
			t.Errorf("expiry %v: server TTL %ds (found %v), want about %d", d, secs, found, want)
		}
	}
}

func TestSaveDeltaRules(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	hdr := record.NewHeader(false, time.Now(), exp)

	if err := s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: []record.Entry{entry("a", "1")}}); !errors.Is(err, core.ErrSessionGone) {
		t.Fatalf("update of a missing session: %v, want ErrSessionGone", err)
	}
	if err := s.SaveDelta(ctx, "k", &record.Delta{Create: true, Header: hdr, Expiry: exp, Set: []record.Entry{entry("a", "1"), entry("b", "2")}}); err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := s.SaveDelta(ctx, "k", &record.Delta{Create: true, Header: hdr, Expiry: exp}); !errors.Is(err, core.ErrSessionExists) {
		t.Fatalf("second create: %v, want ErrSessionExists", err)
	}
	// Header nil with an earlier expiry keeps the stored, later one.
	if err := s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp.Add(-time.Second), Set: []record.Entry{entry("a", "9")}, Delete: []string{"b"}}); err != nil {
		t.Fatalf("update: %v", err)
	}
	data, found, err := s.Load(ctx, "k")
	if err != nil || !found {
		t.Fatalf("Load = %v, %v", found, err)
	}
	if got := storetest.Values(t, data); len(got) != 1 || got["a"] != "9" {
		t.Errorf("entries = %v, want a=9", got)
	}
	if got, _ := record.Expiry(data); !got.Equal(exp) {
		t.Errorf("expiry = %v, want the stored %v", got, exp)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: []record.Entry{entry("a", "1")}}); !errors.Is(err, core.ErrSessionGone) {
		t.Fatalf("update after delete: %v, want ErrSessionGone", err)
	}
	if _, found, _ := s.Load(ctx, "k"); found {
		t.Fatal("the deleted session was resurrected")
	}

	// An expired item memcached still holds counts as absent: Create
	// replaces it through cas.
	past := time.Now().Add(-time.Second)
	if err := s.Save(ctx, "old", storetest.Record(past, "x", "1"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveDelta(ctx, "old", &record.Delta{Expiry: exp, Set: []record.Entry{entry("a", "1")}}); !errors.Is(err, core.ErrSessionGone) {
		t.Fatalf("update of an expired record: %v, want ErrSessionGone", err)
	}
	if err := s.SaveDelta(ctx, "old", &record.Delta{Create: true, Header: hdr, Expiry: exp, Set: []record.Entry{entry("a", "1")}}); err != nil {
		t.Fatalf("create over an expired record: %v", err)
	}
	data, found, err = s.Load(ctx, "old")
	if err != nil || !found {
		t.Fatalf("Load = %v, %v", found, err)
	}
	if got := storetest.Values(t, data); len(got) != 1 || got["a"] != "1" {
		t.Errorf("entries = %v, want a=1 only", got)
	}
}

// TestConcurrentDelta checks that CAS loses no update: writers of
// different keys of one session all survive.
func TestConcurrentDelta(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, WithMaxCASRetries(1000))
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	if err := s.SaveDelta(ctx, "k", &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp}); err != nil {
		t.Fatal(err)
	}
	const writers, rounds = 8, 5
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				d := &record.Delta{Expiry: exp, Set: []record.Entry{entry(fmt.Sprintf("w%d-%d", w, r), "x")}}
				if err := s.SaveDelta(ctx, "k", d); err != nil {
					t.Errorf("writer %d: %v", w, err)
				}
			}
		})
	}
	wg.Wait()
	data, _, err := s.Load(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if got := storetest.Values(t, data); len(got) != writers*rounds {
		t.Errorf("%d entries survived, want %d", len(got), writers*rounds)
	}
}

// TestContention checks that a writer that runs out of CAS retries fails
// with ErrContention and writes nothing, while the others' writes survive.
func TestContention(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, WithMaxCASRetries(0))
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	if err := s.SaveDelta(ctx, "k", &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp}); err != nil {
		t.Fatal(err)
	}
	const writers = 16
	errs := make([]error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			errs[w] = s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: []record.Entry{entry(fmt.Sprint(w), "x")}})
		})
	}
	close(start)
	wg.Wait()
	data, _, err := s.Load(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	got := storetest.Values(t, data)
	lost := 0
	for w, err := range errs {
		_, stored := got[fmt.Sprint(w)]
		switch {
		case err == nil && !stored:
			t.Errorf("writer %d succeeded but its entry is missing", w)
		case err != nil && !errors.Is(err, ErrContention):
			t.Errorf("writer %d: %v, want nil or ErrContention", w, err)
		case err != nil && stored:
			t.Errorf("writer %d failed (%v) but its entry was stored", w, err)
		case err != nil:
			lost++
		}
	}
	t.Logf("%d of %d single-attempt writers lost the race", lost, writers)
}

func TestTouch(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := t.Context()
	if err := s.Touch(ctx, "missing", time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("Touch of a missing key: %v", err)
	}
	if _, found, _ := s.Load(ctx, "missing"); found {
		t.Fatal("Touch created a record")
	}
	exp := time.Now().Add(time.Minute)
	data := storetest.Record(exp, "a", "1")
	if err := s.Save(ctx, "k", data, exp); err != nil {
		t.Fatal(err)
	}
	for _, next := range []time.Time{exp.Add(time.Hour + 123), exp.Add(-30 * time.Second)} {
		if err := s.Touch(ctx, "k", next); err != nil {
			t.Fatalf("Touch: %v", err)
		}
		got, found, err := s.Load(ctx, "k")
		if err != nil || !found {
			t.Fatalf("Load after Touch = %v, %v", found, err)
		}
		if e, _ := record.Expiry(got); !e.Equal(next) {
			t.Errorf("expiry after Touch = %v, want %v", e, next)
		}
		if string(got[record.HeaderSize:]) != string(data[record.HeaderSize:]) {
			t.Error("Touch changed the entries")
		}
		secs, _ := serverTTL(t, memcacheAddr(t), s.itemKey("k"))
		if want := int(time.Until(next)/time.Second) + expirySlack; secs < want-2 || secs > want+2 {
			t.Errorf("server TTL after Touch = %ds, want about %d", secs, want)
		}
	}
	if err := s.Touch(ctx, "k", time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("Touch into the past: %v", err)
	}
	if _, found, err := s.Load(ctx, "k"); err != nil || found {
		t.Fatalf("Load after Touch into the past = %v, %v; want not found", found, err)
	}
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	hdr := record.NewHeader(false, time.Now(), exp)

	s, _ := newTestStore(t, WithMaxItemSize(100))
	big := storetest.Record(exp, "a", strings.Repeat("x", 100))
	for name, err := range map[string]error{
		"Save":      s.Save(ctx, "k", big, exp),
		"SaveDelta": s.SaveDelta(ctx, "k", &record.Delta{Create: true, Header: hdr, Expiry: exp, Set: []record.Entry{entry("a", strings.Repeat("x", 100))}}),
	} {
		if !errors.Is(err, core.ErrTooLarge) || !strings.Contains(err.Error(), "100 bytes") {
			t.Errorf("%s over the store limit: %v, want ErrTooLarge naming 100 bytes", name, err)
		}
	}

	// The store allows more than the server (-I 1m): the server's refusal
	// is ErrTooLarge too, and the connection stays usable.
	s, _ = newTestStore(t, WithMaxItemSize(4<<20))
	huge := storetest.Record(exp, "a", strings.Repeat("x", 2<<20))
	for name, err := range map[string]error{
		"Save":      s.Save(ctx, "k", huge, exp),
		"SaveDelta": s.SaveDelta(ctx, "k", &record.Delta{Create: true, Header: hdr, Expiry: exp, Set: []record.Entry{entry("a", strings.Repeat("x", 2<<20))}}),
	} {
		if !errors.Is(err, core.ErrTooLarge) || !strings.Contains(err.Error(), "item size limit") {
			t.Errorf("%s over the server limit: %v, want ErrTooLarge", name, err)
		}
	}
	small := storetest.Record(exp, "a", "1")
	if err := s.Save(ctx, "k", small, exp); err != nil {
		t.Fatalf("Save after a refused item: %v", err)
	}
	if got, found, err := s.Load(ctx, "k"); err != nil || !found || string(got) != string(small) {
		t.Fatalf("Load after a refused item = %v, %v", found, err)
	}
}

func TestNotSupported(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := t.Context()
	_, cerr := s.Count(ctx)
	for name, err := range map[string]error{
		"Iterate": s.Iterate(ctx, func(string, []byte) bool { return true }),
		"Count":   cerr,
		"Clear":   s.Clear(ctx),
	} {
		if !errors.Is(err, core.ErrNotSupported) || !strings.Contains(err.Error(), "cannot list keys") {
			t.Errorf("%s: %v, want ErrNotSupported saying memcached cannot list keys", name, err)
		}
	}
	if n, err := s.Cleanup(ctx); n != 0 || err != nil {
		t.Errorf("Cleanup = %d, %v; want 0, nil", n, err)
	}
}

func TestClosedAndDoneContext(t *testing.T) {
	t.Parallel()
	s, c := newTestStore(t)
	exp := time.Now().Add(time.Minute)
	if err := s.Save(t.Context(), "k", storetest.Record(exp), exp); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := func(ctx context.Context) map[string]error {
		_, _, lerr := s.Load(ctx, "k")
		_, _, terr := s.TTL(ctx, "k")
		_, cerr := s.Cleanup(ctx)
		_, _, kerr := s.Take(ctx, "k")
		return map[string]error{
			"Load":      lerr,
			"Take":      kerr,
			"Save":      s.Save(ctx, "k", storetest.Record(exp), exp),
			"Delete":    s.Delete(ctx, "k"),
			"SaveDelta": s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp}),
			"Touch":     s.Touch(ctx, "k", exp),
			"TTL":       terr,
			"Cleanup":   cerr,
		}
	}
	for name, err := range calls(ctx) {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a done context: %v, want context.Canceled", name, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for name, err := range calls(t.Context()) {
		if !errors.Is(err, core.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	// Neither the done context nor Close touched the item or the client.
	if _, err := c.Get(s.itemKey("k")); err != nil {
		t.Errorf("raw Get after Close: %v", err)
	}
}

// TestUnreachable checks that a server that does not answer is an error,
// not a missing session.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	c := newClient(t, fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	if _, found, err := s.Load(ctx, "k"); err == nil || found {
		t.Errorf("Load = found %v, err %v; want an error", found, err)
	}
	if _, found, err := s.TTL(ctx, "k"); err == nil || found {
		t.Errorf("TTL = found %v, err %v; want an error", found, err)
	}
	if _, found, err := s.Take(ctx, "k"); err == nil || found {
		t.Errorf("Take = found %v, err %v; want an error", found, err)
	}
	for name, err := range map[string]error{
		"Save":      s.Save(ctx, "k", storetest.Record(exp), exp),
		"Delete":    s.Delete(ctx, "k"),
		"SaveDelta": s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp}),
		"Touch":     s.Touch(ctx, "k", exp),
	} {
		if err == nil || errors.Is(err, core.ErrSessionGone) {
			t.Errorf("%s = %v, want a connection error", name, err)
		}
	}
}

// TestTakeLeavesNothing checks what a Take leaves behind: to every later
// command the item is gone (the raw client, the server's own view, Load,
// TTL, Touch, Take), a SaveDelta without Create cannot bring the session
// back, and one with Create starts a new one.
func TestTakeLeavesNothing(t *testing.T) {
	t.Parallel()
	s, c := newTestStore(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	r := storetest.Record(exp, "a", "1")
	if err := s.Save(ctx, "k", r, exp); err != nil {
		t.Fatal(err)
	}
	data, found, err := s.Take(ctx, "k")
	if err != nil || !found || string(data) != string(r) {
		t.Fatalf("Take = %q, %v, %v; want the record", data, found, err)
	}
	wantGone := func(when string) {
		t.Helper()
		ik := s.itemKey("k")
		if it, err := c.Get(ik); !errors.Is(err, memcache.ErrCacheMiss) {
			t.Errorf("%s: raw Get = %v, %v; want a miss", when, it, err)
		}
		if _, found := serverTTL(t, memcacheAddr(t), ik); found {
			t.Errorf("%s: the server still serves the item", when)
		}
		if _, found, err := s.Load(ctx, "k"); found || err != nil {
			t.Errorf("%s: Load = %v, %v; want not found", when, found, err)
		}
		if _, found, err := s.TTL(ctx, "k"); found || err != nil {
			t.Errorf("%s: TTL = %v, %v; want not found", when, found, err)
		}
	}
	wantGone("after Take")
	if _, found, err := s.Take(ctx, "k"); found || err != nil {
		t.Errorf("second Take = %v, %v; want not found", found, err)
	}
	if err := s.Touch(ctx, "k", exp); err != nil {
		t.Errorf("Touch: %v", err)
	}
	wantGone("after Touch")
	err = s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: []record.Entry{entry("b", "2")}})
	if !errors.Is(err, core.ErrSessionGone) {
		t.Errorf("SaveDelta without Create after Take: %v, want ErrSessionGone", err)
	}
	wantGone("after SaveDelta")
	hdr := record.NewHeader(false, time.Now(), exp)
	if err := s.SaveDelta(ctx, "k", &record.Delta{Create: true, Header: hdr, Expiry: exp, Set: []record.Entry{entry("c", "3")}}); err != nil {
		t.Fatalf("SaveDelta with Create after Take: %v", err)
	}
	data, found, err = s.Load(ctx, "k")
	if err != nil || !found {
		t.Fatalf("Load of the new session: %v, %v", found, err)
	}
	if got := storetest.Values(t, data); len(got) != 1 || got["c"] != "3" {
		t.Errorf("new session entries = %v, want c=3 only", got)
	}
}

// TestTakeNotLive checks that Take reports an expired or corrupt item
// that memcached still holds as not found, without an error.
func TestTakeNotLive(t *testing.T) {
	t.Parallel()
	s, c := newTestStore(t)
	ctx := t.Context()
	items := map[string][]byte{
		"expired": storetest.Record(time.Now().Add(-time.Second), "a", "1"),
		"corrupt": []byte("not a record"),
		"empty":   {},
	}
	for k, v := range items {
		if err := c.Set(&memcache.Item{Key: s.itemKey(k), Value: v, Expiration: 60}); err != nil {
			t.Fatal(err)
		}
		if data, found, err := s.Take(ctx, k); found || err != nil {
			t.Errorf("%s: Take = %d bytes, %v, %v; want not found", k, len(data), found, err)
		}
	}
}

// TestTakeRoundTrips counts the commands a private memcached serves: a
// Take is two (gets, cas) for a live record and one (gets) for a missing
// one.
func TestTakeRoundTrips(t *testing.T) {
	t.Parallel()
	m := startMemcached(t, 0)
	s, err := New(newClient(t, m.addr))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	if err := s.Save(ctx, "k", storetest.Record(exp, "a", "1"), exp); err != nil {
		t.Fatal(err)
	}
	count := func(name string, want int64, fn func() error) {
		t.Helper()
		before := serverStats(t, m.addr)
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		after := serverStats(t, m.addr)
		var n int64
		for _, c := range []string{"cmd_get", "cmd_set", "cmd_touch", "delete_hits", "delete_misses"} {
			n += after[c] - before[c]
		}
		if n != want {
			t.Errorf("%s: %d round trips, want %d", name, n, want)
		}
	}
	count("Take", 2, func() error {
		if _, found, err := s.Take(ctx, "k"); err != nil || !found {
			return fmt.Errorf("found=%v, err=%v; want the record", found, err)
		}
		return nil
	})
	count("Take missing", 1, func() error {
		if _, found, err := s.Take(ctx, "k"); err != nil || found {
			return fmt.Errorf("found=%v, err=%v; want not found", found, err)
		}
		return nil
	})
}

// TestConcurrentTake has 8 goroutines Take one record, over and over:
// exactly one gets it, and the others, whose cas finds the item changed
// or gone, report not found rather than an error.
func TestConcurrentTake(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, WithMaxCASRetries(0))
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
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
					if string(data) != string(r) {
						t.Errorf("Take(%q) returned %q, want %q", k, data, r)
					}
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d of %d concurrent Takes found the record, want 1", i, n, takers)
		}
	}
}

// TestTakeRacesWriters runs a Take against concurrent SaveDeltas of one
// session: every SaveDelta that succeeded is in what the Take got, and
// every one that came after it failed with ErrSessionGone, so nothing
// is lost silently and nothing is written back.
func TestTakeRacesWriters(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, WithMaxCASRetries(1000))
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	hdr := record.NewHeader(false, time.Now(), exp)
	const rounds, writers = 10, 8
	for i := range rounds {
		k := fmt.Sprintf("race-%d", i)
		if err := s.SaveDelta(ctx, k, &record.Delta{Create: true, Header: hdr, Expiry: exp}); err != nil {
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
				errs[w] = s.SaveDelta(ctx, k, &record.Delta{Expiry: exp, Set: []record.Entry{entry(fmt.Sprint(w), "x")}})
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
		if _, found, err := s.Load(ctx, k); found || err != nil {
			t.Errorf("round %d: Load after the race = %v, %v; want not found", i, found, err)
		}
	}
}
