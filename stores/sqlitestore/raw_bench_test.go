package sqlitestore_test

import (
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

// BenchmarkVersusRaw measures, side by side in one run on one file through
// the same driver and connection settings, a request's store calls (Load,
// then SaveDelta of one changed key, as core makes them) against a raw
// prepared SELECT and a raw prepared UPSERT of the same bytes: the cost of
// the store over the statements it cannot avoid. SaveDelta's own cost is
// LoadSaveDelta less Load (a save without its load would take the row
// transaction, which no request does); RawSelectUpsert is the raw pair.
func BenchmarkVersusRaw(b *testing.B) {
	const n = 100
	path := filepath.Join(b.TempDir(), "bench.db")
	s, err := sqlitestore.Open(path, sqlitestore.WithCleanupInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	exp := time.Now().Add(time.Hour)
	fill(b, path, n, exp)
	ctx := b.Context()
	db, err := sql.Open(sqlitestore.DriverName, "file:"+path+"?_pragma=busy_timeout(50)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	sel, err := db.Prepare(`SELECT data, expiry FROM sessionkit_sessions WHERE key = ? AND expiry > ?`)
	if err != nil {
		b.Fatal(err)
	}
	up, err := db.Prepare(`INSERT INTO sessionkit_sessions (key, data, expiry) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`)
	if err != nil {
		b.Fatal(err)
	}
	rec := storetest.Record(exp, "user_id", "7", "csrf", "0123456789abcdef0123456789abcdef", "theme", "dark")

	b.Run("Load", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, found, err := s.Load(ctx, benchKey(i%n)); err != nil || !found {
				b.Fatal(found, err)
			}
			i++
		}
	})
	b.Run("RawSelect", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			var (
				data []byte
				e    int64
			)
			if err := sel.QueryRowContext(ctx, benchKey(i%n), time.Now().UnixNano()).Scan(&data, &e); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("LoadSaveDelta", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := benchKey(i % n)
			if _, _, err := s.Load(ctx, k); err != nil {
				b.Fatal(err)
			}
			d := &record.Delta{Expiry: exp, Set: storetest.Entries("counter", strconv.Itoa(i&0xffff))}
			if err := s.SaveDelta(ctx, k, d); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("RawSelectUpsert", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := benchKey(i % n)
			var (
				data []byte
				e    int64
			)
			if err := sel.QueryRowContext(ctx, k, time.Now().UnixNano()).Scan(&data, &e); err != nil {
				b.Fatal(err)
			}
			if _, err := up.ExecContext(ctx, k, rec, exp.UnixNano()); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("RawUpsert", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := up.ExecContext(ctx, benchKey(i%n), rec, exp.UnixNano()); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
