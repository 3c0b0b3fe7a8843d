package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"math/rand/v2"
	"strings"
	"time"
)

// Retrying SQLITE_BUSY. SQLite's own busy handler cannot be interrupted
// when a context is cancelled, so Open keeps it short (busyTimeoutMS) and
// the waiting happens here instead, where it stops at the context's
// deadline; without a deadline it stops after busyBudget.
const (
	busyBudget     = 5 * time.Second
	busyBackoffMin = 2 * time.Millisecond
	busyBackoffMax = 100 * time.Millisecond
)

// SQLite primary result codes (the low byte of an extended code).
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// isBusy reports whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED,
// whatever driver produced it.
func isBusy(err error) bool {
	if err == nil {
		return false
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		c := coded.Code() & 0xff
		return c == sqliteBusy || c == sqliteLocked
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked") ||
		strings.Contains(msg, "database table is locked")
}

// retryBusy runs fn until it returns something other than a busy error,
// never past ctx's deadline, and for at most busyBudget when ctx has none.
func retryBusy(ctx context.Context, fn func() error) error {
	start := time.Now()
	backoff := busyBackoffMin
	for {
		err := fn()
		if !isBusy(err) {
			return err
		}
		wait := backoff/2 + rand.N(backoff)
		if dl, ok := ctx.Deadline(); ok {
			if time.Until(dl) < wait {
				return err
			}
		} else if time.Since(start)+wait > busyBudget {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(ctx.Err(), err)
		case <-t.C:
		}
		backoff = min(2*backoff, busyBackoffMax)
	}
}

// discard makes database/sql close conn instead of returning it to the
// pool, for a connection whose transaction state is unknown.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}
