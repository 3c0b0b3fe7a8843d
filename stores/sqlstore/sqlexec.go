package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"
)

// LockFunc takes the migration lock named name on conn and returns what
// releases it (failed reports whether the migration failed). A database
// whose DDL is transactional may begin a transaction here and commit it in
// unlock.
type LockFunc func(ctx context.Context, conn *sql.Conn, name string) (unlock func(ctx context.Context, failed bool) error, err error)

// sqlExec is the [Executor] on a *sql.DB, with every query prepared.
type sqlExec struct {
	db    *sql.DB
	owned bool
	lock  LockFunc
	conn  *sql.Conn // set on the executor Locked hands to fn
	stmts map[string]*sql.Stmt
}

// NewSQLExecutor returns an [Executor] on db whose migrations hold the
// lock that lock takes. When owned is true, Close closes db.
func NewSQLExecutor(db *sql.DB, owned bool, lock LockFunc) Executor {
	return &sqlExec{db: db, owned: owned, lock: lock}
}

func (e *sqlExec) Prepare(ctx context.Context, queries []string) error {
	e.stmts = make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		if q == "" || e.stmts[q] != nil {
			continue
		}
		st, err := e.db.PrepareContext(ctx, q)
		if err != nil {
			e.closeStmts()
			return err
		}
		e.stmts[q] = st
	}
	return nil
}

func (e *sqlExec) closeStmts() {
	for _, st := range e.stmts {
		st.Close()
	}
	e.stmts = nil
}

func (e *sqlExec) Close() error {
	e.closeStmts()
	if e.owned {
		return e.db.Close()
	}
	return nil
}

func (e *sqlExec) QueryRow(ctx context.Context, query string, args []any, dest ...any) error {
	switch st := e.stmts[query]; {
	case e.conn != nil:
		return e.conn.QueryRowContext(ctx, query, args...).Scan(dest...)
	case st != nil:
		return st.QueryRowContext(ctx, args...).Scan(dest...)
	}
	return e.db.QueryRowContext(ctx, query, args...).Scan(dest...)
}

func (e *sqlExec) Query(ctx context.Context, query string, args []any, scan func(func(dest ...any) error) error) error {
	var (
		rows *sql.Rows
		err  error
	)
	switch st := e.stmts[query]; {
	case e.conn != nil:
		rows, err = e.conn.QueryContext(ctx, query, args...)
	case st != nil:
		rows, err = st.QueryContext(ctx, args...)
	default:
		rows, err = e.db.QueryContext(ctx, query, args...)
	}
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

func (e *sqlExec) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	var (
		res sql.Result
		err error
	)
	switch st := e.stmts[query]; {
	case e.conn != nil:
		res, err = e.conn.ExecContext(ctx, query, args...)
	case st != nil:
		res, err = st.ExecContext(ctx, args...)
	default:
		res, err = e.db.ExecContext(ctx, query, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// txExec runs query in tx, through its prepared statement when there is
// one.
func (e *sqlExec) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := e.stmts[query]; st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

func (e *sqlExec) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := e.stmts[query]; st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

func (e *sqlExec) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st := e.stmts[query]; st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}

func (e *sqlExec) RowTx(ctx context.Context, q *Queries, key any, lock *Stmt, decide Decide) (int64, error) {
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() // a no-op after Commit
	if q.BeginWrite != "" {
		if _, err := e.txExec(ctx, tx, q.BeginWrite, key, time.Now().UnixNano()); err != nil {
			return 0, err
		}
	}
	r := Row{Found: true}
	err = e.txQueryRow(ctx, tx, q.LockRow, key).Scan(&r.Data, &r.Exp)
	if errors.Is(err, sql.ErrNoRows) {
		r.Found, err = false, nil
	}
	if err != nil {
		return 0, err
	}
	if lock != nil {
		var one any
		err = e.txQueryRow(ctx, tx, lock.Query, lock.Args...).Scan(&one)
		r.Locked = err == nil
		if errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
		if err != nil {
			return 0, err
		}
	}
	w, err := decide(r)
	if err != nil {
		return 0, err
	}
	var n int64
	if query, args := w.Statement(q, key); query != "" {
		res, err := e.txExec(ctx, tx, query, args...)
		if err != nil {
			return 0, err
		}
		if n, err = res.RowsAffected(); err != nil {
			return 0, err
		}
	}
	for _, st := range w.Also {
		if _, err := e.txExec(ctx, tx, st.Query, st.Args...); err != nil {
			return 0, err
		}
	}
	return n, tx.Commit()
}

func (e *sqlExec) UserTx(ctx context.Context, q *Queries, userKey any, decide DecideUser) error {
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit
	if q.LockUser != "" {
		if _, err := e.txExec(ctx, tx, q.LockUser, userKey); err != nil {
			return err
		}
	}
	rows, err := e.txQuery(ctx, tx, q.UserRows, userKey)
	if err != nil {
		return err
	}
	var urs []UserRow
	for rows.Next() {
		var u UserRow
		if err := rows.Scan(&u.Handle, &u.Key, &u.Data, &u.Exp); err != nil {
			rows.Close()
			return err
		}
		urs = append(urs, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	stmts, err := decide(urs)
	if err != nil {
		return err
	}
	for _, st := range stmts {
		if _, err := e.txExec(ctx, tx, st.Query, st.Args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (e *sqlExec) Locked(ctx context.Context, name string, fn func(Executor) error) error {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	unlock, err := e.lock(ctx, conn, name)
	if err != nil {
		return err
	}
	err = fn(&sqlExec{db: e.db, conn: conn})
	if uerr := unlock(context.WithoutCancel(ctx), err != nil); uerr != nil {
		// The lock's state is unknown: the connection must not go back to
		// the pool holding it.
		discard(conn)
		if err == nil {
			err = fmt.Errorf("releasing the migration lock: %w", uerr)
		}
	}
	return err
}

// discard makes database/sql close conn instead of returning it to the
// pool, for a connection whose session state is unknown.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}
