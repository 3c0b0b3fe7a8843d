package sqlitestore

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/stores/sqlstore"
)

// Defaults of the options.
const (
	// DefaultTable is the name of the table that holds the sessions.
	DefaultTable = sqlstore.DefaultTable
	// DefaultCleanupInterval is how often expired rows are deleted.
	DefaultCleanupInterval = sqlstore.DefaultCleanupInterval
	// DefaultMaxRecordSize is the largest record a Store accepts: 4 MiB.
	DefaultMaxRecordSize = sqlstore.DefaultMaxRecordSize

	// maxTableNameLen keeps the derived names (meta table, index) short.
	maxTableNameLen = 64
	// maxRecordSizeLimit stays below SQLite's default SQLITE_MAX_LENGTH
	// (1,000,000,000 bytes) so an accepted record can always be written.
	maxRecordSizeLimit = 512 << 20
)

// Option configures a [Store] built by [Open] or [New].
type Option = sqlstore.Option

// WithTable sets the name of the table that holds the sessions; the store
// also creates a table named name+"_meta" for its schema version and an
// index named name+"_expiry". The name is made of ASCII letters, digits
// and underscores, at most 64 of them, and must not start with "sqlite_";
// any other name makes [Open] and [New] fail.
//
// default: [DefaultTable] ("sessionkit_sessions")
func WithTable(name string) Option { return sqlstore.WithTable(name) }

// WithCleanupInterval sets how often a background goroutine deletes the
// expired rows. Zero disables the background cleanup (call
// [sqlstore.Store.Cleanup] yourself); a negative interval makes [Open]
// and [New] fail.
//
// default: [DefaultCleanupInterval] (5 minutes)
func WithCleanupInterval(d time.Duration) Option { return sqlstore.WithCleanupInterval(d) }

// WithMaxRecordSize sets the largest encoded record, in bytes, that Save
// and SaveDelta accept; a larger one is an error matching
// [core.ErrTooLarge]. It must be positive and at most 512 MiB.
//
// default: [DefaultMaxRecordSize] (4 MiB)
func WithMaxRecordSize(n int) Option { return sqlstore.WithMaxRecordSize(n) }

// WithLogger sets the logger that reports failures of the background
// cleanup, the only errors no caller sees. A nil logger discards them.
//
// default: [slog.Default]
func WithLogger(l *slog.Logger) Option { return sqlstore.WithLogger(l) }

func checkTable(name string) error {
	if strings.HasPrefix(strings.ToLower(name), "sqlite_") {
		return fmt.Errorf("sqlitestore: table name %q: names starting with sqlite_ are reserved by SQLite", name)
	}
	return nil
}
