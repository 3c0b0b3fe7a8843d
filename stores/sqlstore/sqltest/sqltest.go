// Package sqltest is the test kit of the SQL stores built on package
// sqlstore: the rules that storetest cannot check from outside the
// database (table names, the schema version and the migration of an older
// one, an application's own table, the size limit, rows deleted by the
// cleanup, a canceled transaction leaving no lock, the user index's rows,
// two stores on one table), run against a real server, and the user
// index end to end through [core.Manager]. postgresstore and
// mysqlstore call [Run]; storetest.Run covers the rest.
package sqltest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
	"github.com/sessionkit/sessionkit/stores/sqlstore"
)

// Store is what the kit needs of a store.
type Store interface {
	core.DeltaStore
	core.TakeStore
	core.CleanupStore
	core.UserStore
	io.Closer
}

// Harness connects the kit to one database.
type Harness struct {
	// Open returns a store with opts, or the constructor's error. The kit
	// closes the store.
	Open func(t *testing.T, opts ...sqlstore.Option) (Store, error)
	// Table returns a fresh table name, dropped (with its meta table and
	// its user index, the table name+"_users") when t ends.
	Table func(t *testing.T) string
	// Exec runs a statement on the database, with the parameters written
	// as $1, $2 (the harness rewrites them for its driver).
	Exec func(t *testing.T, query string, args ...any) error
	// Int runs a query returning one integer.
	Int func(t *testing.T, query string) (int64, error)
	// Quote quotes an identifier.
	Quote func(name string) string
	// MaxRecordSize is the dialect's limit for WithMaxRecordSize.
	MaxRecordSize int
	// Hold, if not nil, begins a transaction on a connection of its own,
	// runs query in it (parameters as for Exec) and returns what ends it:
	// the kit holds a row lock with it to check that a store's calls
	// waiting for the lock end at their context's deadline. Nil skips
	// that check (SQLite waits in its busy handler, which no context
	// reaches).
	Hold func(t *testing.T, query string, args ...any) (release func())
}

// Run runs the kit's tests as parallel subtests of t.
func Run(t *testing.T, h Harness) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"BadOptions", testBadOptions},
		{"SchemaVersion", testSchemaVersion},
		{"ForeignTable", testForeignTable},
		{"TooLarge", testTooLarge},
		{"BackgroundCleanup", testBackgroundCleanup},
		{"CleanupCounts", testCleanupCounts},
		{"CanceledDeltaLeavesNoLock", testCanceled},
		{"ConcurrentCreates", testConcurrentCreates},
		{"ConcurrentDeltas", testConcurrentDeltas},
		{"TakeRacesDelta", testTakeRacesDelta},
		{"TwoStoresOneTable", testTwoStores},
		{"LockWaitBounded", testLockWait},
		{"UserDevices", testUserDevices},
		{"UserRenewRacesDestroy", testUserRenewRacesDestroy},
		{"UserTwoStores", testUserTwoStores},
		{"UserMigration", testUserMigration},
		{"UserCleanup", testUserCleanup},
		{"UserSaveBound", testUserSaveBound},
		{"UserDestroyRacesWrites", testUserDestroyRacesWrites},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, h)
		})
	}
}

func open(t *testing.T, h Harness, opts ...sqlstore.Option) Store {
	t.Helper()
	s, err := h.Open(t, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func create(exp time.Time, kv ...string) *record.Delta {
	return &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: storetest.Entries(kv...)}
}

func testBadOptions(t *testing.T, h Harness) {
	for _, name := range []string{"", "a-b", "a b", `a"b`, "a`b", "x;DROP TABLE y", "a.b", "é", strings.Repeat("x", 200)} {
		s, err := h.Open(t, sqlstore.WithTable(name))
		if err == nil {
			s.Close()
			t.Errorf("WithTable(%q) accepted", name)
		} else if !strings.Contains(err.Error(), "table name") {
			t.Errorf("WithTable(%q): %v, want an error about the table name", name, err)
		}
	}
	for _, o := range []sqlstore.Option{
		sqlstore.WithCleanupInterval(-time.Second),
		sqlstore.WithMaxRecordSize(0),
		sqlstore.WithMaxRecordSize(h.MaxRecordSize + 1),
	} {
		if s, err := h.Open(t, sqlstore.WithTable(h.Table(t)), o); err == nil {
			s.Close()
			t.Error("a bad option was accepted")
		}
	}
	for _, name := range []string{"s", "Sessions_2", "_x", "9lives"} {
		tb := name + "_" + h.Table(t)
		t.Cleanup(func() {
			h.Exec(t, `DROP TABLE IF EXISTS `+h.Quote(tb))
			h.Exec(t, `DROP TABLE IF EXISTS `+h.Quote(tb+"_meta"))
			h.Exec(t, `DROP TABLE IF EXISTS `+h.Quote(tb+"_users"))
		})
		s, err := h.Open(t, sqlstore.WithTable(tb))
		if err != nil {
			t.Errorf("WithTable(%q): %v", tb, err)
			continue
		}
		s.Close()
	}
}

func testSchemaVersion(t *testing.T, h Harness) {
	tb := h.Table(t)
	s := open(t, h, sqlstore.WithTable(tb))
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	if err := s.Save(ctx, "k", storetest.Record(exp, "a", "1"), exp); err != nil {
		t.Fatal(err)
	}
	v, err := h.Int(t, `SELECT value FROM `+h.Quote(tb+"_meta")+` WHERE name = 'schema_version'`)
	if err != nil || v != sqlstore.SchemaVersion {
		t.Fatalf("schema version row: %d, %v; want %d", v, err, sqlstore.SchemaVersion)
	}
	// Reopening keeps the sessions.
	s2 := open(t, h, sqlstore.WithTable(tb))
	if _, found, err := s2.Load(ctx, "k"); err != nil || !found {
		t.Fatalf("reopened store lost the session: %v %v", found, err)
	}
	if err := h.Exec(t, `UPDATE `+h.Quote(tb+"_meta")+` SET value = $1 WHERE name = 'schema_version'`, int64(sqlstore.SchemaVersion+1)); err != nil {
		t.Fatal(err)
	}
	_, err = h.Open(t, sqlstore.WithTable(tb))
	if !errors.Is(err, sqlstore.ErrSchemaVersion) || !strings.Contains(err.Error(), tb) {
		t.Fatalf("open of a newer schema: %v, want ErrSchemaVersion naming the table", err)
	}
}

func testForeignTable(t *testing.T, h Harness) {
	tb := h.Table(t)
	if err := h.Exec(t, `CREATE TABLE `+h.Quote(tb)+` (id INTEGER PRIMARY KEY, name VARCHAR(20))`); err != nil {
		t.Fatal(err)
	}
	_, err := h.Open(t, sqlstore.WithTable(tb))
	if err == nil || !strings.Contains(err.Error(), "not a session table") {
		t.Fatalf("open over the application's own table: %v, want a refusal", err)
	}
}

func testTooLarge(t *testing.T, h Harness) {
	s := open(t, h, sqlstore.WithTable(h.Table(t)), sqlstore.WithMaxRecordSize(100))
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	err := s.Save(ctx, "k", storetest.Record(exp, "a", strings.Repeat("x", 100)), exp)
	if !errors.Is(err, core.ErrTooLarge) || !strings.Contains(err.Error(), "100 bytes") {
		t.Fatalf("Save too large: %v, want ErrTooLarge naming 100 bytes", err)
	}
	if err := s.SaveDelta(ctx, "k", create(exp, "a", "1")); err != nil {
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

// testBackgroundCleanup checks that expired rows are deleted from the
// table, not only hidden, and that Close stops the cleanup.
func testBackgroundCleanup(t *testing.T, h Harness) {
	tb := h.Table(t)
	s, err := h.Open(t, sqlstore.WithTable(tb), sqlstore.WithCleanupInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
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
	count := `SELECT count(*) FROM ` + h.Quote(tb)
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := h.Int(t, count)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows left after 5s, want the live one only", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, found, _ := s.Load(ctx, "live"); !found {
		t.Error("cleanup removed a live record")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// After Close the loop is gone: an expired row stays.
	past := time.Now().Add(-time.Second).UnixNano()
	if err := h.Exec(t, `UPDATE `+h.Quote(tb)+` SET expiry = $1`, past); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n, err := h.Int(t, count); err != nil || n != 1 {
		t.Errorf("after Close: %d rows, %v; want the expired row left (no cleanup runs)", n, err)
	}
}

func testCleanupCounts(t *testing.T, h Harness) {
	s := open(t, h, sqlstore.WithTable(h.Table(t)), sqlstore.WithCleanupInterval(0))
	ctx := t.Context()
	past := time.Now().Add(-time.Second)
	later := time.Now().Add(time.Hour)
	for i := range 3 {
		if err := s.Save(ctx, fmt.Sprint(i), storetest.Record(past), past); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Save(ctx, "live", storetest.Record(later), later); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Cleanup(ctx); err != nil || n != 3 {
		t.Errorf("Cleanup = %d, %v; want 3", n, err)
	}
	if n, err := s.Cleanup(ctx); err != nil || n != 0 {
		t.Errorf("second Cleanup = %d, %v; want 0", n, err)
	}
}

// testCanceled checks that a row transaction canceled at any point
// leaves no lock and no transaction behind on a pooled connection.
func testCanceled(t *testing.T, h Harness) {
	s := open(t, h, sqlstore.WithTable(h.Table(t)))
	exp := time.Now().Add(time.Minute)
	if err := s.SaveDelta(t.Context(), "k", create(exp)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp}); !errors.Is(err, context.Canceled) {
		t.Fatalf("SaveDelta with a canceled context: %v", err)
	}
	for i := range 30 {
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(i)*100*time.Microsecond)
		err := s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries(fmt.Sprint("k", i), "v")})
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("SaveDelta with a short deadline: %v", err)
		}
		ctx, cancel = context.WithTimeout(t.Context(), time.Duration(i)*100*time.Microsecond)
		_, _, err = s.Take(ctx, fmt.Sprint("none", i))
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Take with a short deadline: %v", err)
		}
	}
	wctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := s.SaveDelta(wctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("after", "1")}); err != nil {
		t.Fatalf("SaveDelta after canceled ones: %v", err)
	}
}

func testConcurrentCreates(t *testing.T, h Harness) {
	s := open(t, h, sqlstore.WithTable(h.Table(t)))
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	for round := range 5 {
		key := fmt.Sprint("new", round)
		const n = 8
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs <- s.SaveDelta(ctx, key, create(exp, "who", fmt.Sprint(i))) })
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, core.ErrSessionExists):
				t.Errorf("concurrent create: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d creates won, want exactly 1", round, won)
		}
	}
}

func testConcurrentDeltas(t *testing.T, h Harness) {
	s := open(t, h, sqlstore.WithTable(h.Table(t)))
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	if err := s.SaveDelta(ctx, "sess", create(exp)); err != nil {
		t.Fatal(err)
	}
	const n = 30
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			errs <- s.SaveDelta(ctx, "sess", &record.Delta{Expiry: exp, Set: storetest.Entries(fmt.Sprint("k", i), fmt.Sprint(i))})
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

// testTakeRacesDelta checks that a delta racing a Take either lands before
// it (and is in what Take returns) or fails with ErrSessionGone: never
// written after it (a resurrection).
func testTakeRacesDelta(t *testing.T, h Harness) {
	s := open(t, h, sqlstore.WithTable(h.Table(t)))
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	for round := range 20 {
		key := fmt.Sprint("s", round)
		if err := s.SaveDelta(ctx, key, create(exp)); err != nil {
			t.Fatal(err)
		}
		var (
			wg       sync.WaitGroup
			data     []byte
			found    bool
			takeErr  error
			deltaErr error
		)
		wg.Go(func() { data, found, takeErr = s.Take(ctx, key) })
		wg.Go(func() {
			deltaErr = s.SaveDelta(ctx, key, &record.Delta{Expiry: exp, Set: storetest.Entries("x", "1")})
		})
		wg.Wait()
		if takeErr != nil || !found {
			t.Fatalf("Take: %v %v", found, takeErr)
		}
		got := storetest.Values(t, data)["x"] == "1"
		switch {
		case deltaErr == nil && !got:
			t.Errorf("round %d: the delta succeeded but is not in the taken record", round)
		case deltaErr != nil && !errors.Is(deltaErr, core.ErrSessionGone):
			t.Errorf("round %d: delta: %v", round, deltaErr)
		}
		if _, found, err := s.Load(ctx, key); err != nil || found {
			t.Errorf("round %d: the session is back after Take: %v %v", round, found, err)
		}
	}
}

// testTwoStores runs concurrent loads and deltas of one session through
// two stores on one table, as two processes do: each store's one-statement
// delta of the row it last saw must miss when the other wrote meanwhile,
// and no update may be lost; a Touch through one store must not be undone
// by the other's delta.
func testTwoStores(t *testing.T, h Harness) {
	tb := h.Table(t)
	a := open(t, h, sqlstore.WithTable(tb))
	b := open(t, h, sqlstore.WithTable(tb))
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	if err := a.SaveDelta(ctx, "sess", create(exp)); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for i := range n {
		for si, s := range []Store{a, b} {
			wg.Go(func() {
				if _, found, err := s.Load(ctx, "sess"); err != nil || !found {
					errs <- fmt.Errorf("Load: %v %v", found, err)
				}
				errs <- s.SaveDelta(ctx, "sess", &record.Delta{Expiry: exp, Set: storetest.Entries(fmt.Sprint("s", si, "k", i), "v")})
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	data, _, err := a.Load(ctx, "sess")
	if err != nil {
		t.Fatal(err)
	}
	v := storetest.Values(t, data)
	for i := range n {
		for si := range 2 {
			if v[fmt.Sprint("s", si, "k", i)] != "v" {
				t.Errorf("store %d key %d lost", si, i)
			}
		}
	}

	// b loaded the row; a touches it later; b's delta must keep a's
	// expiry (the later one).
	later := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if _, _, err := b.Load(ctx, "sess"); err != nil {
		t.Fatal(err)
	}
	touch, ok := a.(core.TouchStore)
	if !ok {
		t.Fatal("the store is not a core.TouchStore")
	}
	if err := touch.Touch(ctx, "sess", later); err != nil {
		t.Fatal(err)
	}
	if err := b.SaveDelta(ctx, "sess", &record.Delta{Expiry: exp, Set: storetest.Entries("after", "touch")}); err != nil {
		t.Fatal(err)
	}
	data, found, err := a.Load(ctx, "sess")
	if err != nil || !found {
		t.Fatal(found, err)
	}
	got, err := record.Expiry(data)
	if err != nil || !got.Equal(later) {
		t.Errorf("expiry after b's delta = %v, %v; want a's touch to %v", got, err, later)
	}
	if storetest.Values(t, data)["after"] != "touch" {
		t.Error("b's delta after the touch is lost")
	}

	// a deletes the session; b's delta of the row it loaded must not
	// bring it back.
	if _, _, err := b.Load(ctx, "sess"); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, "sess"); err != nil {
		t.Fatal(err)
	}
	err = b.SaveDelta(ctx, "sess", &record.Delta{Expiry: exp, Set: storetest.Entries("x", "1")})
	if !errors.Is(err, core.ErrSessionGone) {
		t.Errorf("delta after another store's Delete: %v, want ErrSessionGone", err)
	}
	if _, found, err := a.Load(ctx, "sess"); err != nil || found {
		t.Errorf("the session is back: %v %v", found, err)
	}
}

// testLockWait holds the row of a session locked from another connection
// and checks that SaveDelta and Take, which wait for that lock, end at
// their context's deadline with an error matching it, and that the store
// works once the lock is released.
func testLockWait(t *testing.T, h Harness) {
	if h.Hold == nil {
		t.Skip("the harness cannot hold a row lock (see Harness.Hold)")
	}
	tb := h.Table(t)
	s := open(t, h, sqlstore.WithTable(tb))
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	for _, k := range []string{"k", "t"} {
		if err := s.SaveDelta(ctx, k, create(exp, "a", "1")); err != nil {
			t.Fatal(err)
		}
	}
	// "t" is for Take: a statement that timed out may still run when the
	// lock is released (the server does not see that its client left
	// while it waits), so the Take may delete it then.
	release := h.Hold(t, `SELECT data FROM `+h.Quote(tb)+` WHERE `+h.Quote("key")+` = $1 OR `+h.Quote("key")+` = $2 FOR UPDATE`, []byte("k"), []byte("t"))
	const deadline = 300 * time.Millisecond
	for name, call := range map[string]func(context.Context) error{
		"SaveDelta after Load": func(ctx context.Context) error {
			if _, _, err := s.Load(ctx, "k"); err != nil {
				return err
			}
			return s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("b", "2")})
		},
		"SaveDelta": func(ctx context.Context) error {
			s.Delete(ctx, "other") // another key: not held up by the lock
			return s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("c", "3")})
		},
		"Take": func(ctx context.Context) error { _, _, err := s.Take(ctx, "t"); return err },
	} {
		cctx, cancel := context.WithTimeout(ctx, deadline)
		start := time.Now()
		err := call(cctx)
		took := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s on a locked row: %v, want an error matching context.DeadlineExceeded", name, err)
		}
		if took > deadline+2*time.Second {
			t.Errorf("%s on a locked row returned after %v, deadline %v", name, took, deadline)
		}
	}
	release()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.SaveDelta(wctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("d", "4")}); err != nil {
		t.Fatalf("SaveDelta after the lock was released: %v", err)
	}
	data, found, err := s.Load(wctx, "k")
	if err != nil || !found {
		t.Fatal(found, err)
	}
	if v := storetest.Values(t, data); v["a"] != "1" || v["d"] != "4" {
		t.Errorf("after the lock: %v, want a=1 and d=4 (b and c may or may not be there: their calls timed out)", v)
	}
}
