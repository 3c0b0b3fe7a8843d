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

func (e *pgxExec) RowTx(ctx context.Context, q *sqlstore.Queries, key any, lock *sqlstore.Stmt, decide sqlstore.Decide) (int64, error) {
	c, release, err := e.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer release()
	return batchTx(ctx, c, q, key, lock, decide)
}

func (e *pgxExec) UserTx(ctx context.Context, q *sqlstore.Queries, userKey any, decide sqlstore.DecideUser) error {
	c, release, err := e.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	return batchUserTx(ctx, c, q, userKey, decide)
}

// batchTx runs a row transaction in two round trips: BEGIN, the locking
// SELECT (and the lock query) in one batch, the writes and COMMIT in
// another. On failure it rolls back; a connection it cannot roll back is
// closed (a pool does not take back a connection left in a transaction).
func batchTx(ctx context.Context, c querier, q *sqlstore.Queries, key any, lock *sqlstore.Stmt, decide sqlstore.Decide) (n int64, err error) {
	began := false
	defer func() {
		if err != nil && began {
			rollback(ctx, c)
		}
	}()
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(q.LockRow, key)
	if lock != nil {
		b.Queue(lock.Query, lock.Args...)
	}
	br := c.SendBatch(ctx, b)
	_, err = br.Exec()
	began = err == nil
	r := sqlstore.Row{Found: true}
	if err == nil {
		err = br.QueryRow().Scan(&r.Data, &r.Exp)
		if errors.Is(err, pgx.ErrNoRows) {
			r.Found, err = false, nil
		}
	}
	if err == nil && lock != nil {
		var one any
		err = br.QueryRow().Scan(&one)
		r.Locked = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			err = nil
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	w, err := decide(r)
	if err != nil {
		return 0, err
	}
	b = &pgx.Batch{}
	query, args := w.Statement(q, key)
	if query != "" {
		b.Queue(query, args...)
	}
	for _, st := range w.Also {
		b.Queue(st.Query, st.Args...)
	}
	b.Queue("COMMIT")
	br = c.SendBatch(ctx, b)
	if query != "" {
		var tag pgconn.CommandTag
		tag, err = br.Exec()
		n = tag.RowsAffected()
	}
	for range w.Also {
		if err == nil {
			_, err = br.Exec()
		}
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

// batchUserTx runs a user transaction in two round trips: BEGIN, the
// locking SELECT of the user's entries and the read of their records in
// one batch, the deletes and COMMIT in another.
func batchUserTx(ctx context.Context, c querier, q *sqlstore.Queries, userKey any, decide sqlstore.DecideUser) (err error) {
	began := false
	defer func() {
		if err != nil && began {
			rollback(ctx, c)
		}
	}()
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	if q.LockUser != "" {
		b.Queue(q.LockUser, userKey)
	}
	b.Queue(q.UserRows, userKey)
	br := c.SendBatch(ctx, b)
	_, err = br.Exec()
	began = err == nil
	if err == nil && q.LockUser != "" {
		_, err = br.Exec()
	}
	var rows []sqlstore.UserRow
	if err == nil {
		var pr pgx.Rows
		if pr, err = br.Query(); err == nil {
			for pr.Next() {
				var u sqlstore.UserRow
				if err = pr.Scan(&u.Handle, &u.Key, &u.Data, &u.Exp); err != nil {
					break
				}
				rows = append(rows, u)
			}
			pr.Close()
			if err == nil {
				err = pr.Err()
			}
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	stmts, err := decide(rows)
	if err != nil {
		return err
	}
	b = &pgx.Batch{}
	for _, st := range stmts {
		b.Queue(st.Query, st.Args...)
	}
	b.Queue("COMMIT")
	br = c.SendBatch(ctx, b)
	for range len(stmts) + 1 {
		if err == nil {
			_, err = br.Exec()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	began = false
	return nil
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

func (e *dbExec) RowTx(ctx context.Context, q *sqlstore.Queries, key any, lock *sqlstore.Stmt, decide sqlstore.Decide) (int64, error) {
	var n int64
	handled, err := e.onPgx(ctx, func(c *pgx.Conn) error {
		var err error
		n, err = batchTx(ctx, c, q, key, lock, decide)
		return err
	})
	if handled {
		return n, err
	}
	return e.Executor.RowTx(ctx, q, key, lock, decide)
}

func (e *dbExec) UserTx(ctx context.Context, q *sqlstore.Queries, userKey any, decide sqlstore.DecideUser) error {
	handled, err := e.onPgx(ctx, func(c *pgx.Conn) error {
		return batchUserTx(ctx, c, q, userKey, decide)
	})
	if handled {
		return err
	}
	return e.Executor.UserTx(ctx, q, userKey, decide)
}

// onPgx runs fn on the pgx connection under a connection of db, and
// reports handled == false (having run nothing) when the driver is not
// pgx's stdlib.
func (e *dbExec) onPgx(ctx context.Context, fn func(c *pgx.Conn) error) (handled bool, err error) {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return true, err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return nil
		}
		handled = true
		return fn(sc.Conn())
	})
	return handled, err
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
