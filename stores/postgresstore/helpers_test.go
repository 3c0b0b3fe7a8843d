package postgresstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/sessionkit/sessionkit/stores/postgresstore"
)

const envURL = "SESSIONKIT_POSTGRES_URL"

func serverURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(envURL)
	if u == "" {
		tb.Fatalf("%s is not set: it must name a PostgreSQL database as a postgres:// URL (scripts/test.sh starts a server and sets it)", envURL)
	}
	return u
}

var (
	sharedOnce sync.Once
	sharedPool *pgxpool.Pool
	sharedErr  error
)

// pool returns a pool on the test server shared by the package's tests.
func pool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	u := serverURL(tb)
	sharedOnce.Do(func() {
		cfg, err := pgxpool.ParseConfig(u)
		if err != nil {
			sharedErr = err
			return
		}
		cfg.MaxConns = 40
		sharedPool, sharedErr = pgxpool.NewWithConfig(context.Background(), cfg)
	})
	if sharedErr != nil {
		tb.Fatal(sharedErr)
	}
	return sharedPool
}

// openDB returns a *sql.DB on the test server through pgx's stdlib
// driver, closed when tb ends.
func openDB(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := sql.Open("pgx", serverURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// table returns a fresh table name, dropped with its meta table and user
// index when tb ends.
func table(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	tb.Cleanup(func() {
		p := pool(tb)
		p.Exec(context.Background(), `DROP TABLE IF EXISTS "`+name+`", "`+name+`_meta", "`+name+`_users"`)
	})
	return name
}

// openStore returns a store on the shared pool in a fresh table, closed
// when tb ends.
func openStore(tb testing.TB, opts ...postgresstore.Option) *postgresstore.Store {
	tb.Helper()
	s, err := postgresstore.New(pool(tb), append([]postgresstore.Option{postgresstore.WithTable(table(tb))}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// countingPool returns a pool of one connection whose round trips (a
// write by the client after it read, or its first write) are counted.
func countingPool(tb testing.TB) (*pgxpool.Pool, *atomic.Int64, *queryCounter) {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(serverURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	cfg.MaxConns = 1
	var n atomic.Int64
	d := &net.Dialer{}
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c, n: &n, read: true}, nil
	}
	qc := &queryCounter{}
	cfg.ConnConfig.Tracer = qc
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	return p, &n, qc
}

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

var _ pgx.QueryTracer = (*queryCounter)(nil)

// queryCounter is a pgx tracer counting the statements sent, batches
// counted per statement.
type queryCounter struct{ queries, batches atomic.Int64 }

func (q *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	q.queries.Add(1)
	return ctx
}
func (q *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (q *queryCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	q.batches.Add(1)
	return ctx
}
func (q *queryCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (q *queryCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
