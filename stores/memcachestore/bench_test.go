package memcachestore

import (
	"fmt"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// benchRecord is a typical session: ten small entries.
func benchRecord(exp time.Time) []byte {
	var kv []string
	for i := range 10 {
		kv = append(kv, fmt.Sprintf("key%d", i), fmt.Sprintf("value number %d", i))
	}
	return storetest.Record(exp, kv...)
}

// reportRoundTrips reports the commands the server counted per operation
// since before: each is one round trip, as the store sends one key per
// command.
func reportRoundTrips(b *testing.B, addr string, before map[string]int64) {
	after := serverStats(b, addr)
	delta := func(names ...string) float64 {
		var n int64
		for _, name := range names {
			n += after[name] - before[name]
		}
		return float64(n) / float64(b.N)
	}
	b.ReportMetric(delta("cmd_get"), "gets/op")
	b.ReportMetric(delta("cmd_set"), "writes/op")
	b.ReportMetric(delta("cmd_get", "cmd_set", "cmd_touch", "delete_hits", "delete_misses"), "roundtrips/op")
}

func BenchmarkLoad(b *testing.B) {
	s, _ := newTestStore(b)
	ctx := b.Context()
	exp := time.Now().Add(time.Hour)
	key := fmt.Sprintf("%064x", 1)
	if err := s.Save(ctx, key, benchRecord(exp), exp); err != nil {
		b.Fatal(err)
	}
	addr := memcacheAddr(b)
	before := serverStats(b, addr)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, found, err := s.Load(ctx, key); err != nil || !found {
			b.Fatalf("Load = %v, %v", found, err)
		}
	}
	b.StopTimer()
	reportRoundTrips(b, addr, before)
}

func BenchmarkSaveDelta(b *testing.B) {
	s, _ := newTestStore(b)
	ctx := b.Context()
	exp := time.Now().Add(time.Hour)
	key := fmt.Sprintf("%064x", 2)
	if err := s.Save(ctx, key, benchRecord(exp), exp); err != nil {
		b.Fatal(err)
	}
	d := &record.Delta{Expiry: exp, Set: []record.Entry{entry("key3", "a changed value")}}
	addr := memcacheAddr(b)
	before := serverStats(b, addr)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := s.SaveDelta(ctx, key, d); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRoundTrips(b, addr, before)
}

// BenchmarkLoadBound loads a session bound to a user: the second round
// trip, the get of the user's item, is the price of checking it against
// an index memcached may evict.
func BenchmarkLoadBound(b *testing.B) {
	s, _ := newTestStore(b)
	ctx := b.Context()
	exp := time.Now().Add(time.Hour)
	key := fmt.Sprintf("%064x", 3)
	var kv []record.Entry
	for i := range 10 {
		kv = append(kv, entry(fmt.Sprintf("key%d", i), fmt.Sprintf("value number %d", i)))
	}
	kv = append(kv, storetest.BindingEntry("alice", "handle-of-the-bench", 0))
	d := &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp, Set: kv}
	if err := s.SaveDelta(ctx, key, d); err != nil {
		b.Fatal(err)
	}
	addr := memcacheAddr(b)
	before := serverStats(b, addr)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, found, err := s.Load(ctx, key); err != nil || !found {
			b.Fatalf("Load = %v, %v", found, err)
		}
	}
	b.StopTimer()
	reportRoundTrips(b, addr, before)
}
