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

// Retrying SQLITE_BUSY. The connection's busy_timeout already waits inside
// SQLite for a lock held by another connection or process; the retries
// below cover what it does not (a busy timeout of zero set by the app, a
// lock held longer than the timeout, SQLITE_BUSY_SNAPSHOT), bounded both in
// number and by the context's deadline.
const (
	busyRetries    = 8
	busyBackoffMin = 2 * time.Millisecond
	busyBackoffMax = 250 * time.Millisecond
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
// at most busyRetries+1 times and never past ctx's deadline.
func retryBusy(ctx context.Context, fn func() error) error {
	backoff := busyBackoffMin
	for attempt := 0; ; attempt++ {
		err := fn()
		if !isBusy(err) || attempt == busyRetries {
			return err
		}
		wait := backoff/2 + rand.N(backoff)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
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
