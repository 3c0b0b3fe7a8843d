package postgresstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sessionkit/sessionkit/stores/sqlstore"
)

// querier is what a pool, a pooled connection and a *pgx.Conn share.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// pgxExec is the engine's executor on pgx: the pool's statement cache
// prepares each query once per connection, so a query is one round trip.
type pgxExec struct {
	q querier
	// acquire returns a connection of its own, for a row transaction or a
	// migration, and what gives it back.
	acquire func(ctx context.Context) (querier, func(), error)
}

func poolExec(pool *pgxpool.Pool) *pgxExec {
	return &pgxExec{q: pool, acquire: func(ctx context.Context) (querier, func(), error) {
		c, err := pool.Acquire(ctx)
		if err != nil {
			return nil, nil, err
		}
		return c, c.Release, nil
	}}
}

func (e *pgxExec) QueryRow(ctx context.Context, query string, args []any, dest ...any) error {
	return e.q.QueryRow(ctx, query, args...).Scan(dest...)
}

func (e *pgxExec) Query(ctx context.Context, query string, args []any, scan func(func(...any) error) error) error {
	rows, err := e.q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (e *pgxExec) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := e.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (e *pgxExec) RowTx(ctx context.Context, q *sqlstore.Queries, key any, decide sqlstore.Decide) (int64, error) {
	c, release, err := e.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer release()
	return batchTx(ctx, c, q, key, decide)
}

// batchTx runs a row transaction in two round trips: BEGIN and the locking
// SELECT in one batch, the write and COMMIT in another. On failure it
// rolls back; a connection it cannot roll back is closed (a pool does not
// take back a connection left in a transaction).
func batchTx(ctx context.Context, c querier, q *sqlstore.Queries, key any, decide sqlstore.Decide) (n int64, err error) {
	began := false
	defer func() {
		if err != nil && began {
			rollback(ctx, c)
		}
	}()
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(q.LockRow, key)
	br := c.SendBatch(ctx, b)
	_, err = br.Exec()
	began = err == nil
	var (
		data  []byte
		exp   int64
		found = true
	)
	if err == nil {
		err = br.QueryRow().Scan(&data, &exp)
		if errors.Is(err, pgx.ErrNoRows) {
			found, err = false, nil
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	w, err := decide(data, exp, found)
	if err != nil {
		return 0, err
	}
	b = &pgx.Batch{}
	query, args := w.Statement(q, key)
	if query != "" {
		b.Queue(query, args...)
	}
	b.Queue("COMMIT")
	br = c.SendBatch(ctx, b)
	if query != "" {
		var tag pgconn.CommandTag
		tag, err = br.Exec()
		n = tag.RowsAffected()
	}
	if err == nil {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	began = false
	return n, nil
}

// rollback ends a failed transaction, or closes the connection when it
// cannot, so that it never goes back to a pool inside a transaction.
func rollback(ctx context.Context, c querier) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if _, err := c.Exec(rctx, "ROLLBACK"); err != nil {
		if pc := pgxConn(c); pc != nil {
			pc.Close(rctx)
		}
	}
}

func pgxConn(c querier) *pgx.Conn {
	switch c := c.(type) {
	case *pgxpool.Conn:
		return c.Conn()
	case *pgx.Conn:
		return c
	}
	return nil
}

func (e *pgxExec) Locked(ctx context.Context, name string, fn func(sqlstore.Executor) error) error {
	c, release, err := e.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	if _, err := c.Exec(ctx, lockSQL, name); err != nil {
		return err
	}
	err = fn(&pgxExec{q: c})
	if _, uerr := c.Exec(context.WithoutCancel(ctx), unlockSQL, name); uerr != nil {
		// The lock's state is unknown: the connection must not be reused.
		if pc := pgxConn(c); pc != nil {
			pc.Close(context.WithoutCancel(ctx))
		}
		if err == nil {
			err = uerr
		}
	}
	return err
}

func (e *pgxExec) Prepare(context.Context, []string) error { return nil }

// Close leaves the pool open: it is the caller's.
func (e *pgxExec) Close() error { return nil }

// dbExec is the executor on a *sql.DB: database/sql with prepared
// statements, and row transactions as pgx batches on the driver's
// connection when the driver is pgx's stdlib.
type dbExec struct {
	sqlstore.Executor
	db *sql.DB
}

func (e *dbExec) RowTx(ctx context.Context, q *sqlstore.Queries, key any, decide sqlstore.Decide) (int64, error) {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var (
		n       int64
		handled bool
	)
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return nil
		}
		handled = true
		var err error
		n, err = batchTx(ctx, sc.Conn(), q, key, decide)
		return err
	})
	if handled {
		return n, err
	}
	conn.Close()
	return e.Executor.RowTx(ctx, q, key, decide)
}

// sqlLock takes the migration lock on a database/sql connection.
func sqlLock(ctx context.Context, conn *sql.Conn, name string) (func(context.Context, bool) error, error) {
	if _, err := conn.ExecContext(ctx, lockSQL, name); err != nil {
		return nil, err
	}
	return func(ctx context.Context, _ bool) error {
		_, err := conn.ExecContext(ctx, unlockSQL, name)
		return err
	}, nil
}
