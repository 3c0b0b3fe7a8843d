package mysqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
	"github.com/sessionkit/sessionkit/stores/mysqlstore"
)

// countingConn counts round trips: a write that follows a read starts one.
type countingConn struct {
	net.Conn
	n    *atomic.Int64
	mu   sync.Mutex
	read bool
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if c.read {
		c.n.Add(1)
		c.read = false
	}
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		c.read = true
		c.mu.Unlock()
	}
	return n, err
}

// TestRoundTrips counts the round trips of each method on a database of
// one connection once its statements are prepared, and checks the numbers
// the package documentation states.
func TestRoundTrips(t *testing.T) {
	cfg, err := mysql.ParseDSN(serverDSN(t))
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
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	s := openStore(t, db, mysqlstore.WithCleanupInterval(0))
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	create := func() *record.Delta {
		return &record.Delta{Create: true, Header: storetest.Header(false, exp), Expiry: exp, Set: storetest.Entries("a", "1")}
	}
	if err := s.SaveDelta(ctx, "k", create()); err != nil {
		t.Fatal(err)
	}
	// Another process's writes: the same table through a store of its own.
	other, err := mysqlstore.New(openDB(t), mysqlstore.WithTable(s.Config().Table), mysqlstore.WithCleanupInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	delta := func(k, v string) func() error {
		return func() error { return s.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries(k, v)}) }
	}
	for _, c := range []struct {
		name string
		want int64
		fn   func() error
	}{
		{"Load", 1, func() error { _, _, err := s.Load(ctx, "k"); return err }},
		// A request's save after its load: one conditional UPDATE.
		{"SaveDelta after Load", 1, delta("b", "2")},
		{"SaveDelta after SaveDelta", 1, delta("c", "3")},
		// The row changed elsewhere: the UPDATE misses, the row
		// transaction follows.
		{"SaveDelta after another writer", 1 + 4, func() error {
			if err := other.SaveDelta(ctx, "k", &record.Delta{Expiry: exp, Set: storetest.Entries("o", "1")}); err != nil {
				return err
			}
			return delta("d", "4")()
		}},
		{"SaveDelta after Touch", 1 + 4, func() error {
			if err := s.Touch(ctx, "k", exp); err != nil {
				return err
			}
			return delta("e", "5")()
		}},
		{"Touch", 1, func() error { return s.Touch(ctx, "k", exp) }},
		{"Save", 1, func() error { return s.Save(ctx, "k2", storetest.Record(exp), exp) }},
		{"Take", 4, func() error { _, _, err := s.Take(ctx, "k"); return err }},
		{"SaveDelta create", 4, func() error { return s.SaveDelta(ctx, "k3", create()) }},
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
	cfg, err := mysql.ParseDSN(serverDSN(t))
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
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	s := openStore(t, db, mysqlstore.WithCleanupInterval(0))
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
		// SetUser on a loaded session: the row transaction (BEGIN, the
		// locking SELECT, UPDATE, the entry, COMMIT).
		{"SaveDelta binding after Load", 5, func() error { return bind("k", "h1") }},
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
		{"SaveDelta create bound", 5, func() error { return createBound("k2", "h2", 0) }},
		{"Take bound", 4, func() error {
			data, _, err := s.Take(ctx, "k2")
			taken, _, _ = record.FindBinding(data)
			return err
		}},
		// Renew's create carrying the binding: the entry's locking check
		// and its repointing added.
		{"SaveDelta create carrying the binding", 6, func() error { return createBound("k3", taken.Handle, taken.Gen) }},
		{"Save bound", 5, func() error { return s.Save(ctx, "k4", storetest.BoundRecord(exp, "ann", "h4", 0), exp) }},
		{"UserSessions", 1, func() error { _, err := s.UserSessions(ctx, uk); return err }},
		{"Delete bound", 1, func() error { return s.Delete(ctx, "k4") }},
		// BEGIN, the locking SELECT, two statements per session, COMMIT.
		{"DeleteUserSessions of 2", 7, func() error {
			hs, err := s.DeleteUserSessions(ctx, uk, func(string) bool { return true })
			if err == nil && len(hs) != 2 {
				err = fmt.Errorf("deleted %q, want 2 sessions", hs)
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
