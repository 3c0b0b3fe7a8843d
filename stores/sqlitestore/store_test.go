package sqlitestore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

func TestOpenMissingDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "no", "such")
	_, err := sqlitestore.Open(filepath.Join(dir, "s.db"))
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Open in a missing directory: %v, want an error naming %s", err, dir)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open created the directory: %v", err)
	}
}

func TestOpenNotAFilePath(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if s, err := sqlitestore.Open(p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
}

// TestOpenOddPath checks that characters meaningful in a URI stay part of
// the file name.
func TestOpenOddPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "a?b#c%20d e.db")
	s, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Save(t.Context(), "k", storetest.Record(time.Now().Add(time.Minute), "a", "1"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not at %q: %v", path, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "a?b#c%20d e.db") {
			t.Errorf("unexpected file %q in the directory", e.Name())
		}
	}
}

func TestBadOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		opt  sqlitestore.Option
	}{
		{"empty table", sqlitestore.WithTable("")},
		{"quote in table", sqlitestore.WithTable(`s"; DROP TABLE x; --`)},
		{"space in table", sqlitestore.WithTable("my sessions")},
		{"dot in table", sqlitestore.WithTable("main.sessions")},
		{"unicode table", sqlitestore.WithTable("séssions")},
		{"reserved table", sqlitestore.WithTable("sqlite_sessions")},
		{"long table", sqlitestore.WithTable(strings.Repeat("t", 65))},
		{"negative interval", sqlitestore.WithCleanupInterval(-time.Second)},
		{"zero max size", sqlitestore.WithMaxRecordSize(0)},
		{"huge max size", sqlitestore.WithMaxRecordSize(1 << 30)},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".db")
		s, err := sqlitestore.Open(path, tc.opt)
		if err == nil {
			s.Close()
			t.Errorf("%s: Open succeeded, want an error", tc.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "sqlitestore: ") {
			t.Errorf("%s: error %q does not say where it comes from", tc.name, err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a bad option still created the file", tc.name)
		}
	}
	for _, name := range []string{"s", "Sessions_2", "_x", "9lives"} {
		s, err := sqlitestore.Open(filepath.Join(dir, "good.db"), sqlitestore.WithTable(name))
		if err != nil {
			t.Errorf("WithTable(%q): %v", name, err)
			continue
		}
		s.Close()
	}
}

func TestSchemaVersionNewer(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := sqlitestore.Open(path, sqlitestore.WithTable("sess"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	db := openDB(t, path)
	var v int
	if err := db.QueryRow(`SELECT value FROM sess_meta WHERE name = 'schema_version'`).Scan(&v); err != nil || v != sqlitestore.SchemaVersion {
		t.Fatalf("schema version row: %d, %v; want %d", v, err, sqlitestore.SchemaVersion)
	}
	var uv int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&uv); err != nil || uv != 0 {
		t.Errorf("user_version = %d, %v; the store must leave it to the app", uv, err)
	}
	if _, err := db.Exec(`UPDATE sess_meta SET value = ? WHERE name = 'schema_version'`, sqlitestore.SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	_, err = sqlitestore.Open(path, sqlitestore.WithTable("sess"))
	if !errors.Is(err, sqlitestore.ErrSchemaVersion) || !strings.Contains(err.Error(), "sess") {
		t.Fatalf("Open of a newer schema: %v, want ErrSchemaVersion naming the table", err)
	}
	_, err = sqlitestore.New(db, sqlitestore.WithTable("sess"))
	if !errors.Is(err, sqlitestore.ErrSchemaVersion) {
		t.Fatalf("New on a newer schema: %v, want ErrSchemaVersion", err)
	}
}

func TestForeignTable(t *testing.T) {
	t.Parallel()
	db := openDB(t, filepath.Join(t.TempDir(), "app.db"))
	if _, err := db.Exec(`CREATE TABLE sessions (id INTEGER PRIMARY KEY, user TEXT)`); err != nil {
		t.Fatal(err)
	}
	_, err := sqlitestore.New(db, sqlitestore.WithTable("sessions"))
	if err == nil || !strings.Contains(err.Error(), "not a session table") {
		t.Fatalf("New over the app's own table: %v, want a refusal", err)
	}
}

func TestReopenKeepsSessions(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.db")
	exp := time.Now().Add(time.Hour)
	s, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(t.Context(), "k", storetest.Record(exp, "a", "1"), exp); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path)
	data, found, err := s.Load(t.Context(), "k")
	if err != nil || !found || storetest.Values(t, data)["a"] != "1" {
		t.Fatalf("after reopening: found=%v err=%v", found, err)
	}
}

func openAt(t *testing.T, path string, opts ...sqlitestore.Option) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestNewLeavesDBOpen(t *testing.T) {
	t.Parallel()
	db := openDB(t, filepath.Join(t.TempDir(), "app.db"))
	s, err := sqlitestore.New(db, sqlitestore.WithCleanupInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := db.Ping(); err != nil {
		t.Fatalf("Close closed the caller's db: %v", err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sessionkit_sessions`).Scan(&n); err != nil {
		t.Errorf("default table: %v", err)
	}
	if _, _, err := s.Load(t.Context(), "k"); !errors.Is(err, core.ErrClosed) {
		t.Errorf("Load after Close: %v, want ErrClosed", err)
	}
}

func TestOpenCloseClosesDB(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Every connection is closed: the WAL is checkpointed and removed.
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Close the -wal file remains (%v): a connection is still open", err)
	}
	if err := s.Touch(t.Context(), "k", time.Now()); !errors.Is(err, core.ErrClosed) {
		t.Errorf("Touch after Close: %v, want ErrClosed", err)
	}
}

func TestWALMode(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.db")
	openAt(t, path)
	db := openDB(t, path)
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

// TestTouchPatchesHeader checks that Touch moves only the column and Load
// reports the new deadline in the header.
func TestTouchPatchesHeader(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Minute).Truncate(time.Microsecond)
	if err := s.Save(ctx, "k", storetest.Record(exp, "a", "1"), exp); err != nil {
		t.Fatal(err)
	}
	later := exp.Add(time.Hour).Add(123 * time.Nanosecond)
	if err := s.Touch(ctx, "k", later); err != nil {
		t.Fatal(err)
	}
	data, found, err := s.Load(ctx, "k")
	if err != nil || !found {
		t.Fatalf("Load: %v %v", found, err)
	}
	if got, _ := record.Expiry(data); !got.Equal(later) {
		t.Errorf("header expiry %v, want %v", got, later)
	}
	ttl, found, err := s.TTL(ctx, "k")
	if err != nil || !found || ttl < 59*time.Minute || ttl > 62*time.Minute {
		t.Errorf("TTL = %v %v %v, want about 61m", ttl, found, err)
	}
	// A delta without a header keeps the touched deadline.
	if err := s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("b", "2")}); err != nil {
		t.Fatal(err)
	}
	data, _, _ = s.Load(ctx, "k")
	if got, _ := record.Expiry(data); !got.Equal(later) {
		t.Errorf("after a delta, header expiry %v, want the touched %v", got, later)
	}
	if v := storetest.Values(t, data); v["a"] != "1" || v["b"] != "2" {
		t.Errorf("values %v", v)
	}
	// Touching into the past ends the session.
	if err := s.Touch(ctx, "k", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Load(ctx, "k"); found {
		t.Error("record still loads after touching it into the past")
	}
	if err := s.Touch(ctx, "missing", later); err != nil {
		t.Errorf("Touch of a missing key: %v", err)
	}
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	s := openStore(t, sqlitestore.WithMaxRecordSize(100))
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	err := s.Save(ctx, "k", storetest.Record(exp, "a", strings.Repeat("x", 100)), exp)
	if !errors.Is(err, core.ErrTooLarge) || !strings.Contains(err.Error(), "100 bytes") {
		t.Fatalf("Save too large: %v, want ErrTooLarge naming 100 bytes", err)
	}
	if err := s.SaveDelta(ctx, "k", &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: storetest.Entries("a", "1")}); err != nil {
		t.Fatal(err)
	}
	err = s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("b", strings.Repeat("y", 100))})
	if !errors.Is(err, core.ErrTooLarge) || !strings.Contains(err.Error(), "100 bytes") {
		t.Fatalf("SaveDelta too large: %v, want ErrTooLarge", err)
	}
	data, found, err := s.Load(ctx, "k")
	if err != nil || !found {
		t.Fatal(found, err)
	}
	if v := storetest.Values(t, data); len(v) != 1 || v["a"] != "1" {
		t.Errorf("a refused delta changed the record: %v", v)
	}
}

func TestConcurrentDeltasOneSession(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	if err := s.SaveDelta(ctx, "sess", &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp}); err != nil {
		t.Fatal(err)
	}
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- s.SaveDelta(ctx, "sess", &record.Delta{Expiry: exp, Set: storetest.Entries(fmt.Sprint("k", i), fmt.Sprint(i))})
			// Readers run beside the writers.
			if _, found, err := s.Load(ctx, "sess"); err != nil || !found {
				errs <- fmt.Errorf("Load during writes: %v %v", found, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	data, _, err := s.Load(ctx, "sess")
	if err != nil {
		t.Fatal(err)
	}
	v := storetest.Values(t, data)
	for i := range n {
		if v[fmt.Sprint("k", i)] != fmt.Sprint(i) {
			t.Errorf("key k%d lost", i)
		}
	}
}

// TestBackgroundCleanup checks that expired rows are deleted from the
// table, not only hidden.
func TestBackgroundCleanup(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.db")
	s := openAt(t, path, sqlitestore.WithCleanupInterval(20*time.Millisecond))
	ctx := t.Context()
	soon := time.Now().Add(50 * time.Millisecond)
	later := time.Now().Add(time.Hour)
	for i := range 5 {
		if err := s.Save(ctx, fmt.Sprint("old", i), storetest.Record(soon), soon); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Save(ctx, "live", storetest.Record(later), later); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, path)
	deadline := time.Now().Add(2 * time.Second)
	for {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM sessionkit_sessions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows left after 2s, want the live one only", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, found, _ := s.Load(ctx, "live"); !found {
		t.Error("cleanup removed a live record")
	}
}

func TestCleanupCounts(t *testing.T) {
	t.Parallel()
	s := openStore(t, sqlitestore.WithCleanupInterval(0))
	ctx := t.Context()
	past := time.Now().Add(-time.Second)
	for i := range 3 {
		if err := s.Save(ctx, fmt.Sprint(i), storetest.Record(past), past); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.Cleanup(ctx); err != nil || n != 3 {
		t.Errorf("Cleanup = %d, %v; want 3", n, err)
	}
	if n, err := s.Cleanup(ctx); err != nil || n != 0 {
		t.Errorf("second Cleanup = %d, %v; want 0", n, err)
	}
}

// TestIteratePagesAndDeletes walks more rows than one page and deletes
// every other one from inside the callback.
func TestIteratePagesAndDeletes(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	keys := []string{"", "\x00", "a\x00b", "\xff\xfe", "é", strings.Repeat("k", 1000)}
	for i := range 300 {
		keys = append(keys, fmt.Sprintf("key-%03d", i))
	}
	for _, k := range keys {
		if err := s.Save(ctx, k, storetest.Record(exp, "k", k), exp); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	err := s.Iterate(ctx, func(key string, data []byte) bool {
		if seen[key] {
			t.Errorf("key %q visited twice", key)
		}
		seen[key] = true
		if got := storetest.Values(t, data)["k"]; got != key {
			t.Errorf("key %q holds the record of %q", key, got)
		}
		if len(seen)%2 == 0 {
			if err := s.Delete(ctx, key); err != nil {
				t.Errorf("Delete from the callback: %v", err)
			}
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(keys) {
		t.Errorf("visited %d keys, want %d", len(seen), len(keys))
	}
	for _, k := range keys {
		if !seen[k] {
			t.Errorf("key %q not visited", k)
		}
	}
	if n, err := s.Count(ctx); err != nil || n != len(keys)-len(keys)/2 {
		t.Errorf("Count = %d, %v; want %d", n, err, len(keys)-len(keys)/2)
	}
	stopped := 0
	if err := s.Iterate(ctx, func(string, []byte) bool { stopped++; return stopped < 3 }); err != nil || stopped != 3 {
		t.Errorf("Iterate stopping at 3: visited %d, %v", stopped, err)
	}
}

// TestClearKeepsOtherTables checks that Clear empties only its table.
func TestClearKeepsOtherTables(t *testing.T) {
	t.Parallel()
	db := openDB(t, filepath.Join(t.TempDir(), "app.db"))
	if _, err := db.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY); INSERT INTO users VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	a, err := sqlitestore.New(db, sqlitestore.WithTable("a"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlitestore.New(db, sqlitestore.WithTable("b"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	rec := storetest.Record(exp)
	if err := a.Save(ctx, "k", rec, exp); err != nil {
		t.Fatal(err)
	}
	if err := b.Save(ctx, "k", rec, exp); err != nil {
		t.Fatal(err)
	}
	if err := a.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := a.Load(ctx, "k"); found {
		t.Error("Clear left a record")
	}
	if _, found, _ := b.Load(ctx, "k"); !found {
		t.Error("Clear of table a removed a record of table b")
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil || n != 1 {
		t.Errorf("users: %d, %v", n, err)
	}
}

// TestLoadedCopy checks that Load hands out a fresh copy: patching it does
// not change what the next Load returns.
func TestLoadedCopy(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	rec := storetest.Record(exp, "a", "1")
	if err := s.Save(ctx, "k", rec, exp); err != nil {
		t.Fatal(err)
	}
	d1, _, _ := s.Load(ctx, "k")
	for i := range d1 {
		d1[i] = 0
	}
	d2, _, _ := s.Load(ctx, "k")
	if !bytes.Equal(d2, rec) {
		t.Error("modifying a loaded record changed the stored one")
	}
}

func TestCanceledSaveDeltaLeavesNoLock(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	exp := time.Now().Add(time.Minute)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.SaveDelta(ctx, "k", &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("SaveDelta with a canceled context: %v", err)
	}
	// A deadline that passes during the call either succeeds or reports
	// the deadline; afterwards the store still writes.
	for i := range 20 {
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(i)*50*time.Microsecond)
		err := s.SaveDelta(ctx, fmt.Sprint("k", i), &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp})
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("SaveDelta with a short deadline: %v", err)
		}
	}
	wctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := s.SaveDelta(wctx, "after", &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp}); err != nil {
		t.Fatalf("SaveDelta after canceled ones: %v", err)
	}
}
