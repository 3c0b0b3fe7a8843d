package codec_test

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

// TestManagerLoadHostileValueAllocBound checks that a manager loading a
// record that holds one hostile value (see TestDecodeHostileCountsAllocBound)
// allocates at most about four times the record and replaces it by a new
// session. It is not parallel: the allocation counters are the process's.
func TestManagerLoadHostileValueAllocBound(t *testing.T) {
	st := memstore.New(memstore.WithCleanupInterval(0))
	t.Cleanup(func() { st.Close() })
	m := core.NewManager(st, core.WithLogger(slog.New(slog.DiscardHandler)))
	ctx := context.Background()
	now := time.Now()
	for name, value := range codec.HostileValues() {
		s, err := m.Load(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		s.Set("x", 1)
		res, err := m.Commit(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		id := res.Token
		rec := record.Append(nil, record.NewHeader(false, now, now.Add(time.Hour)),
			[]record.Entry{{Key: "k", Value: record.EncodeEntry(nil, time.Time{}, value)}})
		if err := st.Save(ctx, core.StoreKey(id), rec, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if s, err := m.Load(ctx, id); err != nil || s.ID() != "" {
			t.Fatalf("%s: Load = ID %q, %v; want a new session in place of the undecodable one", name, s.ID(), err)
		}
		n := codec.AllocBytes(3, func() { _, _ = m.Load(ctx, id) })
		if limit := 4*uint64(len(rec)) + 64<<10; n > limit {
			t.Errorf("%s: Manager.Load of a %d-byte record allocates %d bytes, want at most %d", name, len(rec), n, limit)
		}
	}
}
