package record_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/codec"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/record"
)

// TestManagerLoadAllocBound checks that a manager loading a record of many
// tiny entries allocates about four times its size (an item in memory is
// 48 bytes, an entry holding a value at least 11: the bound is five
// times). It is not parallel: the allocation counters are the process's.
func TestManagerLoadAllocBound(t *testing.T) {
	st := memstore.New(memstore.WithCleanupInterval(0))
	t.Cleanup(func() { st.Close() })
	m := core.NewManager(st, core.WithLogger(slog.New(slog.DiscardHandler)))
	nilValue, err := codec.New().Encode(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ctx := context.Background()
	for name, data := range record.HostileRecords() {
		r, err := record.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range r.Entries {
			r.Entries[i].Value = record.EncodeEntry(nil, time.Time{}, nilValue)
		}
		rec := record.Append(nil, record.NewHeader(false, now, now.Add(time.Hour)), r.Entries)
		id := sessionID(t, m)
		if err := st.Save(ctx, core.StoreKey(id), rec, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if s, err := m.Load(ctx, id); err != nil || len(s.Keys()) == 0 {
			t.Fatalf("%s: Load = %d keys, %v; want the record's", name, len(s.Keys()), err)
		}
		n := record.AllocBytes(3, func() { _, _ = m.Load(ctx, id) })
		t.Logf("%s: %d bytes, %d entries: Manager.Load allocates %d bytes (%.1fx)", name, len(rec), len(r.Entries), n, float64(n)/float64(len(rec)))
		if limit := 5*uint64(len(rec)) + 64<<10; n > limit {
			t.Errorf("%s: Manager.Load of a %d-byte record allocates %d bytes, want at most %d", name, len(rec), n, limit)
		}
	}
}

// sessionID returns the ID of a new session committed through m.
func sessionID(t *testing.T, m *core.Manager) string {
	t.Helper()
	s, err := m.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	s.Set("x", 1)
	res, err := m.Commit(context.Background(), s)
	if err != nil || res.Token == "" {
		t.Fatalf("Commit = %q, %v", res.Token, err)
	}
	return res.Token
}
