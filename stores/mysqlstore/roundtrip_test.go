package mysqlstore_test

import (
	"context"
	"database/sql"
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
