package redisstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// benchStore returns a store on the test server holding one session of
// eight small entries under "k", and the round-trip counter of its client.
func benchStore(b *testing.B) (*Store, *roundTrips, time.Time) {
	rt := &roundTrips{}
	s := newTestStore(b, singleClient(b, rt))
	exp := time.Now().Add(time.Hour)
	var kv []string
	for i := range 8 {
		kv = append(kv, fmt.Sprintf("key-%d", i), fmt.Sprintf("a value of some thirty bytes %d", i))
	}
	d := &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: storetest.Entries(kv...)}
	if err := s.SaveDelta(context.Background(), "k", d); err != nil {
		b.Fatal(err)
	}
	return s, rt, exp
}

func BenchmarkLoad(b *testing.B) {
	s, rt, _ := benchStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	rt.n.Store(0)
	b.ResetTimer()
	for b.Loop() {
		if _, found, err := s.Load(ctx, "k"); err != nil || !found {
			b.Fatal(found, err)
		}
	}
	b.ReportMetric(float64(rt.n.Load())/float64(b.N), "roundtrips/op")
}

func BenchmarkSaveDelta(b *testing.B) {
	s, rt, exp := benchStore(b)
	ctx := context.Background()
	d := &record.Delta{Expiry: exp, Set: storetest.Entries("key-3", "a changed value", "new", "v"), Delete: []string{"key-5"}}
	b.ReportAllocs()
	rt.n.Store(0)
	b.ResetTimer()
	for b.Loop() {
		if err := s.SaveDelta(ctx, "k", d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rt.n.Load())/float64(b.N), "roundtrips/op")
}
