package core

import (
	"context"
	"encoding/binary"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core/codec"
	"github.com/sessionkit/sessionkit/core/record"
)

// allocBytes returns the bytes f allocates per call, averaged over runs.
func allocBytes(runs int, f func()) uint64 {
	f()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < runs; i++ {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// TestHostileLengthPrefixes checks that Manager.Load, over a store holding
// a record that claims huge lengths (a key or entry length prefix, or a
// codec value cut short), gives a new session and costs no allocation
// proportional to the claimed length. (record's own test checks Parse and
// Apply over the same bytes.) It is not parallel: the allocation counters
// are the process's.
func TestHostileLengthPrefixes(t *testing.T) {
	now := time.Now()
	hdr := record.NewHeader(false, now, now.Add(time.Hour))

	hugeKey := binary.AppendUvarint(append([]byte(nil), hdr...), 1<<40)
	hugeKey = append(hugeKey, "xyz"...)
	hugeEntry := binary.AppendUvarint(append([]byte(nil), hdr...), 1)
	hugeEntry = append(hugeEntry, 'k')
	hugeEntry = binary.AppendUvarint(hugeEntry, ^uint64(0))
	hugeEntry = append(hugeEntry, make([]byte, 16)...)

	// A codec value that claims 64 MiB of string and holds 16 bytes.
	big, err := codec.New().Encode(nil, strings.Repeat("a", 64<<20))
	if err != nil {
		t.Fatal(err)
	}
	cut := record.Append(nil, hdr, []record.Entry{{Key: "k", Value: record.EncodeEntry(nil, time.Time{}, big[:16])}})
	big = nil

	st := newRawStore()
	m := NewManager(st, WithLogger(slog.New(slog.DiscardHandler)))
	id := newID()

	for name, data := range map[string][]byte{"key length": hugeKey, "entry length": hugeEntry, "codec length": cut} {
		if err := st.Save(context.Background(), storeKey(id), data, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		s, err := m.Load(context.Background(), id)
		if err != nil || s.ID() != "" || len(s.Keys()) != 0 {
			t.Fatalf("%s: Load = ID %q keys %q, %v; want a new session", name, s.ID(), s.Keys(), err)
		}
		if n := allocBytes(100, func() { _, _ = m.Load(context.Background(), id) }); n > 8192 {
			t.Errorf("%s: Manager.Load allocates %d bytes per call", name, n)
		}
	}
}
