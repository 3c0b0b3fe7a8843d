package sqlitestore

import (
	"errors"
	"strings"
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
