package postgresstore_test

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
	"github.com/sessionkit/sessionkit/stores/postgresstore"
	"github.com/sessionkit/sessionkit/stores/sqlstore"
	"github.com/sessionkit/sessionkit/stores/sqlstore/sqltest"
)

func harness(open func(t *testing.T, opts ...sqlstore.Option) (sqltest.Store, error)) sqltest.Harness {
	return sqltest.Harness{
		Open:  open,
		Table: func(t *testing.T) string { return table(t) },
		Exec: func(t *testing.T, query string, args ...any) error {
			_, err := pool(t).Exec(context.Background(), query, args...)
			return err
		},
		Int: func(t *testing.T, query string) (int64, error) {
			var n int64
			err := pool(t).QueryRow(context.Background(), query).Scan(&n)
			return n, err
		},
		Quote:         func(name string) string { return `"` + name + `"` },
		MaxRecordSize: 512 << 20,
		Hold: func(t *testing.T, query string, args ...any) func() {
			tx, err := pool(t).Begin(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(context.Background(), query, args...); err != nil {
				tx.Rollback(context.Background())
				t.Fatal(err)
			}
			return func() { tx.Rollback(context.Background()) }
		},
	}
}

// TestSQL runs the SQL stores' kit on stores made by New and by NewDB.
func TestSQL(t *testing.T) {
	t.Run("pool", func(t *testing.T) {
		sqltest.Run(t, harness(func(t *testing.T, opts ...sqlstore.Option) (sqltest.Store, error) {
			opts = append([]sqlstore.Option{postgresstore.WithTable(table(t))}, opts...)
			s, err := postgresstore.New(pool(t), opts...)
			if err != nil {
				return nil, err
			}
			return s, nil
		}))
	})
	t.Run("db", func(t *testing.T) {
		db := openDB(t)
		sqltest.Run(t, harness(func(t *testing.T, opts ...sqlstore.Option) (sqltest.Store, error) {
			opts = append([]sqlstore.Option{postgresstore.WithTable(table(t))}, opts...)
			s, err := postgresstore.NewDB(db, opts...)
			if err != nil {
				return nil, err
			}
			return s, nil
		}))
	})
}

func TestNilHandles(t *testing.T) {
	if _, err := postgresstore.New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
	if _, err := postgresstore.NewDB(nil); err == nil {
		t.Error("NewDB(nil) succeeded")
	}
}

// TestRoundTrips counts the round trips of each method on a pool of one
// connection once its statements are prepared (the client's writes that
// follow a read from the server), and the statements pgx's tracer sees.
func TestRoundTrips(t *testing.T) {
	p, trips, traced := countingPool(t)
	s, err := postgresstore.New(p, postgresstore.WithTable(table(t)), postgresstore.WithCleanupInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	create := func(key string) *record.Delta {
		return &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: storetest.Entries("a", "1")}
	}
	// Warm up: the first use of each statement on the connection prepares it.
	for range 2 {
		s.Load(ctx, "warm")
		s.SaveDelta(ctx, "warm", &record.Delta{Expiry: exp, Set: storetest.Entries("c", "3")})
		s.SaveDelta(ctx, "warm", create("warm"))
		s.Load(ctx, "warm")
		s.SaveDelta(ctx, "warm", &record.Delta{Expiry: exp, Set: storetest.Entries("b", "2")})
		s.Touch(ctx, "warm", exp)
		s.SaveDelta(ctx, "warm", &record.Delta{Expiry: exp, Set: storetest.Entries("b", "3")}) // the row transaction's UPDATE
		s.Take(ctx, "warm")
		s.Save(ctx, "warm", storetest.Record(exp), exp)
	}
	if err := s.SaveDelta(ctx, "k", create("k")); err != nil {
		t.Fatal(err)
	}
	// Another process's write: the same table through a store of its own.
	other, err := postgresstore.New(pool(t), postgresstore.WithTable(s.Config().Table), postgresstore.WithCleanupInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	delta := func(k, v string) func() error {
		return func() error { return s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries(k, v)}) }
	}
	for _, c := range []struct {
		name       string
		want       int64
		wantTraced int64
		fn         func() error
	}{
		{"Load", 1, 1, func() error { _, _, err := s.Load(ctx, "k"); return err }},
		// A request's save after its load: one conditional UPDATE.
		{"SaveDelta after Load", 1, 1, delta("b", "2")},
		{"SaveDelta after SaveDelta", 1, 1, delta("c", "3")},
		// The row changed elsewhere: the UPDATE misses, the row
		// transaction follows.
		{"SaveDelta after another writer", 3, 3, func() error {
			if err := other.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("o", "1")}); err != nil {
				return err
			}
			return delta("d", "4")()
		}},
		{"SaveDelta after Touch", 1 + 2, 1 + 2, func() error {
			if err := s.Touch(ctx, "k", exp); err != nil {
				return err
			}
			return delta("e", "5")()
		}},
		{"Touch", 1, 1, func() error { return s.Touch(ctx, "k", exp) }},
		{"Save", 1, 1, func() error { return s.Save(ctx, "k2", storetest.Record(exp), exp) }},
		{"Take", 1, 1, func() error { _, _, err := s.Take(ctx, "k"); return err }},
		{"SaveDelta create", 2, 2, func() error { return s.SaveDelta(ctx, "k3", create("k3")) }},
	} {
		before, tb := trips.Load(), traced.queries.Load()+traced.batches.Load()
		if err := c.fn(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := trips.Load() - before; got != c.want {
			t.Errorf("%s: %d round trips, want %d", c.name, got, c.want)
		}
		if got := traced.queries.Load() + traced.batches.Load() - tb; got != c.wantTraced {
			t.Errorf("%s: pgx traced %d queries and batches, want %d", c.name, got, c.wantTraced)
		}
	}
}

// TestRoundTripsDB counts the round trips of a store made by NewDB on a
// *sql.DB of pgx's stdlib driver with one connection: the same as with a
// pool.
func TestRoundTripsDB(t *testing.T) {
	cfg, err := pgx.ParseConfig(serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	var trips atomic.Int64
	d := &net.Dialer{}
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c, n: &trips, read: true}, nil
	}
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	s, err := postgresstore.NewDB(db, postgresstore.WithTable(table(t)), postgresstore.WithCleanupInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	d1 := func(k string) *record.Delta {
		return &record.Delta{Expiry: exp, Set: storetest.Entries(k, "1")}
	}
	uk := record.UserKey("ann")
	bind := func(key, handle string) error {
		return s.SaveDelta(ctx, key, &record.Delta{Expiry: exp, Set: []record.Entry{storetest.BindingEntry("ann", handle, 0)}})
	}
	all := func(string) bool { return true }
	// Warm up the row transaction's statements on the connection.
	s.SaveDelta(ctx, "warm", &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp})
	s.Touch(ctx, "warm", exp)
	s.SaveDelta(ctx, "warm", d1("a"))
	for range 2 {
		bind("warm", "hw")
		s.DeleteUserSessions(ctx, uk, all)
		s.SaveDelta(ctx, "warm", &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp})
	}
	if err := s.SaveDelta(ctx, "k", &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want int64
		fn   func() error
	}{
		{"Load", 1, func() error { _, _, err := s.Load(ctx, "k"); return err }},
		{"SaveDelta after Load", 1, func() error { return s.SaveDelta(ctx, "k", d1("b")) }},
		{"SaveDelta after Touch", 1 + 2, func() error {
			if err := s.Touch(ctx, "k", exp); err != nil {
				return err
			}
			return s.SaveDelta(ctx, "k", d1("c"))
		}},
		{"Take", 1, func() error { _, _, err := s.Take(ctx, "k"); return err }},
		{"SaveDelta create", 2, func() error {
			return s.SaveDelta(ctx, "k", &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp})
		}},
		{"SaveDelta binding after Load", 1 + 2, func() error {
			if _, _, err := s.Load(ctx, "k"); err != nil {
				return err
			}
			return bind("k", "h1")
		}},
		{"UserSessions", 1, func() error { _, err := s.UserSessions(ctx, uk); return err }},
		{"DeleteUserSessions", 2, func() error {
			hs, err := s.DeleteUserSessions(ctx, uk, all)
			if err == nil && len(hs) != 1 {
				err = fmt.Errorf("deleted %q, want 1 session", hs)
			}
			return err
		}},
	} {
		before := trips.Load()
		if err := c.fn(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := trips.Load() - before; got != c.want {
			t.Errorf("%s: %d round trips, want %d", c.name, got, c.want)
		}
	}
}

// TestRoundTripsUsers counts the round trips of the user index's writes
// and reads, as TestRoundTrips does, and checks that a bound session's
// ordinary load and save cost what an unbound one's do.
func TestRoundTripsUsers(t *testing.T) {
	p, trips, traced := countingPool(t)
	s, err := postgresstore.New(p, postgresstore.WithTable(table(t)), postgresstore.WithCleanupInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	uk := record.UserKey("ann")
	createBound := func(key, handle string, gen uint64) error {
		return s.SaveDelta(ctx, key, &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp,
			Set: append(storetest.Entries("a", "1"), storetest.BindingEntry("ann", handle, gen))})
	}
	bind := func(key, handle string) error {
		return s.SaveDelta(ctx, key, &record.Delta{Expiry: exp, Set: []record.Entry{storetest.BindingEntry("ann", handle, 0)}})
	}
	all := func(string) bool { return true }
	// Warm up: the first use of each statement on the connection prepares it.
	for i := range 2 {
		w := fmt.Sprint("warm", i)
		s.SaveDelta(ctx, w, &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp})
		bind(w, "hw"+w)
		s.Load(ctx, w)
		bind(w, "hx"+w)
		s.SaveDelta(ctx, w, &record.Delta{Expiry: exp, Set: storetest.Entries("b", "2")})
		createBound(w+"b", "hb"+w, 0)
		data, _, _ := s.Take(ctx, w+"b")
		b, _, _ := record.FindBinding(data)
		createBound(w+"c", b.Handle, b.Gen)
		s.UserSessions(ctx, uk)
		s.Save(ctx, w+"s", storetest.BoundRecord(exp, "ann", "hs"+w, 0), exp)
		s.Delete(ctx, w)
		s.DeleteUserSessions(ctx, uk, all)
	}
	if err := s.SaveDelta(ctx, "k", &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp}); err != nil {
		t.Fatal(err)
	}
	var taken, kb record.Binding
	for _, c := range []struct {
		name string
		want int64
		fn   func() error
	}{
		{"Load", 1, func() error { _, _, err := s.Load(ctx, "k"); return err }},
		// SetUser on a loaded session: the row transaction, which writes
		// the entry with the record.
		{"SaveDelta binding after Load", 2, func() error { return bind("k", "h1") }},
		{"Load bound", 1, func() error {
			data, _, err := s.Load(ctx, "k")
			kb, _, _ = record.FindBinding(data)
			return err
		}},
		{"SaveDelta of a bound session after Load", 1, func() error {
			return s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("b", "2")})
		}},
		// Session.Clear writes the binding again, as it is: no index work.
		{"SaveDelta Clear keeping the binding", 1, func() error {
			return s.SaveDelta(ctx, "k", &record.Delta{Clear: true, Expiry: exp, Set: append(storetest.Entries("c", "3"), storetest.BindingEntry(kb.User, kb.Handle, kb.Gen))})
		}},
		{"SaveDelta create bound", 2, func() error { return createBound("k2", "h2", 0) }},
		{"Take bound", 1, func() error {
			data, _, err := s.Take(ctx, "k2")
			taken, _, _ = record.FindBinding(data)
			return err
		}},
		// Renew's create carrying the binding: the entry's check rides in
		// the first batch.
		{"SaveDelta create carrying the binding", 2, func() error { return createBound("k3", taken.Handle, taken.Gen) }},
		{"Save bound", 2, func() error { return s.Save(ctx, "k4", storetest.BoundRecord(exp, "ann", "h4", 0), exp) }},
		{"UserSessions", 1, func() error { _, err := s.UserSessions(ctx, uk); return err }},
		{"Delete bound", 1, func() error { return s.Delete(ctx, "k4") }},
		{"DeleteUserSessions", 2, func() error {
			hs, err := s.DeleteUserSessions(ctx, uk, all)
			if err == nil && len(hs) != 2 {
				err = fmt.Errorf("deleted %q, want 2 sessions", hs)
			}
			return err
		}},
	} {
		before, tb := trips.Load(), traced.queries.Load()+traced.batches.Load()
		if err := c.fn(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := trips.Load() - before; got != c.want {
			t.Errorf("%s: %d round trips, want %d", c.name, got, c.want)
		}
		if got := traced.queries.Load() + traced.batches.Load() - tb; got != c.want {
			t.Errorf("%s: pgx traced %d queries and batches, want %d", c.name, got, c.want)
		}
	}
}
