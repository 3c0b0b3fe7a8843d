package record

import (
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
	"time"
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

// maxUvarint is the largest uvarint, as a length prefix.
const maxUvarint = ^uint64(0)

// TestHostileLengthPrefixes checks that records claiming huge lengths (a
// key or entry length prefix) are corrupt and cost no allocation
// proportional to the claimed length, in Parse and Apply. It is not
// parallel: the allocation counters are the process's.
func TestHostileLengthPrefixes(t *testing.T) {
	now := time.Now()
	hdr := NewHeader(false, now, now.Add(time.Hour))

	hugeKey := binary.AppendUvarint(append([]byte(nil), hdr...), 1<<40)
	hugeKey = append(hugeKey, "xyz"...)
	hugeEntry := binary.AppendUvarint(append([]byte(nil), hdr...), 1)
	hugeEntry = append(hugeEntry, 'k')
	hugeEntry = binary.AppendUvarint(hugeEntry, maxUvarint)
	hugeEntry = append(hugeEntry, make([]byte, 16)...)

	for name, data := range map[string][]byte{"key length": hugeKey, "entry length": hugeEntry} {
		if _, err := Parse(data); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Parse error %v, want ErrCorrupt", name, err)
		}
		if n := allocBytes(100, func() { _, _ = Parse(data) }); n > 1024 {
			t.Errorf("%s: Parse allocates %d bytes per call", name, n)
		}
		d := &Delta{Expiry: now.Add(time.Hour), Set: []Entry{{Key: "n", Value: EncodeEntry(nil, time.Time{}, []byte{1})}}}
		if n := allocBytes(100, func() { _, _, _ = Apply(data, true, d, now) }); n > 4096 {
			t.Errorf("%s: Apply allocates %d bytes per call", name, n)
		}
	}
}
