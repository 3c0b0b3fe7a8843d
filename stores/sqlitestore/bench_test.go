package sqlitestore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

func benchKey(i int) string {
	sum := sha256.Sum256([]byte(strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])
}

// fill writes n live sessions of a few small entries, as core keys them,
// in one transaction of a connection of its own.
func fill(b *testing.B, path string, n int, exp time.Time) {
	b.Helper()
	db := openDB(b, path)
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	st, err := tx.Prepare(`INSERT INTO sessionkit_sessions (key, data, expiry) VALUES (?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		rec := storetest.Record(exp, "user_id", strconv.Itoa(i), "csrf", "0123456789abcdef0123456789abcdef", "theme", "dark")
		if _, err := st.Exec(benchKey(i), rec, exp.UnixNano()); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	db.Close()
}

// BenchmarkStore measures Load, SaveDelta and Touch of existing sessions
// in a table of 100 and of 100,000 sessions.
func BenchmarkStore(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.db")
			s, err := sqlitestore.Open(path, sqlitestore.WithCleanupInterval(0))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			exp := time.Now().Add(time.Hour)
			fill(b, path, n, exp)
			ctx := b.Context()

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
			b.Run("LoadParallel", func(b *testing.B) {
				b.ReportAllocs()
				var next atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := int(next.Add(1))
						if _, found, err := s.Load(ctx, benchKey(i%n)); err != nil || !found {
							b.Error(found, err)
							return
						}
					}
				})
			})
			b.Run("SaveDelta", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					d := &record.Delta{Expiry: exp, Set: storetest.Entries("counter", strconv.Itoa(i&0xffff))}
					if err := s.SaveDelta(ctx, benchKey(i%n), d); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("SaveDeltaParallel", func(b *testing.B) {
				b.ReportAllocs()
				var next atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := int(next.Add(1))
						d := &record.Delta{Expiry: exp, Set: storetest.Entries("counter", strconv.Itoa(i&0xffff))}
						if err := s.SaveDelta(ctx, benchKey(i%n), d); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
			b.Run("Touch", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if err := s.Touch(ctx, benchKey(i%n), exp.Add(time.Duration(i)*time.Millisecond)); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}
